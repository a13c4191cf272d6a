package riblt

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// testKey is a fixed session key for tests.
var testKey = Key{0: 0x76, 1: 0x69, 15: 0x01}

// randomSymbols returns n distinct pseudo-random items from rng.
func randomSymbols(rng *rand.ChaCha8, n int) []Symbol {
	out := make([]Symbol, n)
	for i := range out {
		_, _ = rng.Read(out[i][:])
	}
	return out
}

// splitSets returns a common part of n items plus onlyA and onlyB items
// held by one side each.
func splitSets(seed uint64, n, onlyA, onlyB int) (common, a, b []Symbol) {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	rng := rand.NewChaCha8(s)
	all := randomSymbols(rng, n+onlyA+onlyB)
	return all[:n:n], all[n : n+onlyA : n+onlyA], all[n+onlyA:]
}

func encoderOf(key Key, sets ...[]Symbol) *Encoder {
	e := NewEncoder(key)
	for _, set := range sets {
		for _, x := range set {
			e.Add(x)
		}
	}
	return e
}

// stream runs a decoder on enc's stream, one symbol at a time, and returns
// the number of symbols it needed.
func stream(t testing.TB, d *Decoder, enc *Encoder, limit int) int {
	t.Helper()
	for i := 0; i < limit; i++ {
		if err := d.AddCoded(enc.Symbol(i)); err != nil {
			t.Fatalf("AddCoded(%d): %v", i, err)
		}
		if err := d.TryDecode(); err != nil {
			t.Fatalf("TryDecode after %d: %v", i+1, err)
		}
		if d.Decoded() {
			return i + 1
		}
	}
	t.Fatalf("not decoded after %d symbols", limit)
	return 0
}

func sortedSymbols(s []Symbol) []Symbol {
	s = slices.Clone(s)
	slices.SortFunc(s, func(a, b Symbol) int { return slices.Compare(a[:], b[:]) })
	return s
}

func sameSet(t testing.TB, what string, got, want []Symbol) {
	t.Helper()
	if !slices.Equal(sortedSymbols(got), sortedSymbols(want)) {
		t.Fatalf("%s: got %d items, want %d (or different items)", what, len(got), len(want))
	}
}

// sessionStats describes one streamed reconciliation.
type sessionStats struct {
	symbols  int // coded symbols sent
	bytes    int // wire bytes of all batches
	rounds   int // receiver requests (round trips)
	messages int // batches sent
}

// runSession reconciles over the wire: the receiver asks for NextChunk
// symbols, the sender answers with bounded batches from its encoder, the
// receiver decodes them and peels. It returns the first error.
func runSession(sender *Encoder, recv *Decoder) (sessionStats, error) {
	var st sessionStats
	var buf []byte
	for want := recv.NextChunk(); want > 0; want = recv.NextChunk() {
		st.rounds++
		for want > 0 {
			out, err := sender.Batch(st.symbols, want)
			if err != nil {
				return st, err
			}
			if buf, err = out.AppendBinary(buf[:0]); err != nil {
				return st, err
			}
			st.messages++
			st.bytes += len(buf)
			st.symbols += len(out.Symbols)
			want -= len(out.Symbols)
			var in Batch
			if err := in.UnmarshalBinary(buf); err != nil {
				return st, err
			}
			if err := recv.AddBatch(&in); err != nil {
				return st, err
			}
		}
		if err := recv.TryDecode(); err != nil {
			return st, err
		}
	}
	return st, nil
}

// mustBatch is Encoder.Batch for ranges known to be valid.
func mustBatch(t testing.TB, e *Encoder, start, n int) Batch {
	t.Helper()
	b, err := e.Batch(start, n)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
