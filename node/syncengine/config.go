package syncengine

import (
	"errors"
	"fmt"
	"time"
)

// Entry is one position of the local log as Log.Range returns it.
type Entry struct {
	Index uint64
	// Erased marks a tombstone: the record was erased and its identity
	// dropped. The feed skips it but moves past it.
	Erased bool
	// Record is the record logged at Index (zero if Erased).
	Record Record
	// Manifest is the signed manifest covering Record, nil when Record is
	// itself a manifest or is not batch-signed. The feed sends a record
	// with its manifest and never sends a manifest entry on its own.
	Manifest *Record
}

// Log is the engine's read access to the node's local log. Reads happen
// inside Step, as etcd-io/raft reads its Storage; the node's store answers
// from memory or its block cache. Head and Range must only show entries
// whose Put has returned (the store's LogHead and LogRange already do).
type Log interface {
	// Head returns the log's epoch and the index its next entry will get
	// (entries are 1 to next-1).
	Head() (Epoch, uint64)
	// Range returns up to limit entries with Index > after, in index order,
	// tombstones included.
	Range(after uint64, limit int) ([]Entry, error)
}

// Policy decides, per destination, what may cross the wire. The engine
// asks MayShare for every record and manifest before it leaves for a peer,
// by push or by feed, and MayAccept for every one that arrives, before the
// node sees it. The node re-checks what it stores; the federation baseline
// (TLP RED never leaves its origin, onward transfer only with consent) and
// the per-country Cedar policy live behind this interface. Decisions must
// be deterministic functions of their arguments and the policy's own state.
type Policy interface {
	MayShare(to PeerID, rec *Record) bool
	MayAccept(from PeerID, rec *Record) bool
}

// Config is everything an Engine is built from. Log, Policy and Origin are
// required; zero limits take the defaults below.
type Config struct {
	// Origin is this node's agency, as records name their origin: records
	// of this origin are ours, and go to every permitted peer; others are
	// relayed.
	Origin string
	Log    Log
	Policy Policy
	// Cursors are the cursors persisted by earlier PersistCursor actions.
	Cursors []PeerCursor

	// SendWindow is the number of data messages (Push, FeedBatch) in flight
	// per peer before the engine queues. Default 8.
	SendWindow int
	// QueueRecords bounds the records queued for one peer in each of the
	// two push queues (retractions, the rest). Past it, pushes to that peer
	// are dropped and it is told to catch up by feed. Default 8192.
	QueueRecords int
	// PushRecords and MessageBytes cap one Push or FeedBatch. Defaults
	// 256 records and 4 MiB; one bundle larger than the byte budget still
	// travels, alone.
	PushRecords  int
	MessageBytes int
	// FeedRecords caps the records in one FeedBatch (default 1000), and
	// FeedScan the log entries read to answer one FeedRequest, so that a
	// peer allowed few records does not make us read the whole log in one
	// Step (default 16 × FeedRecords).
	FeedRecords int
	FeedScan    int
	// FeedWindow is the number of FeedBatches a receiver lets the node
	// work on before asking for the next one. Default 2.
	FeedWindow int
	// KnownPerPeer bounds, per peer, the record CIDs remembered as held by
	// that peer (because it sent them to us), to avoid relaying them back.
	// Default 8192.
	KnownPerPeer int
	// MaxDeliveries bounds the bundles held for the node's answer. Feed
	// requests never ask for more than fits; past it, pushed bundles are
	// not delivered and the feed refetches them later. Default 65536.
	MaxDeliveries int
	// DeliveryTimeout is how long the node may take to answer a Deliver
	// before the engine delivers it again; the timeout doubles with each
	// repeat (up to 64 times). Default 1 minute.
	DeliveryTimeout time.Duration
	// RetryDelay is the pause before delivering a bundle again after a
	// local failure, reading the log again after a Range error, or asking
	// for more when the node is far behind. Default 1 second.
	RetryDelay time.Duration
	// DirectDelay is how long a change in the origins we receive directly
	// waits before going to every peer (see Direct), and how long after a
	// connection comes up we wait before asking for its feed. Default
	// 200 ms.
	DirectDelay time.Duration
}

// Defaults.
const (
	DefaultSendWindow      = 8
	DefaultQueueRecords    = 8192
	DefaultPushRecords     = 256
	DefaultMessageBytes    = 4 << 20
	DefaultFeedRecords     = 1000
	DefaultFeedWindow      = 2
	DefaultKnownPerPeer    = 8192
	DefaultMaxDeliveries   = 1 << 16
	DefaultDeliveryTimeout = time.Minute
	DefaultRetryDelay      = time.Second
	DefaultDirectDelay     = 200 * time.Millisecond
)

// errConfig is wrapped by every configuration error.
var errConfig = errors.New("syncengine: invalid config")

// withDefaults checks c and fills in its zero limits.
func (c Config) withDefaults() (Config, error) {
	if c.Log == nil || c.Policy == nil {
		return c, fmt.Errorf("%w: Log and Policy are required", errConfig)
	}
	if c.Origin == "" {
		return c, fmt.Errorf("%w: Origin is required", errConfig)
	}
	for _, v := range []*int{&c.SendWindow, &c.QueueRecords, &c.PushRecords, &c.MessageBytes, &c.FeedRecords, &c.FeedScan, &c.FeedWindow, &c.KnownPerPeer, &c.MaxDeliveries} {
		if *v < 0 {
			return c, fmt.Errorf("%w: negative limit %d", errConfig, *v)
		}
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.SendWindow, DefaultSendWindow)
	def(&c.QueueRecords, DefaultQueueRecords)
	def(&c.PushRecords, DefaultPushRecords)
	def(&c.MessageBytes, DefaultMessageBytes)
	def(&c.FeedRecords, DefaultFeedRecords)
	def(&c.FeedScan, 16*c.FeedRecords)
	def(&c.FeedWindow, DefaultFeedWindow)
	def(&c.KnownPerPeer, DefaultKnownPerPeer)
	def(&c.MaxDeliveries, DefaultMaxDeliveries)
	if c.DeliveryTimeout <= 0 {
		c.DeliveryTimeout = DefaultDeliveryTimeout
	}
	if c.RetryDelay <= 0 {
		c.RetryDelay = DefaultRetryDelay
	}
	if c.DirectDelay <= 0 {
		c.DirectDelay = DefaultDirectDelay
	}
	return c, nil
}
