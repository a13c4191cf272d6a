package p2p

import (
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"

	"github.com/vigie-project/vigie/protocol/record"
)

// Option configures New.
type Option func(*config) error

type config struct {
	listen       []ma.Multiaddr
	log          *logrus.Entry
	metrics      prometheus.Registerer
	limits       Limits
	hooks        Hooks
	addrs        map[peer.ID][]ma.Multiaddr
	backoffMin   time.Duration
	backoffMax   time.Duration
	dialTimeout  time.Duration
	helloTimeout time.Duration
}

func defaultConfig() config {
	return config{
		backoffMin:   time.Second,
		backoffMax:   time.Minute,
		dialTimeout:  15 * time.Second,
		helloTimeout: 10 * time.Second,
	}
}

// PeerInfo describes a member once its hello has been answered.
type PeerInfo struct {
	ID     peer.ID
	Agency record.Agency
	// RosterVersion is the roster version the peer says it follows; a
	// higher one than ours means a newer roster exists.
	RosterVersion uint64
}

// Hooks are the node's view of the federation's peers. Both are called from
// the host's single event goroutine, in order: for one peer, PeerUp and
// PeerDown alternate, starting with PeerUp. They must return quickly (hand
// the event to the sync engine's queue); a slow hook delays every peer
// event and every reconnection.
type Hooks struct {
	// PeerUp: the peer is a member, both gates admitted the connection,
	// and it answered our hello (or said hello to us) for our federation.
	PeerUp func(PeerInfo)
	// PeerDown: the last connection to a peer that was up has closed, or
	// a new roster removed it.
	PeerDown func(peer.ID)
}

// WithListenAddrs sets the addresses to listen on, e.g.
// "/ip4/0.0.0.0/udp/4001/quic-v1" and "/ip4/0.0.0.0/tcp/4001"; a later
// WithListenAddrs replaces an earlier one. Only TCP and QUIC-v1 addresses
// can be served. Default: none (the host only dials).
func WithListenAddrs(addrs ...string) Option {
	return func(c *config) error {
		c.listen = nil
		for _, s := range addrs {
			a, err := ma.NewMultiaddr(s)
			if err != nil {
				return fmt.Errorf("p2p: listen address %q: %w", s, err)
			}
			c.listen = append(c.listen, a)
		}
		return nil
	}
}

// WithLogger sends the host's logs to l.
func WithLogger(l *logrus.Entry) Option {
	return func(c *config) error { c.log = l; return nil }
}

// WithMetrics exports libp2p's metrics to reg. Without it metrics are off:
// they cost memory per connection and stream, and a node that is not
// scraped pays for nothing.
func WithMetrics(reg prometheus.Registerer) Option {
	return func(c *config) error {
		if reg == nil {
			return errors.New("p2p: WithMetrics needs a registerer")
		}
		c.metrics = reg
		return nil
	}
}

// WithLimits overrides the resource limits; zero fields keep their defaults.
func WithLimits(l Limits) Option {
	return func(c *config) error { c.limits = l; return nil }
}

// WithHooks sets the peer lifecycle callbacks.
func WithHooks(h Hooks) Option {
	return func(c *config) error { c.hooks = h; return nil }
}

// WithPeerAddrs gives the addresses to reach members at, as SetPeerAddrs
// would, before the host starts dialing.
func WithPeerAddrs(addrs map[peer.ID][]ma.Multiaddr) Option {
	return func(c *config) error { c.addrs = addrs; return nil }
}

// WithBackoff sets the reconnect backoff bounds (default 1 s to 60 s).
// Each failed attempt doubles the delay up to max, plus up to half again
// of random jitter so that a healed partition does not redial in lockstep.
func WithBackoff(min, max time.Duration) Option {
	return func(c *config) error {
		if min <= 0 || max < min {
			return fmt.Errorf("p2p: backoff bounds %v..%v", min, max)
		}
		c.backoffMin, c.backoffMax = min, max
		return nil
	}
}

// WithTimeouts sets how long one dial and one hello exchange may take
// (defaults 15 s and 10 s).
func WithTimeouts(dial, hello time.Duration) Option {
	return func(c *config) error {
		if dial <= 0 || hello <= 0 {
			return fmt.Errorf("p2p: timeouts must be positive")
		}
		c.dialTimeout, c.helloTimeout = dial, hello
		return nil
	}
}
