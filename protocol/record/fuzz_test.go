package record

import (
	"bytes"
	"errors"
	"testing"

	"github.com/vigie-project/vigie/protocol/dagcbor"
)

// FuzzDecodeRecord checks that Decode never panics and that whatever it
// accepts re-encodes to exactly the input, with the CID of the input.
func FuzzDecodeRecord(f *testing.F) {
	for _, r := range allSampleRecords(f) {
		f.Add(mustEncode(f, r))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := Decode(in)
		if err != nil {
			return
		}
		out, err := r.Encode()
		if err != nil {
			t.Fatalf("accepted %x but cannot encode it: %v", in, err)
		}
		if !bytes.Equal(out, in) {
			t.Fatalf("decode→encode changed the bytes\n in: %x\nout: %x", in, out)
		}
		if c, err := r.CID(); err != nil || !c.Equals(CIDOf(in)) {
			t.Fatalf("CID %v, %v; want %s", c, err, CIDOf(in))
		}
	})
}

// FuzzCheckPlacement checks that CheckPlacement, which reads records in
// place with dagcbor.Scan, accepts exactly what placementByPick accepts.
func FuzzCheckPlacement(f *testing.F) {
	records := sampleRecords(f, 1, 16)
	for i, rec := range records {
		f.Add(rec, uint8(i+2))
	}
	f.Add(records[3], uint8(3)) // in the wrong place
	de := sampleAssertion(2)
	de.Origin = agencyDE
	f.Add(mustEncode(f, de), uint8(3))
	for _, r := range allSampleRecords(f) {
		f.Add(mustEncode(f, r), uint8(2))
	}
	m := &Manifest{Origin: agencyFR, First: 1, Last: 16, Count: 16}
	decodeErrors := []error{
		dagcbor.ErrNonCanonical, dagcbor.ErrUnsupported, dagcbor.ErrMalformed, dagcbor.ErrTruncated,
		dagcbor.ErrTrailingData, dagcbor.ErrTooLarge, dagcbor.ErrTooDeep, dagcbor.ErrWrongKind,
	}
	f.Fuzz(func(t *testing.T, in []byte, at uint8) {
		index := int(at) - 2 // from -2, before the batch, to past its end
		err := m.CheckPlacement(in, index)
		want := placementByPick(m, in, index)
		if (err == nil) != (want == nil) {
			t.Fatalf("CheckPlacement(%x, %d) = %v; by Pick: %v", in, index, err, want)
		}
		var de *dagcbor.Error
		if !errors.As(want, &de) {
			return
		}
		for _, sentinel := range decodeErrors { // the same decoder refuses the same way
			if errors.Is(want, sentinel) != errors.Is(err, sentinel) {
				t.Fatalf("CheckPlacement(%x) = %v; by Pick: %v", in, err, want)
			}
		}
	})
}

// placementByPick is CheckPlacement as it was before it read records with
// dagcbor.Scan, building the fields with dagcbor.Pick and reading them with
// dagcbor.Fields: the reference FuzzCheckPlacement holds it to.
func placementByPick(m *Manifest, record []byte, index int) error {
	if len(record) > MaxRecordSize {
		return ErrTooLarge
	}
	v, err := dagcbor.Pick(record, decodeLimits(), "v", "type", "origin", "seq")
	if err != nil {
		return err
	}
	f := dagcbor.ReadFields(v)
	t, err := readHeader(f)
	if err != nil {
		return err
	}
	origin := readAgency(f.Map("origin"))
	seq := f.Uint("seq")
	if err := f.Done(); err != nil {
		return err
	}
	switch {
	case t != TypeAssertion && t != TypeRetraction && t != TypeSighting,
		origin != m.Origin,
		index < 0 || uint64(index) >= m.Count || seq != m.First+uint64(index):
		return ErrBatch
	}
	return nil
}
