package riblt

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestIncrementalMatchesScratch builds one encoder by adds and removes in
// shuffled order, interleaved with reads that grow the window, and another
// from the final set at once: their streams must be identical, inside the
// window and past it.
func TestIncrementalMatchesScratch(t *testing.T) {
	keep, drop, _ := splitSets(1, 5000, 2000, 0)
	rng := rand.New(rand.NewPCG(1, 2))

	inc := NewEncoder(testKey)
	ops := append(slices.Clone(keep), drop...)
	rng.Shuffle(len(ops), func(i, j int) { ops[i], ops[j] = ops[j], ops[i] })
	for i, x := range ops {
		if !inc.Add(x) {
			t.Fatal("Add of a new item reported a duplicate")
		}
		if i == len(ops)/2 {
			inc.Symbol(3 * DefaultWindow) // grow the window halfway through
		}
	}
	rng.Shuffle(len(drop), func(i, j int) { drop[i], drop[j] = drop[j], drop[i] })
	for _, x := range drop {
		if !inc.Remove(x) {
			t.Fatal("Remove of a present item reported it absent")
		}
	}

	scratch := encoderOf(testKey, keep)
	const n = 5 * DefaultWindow // past both windows
	got, want := inc.Symbols(0, n), scratch.Symbols(0, n)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("symbol %d differs: incremental %+v, scratch %+v", i, got[i], want[i])
		}
	}
	if inc.Len() != len(keep) {
		t.Fatalf("Len = %d, want %d", inc.Len(), len(keep))
	}
}

func TestEncoderSetSemantics(t *testing.T) {
	_, a, _ := splitSets(2, 0, 3, 0)
	e := NewEncoder(testKey)
	empty := e.Symbols(0, 100)
	if !e.Add(a[0]) || e.Add(a[0]) {
		t.Fatal("Add must report new, then duplicate")
	}
	if e.Remove(a[1]) {
		t.Fatal("Remove of an absent item reported success")
	}
	if !e.Has(a[0]) || e.Has(a[1]) {
		t.Fatal("Has is wrong")
	}
	v := e.Version()
	if !e.Remove(a[0]) || e.Version() == v {
		t.Fatal("Remove must succeed and bump the version")
	}
	if !slices.Equal(e.Symbols(0, 100), empty) {
		t.Fatal("adding then removing an item left a trace")
	}
}

func TestEncoderEverySymbolHoldsItsItems(t *testing.T) {
	_, a, _ := splitSets(3, 0, 50, 0)
	e := encoderOf(testKey, a)
	c := e.Symbol(0)
	if c.Count != 50 {
		t.Fatalf("symbol 0 counts %d items, want all 50", c.Count)
	}
	var sum Symbol
	var check uint64
	h := newHasher(testKey)
	for _, x := range a {
		xorSymbol(&sum, &x)
		check ^= h.sum(&x)
	}
	if c.Sum != sum || c.Checksum != check {
		t.Fatal("symbol 0 is not the XOR of all items")
	}
}

func TestEncoderCursorAndBatch(t *testing.T) {
	common, _, _ := splitSets(4, 100, 0, 0)
	e := encoderOf(testKey, common)
	first := e.Produce(5)
	if e.Position() != 5 || e.Next() != e.Symbol(5) {
		t.Fatal("Produce/Next do not advance the position")
	}
	e.Reset()
	if e.Next() != first[0] {
		t.Fatal("Reset does not rewind")
	}
	e.Reset()
	b, err := e.NextBatch(2 * MaxSymbolsPerMessage)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Symbols) != MaxSymbolsPerMessage || b.Start != 0 || b.SetSize != 100 || b.KeyCheck != KeyCheck(testKey) {
		t.Fatalf("NextBatch: %d symbols from %d, set size %d", len(b.Symbols), b.Start, b.SetSize)
	}
	if nb, _ := e.NextBatch(3); nb.Start != MaxSymbolsPerMessage {
		t.Fatalf("second batch starts at %d", nb.Start)
	}
	for _, r := range [][2]int{{-1, 1}, {0, -1}, {MaxStreamLength - 1, 2}} {
		if _, err := e.Batch(r[0], r[1]); err == nil {
			t.Errorf("Batch(%d, %d) accepted", r[0], r[1])
		}
	}
	if e.Symbols(7, 0) != nil {
		t.Fatal("Symbols(_, 0) must be empty")
	}
}

func TestReserveGrowsOnce(t *testing.T) {
	common, _, _ := splitSets(5, 1000, 0, 0)
	e := encoderOf(testKey, common)
	e.Reserve(10000)
	if e.Window() != 10000 {
		t.Fatalf("window %d", e.Window())
	}
	e.Reserve(50)
	if e.Window() != 10000 {
		t.Fatal("Reserve shrank the window")
	}
	e.Symbol(10000)
	if e.Window() != 20000 {
		t.Fatalf("reading past the window should double it, got %d", e.Window())
	}
}

func TestSymbolPanicsOnBadIndex(t *testing.T) {
	e := NewEncoder(testKey)
	for _, i := range []int{-1, MaxStreamLength} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Symbol(%d) did not panic", i)
				}
			}()
			e.Symbol(i)
		}()
	}
}
