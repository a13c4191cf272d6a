package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The policy lifecycle on the command line: pack the bundle, have each
// owner sign, check, name it in a roster version, and adopt that version
// on a node once the bundle is installed.
func TestPolicyBundleTour(t *testing.T) {
	dir := t.TempDir()
	members := filepath.Join(dir, "members.json")
	if err := os.WriteFile(members, []byte(`[{"country":"FR","org":"pharos"},{"country":"DE","org":"bka"},{"country":"US","org":"fbi"}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun := func(want int, args ...string) (string, string) {
		t.Helper()
		code, stdout, stderr := runCLI(t, args...)
		if code != want {
			t.Fatalf("%v: exit %d, want %d\nstdout: %s\nstderr: %s", args, code, want, stdout, stderr)
		}
		return stdout, stderr
	}
	out := filepath.Join(dir, "genesis")
	cur := filepath.Join(out, "roster.cbor")
	mustRun(exitOK, "federation", "init", "--members", members, "--issuers", "2-of-3", "--out", out, "--federation", "eu-test")
	frDir := filepath.Join(dir, "fr")
	mustRun(exitOK, "init", "--dir", frDir, "--roster", cur, "--keys", filepath.Join(out, "FR-pharos"))

	archive := filepath.Join(dir, "bundle.cbor")
	stdout, _ := mustRun(exitOK, "policy", "pack", "--out", archive, "--json")
	var packed struct {
		CID     string              `json:"cid"`
		Signers map[string][]string `json:"signers"`
	}
	if err := json.Unmarshal([]byte(stdout), &packed); err != nil || packed.CID == "" || strings.Join(packed.Signers["EU-US"], ",") != "US" {
		t.Fatalf("pack printed %q (%v)", stdout, err)
	}
	mustRun(exitUsage, "policy", "pack", "--out", archive) // never overwrites signatures
	if _, stderr := mustRun(exitNegative, "policy", "verify", "--roster", cur, archive); !strings.Contains(stderr, "DE (by DE)") {
		t.Fatalf("verify unsigned: %q", stderr)
	}
	// Lint and explain read archives as bundles.
	mustRun(exitOK, "policy", "lint", archive)

	// Nobody may draft a roster naming a bundle its owners have not signed.
	next := filepath.Join(dir, "v2.cbor")
	mustRun(exitNegative, "federation", "amend", "--roster", cur, "--policy", archive, "--out", next)

	for _, m := range []string{"FR-pharos", "DE-bka", "US-fbi"} {
		stdout, _ := mustRun(exitOK, "policy", "sign", "--key", filepath.Join(out, m, "agency.key"), "--as", m, archive)
		if !strings.Contains(stdout, m[:2]) {
			t.Fatalf("sign as %s: %q", m, stdout)
		}
	}
	// A member owns nothing outside its country.
	if _, stderr := mustRun(exitNegative, "policy", "sign", "--key", filepath.Join(out, "FR-pharos", "agency.key"), "--as", "JP-npa", archive); !strings.Contains(stderr, "owns no policy") {
		t.Fatalf("sign as JP: %q", stderr)
	}
	if stdout, _ := mustRun(exitOK, "policy", "verify", "--roster", cur, archive); !strings.Contains(stdout, "complete for roster version 1") {
		t.Fatalf("verify: %q", stdout)
	}

	stdout, _ = mustRun(exitOK, "federation", "amend", "--roster", cur, "--policy", archive, "--out", next, "--json")
	var amended struct{ Policy string }
	if err := json.Unmarshal([]byte(stdout), &amended); err != nil || amended.Policy != packed.CID {
		t.Fatalf("amend printed %q (%v)", stdout, err)
	}
	for _, m := range []string{"FR-pharos", "DE-bka"} {
		mustRun(exitOK, "federation", "sign", "--roster", next, "--prev", cur, "--key", filepath.Join(out, m, "agency.key"))
	}
	if _, stderr := mustRun(exitNegative, "federation", "adopt", "--dir", frDir, next); !strings.Contains(stderr, "vigie policy install") {
		t.Fatalf("adopt without the bundle: %q", stderr)
	}
	mustRun(exitOK, "policy", "install", "--dir", frDir, "--roster", next, archive)
	if stdout, _ := mustRun(exitOK, "federation", "adopt", "--dir", frDir, next); !strings.Contains(stdout, "policy bundle "+packed.CID) {
		t.Fatalf("adopt: %q", stdout)
	}

	// A damaged archive is refused with a clear error.
	if err := os.WriteFile(archive, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr := mustRun(exitUsage, "policy", "verify", "--roster", cur, archive); !strings.Contains(stderr, "invalid policy bundle") {
		t.Fatalf("garbage archive: %q", stderr)
	}
}
