package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/node"
	"github.com/vigie-project/vigie/node/store"
	"github.com/vigie-project/vigie/protocol/record"
)

// Sizing of the crash test. Every run re-reads the file from the start and
// tokenises every line, duplicates as much as new ones (about 0.1 ms a line
// on an idle two-core machine, several times that under load: a full import
// of the file takes 1.5 to 8 seconds), so a run killed at the frontier
// costs time in proportion to what is already stored; the line count is
// what keeps the test well under two minutes.
const (
	crashBatch       = importBatch     // lines acknowledged together
	crashLines       = 32 * crashBatch // 16384 lines
	crashFrontier    = 11              // kills while new batches are being tokenised, signed, committed, acknowledged
	crashEarly       = 3               // kills while the node opens (WAL replay) or tokenises its first batch
	crashMinKills    = 10              // fewer real kills than this and the test proves too little
	crashBudget      = 75 * time.Second
	crashInitialPace = 250 * time.Millisecond // first guess at the time one batch takes
)

// TestCrashDuringImportLosesNothingAcknowledged runs the real binary, kills
// it with SIGKILL in the middle of a bulk import at random points, and after
// every kill opens the node in-process to check that every assertion the
// import acknowledged is stored and that nothing is half-written: the store
// passes its full consistency check, the local log is dense, the origin's
// sequence numbers are dense and unique, and every stored assertion belongs
// to exactly one complete batch whose signed manifest verifies. Every run
// re-imports the same file, so each also checks that a line acknowledged
// once is reported as a duplicate of the very same assertion ever after.
//
// Set VIGIE_CRASH_SEED to replay the kill points of a failed run (timing
// still varies with the machine's load).
func TestCrashDuringImportLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the vigie binary and kills it mid-import many times (15 s to over a minute)")
	}
	if raceEnabled() {
		// The binary under test is built without the race detector; under
		// it only this harness is instrumented, and its full store checks
		// after every kill become ten times slower (minutes in all).
		t.Skip("-race: the crash test checks the vigie binary, which is built without the race detector; run it without -race")
	}
	start := time.Now()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("VIGIE_CRASH_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("VIGIE_CRASH_SEED=%q: %v", s, err)
		}
	}
	t.Logf("seed %d (replay with VIGIE_CRASH_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))

	tmp := t.TempDir()
	bin := buildVigie(t, tmp)
	dir := filepath.Join(tmp, "node")
	if out, err := exec.Command(bin, "init", "--dir", dir, "--country", "FR", "--json").CombinedOutput(); err != nil {
		t.Fatalf("vigie init: %v\n%s", err, out)
	}
	input := filepath.Join(tmp, "assertions.jsonl")
	lines := crashLines
	urls := writeCrashInput(t, input, lines)

	h := &crashHarness{t: t, bin: bin, dir: dir, input: input, lines: lines, acked: map[int]importAck{}, pace: crashInitialPace}
	h.checkNode("new node") // the empty node passes the same checks

	kills, frontierKills, unacked := 0, 0, 0
	seen := map[[2]int]bool{} // distinct kill points: (stored before, acknowledged this run)
	stalled := false          // the last frontier kill stored nothing new: go further this time
	planned := crashEarly + crashFrontier
	for round := 1; round <= planned+crashMinKills; round++ {
		// Beyond the planned rounds, go on only while too few kill points
		// were distinct (late kills can repeat one another).
		if round > planned && len(seen) >= crashMinKills {
			break
		}
		if len(seen) >= crashMinKills && time.Since(start) > crashBudget {
			t.Logf("time budget spent after %d kills; stopping before round %d", kills, round)
			break
		}
		// A few kills right after start: the node is opening, replaying the
		// WAL of the previous crash, or tokenising its first batch. The
		// others wait until the run has re-acknowledged everything already
		// stored and written a random number of new lines (spreading the
		// kills over the file), then a random part of one batch's duration
		// as measured in that run, so the kill lands anywhere in
		// tokenising, signing, the synced commit or the printing of
		// acknowledgements of new assertions.
		before := h.storedAssertions
		afterAcks, delay, kind := 0, killDelay{fixed: time.Duration(rng.Int64N(int64(150 * time.Millisecond)))}, "early"
		if round > crashEarly {
			kind = "frontier"
			// Spread the kills over the file, at most a batch ahead of
			// what is stored, so one slow guess of the pace cannot use
			// the whole file up in a few rounds.
			room := max(0, lines-crashBatch-before) // new lines to kill among
			afterAcks = before + rng.IntN(max(1, min(crashBatch, 2*room/max(1, planned-round+1))))
			if stalled {
				afterAcks = max(afterAcks, before+1)
			}
			delay = killDelay{batches: rng.Float64() * 1.25}
			if afterAcks >= lines-crashBatch {
				// Too close to the end to kill while writing: kill
				// anywhere while the run checks duplicates instead.
				kind, afterAcks = "late", rng.IntN(before)
			}
		}
		began := time.Now()
		run := h.runImport(afterAcks, delay)
		ran := time.Since(began)
		h.absorb(run)
		h.checkNode(fmt.Sprintf("round %d", round))
		t.Logf("round %2d (%-8s): kill after %4d acks + %3dms: killed=%-5v acks %4d (%4d new), stored %4d -> %4d; import %s, checks %s",
			round, kind, afterAcks, run.delay.Milliseconds(), run.killed, len(run.acks), run.newlyImported, before, h.storedAssertions,
			ran.Round(time.Millisecond), (time.Since(began) - ran).Round(time.Millisecond))
		if !run.killed {
			continue
		}
		kills++
		seen[[2]int{before, len(run.acks)}] = true
		if kind == "frontier" {
			frontierKills++
			stalled = h.storedAssertions == before
		}
		if h.storedAssertions > len(h.acked) {
			unacked++ // a batch was committed but the kill came before its acknowledgement was read
		}
	}
	if kills < crashMinKills || len(seen) < crashMinKills {
		t.Fatalf("%d runs were killed, at %d distinct points; the test needs at least %d", kills, len(seen), crashMinKills)
	}
	if frontierKills < crashMinKills/2 {
		t.Fatalf("only %d kills came while new assertions were being written", frontierKills)
	}
	t.Logf("%d kills at %d distinct points, %d while writing new batches, %d leaving a committed but unacknowledged batch; batch pace %s",
		kills, len(seen), frontierKills, unacked, h.pace.Round(time.Millisecond))

	// Let the import finish: every line is now either imported or a
	// duplicate of what an earlier run stored.
	began := time.Now()
	final := h.runImport(-1, killDelay{})
	ran := time.Since(began)
	if final.killed || final.exitCode != exitOK {
		t.Fatalf("final import: killed=%v exit %d\nstderr: %s", final.killed, final.exitCode, final.stderr)
	}
	h.absorb(final)
	if final.summary == nil {
		t.Fatal("final import printed no summary")
	}
	s := final.summary
	if s.Lines != lines || s.Imported+s.Duplicates != lines || s.Rejected != 0 {
		t.Fatalf("final summary %+v: want %d lines, imported+duplicates = %d, none rejected", *s, lines, lines)
	}
	if s.Imported != final.newlyImported || len(final.acks) != lines {
		t.Fatalf("final summary %+v disagrees with the %d acknowledgements (%d imported) printed", *s, len(final.acks), final.newlyImported)
	}
	h.checkNode("after the final import")
	if h.storedAssertions != lines || len(h.acked) != lines {
		t.Fatalf("after the final import %d assertions are stored and %d lines acknowledged; want %d of each", h.storedAssertions, len(h.acked), lines)
	}
	t.Logf("final run: %d imported, %d duplicates in %s", s.Imported, s.Duplicates, ran.Round(time.Millisecond))

	// The binary finds what it imported, and only that.
	probe := urls[rng.IntN(len(urls))]
	if code, out := h.lookup(probe); code != exitNegative || !strings.Contains(out, `"live":true`) {
		t.Errorf("lookup %s: exit %d, want %d (live match)\n%s", probe, code, exitNegative, out)
	}
	if code, out := h.lookup("http://never-imported.example/x.html"); code != exitOK {
		t.Errorf("lookup of a URL never imported: exit %d, want %d\n%s", code, exitOK, out)
	}
	t.Logf("total %s", time.Since(start).Round(time.Millisecond))
}

