package main

import (
	"encoding/json"
	"testing"
)

// vigie demo --check --json runs a real federation on loopback and reports
// the fields the issue names.
func TestDemoCheckJSON(t *testing.T) {
	code, stdout, stderr := runCLI(t, "demo", "--nodes", "4", "--indicators", "120", "--check", "--json", "--dir", t.TempDir())
	if code != exitOK {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	var rep map[string]any
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, stdout)
	}
	for _, k := range []string{"nodes", "indicators_asserted", "unique_indicators", "converged", "push_p50_ms", "push_p99_ms",
		"retraction_p50_ms", "retraction_p99_ms", "policy_violations", "invalid_records_accepted"} {
		if _, ok := rep[k]; !ok {
			t.Errorf("field %q missing", k)
		}
	}
	if rep["nodes"] != 4.0 || rep["unique_indicators"] != 120.0 || rep["converged"] != true ||
		rep["policy_violations"] != 0.0 || rep["invalid_records_accepted"] != 0.0 {
		t.Fatalf("report %v", rep)
	}
}

func TestDemoRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"demo", "--nodes", "1"},
		{"demo", "--nodes", "32"},
		{"demo", "--indicators", "0"},
		{"demo", "--json"},
	} {
		if code, _, stderr := runCLI(t, args...); code != exitUsage || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
}
