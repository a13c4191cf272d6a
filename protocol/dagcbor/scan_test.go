package dagcbor

import (
	"bytes"
	"errors"
	"testing"
)

func TestScanVisitsEveryEntry(t *testing.T) {
	doc := sampleMap(t)
	enc, err := Encode(doc)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	var raws []Raw
	if err := Scan(enc, DefaultLimits(), func(key []byte, v Raw) {
		keys = append(keys, string(key))
		raws = append(raws, v)
	}); err != nil {
		t.Fatal(err)
	}
	checkScanEntries(t, enc, DefaultLimits(), doc, keys, raws)

	if n := testing.AllocsPerRun(100, func() {
		_ = Scan(enc, DefaultLimits(), func([]byte, Raw) {})
	}); n != 0 {
		t.Errorf("Scan allocates %v times per run, want 0", n)
	}
}

func TestRawGetters(t *testing.T) {
	var zero Raw
	if zero.Kind() != KindInvalid || zero.Encoded() != nil {
		t.Errorf("zero Raw: kind %s, encoding %x", zero.Kind(), zero.Encoded())
	}
	if _, err := zero.AsUint(); !errors.Is(err, ErrWrongKind) {
		t.Errorf("zero Raw AsUint: %v", err)
	}
	u := Raw{mustHex(t, "1903e8")}
	if n, err := u.AsUint(); n != 1000 || err != nil {
		t.Errorf("AsUint = %d, %v", n, err)
	}
	if _, err := u.AsText(); !errors.Is(err, ErrWrongKind) {
		t.Errorf("AsText of a uint: %v", err)
	}
	text := Raw{mustHex(t, "6461626364")}
	if s, err := text.AsText(); string(s) != "abcd" || err != nil {
		t.Errorf("AsText = %q, %v", s, err)
	}
	if _, err := text.AsUint(); !errors.Is(err, ErrWrongKind) {
		t.Errorf("AsUint of a text: %v", err)
	}
}

func TestScanValidatesLikeDecode(t *testing.T) {
	tests := []struct {
		name, hex string
		want      error
	}{
		{"non-canonical value", "a2616101617a1817", ErrNonCanonical},
		{"float in a nested map", "a2616101617aa16162f93c00", ErrUnsupported},
		{"keys out of order", "a2617a01616102", ErrNonCanonical},
		{"top-level array", "8101", ErrWrongKind},
		{"trailing data", "a00000", ErrTrailingData},
		{"truncated", "a2616101", ErrTruncated},
	}
	for _, tc := range tests {
		err := Scan(mustHex(t, tc.hex), DefaultLimits(), func([]byte, Raw) {})
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: Scan = %v, want %v", tc.name, err, tc.want)
		}
	}
}

// FuzzScan checks that Scan accepts exactly the maps Decode accepts, and
// that what it visits is what Decode builds.
func FuzzScan(f *testing.F) {
	for _, tc := range encodingVectors(f) {
		enc, err := Encode(tc.v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
	}
	for _, seed := range []string{
		"a2616201616102", "a2616101617a1817", "a2616101617aa16162f93c00", "a00000",
		"a3636b65798301820203a0f6617af5626e6e3b7fffffffffffffff",
	} {
		f.Add(mustHex(f, seed))
	}
	lim := Limits{MaxBytes: 1 << 16, MaxDepth: 8, MaxString: 1 << 12, MaxItems: 256}
	f.Fuzz(func(t *testing.T, in []byte) {
		v, decodeErr := Decode(in, lim)
		var keys []string
		var raws []Raw
		err := Scan(in, lim, func(key []byte, r Raw) {
			keys = append(keys, string(key))
			raws = append(raws, r)
		})
		switch want := decodeErr == nil && v.Kind() == KindMap; {
		case want && err != nil:
			t.Fatalf("Decode accepts the map %x but Scan refuses: %v", in, err)
		case !want && err == nil:
			t.Fatalf("Scan accepts %x but Decode refuses it (%v) or it is no map (%s)", in, decodeErr, v.Kind())
		case want:
			checkScanEntries(t, in, lim, v, keys, raws)
		}
	})
}

// checkScanEntries checks that the keys and Raw values Scan visited in enc
// are the entries of doc, the Value Decode made of enc.
func checkScanEntries(t *testing.T, enc []byte, lim Limits, doc Value, keys []string, raws []Raw) {
	t.Helper()
	entries, _ := doc.AsEntries()
	if len(keys) != len(entries) {
		t.Fatalf("Scan visited %d entries of %x, Decode found %d", len(keys), enc, len(entries))
	}
	for i, e := range entries {
		r := raws[i]
		if keys[i] != e.Key {
			t.Fatalf("entry %d: Scan visited key %q, Decode %q", i, keys[i], e.Key)
		}
		if r.Kind() != e.Value.Kind() {
			t.Fatalf("entry %q: Raw kind %s, Value kind %s", e.Key, r.Kind(), e.Value.Kind())
		}
		if v, err := Decode(r.Encoded(), lim); err != nil || !Equal(v, e.Value) {
			t.Fatalf("entry %q: Raw %x does not decode to the entry's value: %v", e.Key, r.Encoded(), err)
		}
		if !bytes.Contains(enc, r.Encoded()) {
			t.Fatalf("entry %q: Raw %x is not part of the input", e.Key, r.Encoded())
		}
		wantU, wantUErr := e.Value.AsUint()
		if u, err := r.AsUint(); u != wantU || (err == nil) != (wantUErr == nil) {
			t.Fatalf("entry %q: Raw.AsUint = %d, %v; Value.AsUint = %d, %v", e.Key, u, err, wantU, wantUErr)
		}
		wantS, wantSErr := e.Value.AsText()
		if s, err := r.AsText(); string(s) != wantS || (err == nil) != (wantSErr == nil) {
			t.Fatalf("entry %q: Raw.AsText = %q, %v; Value.AsText = %q, %v", e.Key, s, err, wantS, wantSErr)
		}
	}
}