// buildVigie builds this package's binary into dir, without the race
// detector, with the go command on PATH.
func buildVigie(t *testing.T, dir string) string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the crash test builds the real binary and needs the go command on PATH: %v", err)
	}
	bin := filepath.Join(dir, "vigie")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	began := time.Now()
	cmd := exec.Command(goCmd, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building vigie with %s: %v\n%s", goCmd, err, out)
	}
	t.Logf("built %s in %s", bin, time.Since(began).Round(time.Millisecond))
	return bin
}

// writeCrashInput writes n distinct assertions, two thirds as host
// expressions and one third as URLs, and returns one URL each would match.
func writeCrashInput(t *testing.T, path string, n int) []string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	urls := make([]string, n)
	for i := range n {
		spec := map[string]any{"categories": []string{"incitement"}, "legal_status": "referral", "legal_basis": []string{"TCO:Art.5"}, "tlp": "amber"}
		if i%3 == 2 {
			spec["url"] = fmt.Sprintf("http://crash-%d.test/page-%d.html", i, i)
			spec["categories"] = []string{"incitement", "recruitment"}
			urls[i] = spec["url"].(string)
		} else {
			spec["expression"] = fmt.Sprintf("site-%d.example/", i)
			urls[i] = fmt.Sprintf("http://site-%d.example/some/page.html", i)
		}
		if err := enc.Encode(spec); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return urls
}

