package riblt

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// sipVectors are the SipHash-2-4 reference outputs (vectors_sip64 of the
// reference implementation): key 00 01 … 0f, message 00 01 … n−1 for
// n = 0..63.
var sipVectors = [64]uint64{
	0x726fdb47dd0e0e31, 0x74f839c593dc67fd, 0x0d6c8009d9a94f5a, 0x85676696d7fb7e2d,
	0xcf2794e0277187b7, 0x18765564cd99a68d, 0xcbc9466e58fee3ce, 0xab0200f58b01d137,
	0x93f5f5799a932462, 0x9e0082df0ba9e4b0, 0x7a5dbbc594ddb9f3, 0xf4b32f46226bada7,
	0x751e8fbc860ee5fb, 0x14ea5627c0843d90, 0xf723ca908e7af2ee, 0xa129ca6149be45e5,
	0x3f2acc7f57c29bdb, 0x699ae9f52cbe4794, 0x4bc1b3f0968dd39c, 0xbb6dc91da77961bd,
	0xbed65cf21aa2ee98, 0xd0f2cbb02e3b67c7, 0x93536795e3a33e88, 0xa80c038ccd5ccec8,
	0xb8ad50c6f649af94, 0xbce192de8a85b8ea, 0x17d835b85bbb15f3, 0x2f2e6163076bcfad,
	0xde4daaaca71dc9a5, 0xa6a2506687956571, 0xad87a3535c49ef28, 0x32d892fad841c342,
	0x7127512f72f27cce, 0xa7f32346f95978e3, 0x12e0b01abb051238, 0x15e034d40fa197ae,
	0x314dffbe0815a3b4, 0x027990f029623981, 0xcadcd4e59ef40c4d, 0x9abfd8766a33735c,
	0x0e3ea96b5304a7d0, 0xad0c42d6fc585992, 0x187306c89bc215a9, 0xd4a60abcf3792b95,
	0xf935451de4f21df2, 0xa9538f0419755787, 0xdb9acddff56ca510, 0xd06c98cd5c0975eb,
	0xe612a3cb9ecba951, 0xc766e62cfcadaf96, 0xee64435a9752fe72, 0xa192d576b245165a,
	0x0a8787bf8ecb74b2, 0x81b3e73d20b49b6f, 0x7fa8220ba3b2ecea, 0x245731c13ca42499,
	0xb78dbfaf3a8d83bd, 0xea1ad565322a1a0b, 0x60e61c23a3795013, 0x6606d7e446282b93,
	0x6ca4ecb15c5f91e1, 0x9f626da15c9625f3, 0xe51b38608ef25f57, 0x958a324ceb064572,
}

// sipReference is a plain SipHash-2-4 over any input length, written from
// the specification, to check the 32-byte fast path against.
func sipReference(k Key, msg []byte) uint64 {
	k0 := binary.LittleEndian.Uint64(k[0:8])
	k1 := binary.LittleEndian.Uint64(k[8:16])
	v0, v1 := k0^0x736f6d6570736575, k1^0x646f72616e646f6d
	v2, v3 := k0^0x6c7967656e657261, k1^0x7465646279746573
	compress := func(m uint64) {
		v3 ^= m
		for range 2 {
			v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
		}
		v0 ^= m
	}
	n := len(msg)
	for len(msg) >= 8 {
		compress(binary.LittleEndian.Uint64(msg))
		msg = msg[8:]
	}
	last := uint64(n) << 56
	for i, b := range msg {
		last |= uint64(b) << (8 * i)
	}
	compress(last)
	v2 ^= 0xff
	for range 4 {
		v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	}
	return v0 ^ v1 ^ v2 ^ v3
}

