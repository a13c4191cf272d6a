package render

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vigie-project/vigie/simulations"
)

// sampleReport is a hand-made report with every field set.
func sampleReport() *simulations.Report {
	r := &simulations.Report{
		Scenario: "eu28", Seed: 42, Nodes: 6, Converged: true,
		ConvergenceP50ms: 180, ConvergenceP99ms: 640, RetractionP99ms: 410,
		BytesPerDiff: 96.5, BytesPerRecord: 1480.25, DuplicateSuppression: 1.37,
		Events: 123456, SimulatedMs: 61234.5,
		MessagesPerNode: []int{120, 95, 310, 87, 140, 0},
		NodeNames:       []string{"AT", "BE", "FR", "DE", "US", "AU"},
		Faults:          []string{"t=10s: partition {FR,DE} | {rest}", "t=20s: heal"},
		Description:     "A hand-made report.", RetractionP50ms: 200, Samples: 800,
		Records: 40, Assertions: 30, UniqueIndicators: 22, Byzantine: []string{"DE"},
	}
	for i := range 500 {
		r.ConvergenceMs = append(r.ConvergenceMs, 50+float64(i*i%700))
		if i%5 == 0 {
			r.RetractionMs = append(r.RetractionMs, 30+float64(i%400))
		}
	}
	return r
}

func readAll(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

func TestWriteIsDeterministic(t *testing.T) {
	d1, d2 := t.TempDir(), filepath.Join(t.TempDir(), "nested", "out")
	f1, err := Write(d1, sampleReport(), 1500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	f2, err := Write(d2, sampleReport(), 1500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if f1.SHA256 != f2.SHA256 {
		t.Fatalf("sha256 differs: %s vs %s", f1.SHA256, f2.SHA256)
	}
	a, b := readAll(t, d1), readAll(t, d2)
	if len(a) != 6 {
		t.Fatalf("wrote %d files, want 6: %v", len(a), keys(a))
	}
	if !reflect.DeepEqual(a, b) {
		for name := range a {
			if !bytes.Equal(a[name], b[name]) {
				t.Errorf("%s differs between two writes of the same report", name)
			}
		}
	}
	// The wall time reaches report.md only.
	d3 := t.TempDir()
	if _, err := Write(d3, sampleReport(), 9*time.Second); err != nil {
		t.Fatal(err)
	}
	c := readAll(t, d3)
	for name := range a {
		if same := bytes.Equal(a[name], c[name]); same == (name == MarkdownFile) {
			t.Errorf("%s: same bytes with another wall time = %v", name, same)
		}
	}
}

func keys(m map[string][]byte) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestWriteJSONAndSHA(t *testing.T) {
	dir := t.TempDir()
	r := sampleReport()
	f, err := Write(dir, r, 0)
	if err != nil {
		t.Fatal(err)
	}
	if f.JSON != filepath.Join(dir, "report.json") || f.Markdown != filepath.Join(dir, "report.md") {
		t.Fatalf("paths %q %q", f.JSON, f.Markdown)
	}
	js, err := os.ReadFile(f.JSON)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(js)
	if hex.EncodeToString(sum[:]) != f.SHA256 {
		t.Fatal("SHA256 is not the hash of report.json")
	}
	if !bytes.HasPrefix(js, []byte("{\n  \"scenario\": \"eu28\",")) || !bytes.HasSuffix(js, []byte("}\n")) {
		t.Fatalf("report.json not indented as expected:\n%.200s", js)
	}
	var back simulations.Report
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, r) {
		t.Fatal("report.json does not decode to the report")
	}
}

// checkSVG parses an SVG document fully and returns its text content.
func checkSVG(t *testing.T, name string, data []byte) string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	var texts strings.Builder
	root, depth, inText := "", 0, 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: not well-formed XML: %v", name, err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				root = tok.Name.Local
				if tok.Name.Space != "http://www.w3.org/2000/svg" {
					t.Errorf("%s: root namespace %q", name, tok.Name.Space)
				}
			}
			depth++
			if tok.Name.Local == "text" || tok.Name.Local == "title" {
				inText++
			}
			for _, a := range tok.Attr {
				if strings.Contains(a.Value, "NaN") || strings.Contains(a.Value, "Inf") {
					t.Errorf("%s: attribute %s=%q", name, a.Name.Local, a.Value)
				}
			}
		case xml.EndElement:
			depth--
			if tok.Name.Local == "text" || tok.Name.Local == "title" {
				inText--
				texts.WriteString("\n")
			}
		case xml.CharData:
			if inText > 0 {
				texts.Write(tok)
			}
		}
	}
	if root != "svg" || depth != 0 {
		t.Fatalf("%s: root %q, depth %d", name, root, depth)
	}
	return texts.String()
}

