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
	out := filepath.Join(dir, "genesis")
	cur := filepath.Join(out, "roster.cbor")
	mustRunCLI(t, exitOK, "federation", "init", "--members", members, "--issuers", "2-of-3", "--out", out, "--federation", "eu-test")
	frDir := filepath.Join(dir, "fr")
	mustRunCLI(t, exitOK, "init", "--dir", frDir, "--roster", cur, "--keys", filepath.Join(out, "FR-pharos"))

	archive := filepath.Join(dir, "bundle.cbor")
	stdout, _ := mustRunCLI(t, exitOK, "policy", "pack", "--out", archive, "--json")
	var packed struct {
		CID     string              `json:"cid"`
		Signers map[string][]string `json:"signers"`
	}
	if err := json.Unmarshal([]byte(stdout), &packed); err != nil || packed.CID == "" || strings.Join(packed.Signers["EU-US"], ",") != "US" {
		t.Fatalf("pack printed %q (%v)", stdout, err)
	}
	mustRunCLI(t, exitUsage, "policy", "pack", "--out", archive) // never overwrites signatures
	if _, stderr := mustRunCLI(t, exitNegative, "policy", "verify", "--roster", cur, archive); !strings.Contains(stderr, "DE (by DE)") {
		t.Fatalf("verify unsigned: %q", stderr)
	}
	// Lint and explain read archives as bundles.
	mustRunCLI(t, exitOK, "policy", "lint", archive)

	// Nobody may draft a roster naming a bundle its owners have not signed.
	next := filepath.Join(dir, "v2.cbor")
	mustRunCLI(t, exitNegative, "federation", "amend", "--roster", cur, "--policy", archive, "--out", next)

	for _, m := range []string{"FR-pharos", "DE-bka", "US-fbi"} {
		stdout, _ := mustRunCLI(t, exitOK, "policy", "sign", "--key", filepath.Join(out, m, "agency.key"), "--as", m, archive)
		if !strings.Contains(stdout, m[:2]) {
			t.Fatalf("sign as %s: %q", m, stdout)
		}
	}
	// A member owns nothing outside its country.
	if _, stderr := mustRunCLI(t, exitNegative, "policy", "sign", "--key", filepath.Join(out, "FR-pharos", "agency.key"), "--as", "JP-npa", archive); !strings.Contains(stderr, "owns no policy") {
		t.Fatalf("sign as JP: %q", stderr)
	}
	if stdout, _ := mustRunCLI(t, exitOK, "policy", "verify", "--roster", cur, archive); !strings.Contains(stdout, "complete for roster version 1") {
		t.Fatalf("verify: %q", stdout)
	}

	stdout, _ = mustRunCLI(t, exitOK, "federation", "amend", "--roster", cur, "--policy", archive, "--out", next, "--json")
	var amended struct{ Policy string }
	if err := json.Unmarshal([]byte(stdout), &amended); err != nil || amended.Policy != packed.CID {
		t.Fatalf("amend printed %q (%v)", stdout, err)
	}
	for _, m := range []string{"FR-pharos", "DE-bka"} {
		mustRunCLI(t, exitOK, "federation", "sign", "--roster", next, "--prev", cur, "--key", filepath.Join(out, m, "agency.key"))
	}
	if _, stderr := mustRunCLI(t, exitNegative, "federation", "adopt", "--dir", frDir, next); !strings.Contains(stderr, "vigie policy install") {
		t.Fatalf("adopt without the bundle: %q", stderr)
	}
	mustRunCLI(t, exitOK, "policy", "install", "--dir", frDir, "--roster", next, archive)
	if stdout, _ := mustRunCLI(t, exitOK, "federation", "adopt", "--dir", frDir, next); !strings.Contains(stdout, "policy bundle "+packed.CID) {
		t.Fatalf("adopt: %q", stdout)
	}

	// A damaged archive is refused with a clear error.
	if err := os.WriteFile(archive, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr := mustRunCLI(t, exitUsage, "policy", "verify", "--roster", cur, archive); !strings.Contains(stderr, "invalid policy bundle") {
		t.Fatalf("garbage archive: %q", stderr)
	}
}
