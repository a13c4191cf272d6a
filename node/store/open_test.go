package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/ipfs/go-cid"
)

func TestOpenLockedInProcess(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	_, err := Open(context.Background(), dir, quietLogger())
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open in one process: %v; want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), dir) {
		t.Errorf("ErrLocked message %q does not name the folder", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	openT(t, dir).Close() // the lock is released on Close
}

// lockHelperEnv makes the test binary, re-run as a subprocess, hold a store
// open until its standard input closes.
const lockHelperEnv = "VIGIE_STORE_LOCK_HELPER_DIR"

func TestLockHelperProcess(t *testing.T) {
	dir := os.Getenv(lockHelperEnv)
	if dir == "" {
		t.Skip("helper for TestOpenLockedByOtherProcess; runs only as its subprocess")
	}
	s, err := Open(context.Background(), dir, quietLogger())
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = s.Close()
}

func TestOpenLockedByOtherProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skips spawning a subprocess")
	}
	dir := t.TempDir()
	openT(t, dir).Close() // create it first, so the helper only opens
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelperProcess$")
	cmd.Env = append(os.Environ(), lockHelperEnv+"="+dir)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stdin.Close(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("helper said %q, %v", line, err)
	}
	_, err = Open(context.Background(), dir, quietLogger())
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("Open while another process holds the store: %v; want ErrLocked", err)
	}
	t.Logf("message: %v", err)
	_ = stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	openT(t, dir).Close()
}

func quietPebble() pebble.Logger {
	return pebbleLogger{newConfig([]Option{quietLogger()}).logger}
}

// rawDB opens the store's folder with Pebble directly, with our options.
func rawDB(t *testing.T, dir string) *pebble.DB {
	t.Helper()
	cfg := newConfig([]Option{quietLogger()})
	db, err := pebble.Open(dir, pebbleOptions(cfg, nil, cfg.fs))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestOpenNewerFormat(t *testing.T) {
	dir := t.TempDir()
	openT(t, dir).Close()
	db := rawDB(t, dir)
	if err := db.Set(metaKey(metaFormatName), encodeU64(2), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	_, err := Open(context.Background(), dir, quietLogger())
	if !errors.Is(err, ErrNewerFormat) {
		t.Fatalf("Open of a format-2 store: %v; want ErrNewerFormat", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "format 2") || !strings.Contains(msg, "reads format 1") {
		t.Errorf("message %q does not say what was found and what this build reads", msg)
	}
}

func TestOpenNewerKeyOrder(t *testing.T) {
	dir := t.TempDir()
	cmp := *newComparer()
	cmp.Name = comparerNamePrefix + "2"
	db, err := pebble.Open(dir, &pebble.Options{Comparer: &cmp, FormatMajorVersion: pebbleFormat, Logger: quietPebble()})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	_, err = Open(context.Background(), dir, quietLogger())
	if !errors.Is(err, ErrNewerFormat) {
		t.Fatalf("Open of a store with a future key order: %v; want ErrNewerFormat", err)
	}
}

func TestOpenRefusesForeignFolder(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewSource(1))
	for _, name := range []string{"notes.txt", "data.bin"} {
		b := make([]byte, 100)
		rng.Read(b)
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_, err := Open(context.Background(), dir, quietLogger())
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open of a folder of random files: %v; want ErrCorrupt", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Fatalf("Open left %d files in a foreign folder; want it untouched", len(entries))
	}
}

func TestOpenRefusesOtherPebbleDB(t *testing.T) {
	dir := t.TempDir()
	db, err := pebble.Open(dir, &pebble.Options{Logger: quietPebble()})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Set([]byte("someone else's key"), []byte("v"), pebble.Sync)
	_ = db.Close()
	_, err = Open(context.Background(), dir, quietLogger())
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open of a foreign Pebble database: %v; want ErrCorrupt", err)
	}
}

func TestOpenRefusesMissingFormatKey(t *testing.T) {
	dir := t.TempDir()
	openT(t, dir).Close()
	db := rawDB(t, dir)
	if err := db.Delete(metaKey(metaFormatName), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	_, err := Open(context.Background(), dir, quietLogger())
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "format key") {
		t.Fatalf("Open without a format key: %v; want ErrCorrupt naming the format key", err)
	}
}

// An empty Pebble database with our key order is what a crash during
// creation leaves; Open must finish the creation.
func TestOpenFinishesInterruptedCreation(t *testing.T) {
	dir := t.TempDir()
	_ = rawDB(t, dir).Close()
	s := openT(t, dir)
	defer s.Close()
	if _, next, err := s.LogHead(); err != nil || next != 1 {
		t.Fatalf("LogHead = %d, %v", next, err)
	}
}

func TestOpenSelfCheckCatchesBadLogHead(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	putT(t, s, assertion("fr", 1, indicator("h.example/"), 0))
	_ = s.Close()
	db := rawDB(t, dir)
	_ = db.Set(metaKey(metaLogNextName), encodeU64(7), pebble.Sync)
	_ = db.Close()
	if _, err := Open(context.Background(), dir, quietLogger()); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open with a log head ahead of the log: %v; want ErrCorrupt", err)
	}
}

