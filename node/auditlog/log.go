package auditlog

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/vigie-project/vigie/crypto/checkpoint"
	"github.com/vigie-project/vigie/crypto/merkle"
	"github.com/vigie-project/vigie/internal/atomicfile"
)

// More errors callers test for with errors.Is.
var (
	// ErrClosed means the log was closed.
	ErrClosed = errors.New("auditlog: closed")
	// ErrLocked means another Log (in this process or another) holds the folder.
	ErrLocked = errors.New("auditlog: log folder in use")
	// ErrNotDurable means an entry or size asked for is not yet durable.
	ErrNotDurable = errors.New("auditlog: not yet durable")
)

// Defaults.
const (
	DefaultBatchInterval      = 50 * time.Millisecond
	DefaultCheckpointInterval = time.Second
	maxPending                = 4 << 20 // bytes buffered before the flusher is woken
)

type options struct {
	origin     string
	batch      time.Duration
	cpInterval time.Duration
	now        func() time.Time
	log        *logrus.Entry
	onCP       func(checkpoint.Checkpoint, []byte)
	rand       io.Reader
}

// Option configures Open.
type Option func(*options)

// WithOrigin sets the checkpoint origin line (default: the first signer's
// name). The C2SP recommendation is a schema-less URL naming the log, for
// instance "vigie.eu/FR-pharos/audit".
func WithOrigin(origin string) Option { return func(o *options) { o.origin = origin } }

// WithBatchInterval sets how often buffered entries are written and
// fsynced (default 50 ms). Sync makes them durable at once.
func WithBatchInterval(d time.Duration) Option { return func(o *options) { o.batch = d } }

// WithCheckpointInterval sets the minimum time between two checkpoints
// published while entries arrive (default 1 s).
func WithCheckpointInterval(d time.Duration) Option { return func(o *options) { o.cpInterval = d } }

// WithClock sets the clock used for entries without a time.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithLogger sets the logger (the log records folder names, sizes and
// errors, never entry contents).
func WithLogger(l *logrus.Entry) Option { return func(o *options) { o.log = l } }

// WithOnCheckpoint is called with every checkpoint published (after it is
// durable), for instance to ask witnesses to cosign it. It must not block
// for long; it runs on the publishing goroutine.
func WithOnCheckpoint(f func(c checkpoint.Checkpoint, note []byte)) Option {
	return func(o *options) { o.onCP = f }
}

// withRand replaces the source of salts (tests only).
func withRand(r io.Reader) Option { return func(o *options) { o.rand = r } }

// cpRef locates a published checkpoint or a cosignature record in the file.
type cpRef struct {
	size   uint64
	offset int64
}

// Log is a node's tamper-evident audit log. It is safe for concurrent use.
type Log struct {
	dir     string
	f       *os.File
	o       options
	signers []checkpoint.Signer
	vs      []checkpoint.Verifier

	mu       sync.Mutex // guards the fields below
	tree     *tree
	offsets  []int64 // file offset of every entry record
	pending  []byte  // records not yet written
	spare    []byte
	pendBase int64 // file offset where pending starts
	salts    *mrand.ChaCha8
	err      error // sticky write error
	closed   bool

	written atomic.Int64  // bytes handed to the OS
	durable atomic.Uint64 // entries fsynced
	syncMu  sync.Mutex    // serialises writes and fsyncs

	cpMu    sync.Mutex // serialises publishing; guards the fields below
	cps     []cpRef    // published checkpoints, by size
	cosigs  []cpRef    // cosignature records
	latest  []byte
	latestC checkpoint.Checkpoint
	lastPub time.Time

	wake chan struct{}
	stop chan struct{}
	done chan struct{}
}

