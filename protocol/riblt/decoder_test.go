package riblt

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// TestReconcile recovers differences of 0 to 10,000 items between sets of
// 10k–100k, split between both sides and one-sided either way, with the
// local set given item by item and as a maintained encoder.
func TestReconcile(t *testing.T) {
	cases := []struct{ n, d int }{
		{10000, 0}, {10000, 1}, {10000, 10}, {50000, 1000}, {100000, 10000},
	}
	for _, c := range cases {
		for _, split := range []string{"both", "remote-only", "local-only"} {
			onlyA, onlyB := c.d-c.d/2, c.d/2
			switch split {
			case "remote-only":
				onlyA, onlyB = c.d, 0
			case "local-only":
				onlyA, onlyB = 0, c.d
			}
			t.Run(fmt.Sprintf("n=%d/d=%d/%s", c.n, c.d, split), func(t *testing.T) {
				if testing.Short() && c.d > 1000 {
					t.Skip("-short: differences above 1000 take seconds; the full run covers them")
				}
				common, a, b := splitSets(uint64(c.n+c.d), c.n, onlyA, onlyB)
				sender := encoderOf(testKey, common, a)
				local := encoderOf(testKey, common, b)
				// Two receivers: one reads its maintained encoder, one is
				// given its set item by item.
				withLocal := NewDecoderWithLocal(local)
				st, err := runSession(sender, withLocal)
				if err != nil {
					t.Fatal(err)
				}
				if !withLocal.Decoded() {
					t.Fatal("session ended undecoded")
				}
				sameSet(t, "remote", withLocal.Remote(), a)
				sameSet(t, "local", withLocal.Local(), b)

				byItem := NewDecoder(testKey)
				for _, x := range common {
					byItem.AddLocal(x)
				}
				for _, x := range b {
					byItem.AddLocal(x)
				}
				k := stream(t, byItem, sender, 3*c.d+200)
				sameSet(t, "remote", byItem.Remote(), a)
				sameSet(t, "local", byItem.Local(), b)
				t.Logf("%d symbols (%.3f/diff) one at a time; session: %d symbols, %d bytes, %d round trips",
					k, float64(k)/float64(max(c.d, 1)), st.symbols, st.bytes, st.rounds)
			})
		}
	}
}

// TestOverhead measures symbols needed per difference, the paper's headline
// figure: about 1.35 for large d, up to about 1.75 for small d.
func TestOverhead(t *testing.T) {
	cases := []struct {
		d, runs int
		limit   float64
	}{
		{10, 200, 2.0}, {100, 40, 1.6}, {1000, 10, 1.45}, {10000, 2, 1.4},
	}
	for _, c := range cases {
		if testing.Short() && c.d > 1000 {
			continue
		}
		total := 0
		for r := range c.runs {
			_, a, b := splitSets(uint64(1e6+r*31+c.d), 0, c.d-c.d/2, c.d/2)
			dec := NewDecoderWithLocal(encoderOf(testKey, b))
			total += stream(t, dec, encoderOf(testKey, a), 50*c.d)
		}
		ratio := float64(total) / float64(c.runs*c.d)
		t.Logf("d=%d: %.3f symbols per difference (mean of %d runs), %.1f wire bytes", c.d, ratio, c.runs, ratio*CodedSymbolSize)
		if ratio > c.limit {
			t.Errorf("d=%d: %.3f symbols per difference, want ≤ %.2f", c.d, ratio, c.limit)
		}
	}
}

