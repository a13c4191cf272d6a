package daemon

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/vigie-project/vigie/node"
)

// Federation31 lists the 28 member states of the EU of 2014–2015 (with
// GB) and the US, Canada and Australia: the federation Vigie is built for.
// FR and DE come first so that any prefix of two or more holds them (the
// demo's examples use them); the rest are in alphabetical order.
var Federation31 = []string{
	"FR", "DE", "AT", "BE", "BG", "CY", "CZ", "DK", "EE", "ES", "FI", "GB", "GR", "HR", "HU", "IE",
	"IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "US", "CA", "AU",
}

// localFederation names the federations StartLocal creates.
const localFederation = "vigie-local"

// LocalOptions describe a federation run on one machine, on loopback.
type LocalOptions struct {
	Countries []string // one member each, org "ctu"
	Threshold int      // issuers needed per token
	Issuers   int
	// PerMember returns extra options for member i (e.g. WithStored).
	PerMember func(i int, country string) []Option
	// TCP makes members listen on loopback TCP rather than QUIC.
	TCP bool
	// WitnessQuorum, if positive, makes the first 2q+1 members witnesses
	// and has the roster require q cosignatures on each member's audit
	// checkpoints.
	WitnessQuorum int
}

// Local is a federation of daemons on loopback, each with its own folder
// under one directory: what `vigie demo` runs and the multi-node tests use.
type Local struct {
	Dir       string
	Countries []string
	Members   []*Daemon // nil while stopped
	tcp       bool
}

// StartLocal creates a federation in dir (the genesis material in
// dir/genesis, each member's node in dir/<CC>), starts every member on
// loopback QUIC and tells each the others' addresses.
func StartLocal(ctx context.Context, dir string, o LocalOptions) (*Local, error) {
	l, err := NewLocal(ctx, dir, o)
	if err != nil {
		return nil, err
	}
	for i := range o.Countries {
		if err := l.Start(ctx, i, o.PerMember); err != nil {
			l.Close()
			return nil, err
		}
	}
	if err := l.Mesh(); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// NewLocal creates the federation's folders without starting anyone: a
// caller may then prepare a member's node (seed it offline, say) before
// Start.
func NewLocal(ctx context.Context, dir string, o LocalOptions) (*Local, error) {
	specs := make([]node.MemberSpec, len(o.Countries))
	for i, c := range o.Countries {
		specs[i] = node.MemberSpec{Country: c, Org: "ctu", Name: c + " counter-terrorism internet unit", Witness: i < 2*o.WitnessQuorum+1}
	}
	gen := filepath.Join(dir, "genesis")
	if _, err := node.Genesis(ctx, gen, node.GenesisOptions{Federation: localFederation, Members: specs, Threshold: o.Threshold, Issuers: o.Issuers, WitnessQuorum: o.WitnessQuorum}); err != nil {
		return nil, err
	}
	for _, c := range o.Countries {
		if err := node.Join(ctx, filepath.Join(dir, c), filepath.Join(gen, "roster.cbor"), filepath.Join(gen, c+"-ctu")); err != nil {
			return nil, err
		}
	}
	return &Local{Dir: dir, Countries: o.Countries, Members: make([]*Daemon, len(o.Countries)), tcp: o.TCP}, nil
}

// NodeDir is member i's node folder.
func (l *Local) NodeDir(i int) string { return filepath.Join(l.Dir, l.Countries[i]) }

// Start (re)starts member i from its folder.
func (l *Local) Start(ctx context.Context, i int, perMember func(int, string) []Option) error {
	c := l.Countries[i]
	opts := []Option{WithListen(l.listen()...)}
	if perMember != nil {
		opts = append(opts, perMember(i, c)...)
	}
	d, err := Start(ctx, l.NodeDir(i), opts...)
	if err != nil {
		return fmt.Errorf("starting %s: %w", c, err)
	}
	l.Members[i] = d
	return nil
}

// Mesh tells every running member the current addresses of the others
// (ports are chosen by the system, so the roster cannot hold them).
func (l *Local) Mesh() error {
	book := map[peer.ID][]ma.Multiaddr{}
	for _, d := range l.Members {
		if d != nil {
			book[d.Host().ID()] = d.Host().Addrs()
		}
	}
	var errs []error
	for _, d := range l.Members {
		if d != nil {
			errs = append(errs, d.Host().SetPeerAddrs(book))
		}
	}
	return errors.Join(errs...)
}

// WaitConnected waits until every running member has every other running
// member up, or timeout.
func (l *Local) WaitConnected(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		missing := l.missingLinks()
		if missing == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d member connections still down after %s: %w", missing, timeout, ctx.Err())
		case <-tick.C:
		}
	}
}

// missingLinks counts ordered pairs of running members not connected.
func (l *Local) missingLinks() int {
	n := 0
	for _, a := range l.Members {
		for _, b := range l.Members {
			if a != nil && b != nil && a != b && !a.Host().IsUp(b.Host().ID()) {
				n++
			}
		}
	}
	return n
}

// Stop closes member i (its folder stays).
func (l *Local) Stop(i int) error {
	d := l.Members[i]
	if d == nil {
		return nil
	}
	l.Members[i] = nil
	return d.Close()
}

// Close stops every member.
func (l *Local) Close() error {
	var errs []error
	for i := range l.Members {
		errs = append(errs, l.Stop(i))
	}
	return errors.Join(errs...)
}

// listen is where members listen: loopback QUIC, or TCP if the
// federation was made with LocalOptions.TCP.
func (l *Local) listen() []string {
	if l.tcp {
		return []string{"/ip4/127.0.0.1/tcp/0"}
	}
	return []string{"/ip4/127.0.0.1/udp/0/quic-v1"}
}