// Open opens or creates the log in dir. signers sign every checkpoint (the
// node's Ed25519 and ML-DSA-44 keys); at least one is required. Open
// recovers from a torn tail (a crash during a write) by truncating it, and
// refuses a log whose records are damaged elsewhere or disagree with a
// checkpoint it published (ErrCorrupt).
func Open(dir string, signers []checkpoint.Signer, opts ...Option) (*Log, error) {
	o := options{batch: DefaultBatchInterval, cpInterval: DefaultCheckpointInterval, now: time.Now, rand: rand.Reader}
	for _, opt := range opts {
		opt(&o)
	}
	if o.log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		o.log = logrus.NewEntry(l)
	}
	if len(signers) == 0 {
		return nil, fmt.Errorf("auditlog: no checkpoint signers")
	}
	if o.origin == "" {
		o.origin = signers[0].Name()
	}
	if err := (checkpoint.Checkpoint{Origin: o.origin}).Validate(); err != nil {
		return nil, err
	}
	var vs []checkpoint.Verifier
	for _, s := range signers {
		v, err := checkpoint.SignerVerifier(s)
		if err == nil {
			vs = append(vs, v)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("auditlog: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, fileName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("auditlog: %w", err)
	}
	l := &Log{dir: dir, f: f, o: o, signers: signers, vs: vs, tree: newTree(),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	if err := l.load(); err != nil {
		f.Close()
		return nil, err
	}
	var seed [32]byte
	if _, err := io.ReadFull(o.rand, seed[:]); err != nil {
		f.Close()
		return nil, fmt.Errorf("auditlog: reading randomness: %w", err)
	}
	l.salts = mrand.NewChaCha8(seed)
	go l.run()
	return l, nil
}

func (l *Log) load() error {
	if err := lockFile(l.f); err != nil {
		return err
	}
	st, err := l.f.Stat()
	if err != nil {
		return fmt.Errorf("auditlog: %w", err)
	}
	if st.Size() < headerSize {
		// New, or a crash while creating it: (re)write the header.
		var have [headerSize]byte
		n, _ := l.f.ReadAt(have[:], 0)
		if string(have[:n]) != string(fileHeader[:n]) {
			return fmt.Errorf("%w: %s is not an audit log", ErrCorrupt, l.f.Name())
		}
		if err := l.f.Truncate(0); err != nil {
			return err
		}
		if _, err := l.f.WriteAt(fileHeader[:], 0); err != nil {
			return fmt.Errorf("auditlog: %w", err)
		}
		if err := l.f.Sync(); err != nil {
			return fmt.Errorf("auditlog: %w", err)
		}
		if err := atomicfile.SyncDir(l.dir); err != nil {
			return err
		}
	}
	var lastNote []byte
	end, torn, err := scanFile(l.f, func(r scanned) error {
		switch r.typ {
		case recEntry:
			if len(r.payload) < SaltSize+8 {
				return fmt.Errorf("%w: short entry record at offset %d", ErrCorrupt, r.offset)
			}
			salt := (*[SaltSize]byte)(r.payload[:SaltSize])
			idx := getU64(r.payload[SaltSize:])
			if idx != l.tree.size() {
				return fmt.Errorf("%w: entry record at offset %d has index %d, want %d", ErrCorrupt, r.offset, idx, l.tree.size())
			}
			l.tree.append(LeafHash(salt, idx, r.payload[SaltSize+8:]))
			l.offsets = append(l.offsets, r.offset)
		case recCheckpoint:
			n, err := checkpoint.ParseNote(r.payload)
			if err != nil {
				return fmt.Errorf("%w: checkpoint record at offset %d: %v", ErrCorrupt, r.offset, err)
			}
			c, err := checkpoint.ParseCheckpoint(n.Text)
			if err != nil {
				return fmt.Errorf("%w: checkpoint record at offset %d: %v", ErrCorrupt, r.offset, err)
			}
			root, err := l.tree.root(c.Size)
			if err != nil || root != c.Root {
				return fmt.Errorf("%w: the log disagrees with its checkpoint of size %d (offset %d)", ErrCorrupt, c.Size, r.offset)
			}
			if k := len(l.cps); k > 0 && l.cps[k-1].size > c.Size {
				return fmt.Errorf("%w: checkpoint of size %d after one of size %d", ErrCorrupt, c.Size, l.cps[k-1].size)
			}
			l.cps = append(l.cps, cpRef{size: c.Size, offset: r.offset})
			lastNote = append(lastNote[:0], r.payload...)
			l.latestC = c
		case recCosignatures:
			if len(r.payload) < 8 {
				return fmt.Errorf("%w: short cosignature record at offset %d", ErrCorrupt, r.offset)
			}
			l.cosigs = append(l.cosigs, cpRef{size: getU64(r.payload), offset: r.offset})
		default:
			return fmt.Errorf("%w: unknown record type %d at offset %d", ErrCorrupt, r.typ, r.offset)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if lastNote != nil {
		// The newest checkpoint must carry all of our current keys.
		if len(l.vs) > 0 {
			n, err := checkpoint.Open(lastNote, l.vs...)
			if err != nil {
				return fmt.Errorf("%w: newest checkpoint: %v", ErrCorrupt, err)
			}
			if m := n.Missing(l.vs...); len(m) > 0 {
				l.o.log.WithField("key", m[0].Name()).Warn("audit log: newest checkpoint lacks a signature by a current key (rotated?)")
			}
		}
		l.latest = lastNote
	}
	if torn {
		l.o.log.WithFields(logrus.Fields{"folder": l.dir, "offset": end}).Warn("audit log: truncating a torn tail left by a crash")
		if err := l.f.Truncate(end); err != nil {
			return fmt.Errorf("auditlog: truncating torn tail: %w", err)
		}
		if err := l.f.Sync(); err != nil {
			return fmt.Errorf("auditlog: %w", err)
		}
	}
	l.pendBase = end
	l.written.Store(end)
	l.durable.Store(l.tree.size())
	return nil
}

// Origin is the checkpoint origin line.
func (l *Log) Origin() string { return l.o.origin }

// Verifiers are the verifiers of the checkpoint signers.
func (l *Log) Verifiers() []checkpoint.Verifier { return l.vs }

// Append adds an entry and returns its index (the first is 0). The entry
// is buffered: it is durable once Sync returns or after the batch interval,
// and a checkpoint covers it only then. An entry without a time gets the
// clock's.
func (l *Log) Append(ctx context.Context, e Entry) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if e.Time.IsZero() {
		e.Time = l.o.now()
	}
	enc, err := e.Encode()
	if err != nil {
		return 0, err
	}
	return l.appendEncoded(enc)
}

func (l *Log) appendEncoded(enc []byte) (uint64, error) {
	var salt [SaltSize]byte
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return 0, ErrClosed
	}
	if l.err != nil {
		err := l.err
		l.mu.Unlock()
		return 0, err
	}
	_, _ = l.salts.Read(salt[:])
	idx := l.tree.size()
	l.tree.append(LeafHash(&salt, idx, enc))
	l.offsets = append(l.offsets, l.pendBase+int64(len(l.pending)))
	var ib [8]byte
	putU64(ib[:], idx)
	l.pending = appendRecord(l.pending, recEntry, salt[:], ib[:], enc)
	wake := len(l.pending) > maxPending
	l.mu.Unlock()
	if wake {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
	return idx, nil
}

// Size is the number of entries appended (durable or not).
func (l *Log) Size() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tree.size()
}

// DurableSize is the number of entries fsynced.
func (l *Log) DurableSize() uint64 { return l.durable.Load() }

// Sync writes and fsyncs every entry appended before the call. Concurrent
// calls share fsyncs.
func (l *Log) Sync(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	target := l.tree.size()
	l.mu.Unlock()
	return l.syncTo(target)
}

func (l *Log) syncTo(target uint64) error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	if l.err != nil {
		err := l.err
		l.mu.Unlock()
		return err
	}
	if len(l.pending) == 0 && l.durable.Load() >= target {
		l.mu.Unlock()
		return nil
	}
	data := l.pending
	size := l.tree.size()
	l.pending = l.spare[:0]
	l.pendBase += int64(len(data))
	l.mu.Unlock()

	_, err := l.f.WriteAt(data, l.written.Load())
	if err == nil {
		l.written.Add(int64(len(data)))
		err = l.f.Sync()
	}
	l.mu.Lock()
	if cap(data) <= 2*maxPending {
		l.spare = data[:0]
	}
	if err != nil {
		// The file's tail is now unknown; refuse further appends rather
		// than acknowledging entries a crash could lose or reorder.
		l.err = fmt.Errorf("auditlog: writing %s: %w", l.f.Name(), err)
		l.mu.Unlock()
		return l.err
	}
	l.mu.Unlock()
	l.durable.Store(size)
	return nil
}

// run writes batches and publishes checkpoints until Close.
func (l *Log) run() {
	defer close(l.done)
	t := time.NewTicker(l.o.batch)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		case <-l.wake:
		}
		if err := l.syncTo(0); err != nil {
			l.o.log.WithError(err).Error("audit log: write failed")
			continue
		}
		l.cpMu.Lock()
		due := time.Since(l.lastPub) >= l.o.cpInterval && (len(l.cps) == 0 || l.cps[len(l.cps)-1].size < l.durable.Load())
		l.cpMu.Unlock()
		if due {
			if _, err := l.Publish(context.Background()); err != nil {
				l.o.log.WithError(err).Error("audit log: publishing a checkpoint failed")
			}
		}
	}
}