// TestWrongKey: a receiver under another key never reports success; it
// runs into its budget, or is stopped at once by the batch key check.
func TestWrongKey(t *testing.T) {
	common, a, b := splitSets(50, 2000, 5, 5)
	sender := encoderOf(testKey, common, a)
	other := testKey
	other[7] ^= 0x80
	local := encoderOf(other, common, b)

	dec := NewDecoderWithLocal(local)
	dec.SetBudget(3000)
	var err error
	for i := 0; err == nil; i++ {
		if err = dec.AddCoded(sender.Symbol(i)); err == nil {
			err = dec.TryDecode()
		}
		if dec.Decoded() {
			t.Fatal("decoded under the wrong key")
		}
	}
	if !errors.Is(err, ErrBudgetExceeded) {
		t.Fatalf("got %v, want ErrBudgetExceeded", err)
	}
	if !errors.Is(dec.AddCoded(CodedSymbol{}), ErrBudgetExceeded) || dec.NextChunk() != 0 {
		t.Fatal("the error must be sticky")
	}

	viaWire := NewDecoderWithLocal(local)
	if _, err := runSession(sender, viaWire); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("session: got %v, want ErrKeyMismatch", err)
	}
}

// TestStuck: once the sender's set size is known, a decoder gives up after
// more symbols than any difference of the two sets could need.
func TestStuck(t *testing.T) {
	_, a, b := splitSets(60, 0, 20, 20)
	sender := encoderOf(testKey, a)
	other := testKey
	other[1]++
	dec := NewDecoderWithLocal(encoderOf(other, b))
	dec.SetRemoteSize(sender.Len())
	var err error
	n := 0
	for ; err == nil && n < 10000; n++ {
		if err = dec.AddCoded(sender.Symbol(n)); err == nil {
			err = dec.TryDecode()
		}
	}
	if !errors.Is(err, ErrStuck) {
		t.Fatalf("got %v after %d symbols, want ErrStuck", err, n)
	}
	if n > stuckFactor*40+stuckSlack+1 {
		t.Fatalf("stuck detected only after %d symbols", n)
	}
}

// TestLocalChanged: the local encoder must not change mid-session.
func TestLocalChanged(t *testing.T) {
	common, a, b := splitSets(70, 100, 50, 50)
	sender := encoderOf(testKey, common, a)
	local := encoderOf(testKey, common, b)
	dec := NewDecoderWithLocal(local)
	if err := dec.AddCoded(sender.Symbol(0)); err != nil {
		t.Fatal(err)
	}
	local.Add(Symbol{1})
	if err := dec.AddCoded(sender.Symbol(1)); !errors.Is(err, ErrLocalChanged) {
		t.Fatalf("got %v, want ErrLocalChanged", err)
	}
}

// TestAddLocalLate gives some local items after symbols have arrived.
func TestAddLocalLate(t *testing.T) {
	common, a, b := splitSets(80, 3000, 30, 30)
	sender := encoderOf(testKey, common, a)
	dec := NewDecoder(testKey)
	for _, x := range common[:2000] {
		dec.AddLocal(x)
	}
	for i := range 20 {
		if err := dec.AddCoded(sender.Symbol(i)); err != nil {
			t.Fatal(err)
		}
	}
	for _, x := range append(common[2000:], b...) {
		dec.AddLocal(x)
	}
	dec.AddLocal(b[0]) // a duplicate changes nothing
	for i := 20; !dec.Decoded(); i++ {
		if err := dec.AddCoded(sender.Symbol(i)); err != nil {
			t.Fatal(err)
		}
		if err := dec.TryDecode(); err != nil {
			t.Fatal(err)
		}
	}
	sameSet(t, "remote", dec.Remote(), a)
	sameSet(t, "local", dec.Local(), b)
}

