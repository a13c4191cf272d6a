package record

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/vigie-project/vigie/crypto/hybrid"
	"github.com/vigie-project/vigie/crypto/merkle"
	"github.com/vigie-project/vigie/protocol/dagcbor"
)

func signedBatch(t *testing.T, n int) (*Manifest, [][]byte, *hybrid.PrivateKey) {
	t.Helper()
	key := testKey(t, 2)
	records := sampleRecords(t, 41, n)
	m, err := SignBatch(key, agencyFR, records, created+60)
	if err != nil {
		t.Fatal(err)
	}
	return &m, records, key
}

func TestSignAndVerifyBatch(t *testing.T) {
	m, records, key := signedBatch(t, 20)
	if m.First != 41 || m.Last != 60 || m.Count != 20 || m.KeyID != key.Public().KeyID() {
		t.Fatalf("manifest %+v", m)
	}
	cids, err := VerifyBatch(m, records, key.Public())
	if err != nil {
		t.Fatalf("VerifyBatch: %v", err)
	}
	for i, rec := range records {
		if !cids[i].Equals(CIDOf(rec)) {
			t.Errorf("CID %d = %s, want %s", i, cids[i], CIDOf(rec))
		}
	}
	leaves := make([][]byte, len(cids))
	for i, c := range cids {
		leaves[i] = c.Bytes()
	}
	if merkle.Root(leaves) != m.Root {
		t.Error("root is not the RFC 6962 root over the record CIDs")
	}
	// The manifest survives encoding: a node can store and forward it.
	decoded, err := DecodeAs[*Manifest](mustEncode(t, m))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyBatch(decoded, records, key.Public()); err != nil {
		t.Errorf("VerifyBatch after a round trip: %v", err)
	}
}

func TestVerifyBatchCatchesTampering(t *testing.T) {
	m, records, key := signedBatch(t, 20)
	other := testKey(t, 3)
	ind := IndicatorCID(testToken(41)).Bytes()

	flip := func(b []byte, i int) []byte { b = bytes.Clone(b); b[i] ^= 0x01; return b }
	tests := []struct {
		name    string
		records func() [][]byte
		m       func() *Manifest
		pub     *hybrid.PublicKey
		want    []error
		notWant error
	}{
		{name: "tampered record byte", records: func() [][]byte {
			out := slices.Clone(records)
			i := bytes.Index(out[0], ind) + len(ind) - 1 // last byte of the indicator digest
			out[0] = flip(out[0], i)
			return out
		}, want: []error{ErrBatch}},
		{name: "swapped order", records: func() [][]byte {
			out := slices.Clone(records)
			out[2], out[3] = out[3], out[2]
			return out
		}, want: []error{ErrBatch}},
		{name: "dropped record", records: func() [][]byte { return records[:19] }, want: []error{ErrBatch}},
		{name: "record replaced by a valid one", records: func() [][]byte {
			out := slices.Clone(records)
			a := sampleAssertion(43)
			a.TLP = TLPClear
			out[2] = mustEncode(t, a)
			return out
		}, want: []error{ErrBatch}},
		{name: "record of another origin", records: func() [][]byte {
			out := slices.Clone(records)
			a := sampleAssertion(43)
			a.Origin = agencyDE
			out[2] = mustEncode(t, a)
			return out
		}, want: []error{ErrBatch}},
		{name: "manifest field changed", m: func() *Manifest {
			c := *m
			c.Created++
			return &c
		}, want: []error{ErrSignature, hybrid.ErrEd25519Invalid, hybrid.ErrMLDSAInvalid}},
		{name: "wrong key", pub: other.Public(), want: []error{ErrWrongKey}},
		{name: "other key's id on this key's signature", m: func() *Manifest {
			c := *m
			c.KeyID = other.Public().KeyID()
			return &c
		}, pub: other.Public(), want: []error{ErrSignature, hybrid.ErrEd25519Invalid, hybrid.ErrMLDSAInvalid}},
		{name: "bad ML-DSA half only", m: func() *Manifest {
			c := *m
			c.Signature = flip(m.Signature, 64+100)
			return &c
		}, want: []error{ErrSignature, hybrid.ErrMLDSAInvalid}, notWant: hybrid.ErrEd25519Invalid},
		{name: "bad Ed25519 half only", m: func() *Manifest {
			c := *m
			c.Signature = flip(m.Signature, 10)
			return &c
		}, want: []error{ErrSignature, hybrid.ErrEd25519Invalid}, notWant: hybrid.ErrMLDSAInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs, man, pub := records, m, key.Public()
			if tc.records != nil {
				recs = tc.records()
			}
			if tc.m != nil {
				man = tc.m()
			}
			if tc.pub != nil {
				pub = tc.pub
			}
			cids, err := VerifyBatch(man, recs, pub)
			if err == nil {
				t.Fatalf("VerifyBatch accepted it, returning %d CIDs", len(cids))
			}
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Errorf("error %q is not %v", err, w)
				}
			}
			if tc.notWant != nil && errors.Is(err, tc.notWant) {
				t.Errorf("error %q blames %v too", err, tc.notWant)
			}
		})
	}
}

