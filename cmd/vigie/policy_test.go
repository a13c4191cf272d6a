package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigie-project/vigie/policy"
)

const fixtureBundle = "../../policy/testdata/engine/basic"

// copyBundle copies the basic fixture into a temporary folder, drops the
// files named in drop, and returns the folder.
func copyBundle(t *testing.T, drop ...string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(fixtureBundle, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(fixtureBundle, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		for _, x := range drop {
			if rel == x {
				return nil
			}
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestPolicyHelp(t *testing.T) {
	for _, sub := range []string{"lint", "test", "explain", "diff", "replay"} {
		code, out, _ := runCLI(t, "policy", sub, "--help")
		if code != exitOK || !strings.Contains(out, "Usage:\n  vigie policy "+sub) {
			t.Errorf("policy %s --help: exit %d\n%s", sub, code, out)
		}
	}
	if code, out, _ := runCLI(t, "policy"); code != exitOK || !strings.Contains(out, "replay") {
		t.Errorf("policy: exit %d\n%s", code, out)
	}
}

func TestPolicyLintCLI(t *testing.T) {
	code, out, _ := runCLI(t, "policy", "lint", fixtureBundle)
	if code != exitOK || !strings.Contains(out, "9 policies, 0 error(s)") {
		t.Fatalf("lint basic: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "policy", "lint", "--json", "../../policy/testdata/engine/foreign")
	if code != exitNegative {
		t.Fatalf("lint foreign: exit %d\n%s", code, out)
	}
	var res struct {
		Errors   int
		Problems []policy.Problem
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range res.Problems {
		found = found || (p.ID == "FR-veto-DE-US" && strings.Contains(p.Message, "need not involve FR"))
	}
	if !found || res.Errors < 2 {
		t.Fatalf("lint --json did not flag the foreign flow:\n%s", out)
	}
	if code, _, errOut := runCLI(t, "policy", "lint", "/nonexistent"); code != exitUsage || !strings.Contains(errOut, "not a folder") {
		t.Fatalf("lint missing folder: exit %d %s", code, errOut)
	}
}

func TestPolicyTestCLI(t *testing.T) {
	vectors := "../../policy/testdata/engine/vectors.json"
	code, out, errOut := runCLI(t, "policy", "test", fixtureBundle, vectors)
	if code != exitOK || !strings.Contains(out, "4 passed, 0 failed") {
		t.Fatalf("test: exit %d\n%s%s", code, out, errOut)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"name":"wrong on purpose","request":{"action":"share","sender":"FR","recipient":"DE","date":"2024-03-01"},
		"expect":{"decision":"deny","grounds":[],"bars":["nope"]}}`), 0o644)
	code, out, _ = runCLI(t, "policy", "test", "--bundle", fixtureBundle, vectors, bad)
	if code != exitNegative || !strings.Contains(out, "FAIL") || !strings.Contains(out, "decision allow, want deny") ||
		!strings.Contains(out, "grounds [fed-intra-eu-share], want []") || !strings.Contains(out, "4 passed, 1 failed") {
		t.Fatalf("failing vector: exit %d\n%s", code, out)
	}
	os.WriteFile(bad, []byte(`{"name":"x","request":{"acton":"share"},"expect":{"decision":"deny"}}`), 0o644)
	if code, _, errOut := runCLI(t, "policy", "test", fixtureBundle, bad); code != exitUsage || !strings.Contains(errOut, `unknown key "acton"`) {
		t.Fatalf("malformed vector: exit %d %s", code, errOut)
	}
	if code, _, _ := runCLI(t, "policy", "test", fixtureBundle); code != exitUsage {
		t.Fatalf("no vectors: exit %d", code)
	}
}

func TestPolicyExplainCLI(t *testing.T) {
	args := []string{"policy", "explain", "--bundle", fixtureBundle, "--action", "act_block", "--sender", "DE", "--recipient", "FR",
		"--originator", "DE", "--date", "2024-03-01", "--category", "apologie", "--tlp", "GREEN", "--pap", "GREEN",
		"--legal-status", "referral", "--scope", "url", "--human-reviewed", "--oversight-notified"}
	code, out, _ := runCLI(t, append(args, "--json")...)
	if code != exitOK {
		t.Fatalf("explain: exit %d\n%s", code, out)
	}
	var d map[string]any
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"decision", "grounds", "bars", "checked", "obligations", "bundle"} {
		if _, ok := d[k]; !ok {
			t.Errorf("explain --json has no %q: %s", k, out)
		}
	}
	if d["decision"] != "allow" || d["grounds"].([]any)[0].(map[string]any)["id"] != "FR-apologie-block" {
		t.Fatalf("explain: %s", out)
	}
	// Readable form; without the oversight person the bar fires.
	code, out, _ = runCLI(t, args[:len(args)-1]...)
	if code != exitNegative || !strings.Contains(out, "DENY") || !strings.Contains(out, "FR-block-needs-pq — LCEN") {
		t.Fatalf("explain readable: exit %d\n%s", code, out)
	}
	// No legal basis lists the grounds checked.
	code, out, _ = runCLI(t, "policy", "explain", "--bundle", fixtureBundle, "--action", "share", "--sender", "FR", "--recipient", "AU",
		"--date", "2024-03-01", "--category", "incitement")
	if code != exitNegative || !strings.Contains(out, "no legal basis") || !strings.Contains(out, "grounds checked") {
		t.Fatalf("no basis: exit %d\n%s", code, out)
	}
	// Indeterminate on an evaluation error.
	code, out, _ = runCLI(t, "policy", "explain", "--bundle", "../../policy/testdata/engine/erroring", "--action", "share",
		"--sender", "FR", "--recipient", "DE", "--date", "2024-03-01")
	if code != exitIndeterminate || !strings.Contains(out, "INDETERMINATE") || !strings.Contains(out, "fed-overflow") {
		t.Fatalf("indeterminate: exit %d\n%s", code, out)
	}
	for _, bad := range [][]string{
		{"--action", "shred"}, {"--action", "share", "--date", "2024-13-01"}, {"--action", "share", "--tlp", "PURPLE"},
		{"--action", "share", "--scope", "domain"},
	} {
		if code, _, errOut := runCLI(t, append([]string{"policy", "explain", "--bundle", fixtureBundle}, bad...)...); code != exitUsage || errOut == "" {
			t.Errorf("explain %v: exit %d %q", bad, code, errOut)
		}
	}
	if code, _, errOut := runCLI(t, "policy", "explain", "--bundle", "/nonexistent", "--action", "share", "--date", "2024-01-01"); code != exitUsage || !strings.Contains(errOut, "policy bundle") {
		t.Errorf("missing bundle: exit %d %q", code, errOut)
	}
}

func TestPolicyDiffCLI(t *testing.T) {
	noUmbrella := copyBundle(t, filepath.Join("instruments", "eu-us-umbrella.cedar"))
	code, out, _ := runCLI(t, "policy", "diff", "--date", "2024-03-01", fixtureBundle, noUmbrella)
	// Only FR→US share changes, and only the TLP tells its cells apart
	// (RED is barred either way): every other dimension is a wildcard.
	if code != exitNegative || !strings.Contains(out, "share FR→US category=* tlp=CLEAR|GREEN|AMBER|AMBER+STRICT pap=* status=* "+
		"scope=* handling=* onward=* flags=*: allow → deny (2764800 cell(s))") ||
		!strings.Contains(out, "old: grounds EU-US-umbrella-share") || !strings.Contains(out, "new: no legal basis") ||
		!strings.Contains(out, "  share      13824000 cells, 8 evaluated, 2764800 changed, 6220800 reasons only") {
		t.Fatalf("diff: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "policy", "diff", "--json", "--all", "--date", "2024-03-01", "--max", "2", fixtureBundle, noUmbrella)
	var res struct {
		Summary policy.DiffResult
		Table   policy.Table
		Changes []policy.Change
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// The table: 10 actions × 2² countries × 15 categories (the §4.1
	// vocabulary, which includes the fixture's) × 5 TLP × 4 PAP × 6 legal
	// statuses × 3 scopes × 5 handling codes × 2 onward cases × 64 flag
	// combinations. The change stands for 4 TLP levels × everything else
	// of FR→US share.
	if res.Summary.TableSize != 138240000 || len(res.Table.Flags) != 64 || len(res.Table.Handlings) != 5 {
		t.Fatalf("table %d cells, %d flag combinations, handlings %q", res.Summary.TableSize, len(res.Table.Flags), res.Table.Handlings)
	}
	if code != exitNegative || res.Summary.Changed != 2764800 || res.Summary.ByAction["share"] != 2764800 || len(res.Changes) != 2 ||
		len(res.Summary.SkippedActions) != 9 || res.Summary.Evaluated != 8 || len(res.Summary.PerAction) != 10 {
		t.Fatalf("diff --json: exit %d changed %d by %v listed %d skipped %v evaluated %d", code, res.Summary.Changed,
			res.Summary.ByAction, len(res.Changes), res.Summary.SkippedActions, res.Summary.Evaluated)
	}
	c := res.Changes[0]
	if !c.DecisionChanged || c.Cells != 2764800 || !slices.Contains(c.Wildcards, "urgent") || slices.Contains(c.Wildcards, "tlp") ||
		!slices.Equal(c.Classes["tlp"], []string{"CLEAR", "GREEN", "AMBER", "AMBER+STRICT"}) || res.Changes[1].DecisionChanged {
		t.Fatalf("changes: %+v", res.Changes)
	}
	// A smaller table: 15 categories × GREEN × 4 PAP × 6 legal statuses ×
	// 3 scopes × 2 handling cases × no consent × 2 flag combinations.
	code, out, _ = runCLI(t, "policy", "diff", "--date", "2024-03-01", "--action", "share", "--tlp", "GREEN", "--handling", "none,H3",
		"--onward", "none", "--flags", "none", "--flags", "urgent", fixtureBundle, noUmbrella)
	if code != exitNegative || !strings.Contains(out, "(4320 cell(s))") || !strings.Contains(out, "handling=* onward=none flags=*") {
		t.Fatalf("diff restricted: exit %d\n%s", code, out)
	}
	// Before the Umbrella Agreement applied, the file dropped held only the
	// FD 2008/977 ground, for urgent cases: a table without the urgent flag
	// sees no change, the whole table sees those.
	if code, out, _ := runCLI(t, "policy", "diff", "--date", "2016-03-01", "--flags", "none,human_reviewed", fixtureBundle, noUmbrella); code != exitOK || !strings.Contains(out, "0 decision(s) changed") {
		t.Fatalf("diff 2016 without urgent: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "policy", "diff", "--date", "2016-03-01", fixtureBundle, noUmbrella)
	if code != exitNegative || !strings.Contains(out, "flags=+urgent,*: allow → deny (1382400 cell(s))") ||
		!strings.Contains(out, "old: grounds EU-US-fd2008-adequacy") || !strings.Contains(out, "1382400 decision(s) changed") {
		t.Fatalf("diff 2016: exit %d\n%s", code, out)
	}
	if code, _, _ := runCLI(t, "policy", "diff", fixtureBundle); code != exitUsage {
		t.Fatalf("diff one bundle: exit %d", code)
	}
	for _, bad := range [][]string{{"--flags", "bogus"}, {"--onward", "everyone"}, {"--tlp", "PURPLE"}} {
		if code, _, _ := runCLI(t, append(append([]string{"policy", "diff"}, bad...), fixtureBundle, noUmbrella)...); code != exitUsage {
			t.Fatalf("diff %v: exit %d", bad, code)
		}
	}
	if _, out, _ := runCLI(t, "policy", "diff", "--help"); !strings.Contains(out, "every subset of human_reviewed") ||
		!strings.Contains(out, "no onward consent, or consent for the recipient") {
		t.Fatalf("diff --help does not say what the table covers:\n%s", out)
	}
}

func TestPolicyReplayCLI(t *testing.T) {
	dir := t.TempDir()
	code, rec, _ := runCLI(t, "policy", "explain", "--record", "--bundle", fixtureBundle, "--action", "share", "--sender", "FR",
		"--recipient", "US", "--originator", "FR", "--date", "2024-03-01", "--category", "incitement", "--tlp", "AMBER")
	if code != exitOK {
		t.Fatalf("explain --record: exit %d\n%s", code, rec)
	}
	recFile := filepath.Join(dir, "rec.json")
	os.WriteFile(recFile, []byte(rec), 0o644)
	code, out, _ := runCLI(t, "policy", "replay", "--bundle", fixtureBundle, recFile)
	if code != exitOK || !strings.Contains(out, "reproduced (allow)") {
		t.Fatalf("replay same bundle: exit %d\n%s", code, out)
	}
	// Another bundle: what would change, exit 0.
	noUmbrella := copyBundle(t, filepath.Join("instruments", "eu-us-umbrella.cedar"))
	code, out, _ = runCLI(t, "policy", "replay", "--bundle", noUmbrella, recFile)
	if code != exitOK || !strings.Contains(out, "would change") || !strings.Contains(out, "decision allow → deny") {
		t.Fatalf("replay other bundle: exit %d\n%s", code, out)
	}
	// A tampered record under the same bundle hash is a mismatch.
	var r policy.Record
	json.Unmarshal([]byte(rec), &r)
	r.Decision.Decision = "deny"
	tampered, _ := json.Marshal(r)
	os.WriteFile(recFile, tampered, 0o644)
	code, out, _ = runCLI(t, "policy", "replay", "--json", "--bundle", fixtureBundle, recFile)
	if code != exitNegative || !strings.Contains(out, `"match":false`) || !strings.Contains(out, `"same_bundle":true`) {
		t.Fatalf("replay mismatch: exit %d\n%s", code, out)
	}
	os.WriteFile(recFile, []byte(`{"request":{}}`), 0o644)
	if code, _, errOut := runCLI(t, "policy", "replay", "--bundle", fixtureBundle, recFile); code != exitUsage || errOut == "" {
		t.Fatalf("bad record: exit %d %q", code, errOut)
	}
}

// The packs and vectors written for the built-in bundle lint clean and pass.
func TestEmbeddedPacksLintAndVectors(t *testing.T) {
	entries, _ := os.ReadDir("../../policy/packs/countries")
	base, _ := os.ReadDir("../../policy/packs/baseline")
	if len(entries)+len(base) == 0 {
		t.Fatal("policy/packs/ holds no packs: the embedded bundle would be empty")
	}
	code, out, errOut := runCLI(t, "policy", "lint")
	if code != exitOK {
		t.Fatalf("vigie policy lint (embedded): exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := runCLI(t, "policy", "lint", "../../policy/packs"); code != exitOK {
		t.Fatalf("vigie policy lint policy/packs: exit %d\n%s%s", code, out, errOut)
	}
	vectors := "../../policy/testdata/vectors"
	var files []string
	filepath.WalkDir(vectors, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") {
			files = append(files, p)
		}
		return nil
	})
	if len(files) == 0 {
		t.Fatal("policy/testdata/vectors/ holds no vectors")
	}
	code, out, errOut = runCLI(t, "policy", "test", vectors)
	if code != exitOK {
		t.Fatalf("vigie policy test %s: exit %d\n%s%s", vectors, code, out, errOut)
	}
	t.Log(strings.TrimSpace(out))
}
