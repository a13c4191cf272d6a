package record

import (
	"errors"
	"fmt"

	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/crypto/hybrid"
	"github.com/vigie-project/vigie/crypto/merkle"
	"github.com/vigie-project/vigie/protocol/dagcbor"
)

// ManifestContext is the hybrid-signature context of batch manifests; it
// keeps a manifest signature from ever verifying as any other statement.
const ManifestContext = "vigie/manifest/v1"

// Manifest is an origin's signed statement that its records First..Last
// are exactly those whose CIDs form the Merkle tree with the given Root
// (DESIGN.md decision 5). One hybrid signature thus covers a whole batch.
type Manifest struct {
	Origin Agency // "origin"
	First  uint64 // "first": sequence number of the first record
	Last   uint64 // "last": sequence number of the last record
	// Count is the number of records ("count"), always Last-First+1; it is
	// carried anyway so that the Merkle tree size is signed explicitly.
	Count uint64
	// Root is the RFC 6962 Merkle tree hash over the records' binary CIDs
	// in sequence order ("root").
	Root    merkle.Hash
	Created uint64 // "created": Unix seconds
	// KeyID names the signing key, as hybrid.PublicKey.KeyID does
	// ("key_id"); the roster maps it to the origin's public key.
	KeyID string
	// Signature is the hybrid signature over SigningBytes under
	// ManifestContext ("sig").
	Signature []byte
}

// Errors of batch verification.
var (
	ErrBatch     = errors.New("record: batch does not match its manifest")
	ErrWrongKey  = errors.New("record: manifest names another signing key")
	ErrSignature = errors.New("record: signature invalid")
)

// Type returns TypeManifest.
func (m *Manifest) Type() Type { return TypeManifest }

// Encode validates m, including the presence of a signature, and returns
// its canonical bytes.
func (m *Manifest) Encode() ([]byte, error) { return encode(m) }

// CID returns the manifest's record CID; nodes cache verified manifests by it.
func (m *Manifest) CID() (cid.Cid, error) { return recordCID(m) }

// Validate checks every field; the signature must be present and of the
// right size (whether it verifies is VerifySignature's job).
func (m *Manifest) Validate() error {
	return firstError(m.validateUnsigned(), checkSignature("sig", m.Signature, hybrid.SignatureSize))
}

func (m *Manifest) validateUnsigned() error {
	return firstError(
		m.Origin.check("origin"),
		m.checkRange(),
		checkTime("created", m.Created),
		checkID("key_id", m.KeyID, MaxKeyIDLen),
	)
}

func (m *Manifest) checkRange() error {
	switch {
	case m.First == 0:
		return invalid("first", "sequence numbers start at 1")
	case m.Last < m.First:
		return invalid("last", "%d is before first (%d)", m.Last, m.First)
	case m.Count != m.Last-m.First+1:
		return invalid("count", "%d, but first..last holds %d records", m.Count, m.Last-m.First+1)
	case m.Count > MaxBatchRecords:
		return fmt.Errorf("%w: field \"count\" is %d, at most %d", ErrTooLarge, m.Count, MaxBatchRecords)
	}
	return nil
}

// SigningBytes returns what the origin signs: the manifest's canonical
// encoding without the "sig" field.
func (m *Manifest) SigningBytes() ([]byte, error) {
	if err := m.validateUnsigned(); err != nil {
		return nil, err
	}
	e := m.unsignedEntries()
	return dagcbor.Encode(e.value())
}

func (m *Manifest) unsignedEntries() entries {
	e := entries(header(TypeManifest))
	e.add("origin", m.Origin.value())
	e.num("first", m.First)
	e.num("last", m.Last)
	e.num("count", m.Count)
	e.add("root", dagcbor.Bytes(m.Root[:]))
	e.num("created", m.Created)
	e.text("key_id", m.KeyID)
	return e
}

func (m *Manifest) value() dagcbor.Value {
	e := m.unsignedEntries()
	e.add("sig", dagcbor.Bytes(m.Signature))
	return e.value()
}

func readManifest(f *dagcbor.Fields) *Manifest {
	m := &Manifest{
		Origin:    readAgency(f.Map("origin")),
		First:     f.Uint("first"),
		Last:      f.Uint("last"),
		Count:     f.Uint("count"),
		Created:   f.Uint("created"),
		KeyID:     f.Text("key_id"),
		Signature: f.Bytes("sig"),
	}
	root := f.Bytes("root")
	if len(root) != len(m.Root) && f.Err() == nil {
		f.Fail("root", fmt.Errorf("%w: %d bytes, want %d", ErrInvalid, len(root), len(m.Root)))
	}
	copy(m.Root[:], root)
	return m
}

// VerifySignature checks the manifest's hybrid signature with pub, which
// must be the key the manifest names. Both signature halves must verify.
func (m *Manifest) VerifySignature(pub *hybrid.PublicKey) error {
	if m.KeyID != pub.KeyID() {
		return fmt.Errorf("%w: manifest names %s, key is %s", ErrWrongKey, m.KeyID, pub.KeyID())
	}
	msg, err := m.SigningBytes()
	if err != nil {
		return err
	}
	if err := hybrid.Verify(pub, ManifestContext, msg, m.Signature); err != nil {
		return fmt.Errorf("%w: manifest %s %d..%d: %w", ErrSignature, m.Origin, m.First, m.Last, err)
	}
	return nil
}
