package riblt

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// Key is the secret of one reconciliation session (see the package
// documentation on how Vigie derives it). Both sides must use the same key:
// it decides which coded symbols an item lands in and its checksum.
type Key [16]byte

// hasher is SipHash-2-4 (Aumasson and Bernstein) with a fixed key,
// specialised to the 32-byte inputs this package hashes. SipHash is a PRF
// built for exactly this job: short inputs, 64-bit output, and an attacker
// who does not know the key cannot find inputs whose outputs collide better
// than by chance.
type hasher struct{ k0, k1 uint64 }

func newHasher(k Key) hasher {
	return hasher{
		k0: binary.LittleEndian.Uint64(k[0:8]),
		k1: binary.LittleEndian.Uint64(k[8:16]),
	}
}

// sipRound is one SipRound on the four state words.
func sipRound(v0, v1, v2, v3 uint64) (uint64, uint64, uint64, uint64) {
	v0 += v1
	v1 = bits.RotateLeft64(v1, 13)
	v1 ^= v0
	v0 = bits.RotateLeft64(v0, 32)
	v2 += v3
	v3 = bits.RotateLeft64(v3, 16)
	v3 ^= v2
	v0 += v3
	v3 = bits.RotateLeft64(v3, 21)
	v3 ^= v0
	v2 += v1
	v1 = bits.RotateLeft64(v1, 17)
	v1 ^= v2
	v2 = bits.RotateLeft64(v2, 32)
	return v0, v1, v2, v3
}

// sum returns SipHash-2-4 of the 32 bytes of s.
func (h hasher) sum(s *Symbol) uint64 {
	v0 := h.k0 ^ 0x736f6d6570736575
	v1 := h.k1 ^ 0x646f72616e646f6d
	v2 := h.k0 ^ 0x6c7967656e657261
	v3 := h.k1 ^ 0x7465646279746573
	for i := 0; i < SymbolSize; i += 8 {
		m := binary.LittleEndian.Uint64(s[i : i+8])
		v3 ^= m
		v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
		v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
		v0 ^= m
	}
	// The last block holds only the message length (32) in its top byte,
	// because 32 is a multiple of the 8-byte block size.
	const last = uint64(SymbolSize) << 56
	v3 ^= last
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0 ^= last
	v2 ^= 0xff
	for range 4 {
		v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	}
	return v0 ^ v1 ^ v2 ^ v3
}

// keyCheckLabel is hashed under the session key to give a key check value:
// a fingerprint that lets a receiver reject a stream coded under another key
// at once, instead of after a full symbol budget of undecodable symbols.
// The value reveals nothing usable about the key (SipHash is a PRF).
const keyCheckLabel = "vigie/riblt key check v1"

// KeyCheck returns the key check value of k, carried in every Batch.
func KeyCheck(k Key) uint64 {
	var in Symbol
	copy(in[:], keyCheckLabel)
	return newHasher(k).sum(&in)
}

// maxIndex stands for "never": no stream is ever this long.
const maxIndex = 1 << 62

// cursor walks the coded-symbol indices one item maps to, in increasing
// order. Index 0 always comes first: every item is in coded symbol 0.
//
// The paper's mapping puts item x into coded symbol j with probability
// ρ(j) = 1/(1+α·j), α = 1/2, independently for each j. Rather than flip a
// coin per symbol, the cursor jumps straight to the next index: given the
// current index i, the probability that none of i+1..j is hit is
//
//	Π_{k=i+1..j} (1 − 2/(k+2)) = Π k/(k+2) = (i+1)(i+2) / ((j+1)(j+2)),
//
// so with v uniform in (0, 1] the next index is the smallest j > i with
// (j+1)(j+2) ≥ (i+1)(i+2)/v, which solves to j = ⌈(√(1+4t) − 3)/2⌉ with
// t = (i+1)(i+2)/v. The cost per item is the number of indices it hits,
// about 2·ln(m) for the first m symbols, not m.
//
// The coin flips come from splitmix64 seeded with the item's keyed hash,
// so the sequence is the same on every node that holds the session key and
// cannot be steered by anyone who does not.
type cursor struct {
	rng  uint64 // splitmix64 state
	next uint64 // the next index this item maps to
}

func newCursor(hash uint64) cursor { return cursor{rng: hash} }

// splitmix64 advances state and returns the next output (Steele, Lea and
// Flood's SplitMix generator as used by Java's SplittableRandom).
func splitmix64(state *uint64) uint64 {
	*state += 0x9e3779b97f4a7c15
	z := *state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// advance moves the cursor to the item's next index.
//
// Every intermediate float64 is rounded by an explicit conversion: Go may
// otherwise fuse a multiply and an add on some architectures, and two nodes
// that disagree on one index in a billion cannot reconcile.
func (c *cursor) advance() {
	if c.next >= maxIndex {
		return
	}
	// v in (0, 1]: 53 random bits, shifted off zero.
	v := float64(splitmix64(&c.rng)>>11+1) * (1.0 / (1 << 53))
	i := float64(c.next)
	t := float64(float64(float64(i+1)*float64(i+2)) / v)
	root := math.Sqrt(float64(1 + float64(4*t)))
	j := math.Ceil(float64(float64(root-3) / 2))
	switch {
	case !(j < maxIndex): // also catches NaN
		c.next = maxIndex
	case j <= i:
		c.next++
	default:
		c.next = uint64(j)
	}
}
