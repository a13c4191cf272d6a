package witness

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/vigie-project/vigie/crypto/checkpoint"
	"github.com/vigie-project/vigie/node/p2p"
)

// netWitnesses starts a witness on each of hosts[1:], witness i with the
// origin keys keys(i), and returns them with a function giving each peer's cosignature keys.
func netWitnesses(t testing.TB, hosts []*p2p.Host, keys func(i int) OriginKeys) ([]*testWitness, func(peer.ID) []checkpoint.Verifier) {
	t.Helper()
	var ws []*testWitness
	byPeer := map[peer.ID][]checkpoint.Verifier{}
	for i, h := range hosts[1:] {
		w := newTestWitness(t, "witness-"+countries[i+1], keys(i))
		w.Register(h)
		ws = append(ws, w)
		byPeer[h.ID()] = []checkpoint.Verifier{w.verifier}
	}
	// Close the hosts (which waits for their handlers) before the
	// witnesses' folders are removed.
	t.Cleanup(func() {
		for _, h := range hosts {
			h.Close()
		}
	})
	return ws, func(p peer.ID) []checkpoint.Verifier { return byPeer[p] }
}

// TestQuorumOverLoopback: a node's successive checkpoints are cosigned by
// 3 of 4 witnesses over real libp2p hosts, while one witness does not yet
// witness this origin and later another is down for a while.
func TestQuorumOverLoopback(t *testing.T) {
	f := newFederation(t, 5)
	hosts := f.start(t)
	l := newTestLog(t, "vigie.test/AT/audit")
	var knows atomic.Bool // whether the last witness knows the origin
	known, unknown := origins(l), origins()
	ws, keys := netWitnesses(t, hosts, func(i int) OriginKeys {
		if i < 3 {
			return known
		}
		return func(o string) ([]checkpoint.Verifier, error) {
			if knows.Load() {
				return known(o)
			}
			return unknown(o)
		}
	})
	var witnesses []peer.ID
	for _, h := range hosts[1:] {
		witnesses = append(witnesses, h.ID())
	}
	client := NewClient(hosts[0], WithWitnessKeys(keys), WithTimeout(5*time.Second))
	ctx := context.Background()

	var verifiers []checkpoint.Verifier
	for _, w := range ws {
		verifiers = append(verifiers, w.verifier)
	}
	for round := range 6 {
		switch round {
		case 2:
			knows.Store(true)                // the last witness learns the origin
			hosts[2].RemoveHandler(Protocol) // and witness 1 goes away for two rounds
		case 4:
			ws[1].Register(hosts[2])
		}
		l.grow(1 + round*7)
		note := l.note(t)
		sigs, rep, err := client.CollectReport(ctx, witnesses, note, l.proof, 3)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if len(sigs) < 3 {
			t.Fatalf("round %d: %d cosignatures", round, len(sigs))
		}
		for _, s := range sigs {
			if !s.Verified {
				t.Fatalf("round %d: unverified cosignature %+v", round, s)
			}
		}
		if round < 2 && !slices.ContainsFunc(rep.Failed, func(f Failure) bool {
			var r *Refusal
			return f.Witness == hosts[4].ID() && errors.As(f.Err, &r) && r.Status == StatusUnknownOrigin
		}) && !slices.Contains(rep.Cancelled, hosts[4].ID()) {
			t.Fatalf("round %d: the refusing witness is not named: %+v", round, rep)
		}
		if (round == 2 || round == 3) && !slices.ContainsFunc(rep.Failed, func(f Failure) bool { return f.Witness == hosts[2].ID() }) &&
			!slices.Contains(rep.Cancelled, hosts[2].ID()) {
			t.Fatalf("round %d: the missing witness is not named: %+v", round, rep)
		}
		// The cosigned note verifies with the node's keys and 3 witnesses'.
		var all []checkpoint.Signature
		for _, s := range sigs {
			all = append(all, s.Signatures...)
		}
		cosigned, err := checkpoint.AddSignatures(note, all...)
		if err != nil {
			t.Fatal(err)
		}
		_, n, err := checkpoint.OpenCheckpoint(cosigned, append(slices.Clone(l.verifiers), verifiers...)...)
		if err != nil || len(n.Verified) < 2+3 {
			t.Fatalf("round %d: cosigned note: %v", round, err)
		}
	}
	// Everyone cosigns the next one, each from the size it last cosigned
	// (witness 1 missed two checkpoints, witness 3 the first two).
	l.grow(5)
	if _, err := client.Collect(ctx, witnesses, l.note(t), l.proof, 4); err != nil {
		t.Fatal(err)
	}
	for i, w := range ws {
		if s, ok := w.Latest(l.name); !ok || s.Size != l.tree.Size() || s.Root != l.root() {
			t.Fatalf("witness %d holds %v %d, want %d", i, ok, s.Size, l.tree.Size())
		}
	}

	// A fresh client (no memory of sizes) learns them from 409 answers.
	l.grow(3)
	sigs, err := Collect(ctx, hosts[0], witnesses, l.note(t), l.proof, 4, WithWitnessKeys(keys))
	if err != nil || len(sigs) != 4 {
		t.Fatalf("fresh client: %d, %v", len(sigs), err)
	}

	// All four required while one refuses: the error names it and why.
	knows.Store(false)
	l.grow(1)
	_, err = client.Collect(ctx, witnesses, l.note(t), l.proof, 4)
	var qe *QuorumError
	if !errors.As(err, &qe) || !errors.Is(err, ErrNoQuorum) || len(qe.Failed) != 1 ||
		qe.Failed[0].Witness != hosts[4].ID() || !strings.Contains(err.Error(), "404") {
		t.Fatalf("quorum of 4: %v", err)
	}
}

