package record

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/protocol/dagcbor"
)

func TestRoundTripEveryType(t *testing.T) {
	for name, r := range allSampleRecords(t) {
		t.Run(name, func(t *testing.T) {
			b := mustEncode(t, r)
			got, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, r) {
				t.Errorf("Decode gave\n%+v\nwant\n%+v", got, r)
			}
			if again := mustEncode(t, got); !bytes.Equal(again, b) {
				t.Errorf("re-encoding differs:\n%x\n%x", again, b)
			}
			if c := cidOfRecord(t, got); !c.Equals(CIDOf(b)) {
				t.Errorf("CID %s, want %s", c, CIDOf(b))
			}
		})
	}
}

func TestIndependentDecoderReencodesEveryType(t *testing.T) {
	for name, r := range allSampleRecords(t) {
		ours := mustEncode(t, r)
		theirs, err := ipldReencode(ours)
		if err != nil {
			t.Errorf("%s: go-ipld-prime refused our bytes: %v", name, err)
			continue
		}
		if !bytes.Equal(ours, theirs) {
			t.Errorf("%s: go-ipld-prime re-encoded\n%x\nas\n%x", name, ours, theirs)
		}
	}
}

// The golden values pin the encoding: any change to field names, order,
// optional-field handling or the codec changes them and fails here. Update
// them only together with FormatVersion.
const (
	goldenIndicatorCID = "bafkreieof6kyjl3h3c3fmdfpqsikdm6zdzcw5gv4jshuki4a2npekx37ni"
	goldenAssertionCID = "bafyreibmrk5ogwnockxx77i74j7d3iiusudrsf2oh72fwpidpkbqsakhhm"
	goldenAssertionLen = 361
)

func TestGoldenCIDs(t *testing.T) {
	if got := IndicatorCID(testToken(1)).String(); got != goldenIndicatorCID {
		t.Errorf("IndicatorCID = %s, want %s", got, goldenIndicatorCID)
	}
	a := sampleAssertion(1)
	b := mustEncode(t, a)
	if got := cidOfRecord(t, a).String(); got != goldenAssertionCID {
		t.Errorf("assertion CID = %s, want %s\nencoding: %x", got, goldenAssertionCID, b)
	}
	if len(b) != goldenAssertionLen {
		t.Errorf("assertion is %d bytes, want %d", len(b), goldenAssertionLen)
	}
	ind := IndicatorCID(testToken(1))
	if p := ind.Prefix(); p.Codec != cid.Raw || p.Version != 1 {
		t.Errorf("indicator CID prefix %+v", p)
	}
	if p := cidOfRecord(t, a).Prefix(); p.Codec != cid.DagCBOR || p.Version != 1 {
		t.Errorf("record CID prefix %+v", p)
	}
}