func TestSignBatchRefuses(t *testing.T) {
	key := testKey(t, 2)
	records := sampleRecords(t, 1, 4)
	gap := [][]byte{records[0], records[2]}
	de := sampleAssertion(2)
	de.Origin = agencyDE
	tests := map[string][][]byte{
		"no records":           nil,
		"sequence gap":         gap,
		"another origin":       {records[0], mustEncode(t, de)},
		"invalid record":       {rewrite(t, records[0], func(m map[string]dagcbor.Value) { m["tlp"] = dagcbor.Text("white") })},
		"manifest in a batch":  {mustEncode(t, sampleManifest(t))},
		"not a record at all":  {{0x01}},
		"trailing data":        {append(bytes.Clone(records[0]), 0)},
		"non-canonical record": {unsortedEncoding(t, records[0])},
	}
	for name, recs := range tests {
		if _, err := SignBatch(key, agencyFR, recs, created); err == nil {
			t.Errorf("%s: SignBatch accepted it", name)
		}
	}
}

func TestVerifyInclusion(t *testing.T) {
	m, records, key := signedBatch(t, 13)
	for i, rec := range records {
		proof, err := BatchInclusionProof(records, i)
		if err != nil {
			t.Fatal(err)
		}
		c := CIDOf(rec)
		if err := VerifyInclusion(m, c, i, proof, key.Public()); err != nil {
			t.Errorf("record %d: %v", i, err)
		}
		if err := m.CheckPlacement(rec, i); err != nil {
			t.Errorf("record %d placement: %v", i, err)
		}
		if err := VerifyInclusion(m, c, (i+1)%len(records), proof, key.Public()); !errors.Is(err, ErrBatch) {
			t.Errorf("record %d at the wrong index: %v", i, err)
		}
		if err := VerifyInclusion(m, CIDOf(records[(i+1)%len(records)]), i, proof, key.Public()); !errors.Is(err, ErrBatch) {
			t.Errorf("another record with record %d's proof: %v", i, err)
		}
	}
	proof, _ := BatchInclusionProof(records, 0)
	if err := VerifyInclusion(m, CIDOf(records[0]), 0, proof, testKey(t, 3).Public()); !errors.Is(err, ErrWrongKey) {
		t.Errorf("wrong key: %v", err)
	}
	if err := m.Includes(CIDOf(records[0]), len(records), proof); !errors.Is(err, ErrBatch) {
		t.Errorf("index past the end: %v", err)
	}
	if err := m.CheckPlacement(records[1], 0); !errors.Is(err, ErrBatch) {
		t.Errorf("placement at the wrong index: %v", err)
	}
}

