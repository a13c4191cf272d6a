package reconcile

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"math/bits"

	"github.com/vigie-project/vigie/protocol/riblt"
)

// sum128 is a 128-bit integer modulo 2^128: the additive checksum of a set
// of ids, or of a range of them.
type sum128 struct{ hi, lo uint64 }

func (a sum128) add(b sum128) sum128 {
	lo, c := bits.Add64(a.lo, b.lo, 0)
	hi, _ := bits.Add64(a.hi, b.hi, c)
	return sum128{hi, lo}
}

func (a sum128) sub(b sum128) sum128 {
	lo, c := bits.Sub64(a.lo, b.lo, 0)
	hi, _ := bits.Sub64(a.hi, b.hi, c)
	return sum128{hi, lo}
}

const sumSize = 16

func (a sum128) append(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, a.hi)
	return binary.BigEndian.AppendUint64(b, a.lo)
}

func sumFrom(b []byte) sum128 {
	return sum128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:16])}
}

// prf is the keyed hash of an id under the session key: AES-128 CBC-MAC
// over the two blocks of the id, a PRF for fixed-length input. Sums of PRF
// outputs collide by chance only (2^-128), and as the key is fresh per
// session nobody can prepare ids whose sums collide. The AES key is derived
// from the session key so that it is independent of riblt's SipHash use of
// the same key.
type prf struct {
	b   cipher.Block
	buf *[16]byte // scratch: a slice passed to Encrypt escapes, so reuse one
}

const checksumLabel = "vigie/reconcile checksum v1\x00"

func newPRF(k riblt.Key) prf {
	h := sha256.Sum256(append([]byte(checksumLabel), k[:]...))
	b, err := aes.NewCipher(h[:16])
	if err != nil {
		panic(err) // unreachable: the key is 16 bytes
	}
	return prf{b: b, buf: new([16]byte)}
}

// of hashes one id. It uses the prf's scratch buffer: one goroutine only.
func (p prf) of(id *riblt.Symbol) sum128 {
	x := p.buf[:]
	copy(x, id[:16])
	p.b.Encrypt(x, x)
	for i := range x {
		x[i] ^= id[16+i]
	}
	p.b.Encrypt(x, x)
	return sumFrom(x)
}

// setSum returns the size and checksum of s.
func (p prf) setSum(s Set) (int, sum128) {
	var n int
	var acc sum128
	s.Each(func(id riblt.Symbol) bool {
		acc = acc.add(p.of(&id))
		n++
		return true
	})
	return n, acc
}

func (p prf) sumOf(ids []riblt.Symbol) sum128 {
	var acc sum128
	for i := range ids {
		acc = acc.add(p.of(&ids[i]))
	}
	return acc
}