// importAck is one acknowledged line of `vigie import --json`.
type importAck struct {
	Line      int    `json:"line"`
	Status    string `json:"status"`
	Indicator string `json:"indicator"`
	Assertion string `json:"assertion"`
	Error     string `json:"error"`
}

type importSummary struct {
	Lines      int `json:"lines"`
	Imported   int `json:"imported"`
	Duplicates int `json:"duplicates"`
	Rejected   int `json:"rejected"`
}

// killDelay is how long to wait, once the kill point is reached, before
// SIGKILL: a fixed time, or a number of batches, timed by how long batches
// took in the run being killed (the machine's speed varies with its load).
type killDelay struct {
	fixed   time.Duration
	batches float64
}

type importRun struct {
	delay         time.Duration // the kill delay actually used
	acks          []importAck
	summary       *importSummary
	killed        bool
	exitCode      int
	stderr        string
	newlyImported int
	// batchGaps are the times between the first acknowledgements of
	// consecutive batches: how long a batch takes (tokenising dominates, so
	// duplicates take about as long as new assertions).
	batchGaps []time.Duration
}

type crashHarness struct {
	t                *testing.T
	bin, dir, input  string
	lines            int               // in the input file
	acked            map[int]importAck // line → its first acknowledgement, across runs
	storedAssertions int
	pace             time.Duration // how long one batch took in the last run

	// What earlier checks verified in full; records are immutable (named by
	// their hash), so later checks only confirm these are still in place.
	seqCIDs           []cid.Cid         // sequence i+1 → its assertion
	byIndicator       map[string]string // indicator → this agency's assertion on it
	verifiedManifests map[cid.Cid]bool
}

