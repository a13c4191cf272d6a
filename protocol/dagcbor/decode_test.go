package dagcbor

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// cidPayload is the tag-42 byte-string payload for a raw-codec CIDv1.
func cidPayload(t *testing.T) string {
	return "00" + hex.EncodeToString(rawCID(t, "vigie").Bytes())
}

func TestDecodeRejects(t *testing.T) {
	link := cidPayload(t)
	v0digest := strings.Repeat("ab", 32)
	tests := []struct {
		name   string
		hex    string
		want   error
		offset int
	}{
		// Non-minimal integer and length heads.
		{"uint 23 in 1 byte", "1817", ErrNonCanonical, 0},
		{"uint 255 in 2 bytes", "1900ff", ErrNonCanonical, 0},
		{"uint 65535 in 4 bytes", "1a0000ffff", ErrNonCanonical, 0},
		{"uint 2^32-1 in 8 bytes", "1b00000000ffffffff", ErrNonCanonical, 0},
		{"negint in 1 byte", "3800", ErrNonCanonical, 0},
		{"bytes length in 1 byte", "580161", ErrNonCanonical, 0},
		{"text length in 1 byte", "780161", ErrNonCanonical, 0},
		{"array count in 1 byte", "980101", ErrNonCanonical, 0},
		{"map count in 2 bytes", "b90001616101", ErrNonCanonical, 0},
		{"nested non-minimal", "82011817", ErrNonCanonical, 2},
		{"tag 42 in 2 bytes", "d9002a5825" + link, ErrNonCanonical, 0},
		// Indefinite lengths.
		{"indefinite bytes", "5f4101ff", ErrNonCanonical, 0},
		{"indefinite text", "7f6161ff", ErrNonCanonical, 0},
		{"indefinite array", "9f01ff", ErrNonCanonical, 0},
		{"indefinite map", "bf616101ff", ErrNonCanonical, 0},
		{"indefinite uint", "1f", ErrMalformed, 0},
		// Map keys.
		{"keys out of order", "a2616201616102", ErrNonCanonical, 4},
		{"longer key first", "a262616101616202", ErrNonCanonical, 5},
		{"duplicate key", "a2616101616102", ErrNonCanonical, 4},
		{"uint key", "a10102", ErrUnsupported, 1},
		{"bytes key", "a1416101", ErrUnsupported, 1},
		{"array key", "a18001", ErrUnsupported, 1},
		{"invalid UTF-8 key", "a161ff01", ErrMalformed, 1},
		// Floats and other simple values.
		{"float16", "f93c00", ErrUnsupported, 0},
		{"float32", "fa3f800000", ErrUnsupported, 0},
		{"float64", "fb3ff0000000000000", ErrUnsupported, 0},
		{"float in array", "81fb3ff0000000000000", ErrUnsupported, 1},
		{"undefined", "f7", ErrUnsupported, 0},
		{"simple 16", "f0", ErrUnsupported, 0},
		{"simple 32", "f820", ErrUnsupported, 0},
		{"reserved simple", "fc", ErrMalformed, 0},
		{"stray break", "ff", ErrMalformed, 0},
		// Tags.
		{"tag 0", "c06161", ErrUnsupported, 0},
		{"tag 43", "d82b4100", ErrUnsupported, 0},
		{"bignum tag", "c249010000000000000000", ErrUnsupported, 0},
		// Invalid CIDs.
		{"link over text", "d82a6161", ErrMalformed, 2},
		{"link without 0x00 prefix", "d82a5824" + link[2:], ErrMalformed, 2},
		{"empty link payload", "d82a40", ErrMalformed, 2},
		{"link of only the prefix", "d82a4100", ErrMalformed, 2},
		{"link with truncated digest", "d82a5824" + link[:len(link)-2], ErrMalformed, 2},
		{"link with trailing byte", "d82a5826" + link + "00", ErrMalformed, 2},
		{"link with non-minimal version varint", "d82a5826" + "008100" + link[4:], ErrMalformed, 2},
		{"CIDv0 link", "d82a582300" + "1220" + v0digest, ErrUnsupported, 2},
		{"CIDv0 prefix, wrong length", "d82a582400" + "1220" + v0digest + "00", ErrMalformed, 2},
		{"CID version 2", "d82a5825" + "0002" + link[4:], ErrMalformed, 2},
		{"CID version 0 varint", "d82a5825" + "0000" + link[4:], ErrMalformed, 2},
		{"non-minimal codec varint", "d82a5826" + "0001d500" + link[6:], ErrMalformed, 2},
		{"non-minimal digest length varint", "d82a5826" + "00015512a000" + link[10:], ErrMalformed, 2},
		{"digest longer than declared", "d82a5826" + link + "ff", ErrMalformed, 2},
		// UTF-8.
		{"invalid UTF-8", "62c328", ErrMalformed, 0},
		{"overlong UTF-8", "62c0af", ErrMalformed, 0},
		{"surrogate in UTF-8", "63eda080", ErrMalformed, 0},
		// Structure.
		{"empty input", "", ErrTruncated, 0},
		{"missing argument", "18", ErrTruncated, 0},
		{"short string", "6261", ErrTruncated, 0},
		{"short array", "8201", ErrTruncated, 0},
		{"short map value", "a1616183", ErrTruncated, 3},
		{"count beyond input", "98ff01", ErrTruncated, 0},
		{"reserved additional information", "1c", ErrMalformed, 0},
		{"trailing byte", "0000", ErrTrailingData, 1},
		{"two maps", "a0a0", ErrTrailingData, 1},
		{"huge count", "9bffffffffffffffff", ErrTooLarge, 0},
		{"count over MaxItems", "9a00010000", ErrTooLarge, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkDecodeError(t, mustHex(t, tc.hex), DefaultLimits(), tc.want, tc.offset)
		})
	}
}