func TestDecodeRejects(t *testing.T) {
	assertion := mustEncode(t, sampleAssertion(1))
	retraction := mustEncode(t, sampleRetraction(2))
	tests := []struct {
		name  string
		in    []byte
		want  error
		field string // must appear in the message, if set
	}{
		{"unknown version", rewrite(t, assertion, func(m map[string]dagcbor.Value) { m["v"] = dagcbor.Uint(2) }), ErrUnknownVersion, ""},
		{"version 0", rewrite(t, assertion, func(m map[string]dagcbor.Value) { m["v"] = dagcbor.Uint(0) }), ErrUnknownVersion, ""},
		{"version as text", rewrite(t, assertion, func(m map[string]dagcbor.Value) { m["v"] = dagcbor.Text("1") }), dagcbor.ErrWrongKind, `"v"`},
		{"unknown type", rewrite(t, assertion, func(m map[string]dagcbor.Value) { m["type"] = dagcbor.Text("indicator") }), ErrUnknownType, ""},
		{"unknown field", rewrite(t, assertion, func(m map[string]dagcbor.Value) { m["url"] = dagcbor.Text("x") }), ErrUnknownField, `"url"`},
		{"unknown nested field", rewrite(t, assertion, func(m map[string]dagcbor.Value) {
			m["origin"] = dagcbor.Map(dagcbor.Entry{Key: "cc", Value: dagcbor.Text("FR")}, dagcbor.Entry{Key: "org", Value: dagcbor.Text("ofac")}, dagcbor.Entry{Key: "x", Value: dagcbor.Uint(1)})
		}), ErrUnknownField, `"origin.x"`},
		{"missing field", rewrite(t, assertion, func(m map[string]dagcbor.Value) { delete(m, "tlp") }), ErrMissingField, `"tlp"`},
		{"missing version", rewrite(t, assertion, func(m map[string]dagcbor.Value) { delete(m, "v") }), ErrMissingField, `"v"`},
		{"wrong kind", rewrite(t, assertion, func(m map[string]dagcbor.Value) { m["seq"] = dagcbor.Text("1") }), dagcbor.ErrWrongKind, `"seq"`},
		{"null optional field", rewrite(t, assertion, func(m map[string]dagcbor.Value) { m["order_ref"] = dagcbor.Null() }), dagcbor.ErrWrongKind, `"order_ref"`},
		{"empty optional field", rewrite(t, assertion, func(m map[string]dagcbor.Value) { m["order_ref"] = dagcbor.Text("") }), ErrInvalid, `"order_ref"`},
		{"zero optional time", rewrite(t, assertion, func(m map[string]dagcbor.Value) { m["expires"] = dagcbor.Uint(0) }), ErrInvalid, `"expires"`},
		{"empty optional list", rewrite(t, assertion, func(m map[string]dagcbor.Value) { m["flags"] = dagcbor.Array() }), ErrInvalid, `"flags"`},
		{"oversized field", rewrite(t, retraction, func(m map[string]dagcbor.Value) { m["note"] = dagcbor.Text(strings.Repeat("n", MaxNoteLen+1)) }), ErrTooLarge, `"note"`},
		{"field over the decoder's string bound", rewrite(t, retraction, func(m map[string]dagcbor.Value) { m["note"] = dagcbor.Text(strings.Repeat("n", 5000)) }), dagcbor.ErrTooLarge, "note"},
		{"oversized list", rewrite(t, assertion, func(m map[string]dagcbor.Value) {
			m["legal_basis"] = dagcbor.TextList(strings.Split(strings.Repeat("x,", MaxLegalBasis)+"y", ","))
		}), ErrTooLarge, `"legal_basis"`},
		{"oversized record", rewrite(t, assertion, func(m map[string]dagcbor.Value) {
			m["padding"] = dagcbor.TextList(strings.Split(strings.Repeat(strings.Repeat("x", 4000)+",", 20)+"y", ","))
		}), ErrTooLarge, "at most 65536"},
		{"manifest root of 31 bytes", rewrite(t, mustEncode(t, sampleManifest(t)), func(m map[string]dagcbor.Value) {
			m["root"] = dagcbor.Bytes(make([]byte, 31))
		}), ErrInvalid, `"root"`},
		{"trailing bytes", append(bytes.Clone(assertion), 0), dagcbor.ErrTrailingData, ""},
		{"non-canonical key order", unsortedEncoding(t, assertion), dagcbor.ErrNonCanonical, ""},
		{"not a map", []byte{0x01}, dagcbor.ErrWrongKind, ""},
		{"vocabulary", rewrite(t, assertion, func(m map[string]dagcbor.Value) { m["tlp"] = dagcbor.Text("white") }), ErrInvalid, `"tlp"`},
		{"unsorted set", rewrite(t, assertion, func(m map[string]dagcbor.Value) {
			m["categories"] = dagcbor.TextList([]string{"incitement", "fto_propaganda"})
		}), ErrInvalid, `"categories"`},
		{"indicator of the wrong codec", rewrite(t, assertion, func(m map[string]dagcbor.Value) {
			m["indicator"] = dagcbor.Link(CIDOf([]byte("x")))
		}), ErrInvalid, `"indicator"`},
		{"expires before created", rewrite(t, assertion, func(m map[string]dagcbor.Value) { m["expires"] = dagcbor.Uint(created) }), ErrInvalid, `"expires"`},
		{"URL in a note", rewrite(t, retraction, func(m map[string]dagcbor.Value) {
			m["note"] = dagcbor.Text("listed in error, see google.fr")
		}), ErrInvalid, `"note"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Decode(tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decode = %v, %v; want %v", r, err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error %q does not name %s", err, tc.field)
			}
		})
	}
}

// unsortedEncoding re-emits a record's map with its entries in reverse
// order: valid CBOR, but not the canonical DAG-CBOR of the same map.
func unsortedEncoding(t *testing.T, b []byte) []byte {
	v, err := dagcbor.Decode(b, decodeLimits())
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := v.AsEntries()
	if len(entries) >= 24 {
		t.Fatal("helper handles maps of fewer than 24 entries")
	}
	out := []byte{0xa0 | byte(len(entries))}
	for i := len(entries) - 1; i >= 0; i-- {
		key, _ := dagcbor.Encode(dagcbor.Text(entries[i].Key))
		val, _ := dagcbor.Encode(entries[i].Value)
		out = append(append(out, key...), val...)
	}
	return out
}

func TestDecodeAs(t *testing.T) {
	b := mustEncode(t, sampleSighting(3))
	if s, err := DecodeAs[*Sighting](b); err != nil || s.Seq != 3 {
		t.Errorf("DecodeAs[*Sighting] = %v, %v", s, err)
	}
	if _, err := DecodeAs[*Assertion](b); !errors.Is(err, ErrUnknownType) {
		t.Errorf("DecodeAs[*Assertion] on a sighting: %v", err)
	}
}

func TestEncodeValidates(t *testing.T) {
	a := sampleAssertion(1)
	a.TLP = "white"
	if _, err := a.Encode(); !errors.Is(err, ErrInvalid) {
		t.Errorf("Encode of an invalid assertion: %v", err)
	}
	if _, err := a.CID(); !errors.Is(err, ErrInvalid) {
		t.Errorf("CID of an invalid assertion: %v", err)
	}
}