func TestCheckFindsInjectedDamage(t *testing.T) {
	ind := indicator("d.example/")
	a := assertion("fr", 1, ind, 300)
	ghost := assertion("de", 1, ind, 0) // never stored
	for name, damage := range map[string]func(b *pebble.Batch){
		"dangling indicator entry": func(b *pebble.Batch) { _ = b.Set(pairKey(prefixIndicator, ind, ghost.CID), nil, nil) },
		"dangling origin entry":    func(b *pebble.Batch) { _ = b.Set(originSeqKey("de", 1), cidBytes(ghost.CID), nil) },
		"missing index entry":      func(b *pebble.Batch) { _ = b.Delete(pairKey(prefixIndicator, ind, a.CID), nil) },
		"missing expiry entry":     func(b *pebble.Batch) { _ = b.Delete(expiryKey(300, a.CID), nil) },
		"record bytes altered": func(b *pebble.Batch) {
			_ = b.Set(recordKey(a.CID), encodeRecordValue(&Entry{Kind: KindAssertion, Bytes: []byte("x"), Origin: "fr", Seq: 1, Expires: 300, Indicator: ind}, 1), nil)
		},
		"log entry lost":       func(b *pebble.Batch) { _ = b.Delete(logKey(1), nil) },
		"log entry to nothing": func(b *pebble.Batch) { _ = b.Set(logKey(2), encodeLogValue(KindAssertion, ghost.CID), nil) },
		"counter off":          func(b *pebble.Batch) { _ = b.Set(countKey(KindAssertion), encodeU64(5), nil) },
		"unknown key":          func(b *pebble.Batch) { _ = b.Set([]byte("zzz"), nil, nil) },
	} {
		t.Run(name, func(t *testing.T) {
			s := newStore(t)
			putT(t, s, a)
			checkT(t, s)
			b := s.db.NewBatch()
			damage(b)
			if err := b.Commit(pebble.Sync); err != nil {
				t.Fatal(err)
			}
			err := s.Check(context.Background())
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Check after %s: %v; want ErrCorrupt", name, err)
			}
			t.Logf("Check: %v", err)
		})
	}
}

func TestCheckNamesDanglingEntry(t *testing.T) {
	s := newStore(t)
	ind := indicator("n.example/")
	ghost := assertion("de", 1, ind, 0)
	_ = s.db.Set(pairKey(prefixIndicator, ind, ghost.CID), nil, pebble.Sync)
	err := s.Check(context.Background())
	if err == nil || !strings.Contains(err.Error(), "dangling") || !strings.Contains(err.Error(), ghost.CID.String()) {
		t.Fatalf("Check = %v; want a dangling entry naming %s", err, ghost.CID)
	}
}

// TestCrashKeepsAcknowledgedRecords simulates power loss with Pebble's
// crashable in-memory file system: everything not fsynced is dropped. Every
// record Put acknowledged must survive; records written without sync (the
// benchmark-setup path) show the simulation really drops data.
func TestCrashKeepsAcknowledgedRecords(t *testing.T) {
	mem := vfs.NewCrashableMem()
	const dir = "/store"
	s := openT(t, dir, withFS(mem))
	var acked []Entry
	for i := range 50 {
		e := assertion("fr", uint64(i+1), indicator(fmt.Sprint("crash/", i)), 0)
		putT(t, s, e)
		acked = append(acked, e)
	}
	unsynced := assertion("fr", 1000, indicator("unsynced"), 0)
	if _, err := s.put(context.Background(), []Entry{unsynced}, pebble.NoSync); err != nil {
		t.Fatal(err)
	}
	crashed := mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0})
	_ = s.Close()

	s = openT(t, dir, withFS(crashed))
	defer s.Close()
	for _, e := range acked {
		if b, _, err := s.Get(e.CID); err != nil || string(b) != string(e.Bytes) {
			t.Fatalf("acknowledged record %s lost in the crash: %v", e.CID, err)
		}
	}
	if ok, _ := s.Has(unsynced.CID); ok {
		t.Fatal("an unsynced write survived; the crash simulation drops nothing and proves nothing")
	}
	if got, _ := s.AssertionsOf(acked[7].Indicator); !sameCIDs(got, []cid.Cid{acked[7].CID}) {
		t.Fatalf("index entries lost in the crash: %v", got)
	}
	checkT(t, s)
}

func TestOpenHonoursContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	if _, err := Open(ctx, t.TempDir(), quietLogger()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Open with an expired context: %v", err)
	}
}
