package p2p

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/vigie-project/vigie/protocol/issuance"
)

// Closing hosts releases their goroutines: a federation that connects,
// greets, issues tokens and closes leaves the goroutine count where it
// was. A warm-up round first starts libp2p's process-wide helpers, which
// stay for good.
func TestHostsCloseCleanly(t *testing.T) {
	round := func() {
		f, issuers, client := tokenFederation(t, 2, 3, IssuerConfig{})
		tok := newTestTokenizer(t, f, client)
		if _, err := tok.Tokenize(context.Background(), issuance.UseLookup, sampleExprs(3)); err != nil {
			t.Fatal(err)
		}
		for _, h := range append(issuers, client) {
			if err := h.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	round()
	before := settledGoroutines(0)
	round()
	round()
	// A little slack for runtime helpers (timers, finalizers) that come
	// and go; a leak of a host costs dozens.
	after := settledGoroutines(before + 3)
	t.Logf("goroutines: %d before, %d after", before, after)
	if after > before+3 {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines: %d before, %d after two rounds of 4 hosts\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}

// settledGoroutines waits up to two seconds for the count to fall to want
// (or to stop falling) and returns it.
func settledGoroutines(want int) int {
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m <= want || (want == 0 && m == n) {
			return m
		}
		n = m
	}
	return n
}
