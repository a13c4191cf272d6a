package daemon

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/vigie-project/vigie/crypto/fedtoken"
	"github.com/vigie-project/vigie/node"
	"github.com/vigie-project/vigie/node/auditlog"
	"github.com/vigie-project/vigie/node/localapi"
	"github.com/vigie-project/vigie/node/p2p"
	"github.com/vigie-project/vigie/node/syncengine"
	"github.com/vigie-project/vigie/node/syncnet"
	"github.com/vigie-project/vigie/policy"
	"github.com/vigie-project/vigie/protocol/issuance"
)

// Option configures Start.
type Option func(*options)

type options struct {
	listen     []string
	log        *logrus.Entry
	dailyLimit int
	engine     syncengine.Config
	backoffMin time.Duration
	backoffMax time.Duration
	nodeOpts   []node.Option
	onBatch    func(p2p.Batch)
	onStored   func(from string, refs []syncengine.RecordRef)
	localAPI   bool
	witnessing *Witnessing
	noPolicy   bool
}

// WithoutPolicy runs the node on the federation's baseline sharing rule
// alone, without the embedded Cedar policy bundle (policy.Default) that
// Start otherwise enforces (node.WithPolicy).
func WithoutPolicy() Option { return func(o *options) { o.noPolicy = true } }

// WithLocalAPI serves the node's local API on its folder's Unix socket
// (node/localapi), so that `vigie lookup` and friends reach the running
// node.
func WithLocalAPI() Option { return func(o *options) { o.localAPI = true } }

// WithListen sets the multiaddrs to listen on (default: this member's
// addresses in the roster).
func WithListen(addrs ...string) Option { return func(o *options) { o.listen = addrs } }

// WithLogger sends every component's logs to l.
func WithLogger(l *logrus.Entry) Option { return func(o *options) { o.log = l } }

// WithTokenDailyLimit sets the token evaluations one member may ask this
// issuer per UTC day.
func WithTokenDailyLimit(n int) Option { return func(o *options) { o.dailyLimit = n } }

// WithEngineConfig sets the sync engine's limits and delays (Origin, Log,
// Policy and Cursors are the daemon's).
func WithEngineConfig(c syncengine.Config) Option { return func(o *options) { o.engine = c } }

// WithBackoff sets the reconnection backoff bounds.
func WithBackoff(min, max time.Duration) Option {
	return func(o *options) { o.backoffMin, o.backoffMax = min, max }
}

// WithNodeOptions passes options to node.Open.
func WithNodeOptions(opts ...node.Option) Option {
	return func(o *options) { o.nodeOpts = append(o.nodeOpts, opts...) }
}

// WithTokenBatches receives every token batch this node evaluates for a
// peer, for the audit log.
func WithTokenBatches(f func(p2p.Batch)) Option { return func(o *options) { o.onBatch = f } }

// WithStored receives, after each bundle from a peer was verified and
// stored, the peer's agency and the entries appended: for measurements
// (vigie demo --check) and tests. It runs on the delivery worker: keep it
// short.
func WithStored(f func(from string, refs []syncengine.RecordRef)) Option {
	return func(o *options) { o.onStored = f }
}

// Daemon is a running federation member.
type Daemon struct {
	n      *node.Node
	h      *p2p.Host
	runner *syncnet.Runner
	ae     *antiEntropy // antientropy.go
	tokens *lazyTokenizer
	sink   *lazySink
	audit  *auditlog.Log
	wit    *witnessing // nil without witnessing
	log    *logrus.Entry
	roster rosterSync

	cancel  context.CancelFunc
	done    chan struct{}
	apiDone chan error // nil without a local API
	once    sync.Once
	err     error
}

