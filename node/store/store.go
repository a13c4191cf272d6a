package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/sirupsen/logrus"
)

// formatVersion is the store format this build writes and reads. See doc.go
// for the migration policy.
const formatVersion = 1

// Store is the node's durable record store. It is safe for concurrent use.
type Store struct {
	db     *pebble.DB
	lock   *pebble.Lock
	health io.Closer // stops the disk-health checker
	dir    string
	log    *logrus.Entry
	epoch  [16]byte

	// closeMu is held shared by every operation and exclusively by Close,
	// so Close waits for operations in flight and none starts afterwards
	// (Pebble panics on use after Close).
	closeMu sync.RWMutex
	closed  bool

	// writeMu serialises writers (Put, Erase): the duplicate check, the
	// local-log index allocation and the synced commit happen as one step,
	// so log indexes are dense and match commit order. Readers never take it.
	// Group commit (allocating under the mutex, syncing outside it) is a
	// later optimisation.
	writeMu sync.Mutex
	logNext uint64 // next local-log index; guarded by writeMu
	// ackedNext mirrors logNext for lock-free readers. It only moves once
	// a commit has returned, i.e. been fsynced: Pebble makes a batch
	// visible to reads before its WAL sync completes, and a feed must
	// never hand out a log index that a crash could give to another record.
	ackedNext atomic.Uint64
	counts    [kindLimit]uint64 // live records per kind; guarded by writeMu
	erased    uint64            // log tombstones; guarded by writeMu
	// heads caches origin heads (the h keys) as read or written; guarded
	// by writeMu. It lets Put skip the sequence-conflict read for a
	// sequence above the head, which is the usual case. One entry per
	// origin the node has stored records from: a federation's worth.
	heads map[string]uint64
}

// Option configures Open.
type Option func(*config)

type config struct {
	cacheSize int64
	logger    *logrus.Entry
	fs        vfs.FS
}

// WithCacheSize sets Pebble's block cache size in bytes (default 64 MiB).
func WithCacheSize(bytes int64) Option {
	return func(c *config) { c.cacheSize = bytes }
}

// WithLogger sends the store's and Pebble's log lines to l (default: a new
// logrus logger writing text to standard error).
func WithLogger(l *logrus.Entry) Option {
	return func(c *config) { c.logger = l }
}

// withFS runs the store on another file system; tests use Pebble's
// crash-simulating in-memory file system.
func withFS(fsys vfs.FS) Option {
	return func(c *config) { c.fs = fsys }
}

func newConfig(opts []Option) *config {
	c := &config{cacheSize: defaultCacheSize, fs: vfs.Default}
	for _, o := range opts {
		o(c)
	}
	if c.logger == nil {
		l := logrus.New()
		l.SetOutput(os.Stderr)
		c.logger = logrus.NewEntry(l)
	}
	c.logger = c.logger.WithField("component", "store")
	return c
}

// Open opens the store in dir, creating it if dir is missing or empty. It
// refuses a folder holding something else or a store that fails its
// self-check (ErrCorrupt), a store of a newer format (ErrNewerFormat), and a
// store already open elsewhere (ErrLocked).
func Open(ctx context.Context, dir string, opts ...Option) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cfg := newConfig(opts)
	if cfg.cacheSize <= 0 {
		return nil, fmt.Errorf("%w: cache size %d must be positive", ErrInvalid, cfg.cacheSize)
	}
	if err := inspectDir(cfg.fs, dir); err != nil {
		return nil, err
	}
	if err := cfg.fs.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: creating folder %s: %w", dir, err)
	}
	lock, err := pebble.LockDirectory(dir, cfg.fs)
	if err != nil {
		return nil, lockError(dir, err)
	}
	fsys, health := healthCheckedFS(cfg)
	db, err := pebble.Open(dir, pebbleOptions(cfg, lock, fsys))
	if err != nil {
		_ = lock.Close()
		_ = health.Close()
		return nil, openError(dir, err)
	}
	s := &Store{db: db, lock: lock, health: health, dir: dir, log: cfg.logger.WithField("dir", dir), heads: map[string]uint64{}}
	if err := s.load(ctx); err != nil {
		_ = s.shutdown()
		return nil, err
	}
	return s, nil
}

// Close closes the store, waiting for operations in flight. Closing twice
// is harmless.
func (s *Store) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.shutdown()
}

func (s *Store) shutdown() error {
	err := errors.Join(s.db.Close(), s.lock.Close(), s.health.Close())
	if err != nil {
		return fmt.Errorf("store: closing %s: %w", s.dir, err)
	}
	return nil
}

// acquire marks an operation in flight; release must follow.
func (s *Store) acquire() error {
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return ErrClosed
	}
	return nil
}

