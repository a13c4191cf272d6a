package node

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/vigie-project/vigie/crypto/fedtoken"
	"github.com/vigie-project/vigie/crypto/hybrid"
	"github.com/vigie-project/vigie/node/store"
	"github.com/vigie-project/vigie/policy"
	"github.com/vigie-project/vigie/protocol/record"
)

// Node is an open Vigie node. It is safe for concurrent use.
type Node struct {
	dir    string
	cfg    *config
	agency record.Agency
	signer *hybrid.PrivateKey
	roster *record.Roster // guarded by rosterMu once Open returns: use Roster()
	store  *store.Store
	tokens Tokenizer
	audit  AuditSink
	log    *logrus.Entry
	now    func() time.Time

	// seqMu serialises the allocation of this agency's sequence numbers
	// with the write that uses them, so two concurrent asserts never claim
	// the same number.
	seqMu sync.Mutex

	// rosterMu guards roster, which AdoptRoster replaces (node/roster.go);
	// adoptMu serialises adoptions.
	rosterMu sync.RWMutex
	adoptMu  sync.Mutex

	syncing   syncState       // federation sync: node/sync*.go
	retention retentionLimits // the expiry sweep's retention scan

	policy    atomic.Pointer[policy.Bundle] // nil: baseline only (node/policy.go); the roster may name another (node/policybundle.go)
	decisions decisionCache
}

// Option configures Open.
type Option func(*options)

type options struct {
	log    *logrus.Entry
	now    func() time.Time
	audit  AuditSink
	tokens Tokenizer
	policy *policy.Bundle

	retention *retentionLimits // tests only: see withRetentionLimits
}

// WithLogger sends the node's logs to l.
func WithLogger(l *logrus.Entry) Option { return func(o *options) { o.log = l } }

// WithClock replaces time.Now, for tests and simulations.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithAuditSink receives a record of every consultation (look-up).
func WithAuditSink(a AuditSink) Option { return func(o *options) { o.audit = a } }

// WithTokenizer replaces in-process tokenisation (a federated node asks
// issuers over the network).
func WithTokenizer(t Tokenizer) Option { return func(o *options) { o.tokens = t } }

// Open opens the node in dir, checking its files and its store.
func Open(ctx context.Context, dir string, opts ...Option) (*Node, error) {
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if o.log == nil {
		o.log = quietLogger()
	}
	cfg, err := readConfig(dir)
	if err != nil {
		return nil, err
	}
	n := &Node{dir: dir, cfg: cfg, agency: cfg.agency(), log: o.log.WithField("node", cfg.agency().String()), now: o.now, audit: o.audit,
		retention: defaultRetentionLimits()}
	n.policy.Store(o.policy)
	if o.retention != nil {
		n.retention = *o.retention
	}
	if n.audit == nil {
		n.audit = logAuditSink{log: n.log}
	}
	if err := n.loadKeys(); err != nil {
		return nil, err
	}
	// The bundle the roster names is the federation's law: it replaces the
	// one the node was started with.
	if b, err := rosterPolicy(dir, n.roster); err != nil {
		return nil, err
	} else if b != nil {
		n.setPolicy(b)
		n.log.WithField("bundle", n.roster.Policy.String()).WithField("hash", b.Hash()).Info("deciding with the policy bundle the roster names")
	}
	if n.tokens = o.tokens; n.tokens == nil {
		if n.tokens, err = n.localTokenizer(); errors.Is(err, errTooFewShares) {
			// A federated node that is not a t-issuer on its own tokenises
			// over the network; without that, tokenising says why it can't.
			n.tokens = unavailableTokenizer{err: err}
		} else if err != nil {
			return nil, err
		}
	}
	if n.store, err = store.Open(ctx, filepath.Join(dir, storeDir), store.WithLogger(n.log)); err != nil {
		return nil, err
	}
	return n, nil
}

// Close releases the store. Every acknowledged write is already durable.
func (n *Node) Close() error { return n.store.Close() }

// Agency is the agency this node speaks for.
func (n *Node) Agency() record.Agency { return n.agency }

// Federation is the id of the federation the node belongs to.
func (n *Node) Federation() string { return n.cfg.Federation }

// Store exposes the node's store to the layers that sync it.
func (n *Node) Store() *store.Store { return n.store }

func (n *Node) loadKeys() error {
	var err error
	if n.signer, err = hybrid.ReadKeyFile(filepath.Join(n.dir, agencyKey)); err != nil {
		return fmt.Errorf("%w: %v", ErrCorruptNode, err)
	}
	data, err := readBounded(filepath.Join(n.dir, rosterFile), record.MaxRosterSize)
	if err != nil {
		return fmt.Errorf("%w: reading the roster: %v", ErrCorruptNode, err)
	}
	if n.roster, err = record.DecodeAs[*record.Roster](data); err != nil {
		return fmt.Errorf("%w: roster: %v", ErrCorruptNode, err)
	}
	if n.roster.Version == 1 {
		if err := n.roster.Verify(len(n.roster.Members)/2 + 1); err != nil {
			return fmt.Errorf("%w: roster signatures: %v", ErrCorruptNode, err)
		}
	}
	me, ok := n.roster.Member(n.agency)
	if !ok {
		return fmt.Errorf("%w: agency %s is not in the roster", ErrCorruptNode, n.agency)
	}
	if pub, err := me.PublicKey(); err != nil || !pub.Equal(n.signer.Public()) {
		return fmt.Errorf("%w: agency.key is not the key the roster names for %s", ErrCorruptNode, n.agency)
	}
	return nil
}

func (n *Node) localTokenizer() (Tokenizer, error) {
	group, err := groupKeyOf(n.roster)
	if err != nil {
		return nil, err
	}
	var shares []fedtoken.Share
	s, ok, err := n.IssuerShare()
	if err != nil {
		return nil, err
	}
	if ok {
		shares = append(shares, s)
	}
	return newLocalTokenizer(n.cfg.Federation, group, shares)
}

// Roster is the federation roster the node follows. A new version
// replaces it as a whole (AdoptRoster); the value returned is never
// modified and must not be modified by the caller.
func (n *Node) Roster() *record.Roster {
	n.rosterMu.RLock()
	defer n.rosterMu.RUnlock()
	return n.roster
}

// PeerKeyPath is the file of the node's libp2p identity.
func (n *Node) PeerKeyPath() string { return filepath.Join(n.dir, peerKey) }

// IssuerShare returns this node's OPRF key share, if it is an issuer.
func (n *Node) IssuerShare() (fedtoken.Share, bool, error) {
	data, err := readBounded(filepath.Join(n.dir, shareFile), 1024)
	if errors.Is(err, fs.ErrNotExist) {
		return fedtoken.Share{}, false, nil
	}
	if err != nil {
		return fedtoken.Share{}, false, err
	}
	var s fedtoken.Share
	if err := s.UnmarshalBinary(data); err != nil {
		return fedtoken.Share{}, false, fmt.Errorf("%w: %s: %v", ErrCorruptNode, shareFile, err)
	}
	return s, true, nil
}