// Publish makes every entry appended so far durable and publishes a signed
// checkpoint covering them, unless the latest checkpoint already does. It
// returns the signed note. The background loop calls it at most once per
// checkpoint interval while entries arrive.
func (l *Log) Publish(ctx context.Context) ([]byte, error) {
	if err := l.Sync(ctx); err != nil {
		return nil, err
	}
	l.cpMu.Lock()
	note, c, fresh, err := l.publishLocked()
	l.cpMu.Unlock()
	if err == nil && fresh && l.o.onCP != nil {
		l.o.onCP(c, note)
	}
	return note, err
}

func (l *Log) publishLocked() ([]byte, checkpoint.Checkpoint, bool, error) {
	size := l.durable.Load()
	if n := len(l.cps); n > 0 && l.cps[n-1].size == size {
		return l.latest, l.latestC, false, nil
	}
	l.mu.Lock()
	root, err := l.tree.root(size)
	l.mu.Unlock()
	if err != nil {
		return nil, checkpoint.Checkpoint{}, false, err
	}
	c := checkpoint.Checkpoint{Origin: l.o.origin, Size: size, Root: root}
	note, err := checkpoint.SignCheckpoint(c, l.signers...)
	if err != nil {
		return nil, c, false, err
	}
	l.mu.Lock()
	off := l.pendBase + int64(len(l.pending))
	l.pending = appendRecord(l.pending, recCheckpoint, note)
	l.mu.Unlock()
	if err := l.syncTo(0); err != nil {
		return nil, c, false, err
	}
	l.cps = append(l.cps, cpRef{size: size, offset: off})
	l.latest, l.latestC, l.lastPub = note, c, time.Now()
	return note, c, true, nil
}