// TestEquivocationOverLoopback: a node that forks its log after a
// cosignature is refused by every witness, and each keeps a proof.
func TestEquivocationOverLoopback(t *testing.T) {
	f := newFederation(t, 4)
	hosts := f.start(t)
	l := newTestLog(t, "vigie.test/AT/audit")
	ws, keys := netWitnesses(t, hosts, func(int) OriginKeys { return origins(l) })
	var witnesses []peer.ID
	for _, h := range hosts[1:] {
		witnesses = append(witnesses, h.ID())
	}
	ctx := context.Background()
	client := NewClient(hosts[0], WithWitnessKeys(keys))
	l.grow(10)
	if _, err := client.Collect(ctx, witnesses, l.note(t), l.proof, 3); err != nil {
		t.Fatal(err)
	}
	fork := l.fork(5)
	fork.grow(5)
	_, err := client.Collect(ctx, witnesses, fork.note(t), fork.proof, 1)
	var qe *QuorumError
	if !errors.As(err, &qe) || len(qe.Failed) != 3 {
		t.Fatalf("fork: %v", err)
	}
	for i, w := range ws {
		eqs := w.Equivocations()
		if len(eqs) != 1 {
			t.Fatalf("witness %d holds %d proofs", i, len(eqs))
		}
		if err := VerifyEquivocation(eqs[0], l.verifiers...); err != nil {
			t.Fatalf("witness %d: %v", i, err)
		}
	}
}

// BenchmarkCosign31 measures the time from a signed checkpoint to a
// quorum of 16 cosignatures among the other 30 members of a 31-member
// federation on loopback QUIC (Ed25519 cosignatures; each witness fsyncs
// its state before answering). Reported: p50 and p99 in milliseconds.
func BenchmarkCosign31(b *testing.B) {
	const members, quorum = 31, 16
	f := newFederation(b, members)
	hosts := f.start(b)
	l := newTestLog(b, "vigie.test/AT/audit")
	_, keys := netWitnesses(b, hosts, func(int) OriginKeys { return origins(l) })
	var witnesses []peer.ID
	for _, h := range hosts[1:] {
		witnesses = append(witnesses, h.ID())
	}
	client := NewClient(hosts[0], WithWitnessKeys(keys))
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for !allUp(hosts[0], witnesses) {
		if time.Now().After(deadline) {
			b.Fatal("witnesses not connected after 30 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Warm up: every witness's state.
	l.grow(10)
	if _, err := client.Collect(ctx, witnesses, l.note(b), l.proof, len(witnesses)); err != nil {
		b.Fatal(err)
	}
	var times []time.Duration
	b.ResetTimer()
	for b.Loop() {
		l.grow(100)
		b.StopTimer()
		note := l.note(b) // signing (Ed25519 + ML-DSA-44) is the log's cost, not the witnesses'
		b.StartTimer()
		start := time.Now()
		if _, err := client.Collect(ctx, witnesses, note, l.proof, quorum); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	pct := func(p float64) float64 {
		return float64(times[min(len(times)-1, int(p*float64(len(times))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

func allUp(h *p2p.Host, peers []peer.ID) bool {
	for _, p := range peers {
		if !h.IsUp(p) {
			return false
		}
	}
	return true
}