func checkDecodeError(t *testing.T, in []byte, lim Limits, want error, offset int) {
	t.Helper()
	v, err := Decode(in, lim)
	if !errors.Is(err, want) {
		t.Fatalf("Decode(%x) = %v, %v; want %v", in, v.Kind(), err, want)
	}
	var de *Error
	if !errors.As(err, &de) {
		t.Fatalf("error %v is not a *dagcbor.Error", err)
	}
	if de.Offset != offset {
		t.Errorf("error %q at offset %d, want %d", err, de.Offset, offset)
	}
	if !strings.Contains(err.Error(), "byte ") {
		t.Errorf("error %q does not name the offset", err)
	}
}

func TestDecodeLimits(t *testing.T) {
	lim := Limits{MaxBytes: 64, MaxDepth: 2, MaxString: 3, MaxItems: 2}
	tests := []struct {
		name   string
		hex    string
		want   error
		offset int
	}{
		{"too deep", "818180", ErrTooDeep, 2},
		{"too deep through maps", "a16161a1616180", ErrTooDeep, 6},
		{"string too long", "6461626364", ErrTooLarge, 0},
		{"bytes too long", "4401020304", ErrTooLarge, 0},
		{"key too long", "a1646162636401", ErrTooLarge, 1},
		{"link payload too long", "d82a5825" + cidPayload(t), ErrTooLarge, 2},
		{"array too long", "83010203", ErrTooLarge, 0},
		{"map too long", "a3616101616202616303", ErrTooLarge, 0},
		{"input too long", "98" + "41" + strings.Repeat("00", 65), ErrTooLarge, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkDecodeError(t, mustHex(t, tc.hex), lim, tc.want, tc.offset)
		})
	}
	// At the limits exactly, everything is accepted.
	for _, ok := range []string{"8180", "a16161a0", "63616263", "820102", "a0"} {
		if _, err := Decode(mustHex(t, ok), lim); err != nil {
			t.Errorf("Decode(%s) at the limit: %v", ok, err)
		}
	}
	// A scalar has depth 0.
	if _, err := Decode([]byte{0x01}, Limits{MaxBytes: 1}); err != nil {
		t.Errorf("scalar with MaxDepth 0: %v", err)
	}
}

func TestPick(t *testing.T) {
	doc := Map(
		Entry{"seq", Uint(7)},
		Entry{"origin", Map(Entry{"cc", Text("FR")})},
		Entry{"big", Array(Text("x"), Bytes([]byte{1}), Link(rawCID(t, "y")))},
	)
	enc, err := Encode(doc)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Pick(enc, DefaultLimits(), "seq", "origin", "absent")
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := got.AsEntries()
	if len(entries) != 2 {
		t.Fatalf("Pick kept %d entries, want 2", len(entries))
	}
	if v, _ := got.Lookup("seq"); !Equal(v, Uint(7)) {
		t.Error("seq not picked")
	}
	if v, _ := got.Lookup("origin"); !Equal(v, Map(Entry{"cc", Text("FR")})) {
		t.Error("origin not picked whole")
	}
}

func TestPickValidatesSkippedFields(t *testing.T) {
	// {"a": 1, "z": 23 encoded non-minimally}: Pick("a") must still refuse.
	in := mustHex(t, "a2616101617a1817")
	if _, err := Pick(in, DefaultLimits(), "a"); !errors.Is(err, ErrNonCanonical) {
		t.Errorf("Pick skipped a non-canonical field: %v", err)
	}
	// A float hidden inside a skipped nested map.
	in = mustHex(t, "a2616101617aa16162f93c00")
	if _, err := Pick(in, DefaultLimits(), "a"); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Pick skipped a nested float: %v", err)
	}
	if _, err := Pick(mustHex(t, "8101"), DefaultLimits(), "a"); !errors.Is(err, ErrWrongKind) {
		t.Errorf("Pick on an array: %v", err)
	}
	if _, err := Pick(mustHex(t, "a00000"), DefaultLimits(), "a"); !errors.Is(err, ErrTrailingData) {
		t.Errorf("Pick with trailing data: %v", err)
	}
}

func TestDecodeErrorNamesThePath(t *testing.T) {
	// {"members": [{"k": 1.0}]}
	in := mustHex(t, "a1676d656d6265727381a1616bf93c00")
	_, err := Decode(in, DefaultLimits())
	var de *Error
	if !errors.As(err, &de) || de.Path != "members[0].k" || de.Offset != 13 {
		t.Fatalf("Decode = %v; want path members[0].k at byte 13", err)
	}
	if !strings.Contains(err.Error(), "members[0].k") {
		t.Errorf("message %q lacks the path", err)
	}
}