// Checkpoint returns the latest published checkpoint (a signed note),
// publishing one first if none was.
func (l *Log) Checkpoint() ([]byte, error) {
	l.cpMu.Lock()
	note := l.latest
	l.cpMu.Unlock()
	if note != nil {
		return note, nil
	}
	return l.Publish(context.Background())
}

// AddCosignatures stores witness cosignatures of the published checkpoint
// of the given size (the caller has verified them); Export merges them into
// that checkpoint's note.
func (l *Log) AddCosignatures(ctx context.Context, size uint64, sigs ...checkpoint.Signature) error {
	if len(sigs) == 0 {
		return nil
	}
	l.cpMu.Lock()
	found := false
	for i := len(l.cps) - 1; i >= 0 && l.cps[i].size >= size; i-- {
		found = found || l.cps[i].size == size
	}
	l.cpMu.Unlock()
	if !found {
		return fmt.Errorf("auditlog: no published checkpoint of size %d", size)
	}
	var lines []byte
	for _, s := range sigs {
		lines = append(lines, s.Line()...)
	}
	if _, err := checkpoint.ParseNote(append([]byte("x\n\n"), lines...)); err != nil {
		return err
	}
	var sb [8]byte
	putU64(sb[:], size)
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	off := l.pendBase + int64(len(l.pending))
	l.pending = appendRecord(l.pending, recCosignatures, sb[:], lines)
	l.mu.Unlock()
	if err := l.syncTo(0); err != nil {
		return err
	}
	l.cpMu.Lock()
	l.cosigs = append(l.cosigs, cpRef{size: size, offset: off})
	l.cpMu.Unlock()
	return nil
}

