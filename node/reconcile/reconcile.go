package reconcile

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/vigie-project/vigie/protocol/riblt"
)

// ProtocolID is the libp2p protocol of a reconciliation session.
const ProtocolID protocol.ID = "/vigie/reconcile/1.0.0"

// MaxFrame bounds every message of a session, in both directions.
const MaxFrame = 64 << 10

var (
	// ErrMalformed is wrapped by every error caused by what the peer sent:
	// an undecodable message, or one the protocol does not allow now.
	ErrMalformed = errors.New("reconcile: malformed message")
	// ErrKeyCheck means the initiator's key and key check disagree.
	ErrKeyCheck = errors.New("reconcile: session key check mismatch")
	// ErrTooLarge means the difference exceeds the session's budgets, even
	// for the range-based fallback; the catch-up feed is the tool then.
	ErrTooLarge = errors.New("reconcile: difference exceeds the session budget")
	// ErrUnconfirmed means the difference found does not account for the
	// two set checksums: a set changed mid-session, or the peer lied.
	ErrUnconfirmed = errors.New("reconcile: result does not match the set checksums")
	// ErrAborted means the peer ended the session with an abort message.
	ErrAborted = errors.New("reconcile: aborted by the peer")
)

// Set is one side's reconciliation domain for one peer: the ids of the
// records it holds that the peer may hold too (the caller filters by
// policy). Ids must be distinct, and the set must not change during a
// session.
type Set interface {
	Len() int
	// Each calls fn for every id until fn returns false.
	Each(fn func(id riblt.Symbol) bool)
}

// Slice is a Set held in a slice.
type Slice []riblt.Symbol

// Len implements Set.
func (s Slice) Len() int { return len(s) }

// Each implements Set.
func (s Slice) Each(fn func(riblt.Symbol) bool) {
	for _, id := range s {
		if !fn(id) {
			return
		}
	}
}

// SymbolOf returns the reconciliation id of a record CID: SHA-256 of its
// binary form. Hashing (rather than taking the multihash digest) keeps ids
// uniform whatever the codec and hash of the CID, which the range-based
// fallback relies on to split the id space evenly.
func SymbolOf(c cid.Cid) riblt.Symbol {
	return sha256.Sum256(c.Bytes())
}

// Result is what the initiator learns from a session.
type Result struct {
	Theirs        []riblt.Symbol // ids only the remote holds: records to fetch
	Ours          []riblt.Symbol // ids only we hold: records to offer
	Rounds        int            // request/response round trips
	BytesSent     int            // frame bytes written, length prefixes included
	BytesReceived int            // frame bytes read
	Fallback      bool           // the range-based fallback was used
}

// Option configures a session.
type Option func(*config)

type config struct {
	maxDiff       int
	fallbackBytes int
	rand          io.Reader
}

// DefaultMaxDifference is the largest difference the rateless IBLT is
// given a budget for before the range-based fallback takes over.
const DefaultMaxDifference = 2048

// DefaultMaxFallbackBytes bounds the bytes the fallback may carry from
// responder to initiator: two million ids' worth.
const DefaultMaxFallbackBytes = 64 << 20

// WithMaxDifference sets the largest difference (both sides together) the
// rateless IBLT is tried for. A session gives it about 2·n+32 coded
// symbols, then falls back to range-based reconciliation. Both sides apply
// their own value; the smaller wins.
func WithMaxDifference(n int) Option {
	return func(c *config) { c.maxDiff = min(max(n, 1), maxDifferenceCap) }
}

// WithMaxFallbackBytes bounds the fallback's traffic from responder to
// initiator; past it the session fails with ErrTooLarge.
func WithMaxFallbackBytes(n int) Option {
	return func(c *config) { c.fallbackBytes = max(n, 1024) }
}

// WithRand sets the source of the session key (crypto/rand by default);
// for tests.
func WithRand(r io.Reader) Option {
	return func(c *config) { c.rand = r }
}

// maxDifferenceCap keeps the symbol budget within riblt's stream cap.
const maxDifferenceCap = (riblt.MaxStreamLength - symbolSlack) / 2

// symbolSlack covers the coding overhead of very small differences.
const symbolSlack = 32

func newConfig(opts []Option) config {
	c := config{maxDiff: DefaultMaxDifference, fallbackBytes: DefaultMaxFallbackBytes, rand: rand.Reader}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// symbolBudget is how many coded symbols a session may use: decoding needs
// about 1.36·d for large d and up to 1.75·d for tiny ones.
func (c *config) symbolBudget() int { return 2*c.maxDiff + symbolSlack }