func TestPlotsAreWellFormedAndLabelled(t *testing.T) {
	dir := t.TempDir()
	f, err := Write(dir, sampleReport(), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"convergence.svg": {"Convergence latency (500 samples of 800)", "convergence latency (ms)", "samples", "cumulative share", "p50 180 ms", "p99 640 ms", "0\n"},
		"retraction.svg":  {"Retraction latency (100 samples)", "retraction latency (ms)", "p50 200 ms", "p99 410 ms"},
		"messages.svg":    {"Messages per node (6 nodes, 752 messages)", "\nAT\n", "\nAU\n", "mean 125", "messages", "node"},
		"bytes.svg":       {"Bytes on the wire", "per record", "1480 B", "96.5 B", "duplicate suppression", "1.37", "bytes"},
	}
	if len(f.Plots) != len(want) {
		t.Fatalf("plots %v", f.Plots)
	}
	for _, path := range f.Plots {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(path)
		text := checkSVG(t, name, data)
		for _, w := range want[name] {
			if !strings.Contains(text, w) {
				t.Errorf("%s lacks %q; text:\n%s", name, w, text)
			}
		}
	}
}

func TestMarkdown(t *testing.T) {
	dir := t.TempDir()
	r := sampleReport()
	r.Converged = false
	r.OracleViolations = 2
	r.Violations = []string{"node FR holds <script> *red* record", "node `DE` | forbidden"}
	f, err := Write(dir, r, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(f.Markdown)
	if err != nil {
		t.Fatal(err)
	}
	s := string(md)
	for _, w := range []string{
		"# Simulation report: eu28\n", "- Seed: 42\n", "- Nodes: 6\n",
		"**FAIL**: the federation did not converge; 2 oracle violations.",
		"| Convergence latency p99 | 640.0 ms |", "| Retraction latency p99 | 410.0 ms |",
		"| Bytes on the wire per record | 1480.2 B |", "| Oracle violations | 2 |", "| Lost records | 0 |",
		"- t=10s: partition {FR,DE} \\| {rest}\n",
		"- node FR holds \\<script\\> \\*red\\* record\n", "- node \\`DE\\` \\| forbidden\n",
		"Wall time: 2.00 s (61728 simulated events per second)",
		"`vigie sim run --scenario eu28 --seed 42 --nodes 6`", f.SHA256,
		"\nA hand-made report.\n", "| Convergence samples | 500 kept of 800, evenly by rank (min 50.0 ms,",
		"| Retraction latency p50 | 200.0 ms |", "| Assertions / unique indicators | 30 / 22 |", "| Byzantine nodes | DE |",
	} {
		if !strings.Contains(s, w) {
			t.Errorf("report.md lacks %q", w)
		}
	}
	for _, p := range f.Plots {
		link := "](" + filepath.Base(p) + ")"
		if !strings.Contains(s, "![") || !strings.Contains(s, link) {
			t.Errorf("report.md does not embed %s", link)
		}
	}
	if strings.Contains(s, "\n<") {
		t.Error("report.md contains raw HTML")
	}
}

func TestVerdict(t *testing.T) {
	r := sampleReport()
	if !Passed(r) || !strings.HasPrefix(Verdict(r), "**PASS**") {
		t.Fatalf("passing report: %v %q", Passed(r), Verdict(r))
	}
	r.LostRecords = 1
	if Passed(r) || Verdict(r) != "**FAIL**: 1 lost record." {
		t.Fatalf("lost record: %q", Verdict(r))
	}
	r.LostRecords = 0
	r.Violations = []string{"x"}
	if Passed(r) || Verdict(r) != "**FAIL**: 1 finding of the oracle." {
		t.Fatalf("violation text only: %q", Verdict(r))
	}
}

func TestEmptyReport(t *testing.T) {
	dir := t.TempDir()
	f, err := Write(dir, &simulations.Report{Scenario: "nothing"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Plots {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		text := checkSVG(t, filepath.Base(p), data)
		switch filepath.Base(p) {
		case "convergence.svg", "retraction.svg":
			if !strings.Contains(text, "no samples") {
				t.Errorf("%s: no 'no samples' note:\n%s", p, text)
			}
		case "messages.svg":
			if !strings.Contains(text, "no nodes") {
				t.Errorf("%s: no 'no nodes' note", p)
			}
		}
	}
	md, _ := os.ReadFile(f.Markdown)
	if !strings.Contains(string(md), "| Convergence samples | none |") || !strings.Contains(string(md), "| Retraction latency p99 | n/a (no samples) |") || !strings.Contains(string(md), "## Faults injected\n\nNone.") {
		t.Errorf("report.md for an empty report:\n%s", md)
	}
}

// Degenerate inputs: one sample, all samples equal, huge values, names
// missing, NaNs in the distributions.
func TestDegenerateInputs(t *testing.T) {
	cases := map[string]*simulations.Report{
		"one":   {ConvergenceMs: []float64{0}, RetractionMs: []float64{12}, MessagesPerNode: []int{0}, NodeNames: []string{"X"}},
		"equal": {ConvergenceMs: []float64{5, 5, 5, 5}, MessagesPerNode: []int{3, 3}},
		"huge": {ConvergenceMs: []float64{1e3, 2e6, 3.6e6}, RetractionMs: []float64{0.001, 0.002},
			MessagesPerNode: []int{1 << 30, 5}, BytesPerDiff: 2e9, BytesPerRecord: 1},
		"nan": {ConvergenceMs: []float64{math.NaN(), 3, math.Inf(1)}, ConvergenceP99ms: 3},
	}
	// A percentile of 0 with every sample above it was not measured: no line.
	r := &simulations.Report{RetractionMs: []float64{10, 20}, RetractionP99ms: 20}
	if text := checkSVG(t, "retraction", drawPlots(r)[1].svg); strings.Contains(text, "p50") || !strings.Contains(text, "p99 20.0 ms") {
		t.Errorf("markers:\n%s", text)
	}
	for name, r := range cases {
		t.Run(name, func(t *testing.T) {
			for _, p := range drawPlots(r) {
				checkSVG(t, p.file, p.svg)
			}
		})
	}
	// A NaN figure cannot be written as JSON: Write says so.
	if _, err := Write(t.TempDir(), &simulations.Report{ConvergenceP50ms: math.NaN()}, 0); err == nil {
		t.Fatal("a NaN figure was accepted")
	}
}

func TestLargeRunStaysSmall(t *testing.T) {
	r := &simulations.Report{Scenario: "scale", Nodes: 1000}
	for i := range 1000 {
		r.NodeNames = append(r.NodeNames, fmt.Sprintf("node-%04d", i))
		r.MessagesPerNode = append(r.MessagesPerNode, 1000+i%37*11)
	}
	for i := range 200_000 {
		r.ConvergenceMs = append(r.ConvergenceMs, float64(i%9973)/7)
	}
	for _, p := range drawPlots(r) {
		text := checkSVG(t, p.file, p.svg)
		if len(p.svg) > 400_000 {
			t.Errorf("%s is %d bytes", p.file, len(p.svg))
		}
		if p.file == MessagesPlot {
			if n := strings.Count(text, "node-"); n > 60 || n < 20 {
				t.Errorf("%d node names under the axis", n)
			}
		}
	}
}

func TestNiceAxis(t *testing.T) {
	for _, c := range []struct {
		lo, hi float64
		n      int
		ticks  []float64
	}{
		{0, 1, 5, []float64{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1}},
		{0, 640, 8, []float64{0, 100, 200, 300, 400, 500, 600, 700}},
		{0, 0, 5, []float64{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1}},
		{0, 100, 5, []float64{0, 20, 40, 60, 80, 100}},
		{0, 3, 6, []float64{0, 1, 2, 3}},
		{0, 3, 11, []float64{0, 0.5, 1, 1.5, 2, 2.5, 3}},
	} {
		a := niceAxis(c.lo, c.hi, c.n)
		if !reflect.DeepEqual(a.ticks, c.ticks) {
			t.Errorf("niceAxis(%v, %v, %d) = %v, want %v", c.lo, c.hi, c.n, a.ticks, c.ticks)
		}
	}
	a := niceAxis(0, 0.6, 5)
	if got := a.label(a.ticks[3]); got != "0.6" {
		t.Errorf("label %q, want 0.6", got)
	}
	a = niceAxis(0, 2_000_000, 5)
	if got := a.label(1_500_000); got != "1.5M" {
		t.Errorf("label %q, want 1.5M", got)
	}
	a = niceAxis(0, 40_000, 5)
	if got := a.label(30_000); got != "30k" {
		t.Errorf("label %q, want 30k", got)
	}
}
