package merkle

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math/bits"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// Hash is a SHA-256 tree hash.
type Hash [sha256.Size]byte

// ErrInclusion means an inclusion proof does not prove what it claims.
var ErrInclusion = errors.New("merkle: inclusion proof invalid")

// LeafHash is the RFC 6962 hash of one leaf's data.
func LeafHash(data []byte) Hash {
	h := sha256.New()
	h.Write([]byte{rfc6962.RFC6962LeafHashPrefix})
	h.Write(data)
	var out Hash
	h.Sum(out[:0])
	return out
}

// nodeHash is the RFC 6962 hash of an interior node.
func nodeHash(left, right Hash) Hash {
	var buf [1 + 2*sha256.Size]byte
	buf[0] = rfc6962.RFC6962NodeHashPrefix
	copy(buf[1:], left[:])
	copy(buf[1+sha256.Size:], right[:])
	return sha256.Sum256(buf[:])
}

// EmptyRoot is the hash of the tree with no leaves.
func EmptyRoot() Hash { return sha256.Sum256(nil) }

// Root is the Merkle tree hash of leaves, in order.
func Root(leaves [][]byte) Hash {
	hashes := make([]Hash, len(leaves))
	for i, l := range leaves {
		hashes[i] = LeafHash(l)
	}
	return RootOfLeafHashes(hashes)
}

// RootOfLeafHashes is the Merkle tree hash over already-hashed leaves.
func RootOfLeafHashes(hashes []Hash) Hash {
	if len(hashes) == 0 {
		return EmptyRoot()
	}
	return subtreeRoot(hashes)
}

// subtreeRoot follows RFC 6962's recursive definition of MTH.
func subtreeRoot(h []Hash) Hash {
	if len(h) == 1 {
		return h[0]
	}
	k := splitPoint(len(h))
	return nodeHash(subtreeRoot(h[:k]), subtreeRoot(h[k:]))
}

// splitPoint is the largest power of two smaller than n (n >= 2).
func splitPoint(n int) int {
	return 1 << (bits.Len(uint(n-1)) - 1)
}

// InclusionProof is the audit path (RFC 6962 §2.1.1) for leaves[index].
func InclusionProof(leaves [][]byte, index int) ([]Hash, error) {
	if index < 0 || index >= len(leaves) {
		return nil, fmt.Errorf("merkle: leaf index %d outside a tree of %d leaves", index, len(leaves))
	}
	hashes := make([]Hash, len(leaves))
	for i, l := range leaves {
		hashes[i] = LeafHash(l)
	}
	return path(hashes, index, nil), nil
}

// path appends the audit path of leaf m in the subtree h, leaf-side first.
func path(h []Hash, m int, out []Hash) []Hash {
	if len(h) <= 1 {
		return out
	}
	k := splitPoint(len(h))
	if m < k {
		out = path(h[:k], m, out)
		return append(out, subtreeRoot(h[k:]))
	}
	out = path(h[k:], m-k, out)
	return append(out, subtreeRoot(h[:k]))
}

// VerifyInclusion checks that leafData is leaf number index of the tree of
// the given size whose root is root.
func VerifyInclusion(index, size uint64, leafData []byte, auditPath []Hash, root Hash) error {
	leaf := LeafHash(leafData)
	return VerifyInclusionHash(index, size, leaf, auditPath, root)
}

// VerifyInclusionHash is VerifyInclusion for an already-hashed leaf.
func VerifyInclusionHash(index, size uint64, leaf Hash, auditPath []Hash, root Hash) error {
	p := make([][]byte, len(auditPath))
	for i := range auditPath {
		p[i] = auditPath[i][:]
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, index, size, leaf[:], p, root[:]); err != nil {
		return fmt.Errorf("%w: %v", ErrInclusion, err)
	}
	return nil
}

// InclusionProofs returns the audit path of every leaf, and the root, in
// O(n log n) hashes rather than the O(n²) of n InclusionProof calls: an
// origin attaches one to each record of a batch it signs, so that any
// record can later travel alone.
func InclusionProofs(leaves [][]byte) ([][]Hash, Hash) {
	if len(leaves) == 0 {
		return nil, EmptyRoot()
	}
	hashes := make([]Hash, len(leaves))
	for i, l := range leaves {
		hashes[i] = LeafHash(l)
	}
	paths := make([][]Hash, len(leaves))
	root := allPaths(hashes, paths)
	return paths, root
}

// allPaths appends to paths[i] the part of leaf i's audit path that lies
// inside subtree h, and returns the subtree's root. Paths run leaf-side
// first, so a sibling subtree's root is appended after the recursion.
func allPaths(h []Hash, paths [][]Hash) Hash {
	if len(h) == 1 {
		return h[0]
	}
	k := splitPoint(len(h))
	left, right := allPaths(h[:k], paths[:k]), allPaths(h[k:], paths[k:])
	for i := range paths[:k] {
		paths[i] = append(paths[i], right)
	}
	for i := range paths[k:] {
		paths[k+i] = append(paths[k+i], left)
	}
	return nodeHash(left, right)
}
