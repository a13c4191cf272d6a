package record

import (
	"bytes"
	"testing"
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
