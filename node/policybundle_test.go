package node

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/vigie-project/vigie/crypto/hybrid"
	"github.com/vigie-project/vigie/policy"
	"github.com/vigie-project/vigie/protocol/record"
)

// packsWith is the built-in bundle with extra appended to FR's pack.
func packsWith(t *testing.T, extra string) fstest.MapFS {
	t.Helper()
	fsys := policy.EmbeddedCopy()
	fsys["countries/FR.cedar"].Data = append(fsys["countries/FR.cedar"].Data, extra...)
	return fsys
}

const frExtraBar = `
@id("FR-test-extra-bar")
@cite("test fixture")
@owner("FR")
forbid (principal, action == Vigie::Action::"share", resource)
when { context.sender == "FR" && context.recipient == "DE" };
`

func signPolicyAs(t *testing.T, a *record.PolicyArchive, keysDir string, names ...string) {
	t.Helper()
	for _, name := range names {
		key, err := hybrid.ReadKeyFile(filepath.Join(keysDir, name, agencyKey))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := SignPolicyArchive(a, key, agencyOf(name)); err != nil {
			t.Fatal(err)
		}
	}
}

// Who must sign: FR, DE, IT for their packs and US for its pack and the
// EU-US instrument; GB, a non-member, for nothing (its pack is inert).
func TestPolicyArchiveOwnerSignatures(t *testing.T) {
	keys, roster := fourMembers(t)
	a, _, err := PackPolicy(policy.EmbeddedFS())
	if err != nil {
		t.Fatal(err)
	}
	signPolicyAs(t, a, keys, "FR-a", "DE-b", "IT-c")
	_, err = VerifyPolicyArchive(a, roster)
	if !errors.Is(err, ErrPolicyUnsigned) || !strings.Contains(err.Error(), "EU-US (by US)") || !strings.Contains(err.Error(), "US (by US)") {
		t.Fatalf("without US: %v", err)
	}
	signPolicyAs(t, a, keys, "US-d")
	b, err := VerifyPolicyArchive(a, roster)
	if err != nil {
		t.Fatal(err)
	}
	def, _ := policy.Default()
	if b.Hash() != def.Hash() {
		t.Fatal("the archive's bundle is not the bundle packed")
	}

	// FR's key cannot sign for DE: a signature claiming DE's agency fails.
	frKey, _ := hybrid.ReadKeyFile(filepath.Join(keys, "FR-a", agencyKey))
	forged := *a
	forged.Signatures = nil
	for _, s := range a.Signatures {
		if s.Owner != "DE" {
			forged.Signatures = append(forged.Signatures, s)
		}
	}
	deDigest, _ := b.OwnerDigest("DE")
	if err := forged.Sign(frKey, agencyOf("DE-b"), "DE", deDigest); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyPolicyArchive(&forged, roster); !errors.Is(err, record.ErrSignature) {
		t.Fatalf("forged DE signature: %v", err)
	}

	// A member signs only what its country owns.
	if _, err := SignPolicyArchive(a, frKey, record.Agency{Country: "JP", Org: "npa"}); err == nil {
		t.Fatal("JP signed a bundle it owns nothing in")
	}

	// FR edits its pack: FR's signature goes stale, the others' stand.
	edited, _, err := PackPolicy(packsWith(t, frExtraBar))
	if err != nil {
		t.Fatal(err)
	}
	edited.Signatures = a.Signatures
	_, err = VerifyPolicyArchive(edited, roster)
	if !errors.Is(err, ErrPolicyUnsigned) || !strings.Contains(err.Error(), "no valid signature for FR (by FR)") {
		t.Fatalf("stale FR signature: %v", err)
	}
	signPolicyAs(t, edited, keys, "FR-a")
	if _, err := VerifyPolicyArchive(edited, roster); err != nil {
		t.Fatal(err)
	}
}

// A node follows the bundle its roster names: it refuses to adopt the
// roster until the bundle is installed, then decides with it, also after
// a restart; a node whose folder lost the bundle does not open.
func TestAdoptRosterNamingPolicy(t *testing.T) {
	keys, roster := fourMembers(t)
	fr := join(t, keys, "FR-a")
	a, _, err := PackPolicy(packsWith(t, frExtraBar))
	if err != nil {
		t.Fatal(err)
	}
	signPolicyAs(t, a, keys, "FR-a", "DE-b", "IT-c", "US-d")
	next, err := AmendRosterWith(roster, RosterAmendment{Policy: a.CID()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := AmendRosterWith(next, RosterAmendment{Policy: a.CID()}); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("amending to the same bundle: %v", err)
	}
	signAs(t, next, keys, "FR-a", "DE-b", "IT-c")
	data := encodeRoster(t, next)
	ctx := context.Background()
	if _, err := fr.AdoptRoster(ctx, data); !errors.Is(err, ErrPolicyMissing) || fr.Roster().Version != 1 {
		t.Fatalf("adopted without the bundle: %v", err)
	}
	archive, err := a.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fr.InstallPolicy(archive, next); err != nil {
		t.Fatal(err)
	}
	change, err := fr.AdoptRoster(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	if !change.Policy.Equals(a.CID()) || fr.Policy() == nil {
		t.Fatalf("change %+v, policy %v", change, fr.Policy())
	}
	want := fr.Policy().Hash()
	if !hasPolicyID(fr.Policy(), "FR-test-extra-bar") {
		t.Fatal("the node does not decide with the new bundle")
	}
	dir := fr.dir
	fr.Close()
	again, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if again.Policy() == nil || again.Policy().Hash() != want {
		t.Fatal("after a restart the node decides with another bundle")
	}
	again.Close()
	if err := os.Remove(policyArchivePath(dir, a.CID())); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, dir); !errors.Is(err, ErrPolicyMissing) {
		t.Fatalf("opened without its roster's bundle: %v", err)
	}
}

func hasPolicyID(b *policy.Bundle, id string) bool {
	for _, p := range b.Policies() {
		if p.ID == id {
			return true
		}
	}
	return false
}