// runImport starts an import; unless afterAcks is negative it kills the
// process with SIGKILL once afterAcks lines are acknowledged and delay has
// passed. Lines the process printed before it died are acknowledgements
// too: stdout is read to the end after the kill.
func (h *crashHarness) runImport(afterAcks int, delay killDelay) importRun {
	t := h.t
	t.Helper()
	cmd := exec.Command(h.bin, "import", "--dir", h.dir, "--json", h.input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var run importRun
	reached := make(chan time.Duration, 1) // the batch pace so far
	done := make(chan error, 1)
	go func() { done <- readImportOutput(stdout, &run, afterAcks, reached) }()

	var readErr error
	ended := false // the output ended before the kill point
	if afterAcks >= 0 {
		timeout := time.NewTimer(2 * time.Minute)
		defer timeout.Stop()
		select {
		case pace := <-reached:
			if pace == 0 {
				pace = h.pace
			}
			run.delay = delay.fixed + time.Duration(delay.batches*float64(pace))
			time.Sleep(run.delay)
			// Process.Kill is SIGKILL on Unix: no deferred code, no Close.
			if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
				t.Fatalf("killing the import: %v", err)
			}
		case readErr = <-done:
			ended = true
		case <-timeout.C:
			_ = cmd.Process.Kill()
			<-done
			_ = cmd.Wait()
			t.Fatalf("import never acknowledged %d lines\nstderr: %s", afterAcks, stderr.String())
		}
	}
	if !ended {
		readErr = <-done
	}
	waitErr := cmd.Wait()
	run.stderr = stderr.String()
	if readErr != nil {
		t.Fatalf("reading the import's output: %v\nstderr: %s", readErr, run.stderr)
	}
	var exitErr *exec.ExitError
	switch {
	case waitErr == nil:
	case errors.As(waitErr, &exitErr):
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			run.killed = true
		} else {
			run.exitCode = exitErr.ExitCode()
		}
	default:
		t.Fatalf("waiting for the import: %v", waitErr)
	}
	if !run.killed && run.exitCode != exitOK {
		t.Fatalf("import exited %d on its own\nstderr: %s", run.exitCode, run.stderr)
	}
	return run
}

// readImportOutput collects acknowledgements; once afterAcks (≥ 0) lines
// have been acknowledged it sends reached the median time batches took so
// far (0 if unknown). A last line without its newline was cut by the kill
// and is not an acknowledgement.
func readImportOutput(r io.Reader, run *importRun, afterAcks int, reached chan<- time.Duration) error {
	signalled := false
	signal := func() {
		if !signalled && afterAcks >= 0 && len(run.acks) >= afterAcks {
			signalled = true
			reached <- median(run.batchGaps)
		}
	}
	signal()
	br := bufio.NewReader(r)
	var lastBatch time.Time
	for {
		line, err := br.ReadBytes('\n')
		if err == io.EOF {
			return nil // a partial line, if any, was never acknowledged
		}
		if err != nil {
			return err
		}
		var probe struct {
			Summary *importSummary `json:"summary"`
		}
		if err := json.Unmarshal(line, &probe); err != nil {
			return fmt.Errorf("line %q: %v", line, err)
		}
		if probe.Summary != nil {
			run.summary = probe.Summary
			continue
		}
		var ack importAck
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ack); err != nil {
			return fmt.Errorf("line %q: %v", line, err)
		}
		run.acks = append(run.acks, ack)
		if ack.Status == "imported" {
			run.newlyImported++
		}
		if (ack.Line-1)%crashBatch == 0 { // first line of a batch: every line is valid
			now := time.Now()
			if !lastBatch.IsZero() {
				run.batchGaps = append(run.batchGaps, now.Sub(lastBatch))
			}
			lastBatch = now
		}
		signal()
	}
}

