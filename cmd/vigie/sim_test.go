package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigie-project/vigie/simulations"
)

func TestSimRunUsageErrors(t *testing.T) {
	names := []string{}
	for _, s := range simulations.Scenarios() {
		names = append(names, s.Name)
	}
	if len(names) == 0 {
		t.Fatal("no scenarios")
	}
	for _, c := range []struct {
		args []string
		want []string // in stderr
	}{
		{[]string{"sim", "run"}, append([]string{"--scenario is required"}, names...)},
		{[]string{"sim", "run", "--scenario", "atlantis"}, append([]string{`unknown scenario "atlantis"`}, names...)},
		{[]string{"sim", "run", "--scenario", names[0], "--nodes", "-3"}, []string{"--nodes must be positive"}},
		{[]string{"sim", "run", "--scenario", names[0], "--seed", "-1"}, []string{"-seed"}},
		{[]string{"sim", "run", "--scenario", names[0], "extra"}, []string{`unexpected argument "extra"`}},
		{[]string{"sim", "run", "--bogus"}, []string{"flag provided but not defined: -bogus"}},
		{[]string{"sim", "list", "extra"}, []string{`unexpected argument "extra"`}},
		{[]string{"sim", "frobnicate"}, []string{`unknown command "frobnicate" for "vigie sim"`}},
	} {
		code, out, errOut := runCLI(t, c.args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d", c.args, code, exitUsage)
		}
		if out != "" {
			t.Errorf("%v: wrote to stdout: %q", c.args, out)
		}
		for _, w := range c.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("%v: stderr lacks %q:\n%s", c.args, w, errOut)
			}
		}
	}
}

