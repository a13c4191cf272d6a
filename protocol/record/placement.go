package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/crypto/merkle"
)

// Placement is what lets one record of a signed batch travel alone: the
// CID of the manifest that covers it, its position in the batch, and its
// RFC 6962 audit path to the manifest's root. Per-destination policy and
// message size limits split batches, so every record a node serves carries
// one; the origin computes them when it signs the batch and every holder
// stores them with the record.
//
// Wire form: u8 CID length ‖ manifest CID ‖ u16 index ‖ u8 path length ‖
// 32-byte hashes, leaf side first. Bounded by MaxPlacementSize.
type Placement struct {
	Manifest cid.Cid
	Index    int
	Path     []merkle.Hash
}

// maxPathLen is the depth of a tree of MaxBatchRecords leaves.
var maxPathLen = bits.Len(uint(MaxBatchRecords - 1))

// MaxPlacementSize bounds an encoded Placement.
const MaxPlacementSize = 1 + 255 + 2 + 1 + 12*len(merkle.Hash{})

// ErrPlacement marks a placement that does not decode or does not fit.
var ErrPlacement = errors.New("record: malformed placement")

// BatchPlacements returns the placement of every record of a batch that
// manifest (with CID manifestCID) signs, in O(n log n) hashes.
func BatchPlacements(manifestCID cid.Cid, records [][]byte) []Placement {
	leaves := make([][]byte, len(records))
	for i, rec := range records {
		leaves[i] = CIDOf(rec).Bytes()
	}
	paths, _ := merkle.InclusionProofs(leaves)
	out := make([]Placement, len(records))
	for i := range records {
		out[i] = Placement{Manifest: manifestCID, Index: i, Path: paths[i]}
	}
	return out
}

// MarshalBinary encodes p in its wire form.
func (p *Placement) MarshalBinary() ([]byte, error) {
	mb := p.Manifest.Bytes()
	switch {
	case !p.Manifest.Defined() || len(mb) > 255:
		return nil, fmt.Errorf("%w: manifest CID", ErrPlacement)
	case p.Index < 0 || p.Index >= MaxBatchRecords:
		return nil, fmt.Errorf("%w: index %d", ErrPlacement, p.Index)
	case len(p.Path) > maxPathLen:
		return nil, fmt.Errorf("%w: path of %d hashes", ErrPlacement, len(p.Path))
	}
	out := make([]byte, 0, 4+len(mb)+len(p.Path)*len(merkle.Hash{}))
	out = append(out, byte(len(mb)))
	out = append(out, mb...)
	out = binary.BigEndian.AppendUint16(out, uint16(p.Index))
	out = append(out, byte(len(p.Path)))
	for _, h := range p.Path {
		out = append(out, h[:]...)
	}
	return out, nil
}

// UnmarshalBinary decodes a wire-form placement, refusing anything but the
// exact encoding MarshalBinary produces.
func (p *Placement) UnmarshalBinary(b []byte) error {
	if len(b) > MaxPlacementSize {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrPlacement, len(b), MaxPlacementSize)
	}
	if len(b) < 1 || len(b) < 1+int(b[0])+3 {
		return fmt.Errorf("%w: truncated", ErrPlacement)
	}
	n := int(b[0])
	c, err := cid.Cast(b[1 : 1+n])
	if err != nil || c.Version() != 1 || c.Type() != cid.DagCBOR {
		return fmt.Errorf("%w: manifest CID is not a CIDv1 dag-cbor CID", ErrPlacement)
	}
	rest := b[1+n:]
	index := int(binary.BigEndian.Uint16(rest))
	depth := int(rest[2])
	rest = rest[3:]
	if index >= MaxBatchRecords || depth > maxPathLen || len(rest) != depth*len(merkle.Hash{}) {
		return fmt.Errorf("%w: index %d, path of %d hashes in %d bytes", ErrPlacement, index, depth, len(rest))
	}
	path := make([]merkle.Hash, depth)
	for i := range path {
		copy(path[i][:], rest[i*len(merkle.Hash{}):])
	}
	*p = Placement{Manifest: c, Index: index, Path: path}
	return nil
}

// Places checks that record is covered by m (whose CID is manifestCID and
// whose signature the caller has checked) as p says: right manifest, right
// position, audit path to m's root, and the record's origin and sequence
// number matching the batch. It returns the record's CID.
func (m *Manifest) Places(manifestCID cid.Cid, record []byte, p *Placement) (cid.Cid, error) {
	if !p.Manifest.Equals(manifestCID) {
		return cid.Undef, fmt.Errorf("%w: placement names manifest %s, not %s", ErrBatch, p.Manifest, manifestCID)
	}
	c := CIDOf(record)
	if err := m.Includes(c, p.Index, p.Path); err != nil {
		return cid.Undef, err
	}
	if err := m.CheckPlacement(record, p.Index); err != nil {
		return cid.Undef, err
	}
	return c, nil
}