// absorb checks one run's acknowledgements against every earlier one: a
// line acknowledged once keeps its indicator and assertion for ever, and
// every later run must call it a duplicate of that same assertion.
func (h *crashHarness) absorb(run importRun) {
	t := h.t
	t.Helper()
	prevLine := 0
	for _, a := range run.acks {
		if a.Line <= prevLine || a.Line < 1 || a.Line > h.lines {
			t.Fatalf("acknowledgement out of order or range: line %d after %d", a.Line, prevLine)
		}
		prevLine = a.Line
		switch a.Status {
		case "imported", "duplicate":
		default:
			t.Fatalf("line %d: status %q (%s); every line of the input is valid", a.Line, a.Status, a.Error)
		}
		if _, err := cid.Decode(a.Indicator); err != nil {
			t.Fatalf("line %d: indicator %q: %v", a.Line, a.Indicator, err)
		}
		if _, err := cid.Decode(a.Assertion); err != nil {
			t.Fatalf("line %d: assertion %q: %v", a.Line, a.Assertion, err)
		}
		first, seen := h.acked[a.Line]
		if !seen {
			h.acked[a.Line] = a
			continue
		}
		if a.Indicator != first.Indicator {
			t.Fatalf("line %d: indicator %s, earlier %s; tokenising is not deterministic", a.Line, a.Indicator, first.Indicator)
		}
		if a.Status != "duplicate" || a.Assertion != first.Assertion {
			t.Fatalf("line %d was acknowledged as %s %s by an earlier run, now %s %s: an acknowledged assertion was lost and written again",
				a.Line, first.Status, first.Assertion, a.Status, a.Assertion)
		}
	}
	if pace := median(run.batchGaps); pace > 0 {
		h.pace = pace
	}
}

// raceEnabled reports whether this test binary runs under the race detector.
func raceEnabled() bool {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" {
				return s.Value == "true"
			}
		}
	}
	return false
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	sorted := slices.Sorted(slices.Values(d))
	return sorted[(len(sorted)-1)/2]
}

