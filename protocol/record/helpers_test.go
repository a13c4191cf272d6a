package record

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/ipfs/go-cid"
	ipldcbor "github.com/ipld/go-ipld-prime/codec/dagcbor"
	"github.com/ipld/go-ipld-prime/node/basicnode"

	"github.com/vigie-project/vigie/crypto/hybrid"
	"github.com/vigie-project/vigie/protocol/dagcbor"
)

// Fixed test material: everything is derived from seeds so that CIDs and
// encodings are reproducible.

var (
	agencyFR = Agency{Country: "FR", Org: "ofac"}
	agencyDE = Agency{Country: "DE", Org: "bka"}
	agencyUS = Agency{Country: "US", Org: "fbi"}
	agencyEU = Agency{Country: "EU", Org: "europol"}
)

// created is 2015-03-16T12:00:00Z, when France's first blocks were taken.
const created = 1426507200

func testToken(i int) []byte {
	h := sha256.Sum256([]byte(fmt.Sprintf("token %d", i)))
	return append(h[:], h[:]...) // 64 bytes, like a federation token
}

func testKey(t testing.TB, i byte) *hybrid.PrivateKey {
	t.Helper()
	var seed [hybrid.SeedSize]byte
	for j := range seed {
		seed[j] = i
	}
	return hybrid.NewKeyFromSeed(seed)
}

func sampleAssertion(seq uint64) *Assertion {
	return &Assertion{
		Indicator:   IndicatorCID(testToken(int(seq))),
		Expr:        ExprExact,
		Categories:  []Category{CatFTOPropaganda, CatIncitement},
		LegalStatus: StatusNationalOrder,
		LegalBasis:  []string{"FR:C.pen.421-2-5", "FR:LCEN.6-1"},
		OrderRef:    "OCLCTIC-2015-0042",
		TLP:         TLPAmber,
		PAP:         PAPGreen,
		Handling:    HandlingH0,
		SourceEval:  SourceB,
		InfoEval:    Info2,
		Onward:      OnwardAsk,
		Created:     created,
		Expires:     created + 365*86400,
		ReviewDue:   created + 90*86400,
		Origin:      agencyFR,
		Seq:         seq,
	}
}

func sampleAssertionFull() *Assertion {
	a := sampleAssertion(7)
	a.Expr = ExprHost
	a.Flags = []Flag{FlagImminentThreatToLife, FlagSpecialCategory}
	a.Handling = HandlingH3
	a.HandlingNote = "Not for use in immigration proceedings."
	return a
}

func sampleRetraction(seq uint64) *Retraction {
	target, _ := sampleAssertion(1).CID()
	return &Retraction{
		Assertion: target,
		Reason:    ReasonFalsePositive,
		Note:      "Mirror of a news site, e.g. reporting on the attack; not propaganda.",
		Created:   created + 3600,
		Origin:    agencyFR,
		Seq:       seq,
	}
}

func sampleSighting(seq uint64) *Sighting {
	target, _ := sampleAssertion(1).CID()
	return &Sighting{
		Indicator: IndicatorCID(testToken(1)),
		Assertion: target,
		Opinion:   OpinionDisagree,
		Note:      "Academic archive; Art. 1(3) TCO purpose.",
		Created:   created + 7200,
		Origin:    agencyFR,
		Seq:       seq,
	}
}

// sampleRecords returns count encoded records of agencyFR with sequence
// numbers first, first+1, ...: mostly assertions, with a retraction and a
// sighting mixed in as in a real feed.
func sampleRecords(t testing.TB, first uint64, count int) [][]byte {
	t.Helper()
	out := make([][]byte, count)
	for i := range out {
		seq := first + uint64(i)
		var r Record = sampleAssertion(seq)
		switch i % 16 {
		case 5:
			r = sampleRetraction(seq)
		case 11:
			r = sampleSighting(seq)
		}
		b, err := r.Encode()
		if err != nil {
			t.Fatalf("encode record %d: %v", i, err)
		}
		out[i] = b
	}
	return out
}

func member(t testing.TB, a Agency, key *hybrid.PrivateKey, roles ...Role) Member {
	t.Helper()
	return Member{
		Agency:     a,
		Name:       "Agency " + a.String(),
		OrgType:    OrgPolice,
		PeerID:     "12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo",
		SigningKey: key.Public().Bytes(),
		Roles:      roles,
	}
}

// sampleRoster is an unsigned genesis roster of DE, FR and US (members
// sorted by agency), with DE and FR as the two OPRF issuers.
func sampleRoster(t testing.TB, keys map[Agency]*hybrid.PrivateKey) *Roster {
	t.Helper()
	de := member(t, agencyDE, keys[agencyDE], RoleIssuer, RoleMember)
	de.ShareIndex, de.SharePublicKey = 1, bytes.Repeat([]byte{1}, SharePublicKeySize)
	fr := member(t, agencyFR, keys[agencyFR], RoleIssuer, RoleMember, RoleWitness)
	fr.ShareIndex, fr.SharePublicKey = 2, bytes.Repeat([]byte{2}, SharePublicKeySize)
	us := member(t, agencyUS, keys[agencyUS], RoleMember)
	return &Roster{
		Federation: "vigie-test",
		Version:    1,
		ValidFrom:  created,
		Members:    []Member{de, fr, us},
		OPRFKey:    bytes.Repeat([]byte{9}, OPRFPublicKeySize),
		Threshold:  2,
		Shares:     2,
	}
}

