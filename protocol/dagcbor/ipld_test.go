package dagcbor

import (
	"bytes"
	"strings"
	"testing"

	ipldcbor "github.com/ipld/go-ipld-prime/codec/dagcbor"
	"github.com/ipld/go-ipld-prime/node/basicnode"
)

// ipldReencode decodes b with go-ipld-prime's DAG-CBOR codec, written
// independently of ours, and encodes the result again with it.
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

// fitsIPLDPrime reports whether go-ipld-prime's data model can hold v: its
// integers stop at int64 on the negative side.
func fitsIPLDPrime(v Value) bool {
	switch v.kind {
	case KindNegInt:
		return v.num <= 1<<63-1
	case KindArray:
		for _, item := range v.items {
			if !fitsIPLDPrime(item) {
				return false
			}
		}
	case KindMap:
		for _, e := range v.entries {
			if !fitsIPLDPrime(e.Value) {
				return false
			}
		}
	}
	return true
}

func independentValues(t *testing.T) []Value {
	var values []Value
	for _, tc := range encodingVectors(t) {
		values = append(values, tc.v)
	}
	link := Link(rawCID(t, "indicator token"))
	return append(values,
		Map(
			Entry{"v", Uint(1)},
			Entry{"type", Text("assertion")},
			Entry{"indicator", link},
			Entry{"categories", TextList([]string{"incitement", "recruitment"})},
			Entry{"created", Uint(1436745600)},
			Entry{"origin", Map(Entry{"cc", Text("FR")}, Entry{"org", Text("ofac")})},
			Entry{"sig", Bytes(bytes.Repeat([]byte{0xa5}, 3373))},
			Entry{"flags", Array()},
			Entry{"note", Text(strings.Repeat("é", 300))},
			Entry{"z", Null()},
			Entry{"yes", Bool(true)},
			Entry{"neg", Int(-42)},
			Entry{"big", Uint(1<<64 - 1)},
			Entry{"", Text("empty key")},
		),
		Array(Map(), Array(), link, Array(Array(Array(Uint(0))))),
		Map(Entry{strings.Repeat("k", 300), Uint(1)}, Entry{strings.Repeat("k", 299) + "j", Uint(2)}),
	)
}

func TestIndependentDecoderReencodesIdentically(t *testing.T) {
	for i, v := range independentValues(t) {
		if !fitsIPLDPrime(v) {
			continue
		}
		ours, err := Encode(v)
		if err != nil {
			t.Fatalf("value %d: %v", i, err)
		}
		theirs, err := ipldReencode(ours)
		if err != nil {
			t.Errorf("value %d: go-ipld-prime refused our bytes %x: %v", i, ours, err)
			continue
		}
		if !bytes.Equal(ours, theirs) {
			t.Errorf("value %d: go-ipld-prime re-encoded\n%x\nas\n%x", i, ours, theirs)
		}
	}
}
