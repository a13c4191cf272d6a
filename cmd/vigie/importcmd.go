package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/vigie-project/vigie/node"
)

// Import limits: a line holds one assertion, far below this.
const (
	maxImportLine = 64 << 10
	importBatch   = 512 // assertions per durable store batch
)

func importCommand() *command {
	return &command{name: "import", summary: "import many assertions from a JSON Lines file", run: runImport}
}

func runImport(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "vigie import --dir D [--json] FILE", `
Reads assertions from FILE ("-" for standard input), one JSON object per
line, with the same fields and defaults as 'vigie assert':

  {"url":"http://evil.example/a.html","categories":["incitement"],
   "legal_status":"referral","legal_basis":["TCO:Art.5"],"tlp":"amber"}

Fields: url or expression (exactly one), categories, flags, legal_status,
legal_basis, order_ref, tlp, pap, handling, handling_note, source_eval,
info_eval, onward, expires, review_due (dates as 2027-01-31 or RFC 3339).
Unknown fields, blank lines and lines over 64 KiB are rejected; lines
starting with # are comments.

Assertions are signed and stored in durable batches of 512: when a line is
reported imported, it is on disk. A line whose indicator this agency
already asserts (live) counts as a duplicate and is not written again, so
re-running an interrupted import is safe. On a terminal a progress line is
shown; at the end a summary lists every rejected line with its reason.

With --json, prints one object per line as it is acknowledged
({"line":N,"status":"imported"|"duplicate"|"rejected",...}) and a final
{"summary":{...}} object. Exit status: 0 if every line was imported or a
duplicate, 1 if any line was rejected, 2 on failure.`)
	var nf nodeFlags
	nf.register(fs)
	asJSON := fs.Bool("json", false, "print per-line results and the summary as JSON Lines")
	if code, done := fs.Parse(args); done {
		return code
	}
	if code, bad := nf.check(fs); bad {
		return code
	}
	if len(fs.Args()) != 1 {
		return fs.usageError("give exactly one FILE (or - for standard input)")
	}
	in, size, err := openInput(e, fs.Args()[0])
	if err != nil {
		e.errorf("import: %v", err)
		return exitUsage
	}
	defer in.Close()
	n, ok := nf.connect(ctx, e)
	if !ok {
		return exitUsage
	}
	defer n.Close()
	imp := &importer{node: n, env: e, asJSON: *asJSON, progress: newProgress(e, size, *asJSON)}
	if err := imp.run(ctx, in); err != nil {
		imp.progress.finish()
		e.errorf("import stopped at line %d: %v (every line reported before this was stored)", imp.lineNo, err)
		return exitUsage
	}
	imp.progress.finish()
	imp.printSummary()
	if len(imp.rejected) > 0 {
		return exitNegative
	}
	return exitOK
}

