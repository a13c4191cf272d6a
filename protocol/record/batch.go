package record

import (
	"bytes"
	"fmt"

	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/crypto/hybrid"
	"github.com/vigie-project/vigie/crypto/merkle"
	"github.com/vigie-project/vigie/protocol/dagcbor"
)

// Batch is a signed manifest with the encoded records it covers, in
// sequence order.
type Batch struct {
	Manifest Manifest
	Records  [][]byte
}

// Verify is VerifyBatch for b.
func (b *Batch) Verify(pub *hybrid.PublicKey) ([]cid.Cid, error) {
	return VerifyBatch(&b.Manifest, b.Records, pub)
}

// SignBatch signs a manifest over records, which must be valid encoded
// assertions, retractions or sightings of origin with consecutive sequence
// numbers. The key id is key's own (hybrid.PublicKey.KeyID), so the
// manifest can never name another key than the one that signed it.
func SignBatch(key *hybrid.PrivateKey, origin Agency, records [][]byte, created uint64) (Manifest, error) {
	if len(records) == 0 || len(records) > MaxBatchRecords {
		return Manifest{}, fmt.Errorf("%w: %d records, want 1 to %d", ErrBatch, len(records), MaxBatchRecords)
	}
	first, err := firstSeq(records[0])
	if err != nil {
		return Manifest{}, err
	}
	m := Manifest{
		Origin:  origin,
		First:   first,
		Last:    first + uint64(len(records)) - 1,
		Count:   uint64(len(records)),
		Created: created,
		KeyID:   key.Public().KeyID(),
	}
	for i, rec := range records {
		// The signer decodes fully: an origin must never vouch for a record
		// that other nodes would refuse.
		if _, err := Decode(rec); err != nil {
			return Manifest{}, fmt.Errorf("record %d: %w", i, err)
		}
	}
	if m.Root, _, err = m.checkRecords(records); err != nil {
		return Manifest{}, err
	}
	msg, err := m.SigningBytes()
	if err != nil {
		return Manifest{}, err
	}
	if m.Signature, err = key.Sign(ManifestContext, msg); err != nil {
		return Manifest{}, fmt.Errorf("record: signing manifest: %w", err)
	}
	return m, nil
}

func firstSeq(record []byte) (uint64, error) {
	v, err := dagcbor.Pick(record, decodeLimits(), "seq")
	if err != nil {
		return 0, fmt.Errorf("record 0: %w", err)
	}
	f := dagcbor.ReadFields(v)
	seq := f.Uint("seq")
	if err := f.Done(); err != nil {
		return 0, fmt.Errorf("record 0: %w", err)
	}
	return seq, nil
}

// VerifyBatch checks that records are exactly the batch m describes and
// that m is signed by pub, and returns the records' CIDs. It recomputes
// every CID and the Merkle root, checks that each record is canonical
// DAG-CBOR of m's origin with the next sequence number, and verifies one
// hybrid signature: a batch of N records costs one signature verification
// plus N hashes and N cheap structural decodes. Full validation of each
// record's fields is left to Decode when the record is stored.
func VerifyBatch(m *Manifest, records [][]byte, pub *hybrid.PublicKey) ([]cid.Cid, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if uint64(len(records)) != m.Count {
		return nil, fmt.Errorf("%w: %d records, manifest covers %d", ErrBatch, len(records), m.Count)
	}
	root, cids, err := m.checkRecords(records)
	if err != nil {
		return nil, err
	}
	if root != m.Root {
		return nil, fmt.Errorf("%w: Merkle root of the records differs from the manifest's", ErrBatch)
	}
	if err := m.VerifySignature(pub); err != nil {
		return nil, err
	}
	return cids, nil
}

// checkRecords checks each record's placement and returns the Merkle root
// over their CIDs along with the CIDs.
func (m *Manifest) checkRecords(records [][]byte) (merkle.Hash, []cid.Cid, error) {
	origin, err := m.originEncoding()
	if err != nil {
		return merkle.Hash{}, nil, err
	}
	// The binary CIDs share one buffer: cid.Cast lets its argument escape,
	// so building each on the stack would cost an allocation more per record
	// than the string that cid.Cast makes for the CID itself.
	raw := make([]byte, len(records)*cidBytesLen)
	cids := make([]cid.Cid, len(records))
	leaves := make([]merkle.Hash, len(records))
	for i, rec := range records {
		if err := m.checkPlacement(rec, i, origin); err != nil {
			return merkle.Hash{}, nil, err
		}
		b := raw[i*cidBytesLen : (i+1)*cidBytesLen]
		*(*[cidBytesLen]byte)(b) = cidBytes(cid.DagCBOR, rec)
		cids[i] = castCID(b)
		leaves[i] = merkle.LeafHash(b)
	}
	return merkle.RootOfLeafHashes(leaves), cids, nil
}

// originEncoding returns the canonical encoding of m's origin. A record's
// origin field is from m's origin exactly when it has these bytes, which
// lets placement checks compare bytes instead of decoding the field.
func (m *Manifest) originEncoding() ([]byte, error) {
	b, err := dagcbor.Encode(m.Origin.value())
	if err != nil {
		return nil, fmt.Errorf("%w: manifest origin %s: %w", ErrInvalid, m.Origin, err)
	}
	return b, nil
}

// CheckPlacement checks that record can stand at index in m's batch: a
// canonical record of a batchable type and known version, from m's origin,
// with sequence number m.First+index. It reads only those fields (while
// still validating the whole encoding), which keeps batch verification cheap.
func (m *Manifest) CheckPlacement(record []byte, index int) error {
	origin, err := m.originEncoding()
	if err != nil {
		return err
	}
	return m.checkPlacement(record, index, origin)
}

