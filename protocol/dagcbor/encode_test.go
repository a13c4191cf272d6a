package dagcbor

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func rawCID(t testing.TB, data string) cid.Cid {
	t.Helper()
	c, err := cid.Prefix{Version: 1, Codec: cid.Raw, MhType: multihash.SHA2_256, MhLength: -1}.Sum([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// encodingVectors come from RFC 8949 Appendix A, plus DAG-CBOR specifics
// (key order, links) worked out by hand.
func encodingVectors(t testing.TB) []struct {
	name string
	v    Value
	hex  string
} {
	link := rawCID(t, "vigie")
	return []struct {
		name string
		v    Value
		hex  string
	}{
		{"0", Uint(0), "00"},
		{"23", Uint(23), "17"},
		{"24", Uint(24), "1818"},
		{"100", Uint(100), "1864"},
		{"1000", Uint(1000), "1903e8"},
		{"1000000", Uint(1000000), "1a000f4240"},
		{"1e12", Uint(1000000000000), "1b000000e8d4a51000"},
		{"2^32", Uint(1 << 32), "1b0000000100000000"},
		{"max uint64", Uint(1<<64 - 1), "1bffffffffffffffff"},
		{"-1", Int(-1), "20"},
		{"-10", Int(-10), "29"},
		{"-100", Int(-100), "3863"},
		{"-1000", Int(-1000), "3903e7"},
		{"min int64", Int(-1 << 63), "3b7fffffffffffffff"},
		{"-2^64", NegInt(1<<64 - 1), "3bffffffffffffffff"},
		{"false", Bool(false), "f4"},
		{"true", Bool(true), "f5"},
		{"null", Null(), "f6"},
		{"empty bytes", Bytes(nil), "40"},
		{"bytes", Bytes([]byte{1, 2, 3, 4}), "4401020304"},
		{"empty text", Text(""), "60"},
		{"a", Text("a"), "6161"},
		{"IETF", Text("IETF"), "6449455446"},
		{"quote backslash", Text("\"\\"), "62225c"},
		{"u-umlaut", Text("ü"), "62c3bc"},
		{"water", Text("水"), "63e6b0b4"},
		{"24-byte text", Text(strings.Repeat("x", 24)), "7818" + strings.Repeat("78", 24)},
		{"empty array", Array(), "80"},
		{"array", Array(Uint(1), Uint(2), Uint(3)), "83010203"},
		{"nested array", Array(Uint(1), Array(Uint(2), Uint(3)), Array(Uint(4), Uint(5))), "8301820203820405"},
		{"25 items", Array(Uint(1), Uint(2), Uint(3), Uint(4), Uint(5), Uint(6), Uint(7), Uint(8), Uint(9), Uint(10),
			Uint(11), Uint(12), Uint(13), Uint(14), Uint(15), Uint(16), Uint(17), Uint(18), Uint(19), Uint(20),
			Uint(21), Uint(22), Uint(23), Uint(24), Uint(25)),
			"98190102030405060708090a0b0c0d0e0f101112131415161718181819"},
		{"empty map", Map(), "a0"},
		{"map", Map(Entry{"a", Uint(1)}, Entry{"b", Array(Uint(2), Uint(3))}), "a26161016162820203"},
		{"keys given unsorted", Map(Entry{"b", Uint(1)}, Entry{"a", Uint(2)}), "a2616102616201"},
		{"shorter key first", Map(Entry{"aa", Uint(2)}, Entry{"b", Uint(1)}), "a261620162616102"},
		{"link", Link(link), "d82a582500" + hex.EncodeToString(link.Bytes())},
	}
}

func TestEncodeVectors(t *testing.T) {
	for _, tc := range encodingVectors(t) {
		got, err := Encode(tc.v)
		if err != nil {
			t.Errorf("%s: Encode: %v", tc.name, err)
			continue
		}
		if want := mustHex(t, tc.hex); !bytes.Equal(got, want) {
			t.Errorf("%s: Encode = %x, want %x", tc.name, got, want)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range encodingVectors(t) {
		enc, err := Encode(tc.v)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got, err := Decode(enc, DefaultLimits())
		if err != nil {
			t.Errorf("%s: Decode(%x): %v", tc.name, enc, err)
			continue
		}
		if !Equal(got, tc.v) {
			t.Errorf("%s: Decode gave a different value", tc.name)
		}
		again, err := Encode(got)
		if err != nil || !bytes.Equal(again, enc) {
			t.Errorf("%s: re-encode = %x, %v; want %x", tc.name, again, err, enc)
		}
	}
}

func TestEncodeRejectsInvalidValues(t *testing.T) {
	v0, err := cid.Decode("QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		v    Value
	}{
		{"zero value", Value{}},
		{"zero value in array", Array(Uint(1), Value{})},
		{"invalid UTF-8 text", Text("\xff")},
		{"invalid UTF-8 key", Map(Entry{"\xff", Uint(1)})},
		{"duplicate key", Map(Entry{"a", Uint(1)}, Entry{"a", Uint(2)})},
		{"undefined CID", Link(cid.Undef)},
		{"CIDv0", Link(v0)},
	}
	for _, tc := range tests {
		if b, err := Encode(tc.v); !errors.Is(err, ErrInvalidValue) {
			t.Errorf("%s: Encode = %x, %v; want ErrInvalidValue", tc.name, b, err)
		}
	}
}

func TestMapDoesNotAliasCallerSlices(t *testing.T) {
	entries := []Entry{{"b", Uint(1)}, {"a", Uint(2)}}
	m := Map(entries...)
	entries[0].Value = Uint(99)
	if v, _ := m.Lookup("b"); !Equal(v, Uint(1)) {
		t.Fatal("Map kept a reference to the caller's slice")
	}
	if entries[0].Key != "b" {
		t.Fatal("Map sorted the caller's slice in place")
	}
}

func TestGetters(t *testing.T) {
	if _, err := Text("x").AsUint(); !errors.Is(err, ErrWrongKind) {
		t.Errorf("AsUint on text: %v", err)
	}
	if i, err := Int(-5).AsInt(); err != nil || i != -5 {
		t.Errorf("AsInt(-5) = %d, %v", i, err)
	}
	if _, err := Uint(1 << 63).AsInt(); !errors.Is(err, ErrWrongKind) {
		t.Errorf("AsInt overflow: %v", err)
	}
	if _, err := NegInt(1 << 63).AsInt(); !errors.Is(err, ErrWrongKind) {
		t.Errorf("AsInt negative overflow: %v", err)
	}
	if i, err := Int(-1 << 63).AsInt(); err != nil || i != -1<<63 {
		t.Errorf("AsInt(min int64) = %d, %v", i, err)
	}
	b := []byte{1, 2}
	v := Bytes(b)
	b[0] = 9
	if got, _ := v.AsBytes(); got[0] != 1 {
		t.Error("Bytes kept a reference to the caller's slice")
	}
	if ok, err := Bool(true).AsBool(); !ok || err != nil {
		t.Errorf("AsBool = %v, %v", ok, err)
	}
	c := rawCID(t, "x")
	if got, err := Link(c).AsLink(); err != nil || !got.Equals(c) {
		t.Errorf("AsLink = %v, %v", got, err)
	}
}
