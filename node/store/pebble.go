package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/sirupsen/logrus"
)

// pebbleFormat is the Pebble on-disk format the store runs at. It is pinned
// rather than left to Pebble's default so that upgrading the Pebble module
// never silently ratchets existing stores (ratcheting is one-way: a rolled
// back binary could no longer open them). FormatTableFormatV6 includes WAL
// sync chunks (FormatWALSyncChunks), which let WAL replay tell a torn,
// never-acknowledged tail apart from corruption in the middle of the log, and
// checksummed sstable footers. Raising it is a deliberate change recorded in
// doc.go.
const pebbleFormat = pebble.FormatTableFormatV6

// Tunables with their defaults; see doc.go for the memory budget.
const (
	defaultCacheSize = 64 << 20 // block cache, bytes
	// memTableSize: bytes per memtable (at most two are live). Small,
	// because Put's duplicate checks seek the memtable skiplist: measured
	// store/raw Put ratios were about 2.4 at 4 MiB, 2.8 at 16 MiB and 4.3
	// at 64 MiB, with no loss of store throughput at 4 MiB.
	memTableSize    = 4 << 20
	bloomBitsPerKey = 10 // ~1% false positives per level
)

// diskSlowThreshold is how long a single disk operation may take before
// Pebble's disk-health check reports it (DiskSlow).
const diskSlowThreshold = 5 * time.Second

// pebbleOptions builds explicit Pebble options. Everything that affects
// durability or the on-disk layout is set here rather than inherited. fsys
// is cfg.fs, possibly wrapped with disk-health checks.
func pebbleOptions(cfg *config, lock *pebble.Lock, fsys vfs.FS) *pebble.Options {
	o := &pebble.Options{
		Comparer:           newComparer(),
		FormatMajorVersion: pebbleFormat,
		FS:                 fsys,
		Lock:               lock,
		CacheSize:          cfg.cacheSize,
		MemTableSize:       memTableSize,
		// The WAL is what makes a synced commit durable: never disable it.
		DisableWAL: false,
		// Fsync each synced commit at once; no delay to batch syncs.
		WALMinSyncInterval: nil,
		Logger:             pebbleLogger{cfg.logger},
	}
	// Filters on every level, L0 included (Pebble's default leaves L0
	// without one): a look-up mostly asks for indicators nobody asserted.
	for i := range o.Levels {
		o.Levels[i].FilterPolicy = bloom.FilterPolicy(bloomBitsPerKey)
	}
	listener := eventListener(cfg.logger)
	o.EventListener = &listener
	o.EnsureDefaults()
	return o
}

// healthCheckedFS wraps the file system with Pebble's disk-health checks,
// so that a stalling disk is reported instead of silently delaying
// acknowledgements. The closer stops the checker; the Store owns it (rather
// than Pebble, via Options.WithFSDefaults) so that a failed Open stops it
// too.
func healthCheckedFS(cfg *config) (vfs.FS, io.Closer) {
	slow := eventListener(cfg.logger).DiskSlow
	return vfs.WithDiskHealthChecks(cfg.fs, diskSlowThreshold, nil, slow)
}

// pebbleLogger routes Pebble's own log lines to logrus.
type pebbleLogger struct{ entry *logrus.Entry }

func (l pebbleLogger) Infof(format string, args ...any) { l.entry.Infof(format, args...) }

func (l pebbleLogger) Errorf(format string, args ...any) { l.entry.Errorf(format, args...) }

// Fatalf must not return: Pebble calls it when continuing could lose data.
// logrus exits through its ExitFunc, which tests may replace; the panic
// keeps the contract even then.
func (l pebbleLogger) Fatalf(format string, args ...any) {
	l.entry.Fatalf(format, args...)
	panic(fmt.Sprintf(format, args...))
}

