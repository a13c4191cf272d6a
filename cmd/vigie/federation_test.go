package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFederationInitThenJoin(t *testing.T) {
	dir := t.TempDir()
	members := filepath.Join(dir, "members.json")
	if err := os.WriteFile(members, []byte(`[{"country":"FR","org":"pharos"},{"country":"DE","org":"bka"},{"country":"US","org":"fbi"}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	code, stdout, stderr := runCLI(t, "federation", "init", "--members", members, "--issuers", "2-of-3", "--out", out, "--federation", "eu-test", "--json")
	if code != exitOK {
		t.Fatalf("federation init: exit %d: %s", code, stderr)
	}
	var res struct {
		Federation         string
		Members            int
		Threshold, Issuers uint64
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || res.Federation != "eu-test" || res.Members != 3 || res.Threshold != 2 || res.Issuers != 3 {
		t.Fatalf("federation init printed %q (%v)", stdout, err)
	}
	for _, m := range []string{"FR-pharos", "DE-bka", "US-fbi"} {
		nodeDir := filepath.Join(dir, m)
		code, stdout, stderr := runCLI(t, "init", "--dir", nodeDir, "--roster", filepath.Join(out, "roster.cbor"), "--keys", filepath.Join(out, m), "--json")
		if code != exitOK || !strings.Contains(stdout, `"federation":"eu-test"`) {
			t.Fatalf("join %s: exit %d, %s %s", m, code, stdout, stderr)
		}
	}
	// A key folder of one member cannot join as another federation's member.
	code, _, stderr = runCLI(t, "init", "--dir", filepath.Join(dir, "x"), "--roster", filepath.Join(out, "roster.cbor"), "--keys", dir)
	if code != exitUsage || !strings.Contains(stderr, "agency.key") {
		t.Fatalf("join with no keys: exit %d, %q", code, stderr)
	}
}

func TestFederationInitBadInput(t *testing.T) {
	dir := t.TempDir()
	members := filepath.Join(dir, "m.json")
	os.WriteFile(members, []byte(`[{"country":"FR","org":"a","colour":"blue"}]`), 0o644)
	cases := [][]string{
		{"federation", "init", "--members", members, "--issuers", "3", "--out", dir},
		{"federation", "init", "--members", members, "--issuers", "1-of-1", "--out", filepath.Join(dir, "o")},
		{"federation", "init", "--issuers", "1-of-1", "--out", dir},
	}
	wants := []string{"not T-of-N", "unknown field", "are required"}
	for i, args := range cases {
		code, _, stderr := runCLI(t, args...)
		if code != exitUsage || !strings.Contains(stderr, wants[i]) {
			t.Errorf("%v: exit %d, stderr %q, want %q", args, code, stderr, wants[i])
		}
	}
}
