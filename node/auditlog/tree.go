package auditlog

import (
	"crypto/sha256"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/vigie-project/vigie/crypto/merkle"
)

// tree is the in-memory RFC 6962 tree: a compact range for appends (from
// github.com/transparency-dev/merkle) and every perfect subtree hash it
// reports, by level, from which inclusion and consistency proofs at any
// size are assembled. It costs about 64 bytes per leaf.
type tree struct {
	rng    *compact.Range
	levels [][]merkle.Hash // levels[l][i] = hash of the perfect subtree (l, i)
}

var rangeFactory = &compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}

func newTree() *tree {
	return &tree{rng: rangeFactory.NewEmptyRange(0)}
}

func (t *tree) size() uint64 { return t.rng.End() }

func (t *tree) visit(id compact.NodeID, hash []byte) {
	for uint(len(t.levels)) <= id.Level {
		t.levels = append(t.levels, nil)
	}
	t.levels[id.Level] = append(t.levels[id.Level], merkle.Hash(hash))
}

// append adds a leaf hash.
func (t *tree) append(leaf merkle.Hash) {
	// Append only fails for ranges of another factory.
	_ = t.rng.Append(leaf[:], t.visit)
}

func (t *tree) node(id compact.NodeID) (merkle.Hash, error) {
	if id.Level >= uint(len(t.levels)) || id.Index >= uint64(len(t.levels[id.Level])) {
		return merkle.Hash{}, fmt.Errorf("auditlog: tree node (%d, %d) not computed", id.Level, id.Index)
	}
	return t.levels[id.Level][id.Index], nil
}

func (t *tree) leaf(i uint64) merkle.Hash { return t.levels[0][i] }

// root is the tree hash of the first size leaves.
func (t *tree) root(size uint64) (merkle.Hash, error) {
	if size > t.size() {
		return merkle.Hash{}, fmt.Errorf("auditlog: size %d beyond the log's %d", size, t.size())
	}
	if size == 0 {
		return merkle.EmptyRoot(), nil
	}
	ids := compact.RangeNodes(0, size, nil)
	hashes := make([][]byte, len(ids))
	for i, id := range ids {
		h, err := t.node(id)
		if err != nil {
			return merkle.Hash{}, err
		}
		hashes[i] = h[:]
	}
	r, err := rangeFactory.NewRange(0, size, hashes)
	if err != nil {
		return merkle.Hash{}, err
	}
	root, err := r.GetRootHash(nil)
	if err != nil {
		return merkle.Hash{}, err
	}
	return merkle.Hash(root), nil
}

func (t *tree) rehash(nodes proof.Nodes) ([]merkle.Hash, error) {
	hashes := make([][]byte, len(nodes.IDs))
	for i, id := range nodes.IDs {
		h, err := t.node(id)
		if err != nil {
			return nil, err
		}
		hashes[i] = h[:]
	}
	p, err := nodes.Rehash(hashes, rfc6962.DefaultHasher.HashChildren)
	if err != nil {
		return nil, err
	}
	out := make([]merkle.Hash, len(p))
	for i := range p {
		out[i] = merkle.Hash(p[i])
	}
	return out, nil
}

func (t *tree) inclusion(index, size uint64) ([]merkle.Hash, error) {
	if size > t.size() {
		return nil, fmt.Errorf("auditlog: size %d beyond the log's %d", size, t.size())
	}
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, fmt.Errorf("auditlog: %w", err)
	}
	return t.rehash(nodes)
}

func (t *tree) consistency(size1, size2 uint64) ([]merkle.Hash, error) {
	if size2 > t.size() {
		return nil, fmt.Errorf("auditlog: size %d beyond the log's %d", size2, t.size())
	}
	nodes, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, fmt.Errorf("auditlog: %w", err)
	}
	return t.rehash(nodes)
}

// LeafHash is the RFC 6962 leaf hash of an entry: SHA-256(0x00 ‖ salt ‖
// u64 index ‖ encoded entry).
func LeafHash(salt *[SaltSize]byte, index uint64, encoded []byte) merkle.Hash {
	h := sha256.New()
	var pre [1 + SaltSize + 8]byte
	pre[0] = rfc6962.RFC6962LeafHashPrefix
	copy(pre[1:], salt[:])
	putU64(pre[1+SaltSize:], index)
	h.Write(pre[:])
	h.Write(encoded)
	var out merkle.Hash
	h.Sum(out[:0])
	return out
}

// LeafData is the leaf an entry is hashed as: salt ‖ u64 index ‖ encoded
// entry. merkle.LeafHash(LeafData(...)) == LeafHash(...).
func LeafData(salt *[SaltSize]byte, index uint64, encoded []byte) []byte {
	b := make([]byte, 0, SaltSize+8+len(encoded))
	b = append(b, salt[:]...)
	b = appendU64(b, index)
	return append(b, encoded...)
}

// VerifyInclusion checks an inclusion proof for a leaf hash against a
// checkpoint root (crypto/merkle, which delegates to
// github.com/transparency-dev/merkle).
func VerifyInclusion(index, size uint64, leaf merkle.Hash, p []merkle.Hash, root merkle.Hash) error {
	return merkle.VerifyInclusionHash(index, size, leaf, p, root)
}

func putU64(b []byte, v uint64) {
	_ = b[7]
	for i := 7; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
}

func appendU64(b []byte, v uint64) []byte {
	var x [8]byte
	putU64(x[:], v)
	return append(b, x[:]...)
}

func getU64(b []byte) uint64 {
	_ = b[7]
	var v uint64
	for i := range 8 {
		v = v<<8 | uint64(b[i])
	}
	return v
}