// Start opens the node in dir and joins the federation. The caller must
// Close the daemon, which closes the node.
func Start(ctx context.Context, dir string, opts ...Option) (d *Daemon, err error) {
	o := options{dailyLimit: p2p.DefaultDailyLimit, backoffMin: time.Second, backoffMax: time.Minute}
	for _, opt := range opts {
		opt(&o)
	}
	if o.log == nil {
		o.log = logrus.NewEntry(logrus.New())
		o.log.Logger.SetLevel(logrus.WarnLevel)
	}
	d = &Daemon{tokens: &lazyTokenizer{}, sink: &lazySink{}, log: o.log, done: make(chan struct{})}
	nodeOpts := []node.Option{node.WithLogger(o.log), node.WithTokenizer(d.tokens), node.WithAuditSink(d.sink)}
	if !o.noPolicy {
		b, err := policy.Default()
		if err != nil {
			return nil, fmt.Errorf("loading the embedded policy bundle: %w", err)
		}
		nodeOpts = append(nodeOpts, node.WithPolicy(b))
	}
	nodeOpts = append(nodeOpts, o.nodeOpts...)
	if d.n, err = node.Open(ctx, dir, nodeOpts...); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			d.n.Close()
		}
	}()
	var auditOpts []auditlog.Option
	if o.witnessing == nil && d.n.Roster().WitnessQuorum > 0 {
		w := rosterWitnessing(d.n)
		o.witnessing = &w
	}
	if o.witnessing != nil {
		d.wit = &witnessing{cfg: *o.witnessing, logger: o.log, pending: make(chan checkpointNote, 1), done: make(chan struct{})}
		auditOpts = append(auditOpts, auditlog.WithOnCheckpoint(d.wit.onCheckpoint))
	}
	if d.audit, err = openAuditLog(dir, d.n, o.log, auditOpts...); err != nil {
		return nil, err
	}
	if d.wit != nil {
		d.wit.log = d.audit
	}
	defer func() {
		if err != nil {
			d.audit.Close()
		}
	}()
	d.sink.set(auditlog.Sink{Log: d.audit})
	pol := d.n.SyncPolicy()
	cfg := o.engine
	cfg.Origin, cfg.Log, cfg.Policy = d.n.Agency().String(), d.n.SyncLog(), pol
	d.ae = newAntiEntropy(d.n, pol, o.log)
	if d.runner, err = syncnet.New(cfg, nodeStore{n: d.n, pol: pol, onStored: o.onStored}, syncnet.WithLogger(o.log), syncnet.WithReconciler(d.ae),
		syncnet.WithSentHook(disclosureHook(d.n, pol))); err != nil {
		return nil, err
	}
	if d.h, err = startHost(ctx, d.n, &o, d.withRosterHooks(d.runner.Hooks())); err != nil {
		return nil, err
	}
	d.ae.serve(d.h)
	if err := d.startTokens(&o); err != nil {
		d.h.Close()
		return nil, err
	}
	if err := d.startRosterSync(); err != nil {
		d.h.Close()
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d.cancel = cancel
	if d.wit != nil {
		if err := d.startWitnessing(runCtx, dir, d.wit); err != nil {
			cancel()
			d.h.Close()
			return nil, fmt.Errorf("witnessing: %w", err)
		}
	}
	if o.localAPI {
		l, err := localapi.Listen(dir)
		if err != nil {
			cancel()
			d.h.Close()
			return nil, fmt.Errorf("local API: %w", err)
		}
		d.apiDone = make(chan error, 1)
		go func() { d.apiDone <- localapi.Serve(runCtx, l, apiBackend{Node: d.n, d: d}, o.log) }()
	}
	d.n.SetAnnouncer(d.runner.Announce)
	go func() {
		defer close(d.done)
		if err := d.runner.Run(runCtx, d.h); err != nil {
			d.log.WithError(err).Error("sync stopped")
		}
	}()
	return d, nil
}

// Node is the running node.
func (d *Daemon) Node() *node.Node { return d.n }

// Host is the node's libp2p host.
func (d *Daemon) Host() *p2p.Host { return d.h }

// SyncStats are the sync adapter's counters.
func (d *Daemon) SyncStats() syncnet.Stats { return d.runner.Stats() }

// Close stops sync, then the host, then the node; it is idempotent.
func (d *Daemon) Close() error {
	d.once.Do(func() {
		d.n.SetAnnouncer(nil)
		d.cancel()
		<-d.done
		d.stopRosterSync() // no adoption may run once the node closes
		if d.wit != nil && d.wit.client != nil {
			<-d.wit.done // no cosignature is stored once the log closes
		}
		var apiErr error
		if d.apiDone != nil {
			apiErr = <-d.apiDone // requests in flight finish before the store closes
		}
		d.err = errors.Join(apiErr, d.h.Close(), d.n.Close(), d.audit.Close())
	})
	return d.err
}

