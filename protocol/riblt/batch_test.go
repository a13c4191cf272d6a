package riblt

import (
	"bytes"
	"errors"
	"testing"
)

func TestCodedSymbolWire(t *testing.T) {
	c := CodedSymbol{Sum: Symbol{1, 2, 3, 31: 0xff}, Checksum: 0x0102030405060708, Count: -1}
	b, err := c.MarshalBinary()
	if err != nil || len(b) != CodedSymbolSize {
		t.Fatalf("%d bytes, err %v", len(b), err)
	}
	if b[32] != 0x08 || b[40] != 0xff {
		t.Fatalf("unexpected layout %x", b)
	}
	var back CodedSymbol
	if err := back.UnmarshalBinary(b); err != nil || back != c {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
	for _, n := range []int{0, 40, 42} {
		if err := back.UnmarshalBinary(make([]byte, n)); !errors.Is(err, ErrCodedSymbolSize) {
			t.Errorf("%d bytes: got %v", n, err)
		}
	}
}

func TestBatchWire(t *testing.T) {
	common, _, _ := splitSets(200, 1000, 0, 0)
	e := encoderOf(testKey, common)
	b := mustBatch(t, e, 300, 7)
	wire, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if len(wire) != b.EncodedLen() {
		t.Fatalf("EncodedLen %d, actual %d", b.EncodedLen(), len(wire))
	}
	var back Batch
	if err := back.UnmarshalBinary(wire); err != nil {
		t.Fatal(err)
	}
	again, _ := back.MarshalBinary()
	if !bytes.Equal(again, wire) || back.Start != 300 || back.SetSize != 1000 || len(back.Symbols) != 7 {
		t.Fatal("batch does not round-trip")
	}

	full := mustBatch(t, e, 0, MaxSymbolsPerMessage)
	full.SetSize, full.Start = 1<<63, MaxStreamLength-MaxSymbolsPerMessage
	if w, err := full.MarshalBinary(); err != nil || len(w) > MaxMessageSize {
		t.Fatalf("largest batch: %d bytes (max %d), %v", len(w), MaxMessageSize, err)
	}
}

func TestBatchRejects(t *testing.T) {
	e := encoderOf(testKey, nil)
	good, _ := (&Batch{KeyCheck: 1, Start: 2, SetSize: 3, Symbols: e.Symbols(0, 2)}).MarshalBinary()
	mutate := func(f func([]byte) []byte) []byte { return f(bytes.Clone(good)) }
	cases := map[string][]byte{
		"empty":       nil,
		"version":     mutate(func(b []byte) []byte { b[0] = 2; return b }),
		"short":       good[:5],
		"truncated":   good[:len(good)-1],
		"trailing":    append(bytes.Clone(good), 0),
		"count high":  mutate(func(b []byte) []byte { b[11] = 3; return b }),
		"non-minimal": append(append(bytes.Clone(good[:9]), 0x82, 0x00), good[10:]...),
		"overflow":    append(bytes.Clone(good[:9]), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
	}
	huge := Batch{Symbols: make([]CodedSymbol, MaxSymbolsPerMessage+1)}
	if _, err := huge.MarshalBinary(); !errors.Is(err, ErrBatch) {
		t.Errorf("marshal of an oversized batch: %v", err)
	}
	tooMany := append([]byte{batchVersion}, make([]byte, 8)...)
	tooMany = append(tooMany, 0, 0, 0x81, 0x08) // 1025 symbols
	cases["too many"] = tooMany
	pastCap := append([]byte{batchVersion}, make([]byte, 8)...)
	pastCap = append(pastCap, 0x81, 0x80, 0x80, 0x08, 0, 0) // start 2^24+1
	cases["past cap"] = pastCap
	for name, in := range cases {
		var b Batch
		if err := b.UnmarshalBinary(in); !errors.Is(err, ErrBatch) {
			t.Errorf("%s: got %v, want ErrBatch", name, err)
		}
	}
}

func TestAddBatchOrder(t *testing.T) {
	common, a, b := splitSets(210, 1000, 20, 20)
	sender := encoderOf(testKey, common, a)
	dec := NewDecoderWithLocal(encoderOf(testKey, common, b))
	first := mustBatch(t, sender, 0, 10)
	if err := dec.AddBatch(&first); err != nil {
		t.Fatal(err)
	}
	// A resend overlapping what arrived is skipped, not added twice.
	overlap := mustBatch(t, sender, 5, 10)
	if err := dec.AddBatch(&overlap); err != nil || dec.Received() != 15 {
		t.Fatalf("overlap: err %v, received %d", err, dec.Received())
	}
	old := mustBatch(t, sender, 0, 3)
	if err := dec.AddBatch(&old); err != nil || dec.Received() != 15 {
		t.Fatalf("stale: err %v, received %d", err, dec.Received())
	}
	changed := mustBatch(t, sender, 15, 5)
	changed.SetSize++
	if err := NewDecoderWithLocal(encoderOf(testKey, common)).AddBatch(&changed); !errors.Is(err, ErrOutOfOrder) {
		t.Fatalf("gap: got %v, want ErrOutOfOrder", err)
	}
	if err := dec.AddBatch(&changed); !errors.Is(err, ErrInconsistent) {
		t.Fatalf("changed set size: got %v, want ErrInconsistent", err)
	}
}
