package riblt

import (
	"errors"
	"testing"
)

// TestSketchIsStreamPrefix checks the universality the fast path relies
// on: a size-M sketch holds exactly the first M symbols of the stream.
func TestSketchIsStreamPrefix(t *testing.T) {
	common, extra, _ := splitSets(10, 3000, 100, 0)
	const m = 700
	s := NewSketch(testKey, m)
	for _, x := range append(common, extra...) {
		s.Add(x)
	}
	for _, x := range extra {
		s.Remove(x)
	}
	e := encoderOf(testKey, common)
	got, want := s.Symbols(m+10), e.Symbols(0, m)
	if len(got) != m {
		t.Fatalf("Symbols returned %d", len(got))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("symbol %d differs", i)
		}
	}
	if s.Len() != len(common) || s.Size() != m {
		t.Fatalf("Len %d Size %d", s.Len(), s.Size())
	}
}

func TestSketchReconcile(t *testing.T) {
	for _, d := range []int{0, 1, 10, 300} {
		common, a, b := splitSets(uint64(20+d), 20000, d-d/2, d/2)
		sa, sb := NewSketch(testKey, 512), NewSketch(testKey, 512)
		for _, x := range append(common, a...) {
			sa.Add(x)
		}
		for _, x := range append(common, b...) {
			sb.Add(x)
		}
		// A receives B's sketch over the wire as symbols.
		recv := SketchFromSymbols(testKey, sb.Symbols(512))
		if err := recv.Subtract(sa); err != nil {
			t.Fatal(err)
		}
		onlyB, onlyA, err := recv.Decode()
		if err != nil {
			t.Fatalf("d=%d: %v", d, err)
		}
		sameSet(t, "only B", onlyB, b)
		sameSet(t, "only A", onlyA, a)
	}
}

func TestSketchTooSmall(t *testing.T) {
	common, a, b := splitSets(30, 1000, 200, 200)
	sa, sb := NewSketch(testKey, 128), NewSketch(testKey, 128)
	for _, x := range append(common, a...) {
		sa.Add(x)
	}
	for _, x := range append(common, b...) {
		sb.Add(x)
	}
	if err := sa.Subtract(sb); err != nil {
		t.Fatal(err)
	}
	if _, _, err := sa.Decode(); !errors.Is(err, ErrNotDecoded) {
		t.Fatalf("got %v, want ErrNotDecoded", err)
	}
}

func TestSketchMismatch(t *testing.T) {
	other := testKey
	other[0]++
	if err := NewSketch(testKey, 8).Subtract(NewSketch(other, 8)); !errors.Is(err, ErrSketchMismatch) {
		t.Fatalf("got %v", err)
	}
	// Different sizes: the longer is cut to the common prefix.
	s := NewSketch(testKey, 16)
	if err := s.Subtract(NewSketch(testKey, 8)); err != nil || s.Size() != 8 {
		t.Fatalf("err %v size %d", err, s.Size())
	}
	if _, _, err := SketchFromSymbols(testKey, nil).Decode(); !errors.Is(err, ErrNotDecoded) {
		t.Fatalf("empty sketch: %v", err)
	}
}

// TestDecoderWithSketch streams an Encoder against a maintained Sketch.
func TestDecoderWithSketch(t *testing.T) {
	common, a, b := splitSets(40, 10000, 40, 40)
	ea := encoderOf(testKey, common, a)
	sb := NewSketch(testKey, 256)
	for _, x := range append(common, b...) {
		sb.Add(x)
	}
	d := NewDecoderWithSketch(sb)
	stream(t, d, ea, 256)
	sameSet(t, "remote", d.Remote(), a)
	sameSet(t, "local", d.Local(), b)

	// Past the sketch's end the session must stop, not invent symbols.
	_, a2, b2 := splitSets(41, 0, 400, 400)
	ea2 := encoderOf(testKey, common, a2)
	sb2 := NewSketch(testKey, 64)
	for _, x := range append(common, b2...) {
		sb2.Add(x)
	}
	d2 := NewDecoderWithSketch(sb2)
	var err error
	for i := 0; i <= 64 && err == nil; i++ {
		err = d2.AddCoded(ea2.Symbol(i))
	}
	if !errors.Is(err, ErrBudgetExceeded) {
		t.Fatalf("got %v, want ErrBudgetExceeded", err)
	}
}