// checkNode opens the node in-process (the killed import has released the
// store lock) and checks it from top to bottom.
func (h *crashHarness) checkNode(when string) {
	t := h.t
	t.Helper()
	ctx := context.Background()
	n, err := node.Open(ctx, h.dir)
	if err != nil {
		t.Fatalf("%s: reopening the node after the kill: %v", when, err)
	}
	defer n.Close()
	st := n.Store()
	if err := st.Check(ctx); err != nil {
		t.Fatalf("%s: store check after the kill: %v", when, err)
	}
	origin := n.Agency()
	stats, err := st.Stats()
	if err != nil {
		t.Fatal(err)
	}
	head, err := st.OriginHead(origin.String())
	if err != nil {
		t.Fatal(err)
	}

	// Sequence numbers 1..head each lead to exactly one stored, valid
	// assertion of this origin; no indicator is asserted twice.
	if h.byIndicator == nil {
		h.byIndicator, h.verifiedManifests = map[string]string{}, map[cid.Cid]bool{}
	}
	if head < uint64(len(h.seqCIDs)) {
		t.Fatalf("%s: the origin head went down from %d to %d", when, len(h.seqCIDs), head)
	}
	byIndicator := h.byIndicator
	bySeq := map[uint64][]byte{} // encoded records not verified before
	for seq := uint64(1); seq <= head; seq++ {
		c, err := st.ByOriginSeq(origin.String(), seq)
		if err != nil {
			t.Fatalf("%s: sequence %d of %d: %v (gap in the origin's sequence)", when, seq, head, err)
		}
		if seq <= uint64(len(h.seqCIDs)) {
			if was := h.seqCIDs[seq-1]; !c.Equals(was) {
				t.Fatalf("%s: sequence %d now names %s, earlier %s", when, seq, c, was)
			}
			continue // Check has just re-hashed it; it was decoded before
		}
		a, raw := h.getAssertion(st, c)
		if a.Seq != seq || a.Origin != origin {
			t.Fatalf("%s: %s found at %s/%d says %s/%d", when, c, origin, seq, a.Origin, a.Seq)
		}
		if len(a.Categories) == 0 || a.TLP != record.TLPAmber || a.LegalStatus != record.StatusReferral {
			t.Fatalf("%s: assertion %s has the wrong content: %+v", when, c, a)
		}
		if prev, dup := byIndicator[a.Indicator.String()]; dup {
			t.Fatalf("%s: indicator %s asserted twice by the same agency (%s and %s)", when, a.Indicator, prev, c)
		}
		byIndicator[a.Indicator.String()] = c.String()
		bySeq[seq] = raw
		h.seqCIDs = append(h.seqCIDs, c)
	}
	if got := stats.Records[store.KindAssertion]; got != head {
		t.Fatalf("%s: %d assertions stored, origin head %d", when, got, head)
	}
	if stats.Erased != 0 || stats.Records[store.KindRetraction] != 0 || stats.Records[store.KindSighting] != 0 {
		t.Fatalf("%s: unexpected records: %+v", when, stats)
	}

	// The local log is dense and names only stored records; its manifests
	// cover the sequence 1..head exactly once, each a whole batch that
	// verifies under the origin's key.
	roster := h.roster()
	covered := uint64(0)
	var logged uint64
	for from := uint64(1); ; {
		entries, err := st.LogRange(from, 4096)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) == 0 {
			break
		}
		for _, e := range entries {
			logged++
			if e.Index != logged {
				t.Fatalf("%s: log entry %d where %d was expected (gap)", when, e.Index, logged)
			}
			if e.Erased || !e.CID.Defined() {
				t.Fatalf("%s: log entry %d is a tombstone; nothing was erased", when, e.Index)
			}
			has, err := st.Has(e.CID)
			if err != nil || !has {
				t.Fatalf("%s: log entry %d names %s, not stored (%v)", when, e.Index, e.CID, err)
			}
			if e.Kind != store.KindManifest {
				continue
			}
			raw, _, err := st.Get(e.CID)
			if err != nil {
				t.Fatal(err)
			}
			m, err := record.DecodeAs[*record.Manifest](raw)
			if err != nil {
				t.Fatalf("%s: manifest %s: %v", when, e.CID, err)
			}
			if m.First != covered+1 || m.Last > head {
				t.Fatalf("%s: manifest %s covers %d..%d after %d of %d were covered (overlap, gap or half-written batch)",
					when, e.CID, m.First, m.Last, covered, head)
			}
			covered = m.Last
			if h.verifiedManifests[e.CID] {
				continue
			}
			pub, err := roster.SignerKey(m.Origin, m.KeyID)
			if err != nil {
				t.Fatal(err)
			}
			batch := make([][]byte, 0, m.Count)
			for seq := m.First; seq <= m.Last; seq++ {
				raw, ok := bySeq[seq]
				if !ok { // verified before, yet in a batch never seen: fetch it
					_, raw = h.getAssertion(st, h.seqCIDs[seq-1])
				}
				batch = append(batch, raw)
			}
			if _, err := record.VerifyBatch(m, batch, pub); err != nil {
				t.Fatalf("%s: batch %d..%d does not verify against its manifest: %v", when, m.First, m.Last, err)
			}
			h.verifiedManifests[e.CID] = true
		}
		from = entries[len(entries)-1].Index + 1
	}
	if covered != head {
		t.Fatalf("%s: manifests cover 1..%d but %d assertions are stored (records outside any signed batch)", when, covered, head)
	}
	if logged != stats.LogLength || logged != head+stats.Records[store.KindManifest] {
		t.Fatalf("%s: log holds %d entries; stats say %d; %d assertions + %d manifests stored",
			when, logged, stats.LogLength, head, stats.Records[store.KindManifest])
	}

	// Every acknowledged line is there, as the very assertion acknowledged.
	for line, a := range h.acked {
		c, err := cid.Decode(a.Assertion)
		if err != nil {
			t.Fatal(err)
		}
		if has, err := st.Has(c); err != nil || !has {
			t.Fatalf("%s: line %d was acknowledged (%s, assertion %s) but is not stored (%v)", when, line, a.Status, a.Assertion, err)
		}
		if got := byIndicator[a.Indicator]; got != a.Assertion {
			t.Fatalf("%s: line %d: acknowledged assertion %s for indicator %s, the node holds %q", when, line, a.Assertion, a.Indicator, got)
		}
	}
	h.storedAssertions = int(head)
}