func TestSipHashVectors(t *testing.T) {
	var key Key
	var msg [64]byte
	for i := range key {
		key[i] = byte(i)
	}
	for i := range msg {
		msg[i] = byte(i)
	}
	for n, want := range sipVectors {
		if got := sipReference(key, msg[:n]); got != want {
			t.Errorf("reference, length %d: got %#x, want %#x", n, got, want)
		}
	}
	var s Symbol
	copy(s[:], msg[:32])
	if got := newHasher(key).sum(&s); got != sipVectors[32] {
		t.Errorf("32-byte fast path: got %#x, want %#x", got, sipVectors[32])
	}
}

func TestSipHashFastPathMatchesReference(t *testing.T) {
	rng := rand.NewChaCha8([32]byte{1})
	for range 1000 {
		var k Key
		var s Symbol
		_, _ = rng.Read(k[:])
		_, _ = rng.Read(s[:])
		if got, want := newHasher(k).sum(&s), sipReference(k, s[:]); got != want {
			t.Fatalf("key %x item %x: got %#x, want %#x", k, s, got, want)
		}
	}
}

func TestKeyCheckDiffersByKey(t *testing.T) {
	other := testKey
	other[3] ^= 1
	if KeyCheck(testKey) == KeyCheck(other) {
		t.Fatal("two keys share a key check value")
	}
}

// firstIndices returns the indices below limit an item of hash h maps to.
func firstIndices(h uint64, limit uint64) []uint64 {
	var out []uint64
	for c := newCursor(h); c.next < limit; c.advance() {
		out = append(out, c.next)
	}
	return out
}

// TestCursorGolden pins the index sequence, which every node must compute
// identically: a change here breaks reconciliation between versions or
// architectures.
func TestCursorGolden(t *testing.T) {
	cases := []struct {
		hash uint64
		want []uint64
	}{
		{0, []uint64{0, 1, 3, 27, 28, 89, 157, 379, 432, 874, 896, 1424, 1633, 2257, 3030, 3601, 5002, 7155, 8182, 18087, 19687, 21286, 26198, 27173, 47358}},
		{0x0123456789abcdef, []uint64{0, 4, 5, 14, 18, 278, 981, 1155, 1579, 1600, 4129, 4607, 7146, 9571, 12423, 26550, 28910}},
		{math.MaxUint64, []uint64{0, 1, 2, 6, 10, 13, 15, 16, 34, 39, 366, 3057, 3405, 40778, 43833}},
	}
	for _, c := range cases {
		got := firstIndices(c.hash, 50000)
		if len(got) != len(c.want) {
			t.Errorf("hash %#x: got %v, want %v", c.hash, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("hash %#x: got %v, want %v", c.hash, got, c.want)
				break
			}
		}
	}
}

// TestCursorDensity checks the mapping against the paper's ρ(j) =
// 1/(1+j/2): over many items, the share that lands in symbol j.
func TestCursorDensity(t *testing.T) {
	const items = 200000
	probes := []uint64{0, 1, 2, 3, 10, 50, 200, 1000}
	hits := make([]int, len(probes))
	rng := rand.NewChaCha8([32]byte{2})
	for range items {
		c := newCursor(rng.Uint64())
		for i, p := range probes {
			for c.next < p {
				c.advance()
			}
			if c.next == p {
				hits[i]++
			}
		}
	}
	for i, p := range probes {
		want := 1 / (1 + float64(p)/2)
		got := float64(hits[i]) / items
		sd := math.Sqrt(want * (1 - want) / items)
		if math.Abs(got-want) > 5*sd+1e-9 {
			t.Errorf("symbol %d: share %.5f, want %.5f ± %.5f", p, got, want, 5*sd)
		}
	}
}

func TestCursorStrictlyIncreasing(t *testing.T) {
	rng := rand.NewChaCha8([32]byte{3})
	for range 1000 {
		c := newCursor(rng.Uint64())
		prev := c.next
		for range 200 {
			c.advance()
			if c.next <= prev && c.next != maxIndex {
				t.Fatalf("index went from %d to %d", prev, c.next)
			}
			prev = c.next
		}
	}
	c := cursor{next: maxIndex}
	c.advance()
	if c.next != maxIndex {
		t.Fatal("cursor left maxIndex")
	}
}