// checkPlacement is CheckPlacement given m's origin encoding, made once per
// batch. It reads the fields in place with dagcbor.Scan: a record costs one
// validating pass over its bytes and no allocation, where building even a
// partial Value cost as much as hashing it.
func (m *Manifest) checkPlacement(record []byte, index int, origin []byte) error {
	if len(record) > MaxRecordSize {
		return fmt.Errorf("%w: record %d is %d bytes, at most %d", ErrTooLarge, index, len(record), MaxRecordSize)
	}
	var ver, typ, from, seq dagcbor.Raw // zero while absent
	err := dagcbor.Scan(record, decodeLimits(), func(key []byte, v dagcbor.Raw) {
		switch string(key) {
		case "v":
			ver = v
		case "type":
			typ = v
		case "origin":
			from = v
		case "seq":
			seq = v
		}
	})
	if err != nil {
		return fmt.Errorf("record %d: %w", index, err)
	}
	v, err := rawUint("v", ver)
	if err == nil && v != FormatVersion {
		err = fmt.Errorf("%w: v=%d, this node reads v=%d", ErrUnknownVersion, v, FormatVersion)
	}
	if err != nil {
		return fmt.Errorf("record %d: %w", index, err)
	}
	t, err := rawText("type", typ)
	if err != nil {
		return fmt.Errorf("record %d: %w", index, err)
	}
	switch Type(t) {
	case TypeAssertion, TypeRetraction, TypeSighting:
	case TypeManifest, TypeRoster:
		return fmt.Errorf("%w: record %d is a %s, which batches do not carry", ErrBatch, index, t)
	default:
		return fmt.Errorf("record %d: %w: %q", index, ErrUnknownType, t)
	}
	if !bytes.Equal(from.Encoded(), origin) {
		return m.originError(index, from)
	}
	s, err := rawUint("seq", seq)
	if err != nil {
		return fmt.Errorf("record %d: %w", index, err)
	}
	if index < 0 || uint64(index) >= m.Count || s != m.First+uint64(index) {
		return fmt.Errorf("%w: record %d has sequence %d, want %d", ErrBatch, index, s, m.First+uint64(index))
	}
	return nil
}

// rawUint and rawText read a required field that dagcbor.Scan found, with
// the errors a dagcbor.Fields reader would give.
func rawUint(key string, v dagcbor.Raw) (uint64, error) {
	if v.Kind() == dagcbor.KindInvalid {
		return 0, fmt.Errorf("field %q: %w", key, dagcbor.ErrMissingField)
	}
	u, err := v.AsUint()
	if err != nil {
		return 0, fmt.Errorf("field %q: %w", key, err)
	}
	return u, nil
}

func rawText(key string, v dagcbor.Raw) ([]byte, error) {
	if v.Kind() == dagcbor.KindInvalid {
		return nil, fmt.Errorf("field %q: %w", key, dagcbor.ErrMissingField)
	}
	t, err := v.AsText()
	if err != nil {
		return nil, fmt.Errorf("field %q: %w", key, err)
	}
	return t, nil
}

// originError explains why a record's origin field, whose bytes are not
// those of m's origin, is refused. It reads the field as dagcbor.Fields
// would inside the record, so that a malformed origin gets the same error
// as from Decode; it runs only on a refusal, where allocations do not count.
func (m *Manifest) originError(index int, from dagcbor.Raw) error {
	var e []dagcbor.Entry
	if from.Kind() != dagcbor.KindInvalid {
		v, err := dagcbor.Decode(from.Encoded(), decodeLimits())
		if err != nil { // not reached: Scan has validated the field
			return fmt.Errorf("record %d: %w", index, err)
		}
		e = append(e, dagcbor.Entry{Key: "origin", Value: v})
	}
	f := dagcbor.ReadFields(dagcbor.Map(e...))
	origin := readAgency(f.Map("origin"))
	if err := f.Done(); err != nil {
		return fmt.Errorf("record %d: %w", index, err)
	}
	return fmt.Errorf("%w: record %d is from %s, manifest from %s", ErrBatch, index, origin, m.Origin)
}

// BatchInclusionProof returns the Merkle audit path that lets records[index]
// travel alone with the batch's manifest.
func BatchInclusionProof(records [][]byte, index int) ([]merkle.Hash, error) {
	leaves := make([][]byte, len(records))
	for i, rec := range records {
		leaves[i] = CIDOf(rec).Bytes()
	}
	return merkle.InclusionProof(leaves, index)
}

// Includes checks that the record with recordCID is at index in the batch
// m signs, without checking m's signature: for callers holding a manifest
// they verified before (cached by its CID). The caller must still check the
// record's placement (CheckPlacement).
func (m *Manifest) Includes(recordCID cid.Cid, index int, proof []merkle.Hash) error {
	if index < 0 || uint64(index) >= m.Count {
		return fmt.Errorf("%w: index %d outside a batch of %d", ErrBatch, index, m.Count)
	}
	if err := merkle.VerifyInclusion(uint64(index), m.Count, recordCID.Bytes(), proof, m.Root); err != nil {
		return fmt.Errorf("%w: record %s at %d: %w", ErrBatch, recordCID, index, err)
	}
	return nil
}

// VerifyInclusion checks a record travelling alone: that recordCID is at
// index in the batch m describes, and that m is validly signed by pub.
func VerifyInclusion(m *Manifest, recordCID cid.Cid, index int, proof []merkle.Hash, pub *hybrid.PublicKey) error {
	if err := m.Validate(); err != nil {
		return err
	}
	if err := m.Includes(recordCID, index, proof); err != nil {
		return err
	}
	return m.VerifySignature(pub)
}