// getAssertion reads a record, checks it hashes to its CID and decodes it.
func (h *crashHarness) getAssertion(st *store.Store, c cid.Cid) (*record.Assertion, []byte) {
	t := h.t
	t.Helper()
	raw, kind, err := st.Get(c)
	if err != nil {
		t.Fatalf("record %s: %v", c, err)
	}
	if kind != store.KindAssertion {
		t.Fatalf("record %s is a %s, want an assertion", c, kind)
	}
	if got := record.CIDOf(raw); !got.Equals(c) {
		t.Fatalf("record %s: stored bytes hash to %s", c, got)
	}
	a, err := record.DecodeAs[*record.Assertion](raw)
	if err != nil {
		t.Fatalf("record %s does not decode as an assertion: %v", c, err)
	}
	return a, raw
}

func (h *crashHarness) roster() *record.Roster {
	raw, err := os.ReadFile(filepath.Join(h.dir, "roster.cbor"))
	if err != nil {
		h.t.Fatal(err)
	}
	r, err := record.DecodeAs[*record.Roster](raw)
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

// lookup runs `vigie lookup --json` and returns its exit status and output.
func (h *crashHarness) lookup(url string) (int, string) {
	h.t.Helper()
	cmd := exec.Command(h.bin, "lookup", "--dir", h.dir, "--purpose", "crash test", "--requester", "test", "--json", url)
	out, err := cmd.Output()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &exitErr):
		return exitErr.ExitCode(), string(out) + string(exitErr.Stderr)
	}
	h.t.Fatalf("lookup: %v", err)
	return 0, ""
}

