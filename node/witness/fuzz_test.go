package witness

import (
	"bytes"
	"testing"
)

// sampleEquivocations makes one proof of each kind.
func sampleEquivocations(t testing.TB) ([]*Equivocation, *testLog) {
	l := newTestLog(t, "vigie.test/FR/audit")
	l.grow(6)
	held := l.note(t)
	f := l.fork(3)
	f.grow(3)
	same := &Equivocation{Kind: KindSameSize, Origin: l.name, First: held, Second: f.note(t)}
	f.grow(5)
	p, err := f.proof(6)
	if err != nil {
		t.Fatal(err)
	}
	var prefix [32]byte
	copy(prefix[:], f.tree.HashAt(6))
	inc := &Equivocation{Kind: KindInconsistent, Origin: l.name, First: held, Second: f.note(t), PrefixRoot: prefix, Proof: p}
	for _, e := range []*Equivocation{same, inc} {
		if err := VerifyEquivocation(e, l.verifiers...); err != nil {
			t.Fatal(err)
		}
	}
	return []*Equivocation{same, inc}, l
}

func FuzzParseEquivocation(f *testing.F) {
	samples, _ := sampleEquivocations(f)
	for _, e := range samples {
		b, err := e.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"type":"vigie/witness-equivocation/v1","kind":"same_size","origin":"o","first":"o\n1\n","second":""}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseEquivocation(b)
		if err != nil {
			return
		}
		out, err := p.Marshal()
		if err != nil {
			t.Fatalf("parsed but cannot marshal: %v", err)
		}
		back, err := ParseEquivocation(out)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		out2, err := back.Marshal()
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("not stable: %v", err)
		}
		// VerifyEquivocation is left out: under the fuzzer's coverage
		// instrumentation an ML-DSA-44 verification takes seconds.
		// Its refusals are tested in witness_test.go.
	})
}

func FuzzParseRequest(f *testing.F) {
	l := newTestLog(f, "vigie.test/FR/audit")
	l.grow(11)
	req := l.request(f, 0)
	req.OldSize = 7
	req.Proof, _ = l.proof(7)
	b, err := req.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("old 0\n\nx\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRequest(b)
		if err != nil {
			return
		}
		out, err := r.Marshal()
		if err != nil {
			t.Fatalf("parsed but cannot marshal: %v", err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("round trip changed %q into %q", b, out)
		}
	})
}

func FuzzParseResponse(f *testing.F) {
	f.Add([]byte("409 conflict\n42\n"))
	f.Add([]byte("200\n— w AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"))
	f.Add([]byte("422 bad proof\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseResponse(b)
		if err != nil {
			return
		}
		out, err := r.Marshal()
		if err != nil {
			t.Fatalf("parsed but cannot marshal: %v", err)
		}
		if _, err := ParseResponse(out); err != nil {
			t.Fatalf("re-parse: %v", err)
		}
	})
}