func startHost(ctx context.Context, n *node.Node, o *options, hooks p2p.Hooks) (*p2p.Host, error) {
	key, err := p2p.LoadPeerKey(n.PeerKeyPath())
	if err != nil {
		return nil, err
	}
	r := n.Roster()
	listen := o.listen
	if len(listen) == 0 {
		if me, ok := r.Member(n.Agency()); ok {
			listen = me.Addrs
		}
	}
	addrs, err := p2p.RosterAddrs(r)
	if err != nil {
		return nil, err
	}
	return p2p.New(ctx, key, r, p2p.WithListenAddrs(listen...), p2p.WithPeerAddrs(addrs), p2p.WithHooks(hooks),
		p2p.WithLogger(o.log), p2p.WithBackoff(o.backoffMin, o.backoffMax))
}

// startTokens serves this node's issuer share, if it holds one, and points
// the node's tokenizer at the federation's issuers.
func (d *Daemon) startTokens(o *options) error {
	var local *fedtoken.Issuer
	share, ok, err := d.n.IssuerShare()
	if err != nil {
		return err
	}
	if ok {
		if local, err = fedtoken.NewIssuer(share); err != nil {
			return err
		}
		srv, err := p2p.NewTokenServer(p2p.IssuerConfig{
			Federation: d.n.Federation(), Issuer: local, DailyLimit: o.dailyLimit, Logger: o.log,
			OnBatch: func(b p2p.Batch) {
				d.log.WithFields(logrus.Fields{"event": "token_batch", "peer": b.Peer.String(), "use": string(b.Use),
					"count": b.Count, "refused": b.Refused}).Info("token batch")
				tokenBatchEvent(d.n, d.n.SyncPolicy(), b)
				if o.onBatch != nil {
					o.onBatch(b)
				}
			},
		})
		if err != nil {
			return err
		}
		d.h.Handle(p2p.TokenProtocol, srv.ServeStream)
	}
	d.roster.local = local
	return d.setTokenizer(d.n.Roster(), local)
}

// lazyTokenizer lets the node open before the host that tokenises for it
// exists (the host needs the node's roster and keys).
type lazyTokenizer struct{ t atomic.Pointer[p2p.Tokenizer] }

func (l *lazyTokenizer) set(t *p2p.Tokenizer) { l.t.Store(t) }

var errNoNetwork = errors.New("daemon: the federation's issuers are not reachable yet")

// Tokenize implements node.Tokenizer.
func (l *lazyTokenizer) Tokenize(ctx context.Context, use issuance.Use, exprs []string) ([]fedtoken.Token, error) {
	t := l.t.Load()
	if t == nil {
		return nil, errNoNetwork
	}
	return t.Tokenize(ctx, use, exprs)
}

// nodeStore is the node as the sync adapter needs it.
type nodeStore struct {
	n        *node.Node
	pol      *node.BaselinePolicy
	onStored func(from string, refs []syncengine.RecordRef)
}

func (s nodeStore) Deliver(ctx context.Context, from syncengine.PeerID, _ string, b syncengine.Bundle) ([]syncengine.RecordRef, error) {
	agency, ok := s.pol.AgencyOf(from)
	if !ok {
		return nil, fmt.Errorf("%w: peer %s is not a member", syncnet.ErrInvalid, from)
	}
	refs, err := s.n.DeliverBundle(ctx, agency, b)
	if errors.Is(err, node.ErrRejected) {
		return nil, fmt.Errorf("%w: %w", syncnet.ErrInvalid, err)
	}
	if err == nil && s.onStored != nil && len(refs) > 0 {
		s.onStored(agency.String(), refs)
	}
	return refs, err
}

func (s nodeStore) Cursors() ([]syncengine.PeerCursor, error) { return s.n.SyncCursors() }

func (s nodeStore) SaveCursor(ctx context.Context, c syncengine.PeerCursor) error {
	return s.n.SaveSyncCursor(ctx, c)
}