func rosterKeys(t testing.TB) map[Agency]*hybrid.PrivateKey {
	return map[Agency]*hybrid.PrivateKey{
		agencyDE: testKey(t, 1),
		agencyFR: testKey(t, 2),
		agencyUS: testKey(t, 3),
		agencyEU: testKey(t, 4),
	}
}

func signedGenesis(t testing.TB, keys map[Agency]*hybrid.PrivateKey) *Roster {
	t.Helper()
	r := sampleRoster(t, keys)
	for _, a := range []Agency{agencyUS, agencyDE, agencyFR} {
		if err := r.Sign(keys[a], a); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func sampleManifest(t testing.TB) *Manifest {
	t.Helper()
	m, err := SignBatch(testKey(t, 2), agencyFR, sampleRecords(t, 1, 4), created+60)
	if err != nil {
		t.Fatal(err)
	}
	return &m
}

// allSampleRecords has one record of every type, in every optional shape.
func allSampleRecords(t testing.TB) map[string]Record {
	t.Helper()
	minimal := &Assertion{
		Indicator: IndicatorCID(testToken(2)), Expr: ExprPrefix, Categories: []Category{CatThreat},
		LegalStatus: StatusIntel, TLP: TLPRed, PAP: PAPRed, SourceEval: SourceX, InfoEval: Info4,
		Onward: OnwardDenied, Created: created, Origin: agencyEU, Seq: 1,
	}
	superseding := sampleRetraction(9)
	superseding.Reason, superseding.Note = ReasonSuperseded, ""
	superseding.SupersededBy, _ = sampleAssertion(8).CID()
	bare := &Sighting{Indicator: IndicatorCID(testToken(3)), Opinion: OpinionOffline, Created: created, Origin: agencyUS, Seq: 4}
	keys := rosterKeys(t)
	genesis := signedGenesis(t, keys)
	unsigned := sampleRoster(t, keys)
	return map[string]Record{
		"assertion":             sampleAssertion(1),
		"assertion full":        sampleAssertionFull(),
		"assertion minimal":     minimal,
		"retraction":            sampleRetraction(2),
		"retraction superseded": superseding,
		"sighting":              sampleSighting(3),
		"sighting bare":         bare,
		"manifest":              sampleManifest(t),
		"roster genesis":        genesis,
		"roster unsigned":       unsigned,
		"roster v2":             successor(t, genesis, keys, agencyDE, agencyFR),
	}
}

// successor returns version 2 of prev, adding Europol as a member and
// signed by the given members of prev.
func successor(t testing.TB, prev *Roster, keys map[Agency]*hybrid.PrivateKey, signers ...Agency) *Roster {
	t.Helper()
	prevCID, err := prev.CID()
	if err != nil {
		t.Fatal(err)
	}
	eu := member(t, agencyEU, keys[agencyEU], RoleMember, RoleWitness)
	eu.OrgType = OrgEuropol
	next := &Roster{
		Federation: prev.Federation,
		Version:    prev.Version + 1,
		Prev:       prevCID,
		ValidFrom:  prev.ValidFrom + 86400,
		Members:    append([]Member{prev.Members[0], eu}, prev.Members[1:]...),
		OPRFKey:    prev.OPRFKey,
		Threshold:  prev.Threshold,
		Shares:     prev.Shares,
		Policy:     CIDOf([]byte("policy bundle v7")),
	}
	for _, a := range signers {
		if err := next.Sign(keys[a], a); err != nil {
			t.Fatal(err)
		}
	}
	return next
}

func mustEncode(t testing.TB, r Record) []byte {
	t.Helper()
	b, err := r.Encode()
	if err != nil {
		t.Fatalf("Encode %s: %v", r.Type(), err)
	}
	return b
}

// rewrite decodes a record's map, lets edit change its entries, and
// re-encodes it canonically: a way to build well-formed but invalid records.
func rewrite(t testing.TB, b []byte, edit func(map[string]dagcbor.Value)) []byte {
	t.Helper()
	v, err := dagcbor.Decode(b, decodeLimits())
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := v.AsEntries()
	fields := map[string]dagcbor.Value{}
	for _, e := range entries {
		fields[e.Key] = e.Value
	}
	edit(fields)
	var out []dagcbor.Entry
	for k, v := range fields {
		out = append(out, dagcbor.Entry{Key: k, Value: v})
	}
	enc, err := dagcbor.Encode(dagcbor.Map(out...))
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

// ipldReencode runs b through go-ipld-prime's independent DAG-CBOR codec.
func ipldReencode(b []byte) ([]byte, error) {
	nb := basicnode.Prototype.Any.NewBuilder()
	if err := ipldcbor.Decode(nb, bytes.NewReader(b)); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := ipldcbor.Encode(nb.Build(), &out); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func cidOfRecord(t testing.TB, r Record) cid.Cid {
	t.Helper()
	c, err := r.CID()
	if err != nil {
		t.Fatal(err)
	}
	return c
}
