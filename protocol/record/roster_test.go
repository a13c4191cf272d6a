package record

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/vigie-project/vigie/crypto/checkpoint"
	"github.com/vigie-project/vigie/crypto/hybrid"
)

func TestGenesisVerify(t *testing.T) {
	keys := rosterKeys(t)
	r := signedGenesis(t, keys)
	if err := r.Verify(3); err != nil {
		t.Fatalf("Verify(3): %v", err)
	}
	// The signature list stays sorted whatever the signing order.
	for i := 1; i < len(r.Signatures); i++ {
		if r.Signatures[i-1].Agency.Compare(r.Signatures[i].Agency) >= 0 {
			t.Fatalf("signatures out of order: %v", r.Signatures)
		}
	}
	decoded, err := DecodeAs[*Roster](mustEncode(t, r))
	if err != nil {
		t.Fatal(err)
	}
	if err := decoded.Verify(3); err != nil {
		t.Errorf("Verify after a round trip: %v", err)
	}
}

func TestGenesisVerifyRefuses(t *testing.T) {
	keys := rosterKeys(t)
	partial := sampleRoster(t, keys)
	for _, a := range []Agency{agencyDE, agencyFR} {
		if err := partial.Sign(keys[a], a); err != nil {
			t.Fatal(err)
		}
	}
	if err := partial.Verify(2); err != nil {
		t.Errorf("two of three with quorum 2: %v", err)
	}
	if err := partial.Verify(3); !errors.Is(err, ErrQuorum) {
		t.Errorf("two of three with quorum 3: %v", err)
	}
	for _, q := range []int{0, 4} {
		if err := signedGenesis(t, keys).Verify(q); !errors.Is(err, ErrQuorum) {
			t.Errorf("quorum %d: %v", q, err)
		}
	}

	// A signature made with someone else's key.
	forged := sampleRoster(t, keys)
	if err := forged.Sign(keys[agencyEU], agencyFR); err != nil {
		t.Fatal(err)
	}
	if err := forged.Verify(1); !errors.Is(err, ErrSignature) {
		t.Errorf("FR signature by Europol's key: %v", err)
	}

	// A signer outside the roster.
	outsider := sampleRoster(t, keys)
	if err := outsider.Sign(keys[agencyEU], agencyEU); err != nil {
		t.Fatal(err)
	}
	if err := outsider.Verify(1); !errors.Is(err, ErrQuorum) {
		t.Errorf("signature by a non-member: %v", err)
	}

	// Any change after signing breaks every signature.
	changed := signedGenesis(t, keys)
	changed.Threshold = 1
	if err := changed.Verify(3); !errors.Is(err, ErrSignature) || !errors.Is(err, hybrid.ErrEd25519Invalid) {
		t.Errorf("changed after signing: %v", err)
	}

	// Verify is for genesis only.
	v2 := successor(t, signedGenesis(t, keys), keys, agencyDE, agencyFR)
	if err := v2.Verify(2); !errors.Is(err, ErrRosterChain) {
		t.Errorf("Verify on version 2: %v", err)
	}
}

