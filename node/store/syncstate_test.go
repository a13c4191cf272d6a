package store

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/ipfs/go-cid"
)

func TestAppendReportsLogIndexes(t *testing.T) {
	s := newStore(t)
	a := assertion("fr", 1, indicator("a.example/"), 0)
	b := assertion("fr", 2, indicator("b.example/"), 0)
	putT(t, s, a)
	got, err := s.Append(context.Background(), []Entry{a, b, b})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []uint64{0, 2, 0}) {
		t.Fatalf("Append indexes = %v; want [0 2 0]", got)
	}
}

func TestPlacementIsStoredAndErasedWithItsRecord(t *testing.T) {
	s := newStore(t)
	a := assertion("fr", 1, indicator("a.example/"), 0)
	a.Placement = []byte("proof of a")
	b := assertion("fr", 2, indicator("b.example/"), 0)
	putT(t, s, a, b)
	if p, err := s.Placement(a.CID); err != nil || !bytes.Equal(p, a.Placement) {
		t.Fatalf("Placement(a) = %q, %v", p, err)
	}
	if p, err := s.Placement(b.CID); err != nil || p != nil {
		t.Fatalf("Placement(b) = %q, %v; want nil, nil", p, err)
	}
	checkT(t, s)
	if err := s.Erase(context.Background(), []cid.Cid{a.CID}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Placement(a.CID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Placement of an erased record: %v; want ErrNotFound", err)
	}
	checkT(t, s) // no dangling placement left behind
	big := assertion("fr", 3, indicator("c.example/"), 0)
	big.Placement = make([]byte, MaxPlacement+1)
	if _, err := s.Put(context.Background(), []Entry{big}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("oversized placement: %v; want ErrInvalid", err)
	}
}

func TestCursorsSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	ctx := context.Background()
	for _, c := range []struct{ peer, v string }{{"p1", "one"}, {"p2", "two"}, {"p1", "uno"}} {
		if err := s.SetCursor(ctx, c.peer, []byte(c.v)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetCursor(ctx, "", nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty peer: %v", err)
	}
	checkT(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir)
	got, err := s.Cursors()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || string(got["p1"]) != "uno" || string(got["p2"]) != "two" {
		t.Fatalf("Cursors = %q", got)
	}
}