// TestForgedPureSymbol: a symbol that looks pure but sits where its item
// never maps must be rejected, not peeled forever.
func TestForgedPureSymbol(t *testing.T) {
	h := newHasher(testKey)
	// Find an item that does not map to symbol 1 or 2.
	var x Symbol
	for i := 0; ; i++ {
		x[0], x[1] = byte(i), byte(i>>8)
		idx := firstIndices(h.sum(&x), 3)
		if len(idx) == 1 {
			break
		}
	}
	forged := CodedSymbol{Sum: x, Checksum: h.sum(&x), Count: 1}
	dec := NewDecoder(testKey)
	for _, c := range []CodedSymbol{{Count: 5}, {Count: 7}, forged} {
		if err := dec.AddCoded(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := dec.TryDecode(); !errors.Is(err, ErrInconsistent) {
		t.Fatalf("got %v, want ErrInconsistent", err)
	}
	if dec.Decoded() || dec.Err() == nil {
		t.Fatal("a failed decoder must not report success")
	}
}

// TestRecoveredTwice: an item that is pure again in a second symbol after
// it was recovered is rejected (an honest stream never does that).
func TestRecoveredTwice(t *testing.T) {
	h := newHasher(testKey)
	x := Symbol{9}
	hx := h.sum(&x)
	pure := CodedSymbol{Sum: x, Checksum: hx, Count: 1}
	// Symbol 0 holds x, as it must; so does a later symbol x never maps to.
	seq := firstIndices(hx, 64)
	stray := 1
	for slices.Contains(seq, uint64(stray)) {
		stray++
	}
	dec := NewDecoder(testKey)
	for j := 0; j <= stray; j++ {
		c := CodedSymbol{}
		if j == 0 || j == stray {
			c = pure
		}
		if err := dec.AddCoded(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := dec.TryDecode(); !errors.Is(err, ErrInconsistent) {
		t.Fatalf("got %v, want ErrInconsistent", err)
	}
}

func TestDecodedInSync(t *testing.T) {
	common, _, _ := splitSets(90, 5000, 0, 0)
	enc := encoderOf(testKey, common)
	dec := NewDecoderWithLocal(enc)
	st, err := runSession(enc, dec)
	if err != nil || !dec.Decoded() {
		t.Fatalf("err %v decoded %v", err, dec.Decoded())
	}
	if st.rounds != 1 || st.bytes > 1024 {
		t.Fatalf("in sync: %d round trips, %d bytes", st.rounds, st.bytes)
	}
	if len(dec.Remote())+len(dec.Local()) != 0 || dec.Received() != FirstChunk {
		t.Fatal("in-sync sets reported a difference")
	}
}

func TestBudget(t *testing.T) {
	_, a, _ := splitSets(100, 0, 500, 0)
	sender := encoderOf(testKey, a)
	dec := NewDecoder(testKey)
	dec.SetBudget(100)
	_, err := runSession(sender, dec)
	if !errors.Is(err, ErrBudgetExceeded) {
		t.Fatalf("got %v, want ErrBudgetExceeded", err)
	}
	if dec.Received() > 100 {
		t.Fatalf("received %d symbols past a budget of 100", dec.Received())
	}
}

func TestNextChunk(t *testing.T) {
	dec := NewDecoder(testKey)
	if got := dec.NextChunk(); got != FirstChunk {
		t.Fatalf("first chunk %d", got)
	}
	dec.SetBudget(10)
	if got := dec.NextChunk(); got != 10 {
		t.Fatalf("chunk past the budget: %d", got)
	}
	dec.SetBudget(DefaultMaxSymbols)
	for range 16 {
		if err := dec.AddCoded(CodedSymbol{Count: 2}); err != nil {
			t.Fatal(err)
		}
	}
	if got := dec.NextChunk(); got != 48 {
		t.Fatalf("nothing recovered after 16: chunk %d, want 48", got)
	}
	// A one-sided difference of 1,000 shows in the set sizes.
	dec.SetRemoteSize(1000)
	if got := dec.NextChunk(); got != 1300-16 {
		t.Fatalf("with a size gap of 1000: chunk %d", got)
	}
	empty := NewDecoder(testKey)
	_ = empty.AddCoded(CodedSymbol{})
	if empty.NextChunk() != 0 {
		t.Fatal("a decoded session asks for more")
	}
}

func TestEstimateDifference(t *testing.T) {
	// At k = d, about 13% of the difference is recovered.
	if est := estimateDifference(1000, 132); est < 950 || est > 1050 {
		t.Fatalf("estimate %.0f, want about 1000", est)
	}
	if fractionAt(0.1) != 0 || fractionAt(3) != fractionAt(1.35) || fractionAt(1.35) < 0.4 {
		t.Fatal("fractionAt out of range")
	}
}
