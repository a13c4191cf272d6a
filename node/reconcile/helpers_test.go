package reconcile

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/vigie-project/vigie/protocol/riblt"
)

// randomIDs returns n random ids from a seeded generator.
func randomIDs(rng *rand.ChaCha8, n int) []riblt.Symbol {
	out := make([]riblt.Symbol, n)
	for i := range out {
		_, _ = rng.Read(out[i][:])
	}
	return out
}

// sets builds two sets sharing common ids, with onlyA and onlyB extra ids
// scattered among them (random ids land anywhere in the id space).
func sets(seed uint64, common, onlyA, onlyB int) (a, b, extraA, extraB []riblt.Symbol) {
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	rng := rand.NewChaCha8(s)
	shared := randomIDs(rng, common)
	extraA, extraB = randomIDs(rng, onlyA), randomIDs(rng, onlyB)
	a = append(slices.Clone(shared), extraA...)
	b = append(slices.Clone(shared), extraB...)
	r := rand.New(rng)
	r.Shuffle(len(a), func(i, j int) { a[i], a[j] = a[j], a[i] })
	r.Shuffle(len(b), func(i, j int) { b[i], b[j] = b[j], b[i] })
	return a, b, extraA, extraB
}

func sorted(ids []riblt.Symbol) []riblt.Symbol {
	out := slices.Clone(ids)
	slices.SortFunc(out, func(x, y riblt.Symbol) int { return bytes.Compare(x[:], y[:]) })
	return out
}

func sameIDs(t testing.TB, what string, got, want []riblt.Symbol) {
	t.Helper()
	if !slices.Equal(sorted(got), sorted(want)) {
		t.Fatalf("%s: got %d ids, want %d (or different ids)", what, len(got), len(want))
	}
}

// session runs Initiate(a) against Respond(b) over net.Pipe.
func session(t testing.TB, a, b Set, iOpts, rOpts []Option) (Result, error, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ci, cr := net.Pipe()
	defer ci.Close()
	done := make(chan error, 1)
	go func() {
		defer cr.Close()
		done <- Respond(ctx, cr, b, rOpts...)
	}()
	res, err := Initiate(ctx, ci, a, iOpts...)
	if err != nil {
		ci.Close() // the responder may be waiting for us
	}
	return res, err, <-done
}