func TestCheckPlacementRefuses(t *testing.T) {
	m, records, _ := signedBatch(t, 4) // sequence numbers 41 to 44
	rec := records[1]
	edit := func(edit func(map[string]dagcbor.Value)) []byte { return rewrite(t, rec, edit) }
	text := dagcbor.Text
	tests := []struct {
		name   string
		record []byte
		want   error
	}{
		{"too large", append(bytes.Clone(rec), make([]byte, MaxRecordSize)...), ErrTooLarge},
		{"non-canonical", unsortedEncoding(t, rec), dagcbor.ErrNonCanonical},
		{"trailing data", append(bytes.Clone(rec), 0), dagcbor.ErrTrailingData},
		{"not a map", []byte{0x01}, dagcbor.ErrWrongKind},
		{"no version", edit(func(f map[string]dagcbor.Value) { delete(f, "v") }), dagcbor.ErrMissingField},
		{"version as text", edit(func(f map[string]dagcbor.Value) { f["v"] = text("1") }), dagcbor.ErrWrongKind},
		{"unknown version", edit(func(f map[string]dagcbor.Value) { f["v"] = dagcbor.Uint(2) }), ErrUnknownVersion},
		{"no type", edit(func(f map[string]dagcbor.Value) { delete(f, "type") }), dagcbor.ErrMissingField},
		{"unknown type", edit(func(f map[string]dagcbor.Value) { f["type"] = text("rumour") }), ErrUnknownType},
		{"manifest", mustEncode(t, sampleManifest(t)), ErrBatch},
		{"no origin", edit(func(f map[string]dagcbor.Value) { delete(f, "origin") }), dagcbor.ErrMissingField},
		{"origin as text", edit(func(f map[string]dagcbor.Value) { f["origin"] = text("FR/ofac") }), dagcbor.ErrWrongKind},
		{"origin with another field", edit(func(f map[string]dagcbor.Value) {
			f["origin"] = dagcbor.Map(dagcbor.Entry{Key: "cc", Value: text("FR")}, dagcbor.Entry{Key: "org", Value: text("ofac")},
				dagcbor.Entry{Key: "unit", Value: text("x")})
		}), dagcbor.ErrUnknownField},
		{"another origin", edit(func(f map[string]dagcbor.Value) { f["origin"] = agencyDE.value() }), ErrBatch},
		{"no seq", edit(func(f map[string]dagcbor.Value) { delete(f, "seq") }), dagcbor.ErrMissingField},
		{"seq as text", edit(func(f map[string]dagcbor.Value) { f["seq"] = text("42") }), dagcbor.ErrWrongKind},
		{"next seq", edit(func(f map[string]dagcbor.Value) { f["seq"] = dagcbor.Uint(43) }), ErrBatch},
	}
	if err := m.CheckPlacement(rec, 1); err != nil {
		t.Fatalf("CheckPlacement of a record in its place: %v", err)
	}
	for _, tc := range tests {
		if err := m.CheckPlacement(tc.record, 1); !errors.Is(err, tc.want) {
			t.Errorf("%s: CheckPlacement = %v, want %v", tc.name, err, tc.want)
		}
		if placementByPick(m, tc.record, 1) == nil {
			t.Errorf("%s: the reference accepts it", tc.name)
		}
	}
	for _, index := range []int{-1, 4} {
		if err := m.CheckPlacement(rec, index); !errors.Is(err, ErrBatch) {
			t.Errorf("index %d: CheckPlacement = %v", index, err)
		}
	}
}

// Batch verification stays cheap only while a record's checks allocate
// nothing and its CID once.
func TestVerifyBatchAllocations(t *testing.T) {
	m, records, key := signedBatch(t, 64)
	origin, err := m.originEncoding()
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(20, func() { _ = m.checkPlacement(records[1], 1, origin) }); n != 0 {
		t.Errorf("checkPlacement allocates %v times, want 0", n)
	}
	// A few allocations per batch (the signature check makes some) and one
	// per record.
	if n := testing.AllocsPerRun(5, func() { _, _ = VerifyBatch(m, records, key.Public()) }); n > float64(len(records))+32 {
		t.Errorf("VerifyBatch of %d records allocates %v times", len(records), n)
	}
}