func TestSimHelp(t *testing.T) {
	code, out, errOut := runCLI(t, "sim", "run", "--help")
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, w := range []string{"Usage:\n  vigie sim run --scenario NAME", "report_sha256", "-seed", "-nodes", "-out", "-json", "Exit status"} {
		if !strings.Contains(out, w) {
			t.Errorf("help lacks %q", w)
		}
	}
	code, out, _ = runCLI(t, "sim", "--help")
	if code != exitOK || !strings.Contains(out, "run ") || !strings.Contains(out, "list ") {
		t.Errorf("sim --help: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "--help")
	if code != exitOK || !strings.Contains(out, "  sim ") {
		t.Errorf("vigie --help does not list sim:\n%s", out)
	}
}

func TestSimList(t *testing.T) {
	code, out, _ := runCLI(t, "sim", "list")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, s := range simulations.Scenarios() {
		if !strings.Contains("\n"+out, fmt.Sprintf("\n%s (%d nodes by default)\n    ", s.Name, s.DefaultNodes)) {
			t.Errorf("list lacks %s:\n%s", s.Name, out)
		}
	}
	code, out, _ = runCLI(t, "sim", "list", "--json")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var list []struct {
		Name         string `json:"name"`
		Description  string `json:"description"`
		DefaultNodes int    `json:"default_nodes"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != len(simulations.Scenarios()) || list[0].Name == "" || list[0].DefaultNodes <= 0 {
		t.Errorf("list --json = %+v", list)
	}
}

// simRun runs a small eu28 simulation with --json and returns its summary.
func simRun(t *testing.T, out string) map[string]any {
	t.Helper()
	code, stdout, stderr := runCLI(t, "sim", "run", "--scenario", "eu28", "--nodes", "5", "--seed", "1", "--json", "--out", out)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if strings.Count(stdout, "\n") != 1 {
		t.Fatalf("want one JSON line, got %q", stdout)
	}
	var sum map[string]any
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatal(err)
	}
	return sum
}

func TestSimRunSmall(t *testing.T) {
	out := t.TempDir()
	sum := simRun(t, out)
	for _, k := range []string{"scenario", "seed", "nodes", "converged", "convergence_p50_ms", "convergence_p99_ms",
		"retraction_p99_ms", "bytes_per_diff", "oracle_violations", "lost_records", "report_sha256",
		"wall_seconds", "events_per_second"} {
		if _, ok := sum[k]; !ok {
			t.Errorf("summary lacks %q: %v", k, sum)
		}
	}
	if sum["scenario"] != "eu28" || sum["seed"] != 1.0 || sum["nodes"] != 5.0 {
		t.Errorf("scenario, seed, nodes = %v, %v, %v", sum["scenario"], sum["seed"], sum["nodes"])
	}
	if sum["converged"] != true || sum["passed"] != true || sum["oracle_violations"] != 0.0 || sum["lost_records"] != 0.0 {
		t.Errorf("verdict: %v", sum)
	}
	if sum["out"] != out {
		t.Errorf("out = %v, want %s", sum["out"], out)
	}
	js, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(js)
	if sum["report_sha256"] != hex.EncodeToString(h[:]) {
		t.Errorf("report_sha256 %v is not the SHA-256 of report.json (%x)", sum["report_sha256"], h)
	}
	var rep simulations.Report
	if err := json.Unmarshal(js, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Scenario != "eu28" || rep.Nodes != 5 || rep.ConvergenceP99ms != sum["convergence_p99_ms"] {
		t.Errorf("report.json disagrees with the summary: %+v", rep)
	}
	for _, f := range []string{"report.md", "convergence.svg", "retraction.svg", "messages.svg", "bytes.svg"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}

	// Same seed, another folder: the same report, byte for byte.
	again := simRun(t, t.TempDir())
	if again["report_sha256"] != sum["report_sha256"] {
		t.Errorf("two runs with one seed: %v then %v", sum["report_sha256"], again["report_sha256"])
	}
}

func TestSimRunHumanSummary(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "rep")
	code, stdout, stderr := runCLI(t, "sim", "run", "--scenario", "eu28", "--nodes", "5", "--seed", "2", "--out", out)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, w := range []string{"eu28, seed 2, 5 nodes: PASS", "convergence p50 ", "retraction p99 ", "bytes on the wire: ",
		"events per second", "report: " + filepath.Join(out, "report.md")} {
		if !strings.Contains(stdout, w) {
			t.Errorf("summary lacks %q:\n%s", w, stdout)
		}
	}
	if stderr != "" {
		t.Errorf("stderr not a terminal, yet: %q", stderr)
	}
}

// The default folder is ./sim-SCENARIO-SEED.
func TestSimRunDefaultOut(t *testing.T) {
	t.Chdir(t.TempDir())
	code, stdout, stderr := runCLI(t, "sim", "run", "--scenario", "eu28", "--nodes", "5", "--seed", "3", "--json")
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join("sim-eu28-3", "report.json")); err != nil {
		t.Fatal(err)
	}
}

func TestWrapText(t *testing.T) {
	got := wrapText("aa bb cc dddddddddd e", 5)
	want := []string{"aa bb", "cc", "dddddddddd", "e"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("wrapText = %q, want %q", got, want)
	}
	if wrapText("  ", 5) != nil {
		t.Error("blank text gives lines")
	}
}

func TestProgressLine(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(1000, 0)
	p := newProgressLine(&buf, "sim eu28", func() time.Time { return now })
	p.update(1000, 100000)
	if buf.Len() != 0 {
		t.Fatalf("progress shown before a second: %q", buf.String())
	}
	now = now.Add(1500 * time.Millisecond)
	p.update(40000, 100000)
	if got := buf.String(); got != "\r\033[Ksim eu28:  40.0% (40.0 of 100.0 s simulated), 1s elapsed" {
		t.Fatalf("progress line %q", got)
	}
	now = now.Add(50 * time.Millisecond)
	p.update(41000, 100000) // too soon after the last redraw
	if strings.Contains(buf.String(), "41.0 of") {
		t.Fatal("redrawn too often")
	}
	now = now.Add(time.Second)
	p.update(100000, 100000)
	if !strings.HasSuffix(buf.String(), "100.0% (100.0 of 100.0 s simulated), 2s elapsed") {
		t.Fatalf("progress line %q", buf.String())
	}
	p.update(5, 0) // a zero total is ignored
	p.clear()
	if !strings.HasSuffix(buf.String(), "\r\033[K") {
		t.Fatal("not cleared")
	}
	n := buf.Len()
	p.clear()
	if buf.Len() != n {
		t.Fatal("cleared twice")
	}
}

// --cedar runs the federation under the Cedar packs; the oracle checks
// their decisions and the run still passes.
func TestSimRunCedar(t *testing.T) {
	code, stdout, stderr := runCLI(t, "sim", "run", "--scenario", "eu28", "--nodes", "6", "--seed", "2", "--cedar", "--json", "--out", t.TempDir())
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	var sum map[string]any
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatal(err)
	}
	if sum["passed"] != true || sum["oracle_violations"] != 0.0 || sum["lost_records"] != 0.0 {
		t.Fatalf("summary %v", sum)
	}
}