// eventListener reports the Pebble events an operator should see.
func eventListener(log *logrus.Entry) pebble.EventListener {
	return pebble.EventListener{
		BackgroundError: func(err error) {
			log.WithError(err).Error("pebble background error")
		},
		DataCorruption: func(info pebble.DataCorruptionInfo) {
			log.WithError(info.Details).WithField("path", info.Path).Error("pebble detected data corruption; run `vigie store check`")
		},
		DiskSlow: func(info pebble.DiskSlowInfo) {
			log.WithField("path", info.Path).WithField("duration", info.Duration).Warn("disk slow")
		},
		WriteStallBegin: func(info pebble.WriteStallBeginInfo) {
			log.WithField("reason", info.Reason).Warn("pebble write stall")
		},
		WriteStallEnd: func() { log.Info("pebble write stall ended") },
	}
}

// lockError classifies a failure of pebble.LockDirectory. Creating the LOCK
// file fails with an *fs.PathError (missing folder, permissions); everything
// else is the lock itself being held: fcntl's EAGAIN/EACCES from another
// process, or Pebble's own "lock held by current process".
func lockError(dir string, err error) error {
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		return fmt.Errorf("store: cannot create the lock file in %s: %w", dir, err)
	}
	return fmt.Errorf("%w: %s is already open in another Vigie process or another Store in this process; stop that one or choose another folder (%w)", ErrLocked, dir, err)
}

// comparerInFile extracts the comparer name Pebble found in the database
// when it refuses ours. Pebble has no typed error for this, so its message is
// matched; an unrecognised message falls through to a plain wrapped error.
var comparerInFile = regexp.MustCompile(`comparer name from file "([^"]*)"`)

// openError classifies a failure of pebble.Open.
func openError(dir string, err error) error {
	msg := err.Error()
	if m := comparerInFile.FindStringSubmatch(msg); m != nil {
		return comparerError(dir, m[1], err)
	}
	if strings.Contains(msg, "unknown format major version") {
		return fmt.Errorf("%w: %s uses a Pebble on-disk format newer than this build reads (Pebble format major version %d): %w",
			ErrNewerFormat, dir, pebble.FormatNewest, err)
	}
	if pebble.IsCorruptionError(err) {
		return fmt.Errorf("%w: Pebble found corruption in %s: %w", ErrCorrupt, dir, err)
	}
	return fmt.Errorf("store: opening %s: %w", dir, err)
}

// comparerError tells a store from a newer Vigie format (whose comparer name
// carries a higher version) from a Pebble database that is not ours.
func comparerError(dir, found string, err error) error {
	if v, ok := strings.CutPrefix(found, comparerNamePrefix); ok {
		if n, perr := strconv.ParseUint(v, 10, 32); perr == nil && n > formatVersion {
			return fmt.Errorf("%w: %s is a Vigie store of format %d (key order %q); this build reads format %d: %w",
				ErrNewerFormat, dir, n, found, formatVersion, err)
		}
	}
	return fmt.Errorf("%w: %s is a Pebble database but not a Vigie store (its key order is %q, ours is %q): %w",
		ErrCorrupt, dir, found, comparerName, err)
}

// inspectDir refuses to create a store over a folder that already holds
// something other than a Pebble database: Pebble would happily create one
// next to unrelated files, hiding an operator's wrong path.
func inspectDir(fsys vfs.FS, dir string) error {
	names, err := fsys.List(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: reading folder %s: %w", dir, err)
	}
	var foreign []string
	for _, name := range names {
		if isManifestFile(name) {
			return nil
		}
		if !isPebbleFile(name) {
			foreign = append(foreign, name)
		}
	}
	if len(foreign) > 0 {
		return fmt.Errorf("%w: folder %s holds %d file(s) such as %q but no Vigie store; refusing to create a store over them",
			ErrCorrupt, dir, len(foreign), foreign[0])
	}
	return nil
}

func isManifestFile(name string) bool {
	return strings.HasPrefix(name, "MANIFEST-") || strings.HasPrefix(name, "marker.manifest.")
}

// isPebbleFile recognises files Pebble may leave before its manifest exists
// (an interrupted creation), which must not block a retry.
func isPebbleFile(name string) bool {
	for _, p := range []string{"LOCK", "OPTIONS-", "marker.", "temporary.", "CURRENT"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return strings.HasSuffix(name, ".log")
}