func openInput(e *env, name string) (io.ReadCloser, int64, error) {
	if name == "-" {
		return io.NopCloser(e.stdin), 0, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, info.Size(), nil
}

type rejectedLine struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

type importer struct {
	node     nodeAPI
	env      *env
	asJSON   bool
	progress *progress

	lineNo     int
	imported   int
	duplicates int
	rejected   []rejectedLine

	// pending holds the lines read since the last durable batch, in line
	// order; results are reported in that order once the batch is stored,
	// so the output never reports line N before lines < N are settled.
	pending []pendingLine
}

// pendingLine is a parsed line waiting for its batch, or a line already
// rejected at parse time whose report waits for the lines before it.
type pendingLine struct {
	line   int
	req    node.AssertRequest
	reject string
}

func (imp *importer) run(ctx context.Context, in io.Reader) error {
	r := bufio.NewReaderSize(in, 64<<10)
	for {
		line, tooLong, n, err := readLine(r)
		if err == io.EOF && n == 0 {
			break
		}
		if err != nil && err != io.EOF {
			return err
		}
		imp.lineNo++
		imp.progress.read(n)
		imp.take(line, tooLong)
		if len(imp.pending) >= importBatch {
			if err := imp.flush(ctx); err != nil {
				return err
			}
		}
		if err == io.EOF {
			break
		}
	}
	return imp.flush(ctx)
}

// take parses one line into the pending batch, or rejects it.
func (imp *importer) take(line []byte, tooLong bool) {
	trimmed := bytes.TrimSpace(line)
	switch {
	case tooLong:
		imp.deferReject(imp.lineNo, fmt.Sprintf("line longer than %d bytes", maxImportLine))
		return
	case len(trimmed) > 0 && trimmed[0] == '#':
		return
	case len(trimmed) == 0:
		imp.deferReject(imp.lineNo, "blank line")
		return
	}
	req, err := parseSpecLine(trimmed)
	if err != nil {
		imp.deferReject(imp.lineNo, err.Error())
		return
	}
	imp.pending = append(imp.pending, pendingLine{line: imp.lineNo, req: req})
}

// deferReject queues a parse-time rejection to be reported in line order.
func (imp *importer) deferReject(line int, reason string) {
	imp.pending = append(imp.pending, pendingLine{line: line, reject: reason})
}

func parseSpecLine(line []byte) (node.AssertRequest, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var spec assertionSpec
	if err := dec.Decode(&spec); err != nil {
		return node.AssertRequest{}, fmt.Errorf("not a valid assertion object: %v", err)
	}
	if dec.More() {
		return node.AssertRequest{}, errors.New("more than one JSON value on the line")
	}
	return spec.request()
}

// flush stores the pending batch; results are printed only after the store
// has acknowledged them.
func (imp *importer) flush(ctx context.Context) error {
	if len(imp.pending) == 0 {
		return nil
	}
	reqs := make([]node.AssertRequest, 0, len(imp.pending))
	for _, p := range imp.pending {
		if p.reject == "" {
			reqs = append(reqs, p.req)
		}
	}
	results, err := imp.node.AssertMany(ctx, reqs)
	if err != nil {
		return err
	}
	next := 0
	for _, p := range imp.pending {
		if p.reject != "" {
			imp.reject(p.line, p.reject)
			continue
		}
		imp.record(p.line, results[next])
		next++
	}
	imp.pending = imp.pending[:0]
	imp.progress.update(imp.imported, imp.duplicates, len(imp.rejected))
	return nil
}

func (imp *importer) record(line int, res node.AssertResult) {
	switch {
	case res.Err != nil:
		imp.reject(line, strings.TrimPrefix(res.Err.Error(), "node: "))
	case res.Duplicate:
		imp.duplicates++
		imp.emit(map[string]any{"line": line, "status": "duplicate", "indicator": res.Indicator.String(), "assertion": res.Assertion.String()})
	default:
		imp.imported++
		imp.emit(map[string]any{"line": line, "status": "imported", "indicator": res.Indicator.String(), "assertion": res.Assertion.String()})
	}
}

func (imp *importer) reject(line int, reason string) {
	imp.rejected = append(imp.rejected, rejectedLine{Line: line, Reason: reason})
	imp.emit(map[string]any{"line": line, "status": "rejected", "error": reason})
}

func (imp *importer) emit(v map[string]any) {
	if imp.asJSON {
		writeJSONLine(imp.env, v)
	}
}

func (imp *importer) printSummary() {
	if imp.asJSON {
		writeJSONLine(imp.env, map[string]any{"summary": map[string]any{
			"lines": imp.lineNo, "imported": imp.imported, "duplicates": imp.duplicates, "rejected": len(imp.rejected)}})
		return
	}
	w := imp.env.stdout
	fmt.Fprintf(w, "%d lines: %d imported, %d duplicates, %d rejected\n", imp.lineNo, imp.imported, imp.duplicates, len(imp.rejected))
	for _, r := range imp.rejected {
		fmt.Fprintf(w, "  line %d: %s\n", r.Line, r.Reason)
	}
}

// readLine reads one line of at most maxImportLine bytes; a longer line is
// consumed whole and reported as too long. n counts the bytes consumed.
func readLine(r *bufio.Reader) (line []byte, tooLong bool, n int, err error) {
	for {
		chunk, err := r.ReadSlice('\n')
		n += len(chunk)
		if !tooLong {
			if len(line)+len(chunk) > maxImportLine+1 {
				tooLong, line = true, nil
			} else {
				line = append(line, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return bytes.TrimRight(line, "\r\n"), tooLong, n, err
	}
}

// progress draws a one-line progress report on a terminal.
type progress struct {
	w       io.Writer
	enabled bool
	total   int64
	done    int64
	start   time.Time
	last    time.Time
}

func newProgress(e *env, total int64, quiet bool) *progress {
	p := &progress{w: e.stderr, total: total, start: time.Now()}
	if f, ok := e.stderr.(*os.File); ok && !quiet {
		p.enabled = term.IsTerminal(int(f.Fd()))
	}
	return p
}

func (p *progress) read(n int) { p.done += int64(n) }

func (p *progress) update(imported, duplicates, rejected int) {
	if !p.enabled || time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	rate := float64(imported+duplicates) / max(time.Since(p.start).Seconds(), 1e-3)
	pct := ""
	if p.total > 0 {
		pct = fmt.Sprintf("%3.0f%% ", 100*float64(p.done)/float64(p.total))
	}
	fmt.Fprintf(p.w, "\r%simported %d, duplicates %d, rejected %d (%.0f/s)   ", pct, imported, duplicates, rejected, rate)
}

func (p *progress) finish() {
	if p.enabled && !p.last.IsZero() {
		fmt.Fprintln(p.w)
	}
}
