package reconcile

import (
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
)

func TestSessionExact(t *testing.T) {
	n := 10_000
	for _, d := range []int{0, 1, 50, 500} {
		a, b, onlyA, onlyB := sets(uint64(d)+1, n-d, d, d)
		res, err, rerr := session(t, Slice(a), Slice(b), nil, nil)
		if err != nil || rerr != nil {
			t.Fatalf("d=%d: initiator %v, responder %v", d, err, rerr)
		}
		sameIDs(t, "theirs", res.Theirs, onlyB)
		sameIDs(t, "ours", res.Ours, onlyA)
		if res.Fallback {
			t.Errorf("d=%d: used the fallback", d)
		}
		total := res.BytesSent + res.BytesReceived
		t.Logf("d=%d each side: %d rounds, %d B up, %d B down, %.1f B/diff", d, res.Rounds, res.BytesSent, res.BytesReceived,
			float64(total)/float64(max(2*d, 1)))
		if d == 0 && (total > 1024 || res.Rounds != 1) {
			t.Errorf("in sync: %d bytes in %d rounds, want ≤ 1 KB in 1", total, res.Rounds)
		}
	}
}

func TestSessionOneSidedAndEmpty(t *testing.T) {
	cases := []struct{ common, onlyA, onlyB int }{
		{0, 0, 0}, {0, 0, 300}, {0, 300, 0}, {5000, 0, 1000}, {5000, 700, 3},
	}
	for _, c := range cases {
		a, b, onlyA, onlyB := sets(uint64(c.common+c.onlyA*7+c.onlyB*13), c.common, c.onlyA, c.onlyB)
		res, err, rerr := session(t, Slice(a), Slice(b), nil, nil)
		if err != nil || rerr != nil {
			t.Fatalf("%+v: initiator %v, responder %v", c, err, rerr)
		}
		sameIDs(t, "theirs", res.Theirs, onlyB)
		sameIDs(t, "ours", res.Ours, onlyA)
		t.Logf("%+v: %d rounds, %d B, fallback %v", c, res.Rounds, res.BytesSent+res.BytesReceived, res.Fallback)
	}
}

func TestFallbackExact(t *testing.T) {
	cases := []struct {
		name         string
		onlyA, onlyB int
		iOpts, rOpts []Option
	}{
		{"initiator budget", 50, 50, []Option{WithMaxDifference(4)}, nil},
		{"responder budget", 50, 50, nil, []Option{WithMaxDifference(4)}},
		{"size gap", 0, 500, []Option{WithMaxDifference(100)}, nil},
		{"large scattered", 500, 500, []Option{WithMaxDifference(1)}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b, onlyA, onlyB := sets(uint64(c.onlyA+c.onlyB)+99, 10_000, c.onlyA, c.onlyB)
			res, err, rerr := session(t, Slice(a), Slice(b), c.iOpts, c.rOpts)
			if err != nil || rerr != nil {
				t.Fatalf("initiator %v, responder %v", err, rerr)
			}
			if !res.Fallback {
				t.Error("the fallback was not used")
			}
			sameIDs(t, "theirs", res.Theirs, onlyB)
			sameIDs(t, "ours", res.Ours, onlyA)
			t.Logf("%d rounds, %d B up, %d B down", res.Rounds, res.BytesSent, res.BytesReceived)
		})
	}
}

func TestFallbackBudget(t *testing.T) {
	a, b, _, _ := sets(7, 1000, 0, 5000)
	_, err, rerr := session(t, Slice(a), Slice(b), []Option{WithMaxDifference(1), WithMaxFallbackBytes(20_000)}, nil)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("initiator: %v, want ErrTooLarge", err)
	}
	if rerr == nil {
		t.Error("responder: no error although the initiator gave up")
	}
	_, err, rerr = session(t, Slice(a), Slice(b), []Option{WithMaxDifference(1)}, []Option{WithMaxFallbackBytes(20_000)})
	if !errors.Is(err, ErrAborted) || !errors.Is(rerr, ErrTooLarge) {
		t.Fatalf("initiator %v (want ErrAborted), responder %v (want ErrTooLarge)", err, rerr)
	}
}

// Duplicate ids break the Set contract; the session must then give the
// exact difference of the underlying sets or ErrUnconfirmed, never a
// wrong result.
func TestDuplicateIDs(t *testing.T) {
	for _, side := range []string{"initiator", "responder"} {
		a, b, onlyA, onlyB := sets(11, 2000, 5, 5)
		if side == "initiator" {
			a = append(a, a[:3]...)
		} else {
			b = append(b, b[:3]...)
		}
		res, err, _ := session(t, Slice(a), Slice(b), nil, nil)
		if err != nil {
			if !errors.Is(err, ErrUnconfirmed) {
				t.Fatalf("%s duplicates: %v, want ErrUnconfirmed", side, err)
			}
			continue
		}
		sameIDs(t, "theirs", res.Theirs, onlyB)
		sameIDs(t, "ours", res.Ours, onlyA)
		t.Logf("%s duplicates: exact, fallback %v", side, res.Fallback)
	}
}

func TestSymbolOf(t *testing.T) {
	mh, err := multihash.Sum([]byte("record"), multihash.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	c := cid.NewCidV1(cid.Raw, mh)
	if SymbolOf(c) != sha256.Sum256(c.Bytes()) {
		t.Fatal("SymbolOf is not SHA-256 of the CID bytes")
	}
	if SymbolOf(c) == SymbolOf(cid.NewCidV1(cid.DagCBOR, mh)) {
		t.Fatal("codec ignored")
	}
}