// TestImportReportsRejectedLines runs an import in-process over a file
// mixing good and bad lines: the bad ones are rejected one by one with their
// line number and reason, the good ones are stored, comments are skipped,
// and the exit status is 1.
func TestImportReportsRejectedLines(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "node")
	if code, _, stderr := runCLI(t, "init", "--dir", dir, "--country", "FR"); code != exitOK {
		t.Fatalf("init: exit %d: %s", code, stderr)
	}
	good := func(expr string) string {
		return fmt.Sprintf(`{"expression":%q,"categories":["incitement"],"legal_status":"referral","legal_basis":["TCO:Art.5"],"tlp":"amber"}`, expr)
	}
	lines := []string{
		good("good-1.example/"), // 1
		`{"expression":"bad-category.example/","categories":["nonsense"],"legal_status":"referral","legal_basis":["TCO:Art.5"],"tlp":"amber"}`,               // 2
		`{"expression":"unknown-field.example/","categories":["incitement"],"legal_status":"referral","legal_basis":["TCO:Art.5"],"tlp":"amber","colour":1}`, // 3
		"", // 4
		`{"expression":"too-long.example/","categories":["incitement"],"legal_status":"referral","legal_basis":["TCO:Art.5"],"tlp":"amber","handling_note":"` +
			strings.Repeat("x", maxImportLine) + `"}`, // 5
		"# a comment, skipped",         // 6
		good("good-2.example/") + "\r", // 7: CRLF line ending
		good("good-3.example/"),        // 8: no final newline
	}
	input := filepath.Join(t.TempDir(), "mixed.jsonl")
	if err := os.WriteFile(input, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	wantRejected := map[int]string{
		2: `"nonsense" is not in the vocabulary`,
		3: `unknown field "colour"`,
		4: "blank line",
		5: fmt.Sprintf("line longer than %d bytes", maxImportLine),
	}

	code, out, stderr := runCLI(t, "import", "--dir", dir, "--json", input)
	if code != exitNegative {
		t.Fatalf("import --json: exit %d, want %d (lines rejected)\nstdout: %s\nstderr: %s", code, exitNegative, out, stderr)
	}
	results := map[int]importAck{}
	lastLine := 0
	var summary *importSummary
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var probe struct {
			Summary *importSummary `json:"summary"`
		}
		if err := json.Unmarshal([]byte(l), &probe); err != nil {
			t.Fatalf("output line %q: %v", l, err)
		}
		if probe.Summary != nil {
			summary = probe.Summary
			continue
		}
		var a importAck
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatal(err)
		}
		if _, dup := results[a.Line]; dup {
			t.Errorf("line %d reported twice", a.Line)
		}
		// Reports come in line order, so a script resuming after the
		// highest line reported never skips an unsettled line.
		if a.Line <= lastLine {
			t.Errorf("line %d reported after line %d", a.Line, lastLine)
		}
		lastLine = a.Line
		results[a.Line] = a
	}
	for line := 1; line <= len(lines); line++ {
		a, reported := results[line]
		switch want, bad := wantRejected[line]; {
		case line == 6:
			if reported {
				t.Errorf("comment line reported: %+v", a)
			}
		case bad:
			if a.Status != "rejected" || !strings.Contains(a.Error, want) || a.Assertion != "" {
				t.Errorf("line %d: %+v, want rejected with an error containing %q", line, a, want)
			}
		default:
			if a.Status != "imported" || a.Assertion == "" || a.Indicator == "" {
				t.Errorf("line %d: %+v, want imported", line, a)
			}
		}
	}
	if summary == nil || *summary != (importSummary{Lines: len(lines), Imported: 3, Rejected: len(wantRejected)}) {
		t.Errorf("summary %+v, want %d lines, 3 imported, %d rejected", summary, len(lines), len(wantRejected))
	}

	// Without --json the summary names every rejected line with its reason;
	// the good lines are now duplicates.
	code, out, stderr = runCLI(t, "import", "--dir", dir, input)
	if code != exitNegative {
		t.Fatalf("import: exit %d, want %d\nstdout: %s\nstderr: %s", code, exitNegative, out, stderr)
	}
	if want := fmt.Sprintf("%d lines: 0 imported, 3 duplicates, %d rejected\n", len(lines), len(wantRejected)); !strings.HasPrefix(out, want) {
		t.Errorf("summary does not start with %q:\n%s", want, out)
	}
	for line, reason := range wantRejected {
		if !summaryNames(out, line, reason) {
			t.Errorf("summary does not name line %d with %q:\n%s", line, reason, out)
		}
	}
	for _, line := range []int{1, 6, 7, 8} {
		if strings.Contains(out, fmt.Sprintf("  line %d: ", line)) {
			t.Errorf("summary names line %d, which was not rejected:\n%s", line, out)
		}
	}

	// Only the three good lines reached the store.
	n, err := node.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	stats, err := n.Store().Stats()
	if err != nil {
		t.Fatal(err)
	}
	if got := stats.Records[store.KindAssertion]; got != 3 {
		t.Errorf("%d assertions stored, want 3", got)
	}
	for _, line := range []int{1, 7, 8} {
		c, err := cid.Decode(results[line].Assertion)
		if err != nil {
			t.Fatalf("line %d: %v", line, err)
		}
		if has, err := n.Store().Has(c); err != nil || !has {
			t.Errorf("line %d: assertion %s not stored (%v)", line, c, err)
		}
	}
}

// summaryNames reports whether the human summary has a line "  line N: …reason…".
func summaryNames(out string, line int, reason string) bool {
	prefix := fmt.Sprintf("  line %d: ", line)
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, prefix) && strings.Contains(l, reason) {
			return true
		}
	}
	return false
}