// InclusionProof proves entry index is in the tree of the given size.
func (l *Log) InclusionProof(index, size uint64) ([]merkle.Hash, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tree.inclusion(index, size)
}

// ConsistencyProof proves the tree of size old is a prefix of the tree of
// size new.
func (l *Log) ConsistencyProof(old, new uint64) ([]merkle.Hash, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tree.consistency(old, new)
}

// Root is the tree hash at a size.
func (l *Log) Root(size uint64) (merkle.Hash, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tree.root(size)
}

// StoredEntry is an entry as stored: its index, salt, encoding and leaf hash.
type StoredEntry struct {
	Index   uint64
	Salt    [SaltSize]byte
	Encoded []byte
	Leaf    merkle.Hash
}

// Entry decodes the stored entry.
func (s StoredEntry) Entry() (Entry, error) { return DecodeEntry(s.Encoded) }

// LeafData is the Merkle leaf: salt ‖ u64 index ‖ encoded entry.
func (s StoredEntry) LeafData() []byte { return LeafData(&s.Salt, s.Index, s.Encoded) }

// ReadEntry reads a durable entry.
func (l *Log) ReadEntry(index uint64) (StoredEntry, error) {
	if index >= l.durable.Load() {
		return StoredEntry{}, fmt.Errorf("%w: entry %d (durable size %d)", ErrNotDurable, index, l.durable.Load())
	}
	l.mu.Lock()
	off := l.offsets[index]
	leaf := l.tree.leaf(index)
	l.mu.Unlock()
	payload, err := l.readRecordAt(off, recEntry)
	if err != nil {
		return StoredEntry{}, err
	}
	s, err := storedFromPayload(payload)
	if err != nil {
		return StoredEntry{}, err
	}
	s.Leaf = leaf
	if s.Index != index || LeafHash(&s.Salt, s.Index, s.Encoded) != leaf {
		return StoredEntry{}, fmt.Errorf("%w: entry %d changed on disk since the log was opened", ErrCorrupt, index)
	}
	return s, nil
}

func storedFromPayload(p []byte) (StoredEntry, error) {
	if len(p) < SaltSize+8 {
		return StoredEntry{}, fmt.Errorf("%w: short entry record", ErrCorrupt)
	}
	var s StoredEntry
	copy(s.Salt[:], p)
	s.Index = getU64(p[SaltSize:])
	s.Encoded = p[SaltSize+8:]
	return s, nil
}

// readRecordAt reads the record at off (written to the file) and checks
// its type and CRC; it returns the payload without the type byte.
func (l *Log) readRecordAt(off int64, typ byte) ([]byte, error) {
	r := newOffsetReader(l.f, off, l.written.Load())
	rec, ok, err := readRecord(r, l.written.Load(), nil)
	if err != nil {
		return nil, fmt.Errorf("auditlog: reading record at %d: %w", off, err)
	}
	if !ok || rec[0] != typ {
		return nil, fmt.Errorf("%w: record at offset %d damaged", ErrCorrupt, off)
	}
	return rec[1:], nil
}

// Close publishes a last checkpoint covering every entry, stops the
// background loop and closes the file. Entries appended concurrently with
// Close may be lost (they were never acknowledged as durable).
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	l.mu.Unlock()
	close(l.stop)
	<-l.done
	_, perr := l.Publish(context.Background())
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	// Wait for any Sync in flight.
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	if err := l.f.Close(); err != nil {
		return err
	}
	return perr
}
