package dagcbor

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecode checks that Decode never panics and that whatever it accepts is
// canonical: our encoder and go-ipld-prime's both give the same bytes back,
// and Pick agrees with Decode on what is valid.
func FuzzDecode(f *testing.F) {
	for _, tc := range encodingVectors(f) {
		enc, err := Encode(tc.v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
	}
	for _, seed := range []string{
		"a2616201616102", "1817", "9f01ff", "f93c00", "d82a4100", "62c328", "0000",
		"a3636b65798301820203a0f6617af5626e6e3b7fffffffffffffff",
	} {
		f.Add(mustHex(f, seed))
	}
	lim := Limits{MaxBytes: 1 << 16, MaxDepth: 8, MaxString: 1 << 12, MaxItems: 256}
	f.Fuzz(func(t *testing.T, in []byte) {
		v, err := Decode(in, lim)
		checkPickAgrees(t, in, lim, v, err)
		if err != nil {
			var de *Error
			if !errors.As(err, &de) || de.Offset < 0 || de.Offset > len(in) {
				t.Fatalf("error without a valid offset: %v", err)
			}
			return
		}
		out, err := Encode(v)
		if err != nil {
			t.Fatalf("accepted %x but cannot encode it: %v", in, err)
		}
		if !bytes.Equal(out, in) {
			t.Fatalf("accepted non-canonical input\n in: %x\nout: %x", in, out)
		}
		if !fitsIPLDPrime(v) {
			return
		}
		theirs, err := ipldReencode(in)
		if err != nil {
			t.Fatalf("go-ipld-prime refused %x, which we accept: %v", in, err)
		}
		if !bytes.Equal(theirs, in) {
			t.Fatalf("go-ipld-prime re-encoded %x as %x", in, theirs)
		}
	})
}

func checkPickAgrees(t *testing.T, in []byte, lim Limits, v Value, decodeErr error) {
	picked, err := Pick(in, lim, "v", "type")
	if decodeErr == nil && v.Kind() == KindMap {
		if err != nil {
			t.Fatalf("Decode accepts %x but Pick refuses: %v", in, err)
		}
		for _, key := range []string{"v", "type"} {
			want, inDoc := v.Lookup(key)
			got, inPick := picked.Lookup(key)
			if inDoc != inPick || !Equal(want, got) {
				t.Fatalf("Pick(%q) disagrees with Decode on %x", key, in)
			}
		}
		return
	}
	if err == nil {
		t.Fatalf("Pick accepts %x but Decode refuses: %v", in, decodeErr)
	}
}
