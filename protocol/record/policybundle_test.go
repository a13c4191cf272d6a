package record

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
)

func testPolicyBundle(t testing.TB) []byte {
	t.Helper()
	b := &PolicyBundle{Files: []PolicyFile{
		{Path: "baseline/markings.cedar", Data: []byte("forbid (principal, action, resource);\n")},
		{Path: "countries/FR.cedar", Data: []byte("permit (principal, action, resource);\n")},
		{Path: "schema.cedarschema", Data: []byte("namespace Vigie {}\n")},
	}}
	data, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestPolicyArchiveRoundTripAndSignatures(t *testing.T) {
	a := &PolicyArchive{Bundle: testPolicyBundle(t)}
	digest := sha256.Sum256([]byte("FR's policies"))
	key := testKey(t, 1)
	if err := a.Sign(key, agencyFR, "FR", digest[:]); err != nil {
		t.Fatal(err)
	}
	if err := a.Sign(testKey(t, 3), agencyUS, "EU-US", digest[:]); err != nil {
		t.Fatal(err)
	}
	// Signing again replaces rather than repeats.
	if err := a.Sign(key, agencyFR, "FR", digest[:]); err != nil {
		t.Fatal(err)
	}
	if len(a.Signatures) != 2 || a.Signatures[0].Owner != "EU-US" {
		t.Fatalf("signatures not sorted/unique: %+v", a.Signatures)
	}
	data, err := a.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodePolicyArchive(data)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := back.Encode()
	if !bytes.Equal(again, data) || !back.CID().Equals(CIDOf(a.Bundle)) {
		t.Fatal("archive does not round-trip")
	}
	fr := back.Signatures[1]
	if err := fr.Verify(key.Public()); err != nil {
		t.Fatal(err)
	}
	// The signature binds the owner: the same digest claimed for another
	// owner, or another digest, does not verify.
	forged := fr
	forged.Owner = "DE"
	if err := forged.Verify(key.Public()); !errors.Is(err, ErrSignature) {
		t.Fatalf("owner swap verified: %v", err)
	}
	forged = fr
	forged.Digest = bytes.Repeat([]byte{7}, 32)
	if err := forged.Verify(key.Public()); !errors.Is(err, ErrSignature) {
		t.Fatalf("digest swap verified: %v", err)
	}
	// Adding a signature never changes the CID the roster names.
	if !back.CID().Equals(CIDOf(testPolicyBundle(t))) {
		t.Fatal("CID depends on the signatures")
	}
}

func TestPolicyBundleRejects(t *testing.T) {
	for name, files := range map[string][]PolicyFile{
		"empty":       nil,
		"unsorted":    {{Path: "b.cedar"}, {Path: "a.cedar"}},
		"repeated":    {{Path: "a.cedar"}, {Path: "a.cedar"}},
		"absolute":    {{Path: "/etc/passwd"}},
		"escapes":     {{Path: "../x.cedar"}},
		"unclean":     {{Path: "countries//FR.cedar"}},
		"odd char":    {{Path: "countries/FR .cedar"}},
		"long":        {{Path: strings.Repeat("a", MaxPolicyPathLen+1)}},
		"dot segment": {{Path: "countries/./FR.cedar"}},
	} {
		if _, err := (&PolicyBundle{Files: files}).Encode(); !errors.Is(err, ErrPolicyBundle) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// An archive whose bundle is not a bundle, or of the wrong type.
	a := &PolicyArchive{Bundle: []byte("not cbor")}
	if _, err := a.Encode(); !errors.Is(err, ErrPolicyBundle) {
		t.Errorf("garbage bundle: %v", err)
	}
	good := &PolicyArchive{Bundle: testPolicyBundle(t)}
	data, _ := good.Encode()
	if _, err := DecodePolicyBundle(data); !errors.Is(err, ErrPolicyBundle) || !strings.Contains(err.Error(), "policy-archive") {
		t.Errorf("archive read as a bundle: %v", err)
	}
	if _, err := DecodePolicyArchive(append(data, 0)); !errors.Is(err, ErrPolicyBundle) {
		t.Errorf("trailing byte: %v", err)
	}
	if _, err := DecodePolicyArchive(make([]byte, MaxPolicyArchiveSize+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized: %v", err)
	}
}

func FuzzDecodePolicyArchive(f *testing.F) {
	a := &PolicyArchive{Bundle: testPolicyBundle(f)}
	digest := sha256.Sum256(nil)
	if err := a.Sign(testKey(f, 1), agencyFR, "FR", digest[:]); err != nil {
		f.Fatal(err)
	}
	data, err := a.Encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add(a.Bundle)
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := DecodePolicyArchive(data)
		if err != nil {
			return
		}
		again, err := a.Encode()
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("accepted archive does not re-encode: %v", err)
		}
	})
}