func (s *Store) release() { s.closeMu.RUnlock() }

// load reads the meta keys, creating them for a new store, then runs the
// cheap self-check.
func (s *Store) load(ctx context.Context) error {
	raw, err := s.getRaw(metaKey(metaFormatName))
	if errors.Is(err, pebble.ErrNotFound) {
		return s.initialise()
	}
	if err != nil {
		return fmt.Errorf("store: reading the format key of %s: %w", s.dir, err)
	}
	if err := checkFormat(s.dir, raw); err != nil {
		return err
	}
	if err := s.loadMeta(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.selfCheck()
}

func checkFormat(dir string, raw []byte) error {
	v, err := decodeU64(raw)
	if err != nil {
		return fmt.Errorf("%w: %s: format key: %w", ErrCorrupt, dir, err)
	}
	if v > formatVersion {
		return fmt.Errorf("%w: %s holds a Vigie store of format %d; this build reads format %d. Upgrade vigie, or restore the store from before the upgrade",
			ErrNewerFormat, dir, v, formatVersion)
	}
	if v != formatVersion {
		return fmt.Errorf("%w: %s: format key holds %d, which no Vigie release wrote", ErrCorrupt, dir, v)
	}
	return nil
}

// initialise writes the meta keys of a new store in one synced batch. A
// crash before that batch leaves a Pebble database with no keys at all,
// which the next Open initialises again; a database holding keys but no
// format key is not ours.
func (s *Store) initialise() error {
	empty, err := s.isEmpty()
	if err != nil {
		return err
	}
	if !empty {
		return fmt.Errorf("%w: %s is a Pebble database holding data but no Vigie format key", ErrCorrupt, s.dir)
	}
	if _, err := rand.Read(s.epoch[:]); err != nil {
		return fmt.Errorf("store: drawing the log epoch: %w", err)
	}
	b := s.db.NewBatch()
	defer b.Close()
	s.logNext = firstLogIndex
	setAll(b, map[string][]byte{
		string(metaKey(metaFormatName)):  encodeU64(formatVersion),
		string(metaKey(metaEpochName)):   s.epoch[:],
		string(metaKey(metaLogNextName)): encodeU64(s.logNext),
		string(metaKey(metaErasedName)):  encodeU64(0),
	})
	for k := KindAssertion; k < kindLimit; k++ {
		_ = b.Set(countKey(k), encodeU64(0), nil)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("store: initialising %s: %w", s.dir, err)
	}
	s.ackedNext.Store(s.logNext)
	s.log.WithField("format", formatVersion).Info("created a new store")
	return nil
}

func setAll(b *pebble.Batch, kv map[string][]byte) {
	for k, v := range kv {
		_ = b.Set([]byte(k), v, nil) // Batch.Set only fails on a closed batch
	}
}

func (s *Store) isEmpty() (bool, error) {
	it, err := s.db.NewIter(nil)
	if err != nil {
		return false, fmt.Errorf("store: scanning %s: %w", s.dir, err)
	}
	defer it.Close()
	return !it.First(), it.Error()
}

// loadMeta reads the epoch, the log head and the counters into memory.
func (s *Store) loadMeta() error {
	epoch, err := s.getRaw(metaKey(metaEpochName))
	if err != nil || len(epoch) != len(s.epoch) {
		return s.metaError(metaEpochName, err)
	}
	copy(s.epoch[:], epoch)
	if s.logNext, err = s.getU64(metaKey(metaLogNextName)); err != nil {
		return s.metaError(metaLogNextName, err)
	}
	s.ackedNext.Store(s.logNext)
	if s.erased, err = s.getU64(metaKey(metaErasedName)); err != nil {
		return s.metaError(metaErasedName, err)
	}
	for k := KindAssertion; k < kindLimit; k++ {
		if s.counts[k], err = s.getU64(countKey(k)); err != nil {
			return s.metaError(metaCountName+k.String(), err)
		}
	}
	return nil
}

func (s *Store) metaError(name string, err error) error {
	if err == nil {
		err = errBadValue
	}
	return fmt.Errorf("%w: %s: meta key %q missing or malformed: %w", ErrCorrupt, s.dir, name, err)
}

// getRaw returns a copy of the value at key (pebble.ErrNotFound if none).
func (s *Store) getRaw(key []byte) ([]byte, error) {
	v, closer, err := s.db.Get(key)
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return append([]byte(nil), v...), nil
}

func (s *Store) getU64(key []byte) (uint64, error) {
	return getU64(s.db, key)
}

func getU64(r reader, key []byte) (uint64, error) {
	v, closer, err := r.Get(key)
	if err != nil {
		return 0, err
	}
	defer closer.Close()
	return decodeU64(v)
}