func TestVerifyWith(t *testing.T) {
	keys := rosterKeys(t)
	genesis := signedGenesis(t, keys)
	if err := successor(t, genesis, keys, agencyDE, agencyUS).VerifyWith(genesis); err != nil {
		t.Errorf("two of three previous members: %v", err)
	}
	if err := successor(t, genesis, keys, agencyDE).VerifyWith(genesis); !errors.Is(err, ErrQuorum) {
		t.Errorf("one of three previous members: %v", err)
	}
	// A new member's signature does not count towards the previous quorum.
	if err := successor(t, genesis, keys, agencyDE, agencyEU).VerifyWith(genesis); !errors.Is(err, ErrQuorum) {
		t.Errorf("signature by a member new in this version: %v", err)
	}

	// Key rotation: FR's new key is in v2, but v2 is signed with the key
	// the previous roster knows.
	rotated := successor(t, genesis, keys)
	rotated.Members[2].SigningKey = testKey(t, 9).Public().Bytes()
	for _, a := range []Agency{agencyDE, agencyFR} {
		if err := rotated.Sign(keys[a], a); err != nil {
			t.Fatal(err)
		}
	}
	if err := rotated.VerifyWith(genesis); err != nil {
		t.Errorf("rotation signed with the old key: %v", err)
	}

	chain := []struct {
		name string
		edit func(r *Roster)
	}{
		{"wrong federation", func(r *Roster) { r.Federation = "other" }},
		{"skipped version", func(r *Roster) { r.Version = 3 }},
		{"wrong prev", func(r *Roster) { r.Prev = CIDOf([]byte("another roster")) }},
		{"not later", func(r *Roster) { r.ValidFrom = genesis.ValidFrom }},
	}
	for _, tc := range chain {
		r := successor(t, genesis, keys)
		tc.edit(r)
		for _, a := range []Agency{agencyDE, agencyFR, agencyUS} {
			if err := r.Sign(keys[a], a); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.VerifyWith(genesis); !errors.Is(err, ErrRosterChain) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestRosterValidate(t *testing.T) {
	keys := rosterKeys(t)
	tests := []struct {
		name  string
		edit  func(r *Roster)
		field string
	}{
		{"no members", func(r *Roster) { r.Members = nil }, "members"},
		{"unsorted members", func(r *Roster) { r.Members[0], r.Members[1] = r.Members[1], r.Members[0] }, "members[1].agency"},
		{"duplicate member", func(r *Roster) { r.Members[1].Agency = r.Members[0].Agency }, "members[1].agency"},
		{"bad signing key", func(r *Roster) { r.Members[0].SigningKey = r.Members[0].SigningKey[:32] }, "members[0].signing_key"},
		{"bad peer id", func(r *Roster) { r.Members[0].PeerID = "12D3/../x" }, "members[0].peer_id"},
		{"unknown org type", func(r *Roster) { r.Members[0].OrgType = "court" }, "members[0].org_type"},
		{"no roles", func(r *Roster) { r.Members[2].Roles = nil }, "members[2].roles"},
		{"share for a non-issuer", func(r *Roster) { r.Members[2].ShareIndex = 3 }, "members[2].share_index"},
		{"issuer without share", func(r *Roster) { r.Members[0].ShareIndex = 0 }, "members[0].share_index"},
		{"short share key", func(r *Roster) { r.Members[0].SharePublicKey = []byte{1} }, "members[0].share_key"},
		{"repeated share index", func(r *Roster) { r.Members[1].ShareIndex = 1 }, "members[1].share_index"},
		{"threshold above shares", func(r *Roster) { r.Threshold = 3 }, "threshold"},
		{"threshold 0", func(r *Roster) { r.Threshold = 0 }, "threshold"},
		{"shares not matching issuers", func(r *Roster) { r.Shares, r.Threshold = 3, 1 }, "shares"},
		{"short OPRF key", func(r *Roster) { r.OPRFKey = r.OPRFKey[:31] }, "oprf_key"},
		{"genesis with prev", func(r *Roster) { r.Prev = CIDOf([]byte("x")) }, "prev"},
		{"later version without prev", func(r *Roster) { r.Version = 2 }, "prev"},
		{"bad federation id", func(r *Roster) { r.Federation = "EU TCO" }, "federation"},
		{"unsorted signatures", func(r *Roster) {
			r.Signatures = []RosterSignature{{agencyFR, make([]byte, hybrid.SignatureSize)}, {agencyDE, make([]byte, hybrid.SignatureSize)}}
		}, "sigs[1].agency"},
		{"short signature", func(r *Roster) { r.Signatures = []RosterSignature{{agencyFR, []byte{1}}} }, "sigs[0].sig"},
		{"address not a multiaddr", func(r *Roster) { r.Members[0].Addrs = []string{"vigie.example:4001"} }, "members[0].addrs[0]"},
		{"address with a space", func(r *Roster) { r.Members[0].Addrs = []string{"/ip4/127.0.0.1/tcp/1 "} }, "members[0].addrs[0]"},
		{"too many addresses", func(r *Roster) { r.Members[0].Addrs = append(longAddrs(), "/x") }, "members[0].addrs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sampleRoster(t, keys)
			tc.edit(r)
			if err := r.Validate(); !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Validate = %v", err)
			} else if !bytes.Contains([]byte(err.Error()), []byte(`"`+tc.field+`"`)) {
				t.Errorf("error %q does not name %q", err, tc.field)
			}
		})
	}
	huge := sampleRoster(t, keys)
	huge.Shares = 1 << 62
	if err := huge.Validate(); !errors.Is(err, ErrTooLarge) {
		t.Errorf("huge share count: %v", err)
	}
}

func TestRosterLookups(t *testing.T) {
	keys := rosterKeys(t)
	r := signedGenesis(t, keys)
	m, ok := r.Member(agencyFR)
	if !ok || m.Agency != agencyFR {
		t.Fatalf("Member(FR) = %v, %v", m, ok)
	}
	if _, ok := r.Member(agencyEU); ok {
		t.Error("Member(EU) found a non-member")
	}
	fr := keys[agencyFR].Public()
	if pub, err := r.SignerKey(agencyFR, fr.KeyID()); err != nil || !pub.Equal(fr) {
		t.Errorf("SignerKey(FR) = %v", err)
	}
	if _, err := r.SignerKey(agencyFR, keys[agencyDE].Public().KeyID()); !errors.Is(err, ErrWrongKey) {
		t.Errorf("SignerKey with DE's key id: %v", err)
	}
	if _, err := r.SignerKey(agencyEU, fr.KeyID()); !errors.Is(err, ErrWrongKey) {
		t.Errorf("SignerKey for a non-member: %v", err)
	}
	// A batch verifies with the key the roster resolves.
	m2, records, _ := signedBatch(t, 3)
	pub, err := r.SignerKey(m2.Origin, m2.KeyID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyBatch(m2, records, pub); err != nil {
		t.Errorf("batch with the roster's key: %v", err)
	}
}

// longAddrs is MaxAddrs distinct multiaddrs of the largest size.
func longAddrs() []string {
	out := make([]string, MaxAddrs)
	for i := range out {
		out[i] = fmt.Sprintf("/%d", i) + strings.Repeat("x", MaxAddrLen-2)
	}
	return out
}

// TestLargestRosterFits checks MaxRosterSize against the worst case it is
// sized for: MaxMembers members with long names, all issuers, all signed.
func TestLargestRosterFits(t *testing.T) {
	key := testKey(t, 1).Public().Bytes()
	r := &Roster{Federation: "vigie-test", Version: 1, ValidFrom: created,
		OPRFKey: make([]byte, OPRFPublicKeySize), Threshold: 1, Shares: MaxMembers}
	for i := range MaxMembers {
		a := Agency{Country: string(rune('A'+i/26%26)) + string(rune('A'+i%26)), Org: strings.Repeat("o", MaxOrgIDLen)}
		r.Members = append(r.Members, Member{
			Agency: a, Name: strings.Repeat("n", MaxNameLen), OrgType: OrgIntelligence,
			PeerID: strings.Repeat("p", 52), SigningKey: key, Roles: []Role{RoleIssuer, RoleMember, RoleWitness},
			ShareIndex: uint64(i + 1), SharePublicKey: make([]byte, SharePublicKeySize),
			Addrs: longAddrs(),
		})
		r.Signatures = append(r.Signatures, RosterSignature{Agency: a, Signature: make([]byte, hybrid.SignatureSize)})
	}
	b := mustEncode(t, r)
	if len(b) > MaxRosterSize {
		t.Fatalf("largest roster is %d bytes, over MaxRosterSize %d", len(b), MaxRosterSize)
	}
	if _, err := Decode(b); err != nil {
		t.Fatalf("largest roster does not decode: %v", err)
	}
	t.Logf("largest roster: %d bytes of %d", len(b), MaxRosterSize)
}

func TestRosterAuditKeys(t *testing.T) {
	r := sampleRoster(t, rosterKeys(t))
	_, auditV, err := checkpoint.GenerateKey(rand.Reader, checkpoint.TypeMLDSA44, "vigie/eu/FR-pharos/audit")
	if err != nil {
		t.Fatal(err)
	}
	_, witnessV, err := checkpoint.GenerateKey(rand.Reader, checkpoint.TypeEd25519Cosignature, "vigie/eu/FR-pharos/witness")
	if err != nil {
		t.Fatal(err)
	}
	fr := &r.Members[slices.IndexFunc(r.Members, func(m Member) bool { return m.Agency == agencyFR })]
	fr.AuditKeys, fr.WitnessKey = []string{auditV}, witnessV
	r.WitnessQuorum = 1
	b, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeAs[*Roster](b)
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := back.Member(agencyFR); !slices.Equal(m.AuditKeys, fr.AuditKeys) || m.WitnessKey != witnessV || back.WitnessQuorum != 1 {
		t.Fatalf("audit keys did not round-trip: %+v", m)
	}
	for name, edit := range map[string]func(*Roster){
		"quorum above witnesses": func(r *Roster) { r.WitnessQuorum = uint64(len(r.Members) + 1) },
		"malformed audit key":    func(r *Roster) { r.Members[0].AuditKeys = []string{"not a key"} },
		"witness key of a non-witness": func(r *Roster) {
			for i := range r.Members {
				if !slices.Contains(r.Members[i].Roles, RoleWitness) {
					r.Members[i].WitnessKey = witnessV
					return
				}
			}
			t.Fatal("no non-witness member in the sample")
		},
	} {
		bad := *back
		bad.Members = slices.Clone(back.Members)
		edit(&bad)
		if _, err := bad.Encode(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}
