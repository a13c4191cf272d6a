package record

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/crypto/hybrid"
	"github.com/vigie-project/vigie/protocol/dagcbor"
)

// A policy bundle travels as two layers. The PolicyBundle is the packs
// themselves (schema and Cedar files), encoded canonically; its CID is what
// a roster's "policy" field names, so a majority of members approves the
// whole bundle when it signs the roster. The PolicyArchive wraps those bytes
// with the owners' signatures: each owner (a country, or the non-EU party to
// an instrument) signs a digest of the policies it owns, so an owner's
// signature survives bundle versions that change only other owners' packs,
// and adding a signature never changes the CID the roster names.

// PolicyOwnerContext is the hybrid-signature context of owner signatures.
const PolicyOwnerContext = "vigie/policy-owner/v1"

// Bounds of policy bundles and archives.
const (
	MaxPolicyBundleSize = 8 << 20 // encoded bundle
	MaxPolicyFiles      = 512
	MaxPolicyPathLen    = 128
	MaxPolicySignatures = 256
	MaxPolicyOwnerLen   = 64
	// MaxPolicyArchiveSize leaves room for MaxPolicySignatures hybrid
	// signatures (about 3.4 kB each) around the bundle.
	MaxPolicyArchiveSize = MaxPolicyBundleSize + 1<<20
)

// Type names of the two layers.
const (
	TypePolicyBundle  Type = "policy-bundle"
	TypePolicyArchive Type = "policy-archive"
)

// ErrPolicyBundle reports a malformed policy bundle or archive.
var ErrPolicyBundle = errors.New("record: invalid policy bundle")

// PolicyBundle is the set of policy files, sorted by path with no repeats.
type PolicyBundle struct {
	Files []PolicyFile // "files"
}

// PolicyFile is one file of a bundle, e.g. "countries/FR.cedar".
type PolicyFile struct {
	Path string // "path": slash-separated, relative, clean
	Data []byte // "data"
}

// PolicySignature is an owner's signature over the digest of the policies
// it owns in a bundle (policy.Bundle.OwnerDigest).
type PolicySignature struct {
	Owner     string // "owner": e.g. "FR", "EU-US"
	Digest    []byte // "digest": 32 bytes
	Agency    Agency // "agency": the roster member that signed
	Signature []byte // "sig": hybrid, under PolicyOwnerContext
}

// PolicyArchive is a bundle with its owners' signatures, as a node stores
// and serves it. Signatures are sorted by owner, then agency.
type PolicyArchive struct {
	Bundle     []byte // "bundle": the encoded PolicyBundle
	Signatures []PolicySignature
}

// Validate checks the file list: sorted unique clean relative paths of safe
// characters, within the bounds.
func (b *PolicyBundle) Validate() error {
	if len(b.Files) == 0 || len(b.Files) > MaxPolicyFiles {
		return fmt.Errorf("%w: %d files (1 to %d)", ErrPolicyBundle, len(b.Files), MaxPolicyFiles)
	}
	for i, f := range b.Files {
		if err := checkPolicyPath(f.Path); err != nil {
			return err
		}
		if i > 0 && b.Files[i-1].Path >= f.Path {
			return fmt.Errorf("%w: files not sorted or repeated at %q", ErrPolicyBundle, f.Path)
		}
	}
	return nil
}

func checkPolicyPath(p string) error {
	ok := p != "" && len(p) <= MaxPolicyPathLen && path.Clean(p) == p && !strings.HasPrefix(p, "/") &&
		!strings.HasPrefix(p, "../") && p != ".." && p != "."
	for _, c := range p {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._-/", c)) {
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("%w: file path %q (want a clean relative path of letters, digits, '.', '_', '-', '/', at most %d bytes)",
			ErrPolicyBundle, p, MaxPolicyPathLen)
	}
	return nil
}

// Encode validates b and returns its canonical bytes.
func (b *PolicyBundle) Encode() ([]byte, error) {
	if err := b.Validate(); err != nil {
		return nil, err
	}
	files := make([]dagcbor.Value, len(b.Files))
	for i, f := range b.Files {
		files[i] = dagcbor.Map(
			dagcbor.Entry{Key: "data", Value: dagcbor.Bytes(f.Data)},
			dagcbor.Entry{Key: "path", Value: dagcbor.Text(f.Path)},
		)
	}
	e := entries(header(TypePolicyBundle))
	e.add("files", dagcbor.Array(files...))
	data, err := dagcbor.Encode(e.value())
	if err != nil {
		return nil, err
	}
	if len(data) > MaxPolicyBundleSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(data), MaxPolicyBundleSize)
	}
	return data, nil
}

// DecodePolicyBundle parses and validates an encoded bundle; the result
// re-encodes to exactly data.
func DecodePolicyBundle(data []byte) (*PolicyBundle, error) {
	if len(data) > MaxPolicyBundleSize {
		return nil, fmt.Errorf("%w: policy bundle of %d bytes, at most %d", ErrTooLarge, len(data), MaxPolicyBundleSize)
	}
	f, err := policyFields(data, MaxPolicyBundleSize, TypePolicyBundle)
	if err != nil {
		return nil, err
	}
	b := &PolicyBundle{}
	for _, ff := range f.Maps("files") {
		b.Files = append(b.Files, PolicyFile{Path: ff.Text("path"), Data: ff.Bytes("data")})
	}
	if err := f.Done(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPolicyBundle, err)
	}
	if err := b.Validate(); err != nil {
		return nil, err
	}
	return b, nil
}

// policyFields decodes data as a map of type t under limits fit for
// bundles and archives, and reads its header.
func policyFields(data []byte, maxBytes int, t Type) (*dagcbor.Fields, error) {
	v, err := dagcbor.Decode(data, dagcbor.Limits{MaxBytes: maxBytes, MaxDepth: 4, MaxString: MaxPolicyBundleSize, MaxItems: MaxPolicyFiles})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPolicyBundle, err)
	}
	f := dagcbor.ReadFields(v)
	got, err := readPolicyHeader(f)
	if err != nil {
		return nil, err
	}
	if got != t {
		return nil, fmt.Errorf("%w: type %q, want %q", ErrPolicyBundle, got, t)
	}
	return f, nil
}

func readPolicyHeader(f *dagcbor.Fields) (Type, error) {
	v := f.Uint("v")
	t := Type(f.Text("type"))
	if err := f.Err(); err != nil {
		return "", fmt.Errorf("%w: %w", ErrPolicyBundle, err)
	}
	if v != FormatVersion {
		return "", fmt.Errorf("%w: v=%d, this node reads v=%d", ErrUnknownVersion, v, FormatVersion)
	}
	return t, nil
}

// CID is the bundle's CID, the value of a roster's "policy" field.
func (a *PolicyArchive) CID() cid.Cid { return CIDOf(a.Bundle) }

// Validate checks the archive: a valid bundle and well-formed, sorted,
// unique signatures. It does not verify the signatures (the roster holds
// the keys: see node.VerifyPolicyArchive).
func (a *PolicyArchive) Validate() error {
	if _, err := DecodePolicyBundle(a.Bundle); err != nil {
		return err
	}
	if len(a.Signatures) > MaxPolicySignatures {
		return fmt.Errorf("%w: %d signatures, at most %d", ErrPolicyBundle, len(a.Signatures), MaxPolicySignatures)
	}
	for i, s := range a.Signatures {
		if err := s.check(); err != nil {
			return err
		}
		if i > 0 && comparePolicySigs(a.Signatures[i-1], s) >= 0 {
			return fmt.Errorf("%w: signatures not sorted or repeated at %s by %s", ErrPolicyBundle, s.Owner, s.Agency)
		}
	}
	return nil
}

func (s PolicySignature) check() error {
	switch {
	case s.Owner == "" || len(s.Owner) > MaxPolicyOwnerLen:
		return fmt.Errorf("%w: signature owner %q", ErrPolicyBundle, s.Owner)
	case len(s.Digest) != sha256.Size:
		return fmt.Errorf("%w: %s's digest has %d bytes, want %d", ErrPolicyBundle, s.Owner, len(s.Digest), sha256.Size)
	case len(s.Signature) == 0:
		return fmt.Errorf("%w: empty signature for %s", ErrPolicyBundle, s.Owner)
	}
	return s.Agency.check("sigs.agency")
}

func comparePolicySigs(a, b PolicySignature) int {
	if c := strings.Compare(a.Owner, b.Owner); c != 0 {
		return c
	}
	return a.Agency.Compare(b.Agency)
}

// Encode validates a and returns its canonical bytes.
func (a *PolicyArchive) Encode() ([]byte, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	sigs := make([]dagcbor.Value, len(a.Signatures))
	for i, s := range a.Signatures {
		sigs[i] = dagcbor.Map(
			dagcbor.Entry{Key: "agency", Value: s.Agency.value()},
			dagcbor.Entry{Key: "digest", Value: dagcbor.Bytes(s.Digest)},
			dagcbor.Entry{Key: "owner", Value: dagcbor.Text(s.Owner)},
			dagcbor.Entry{Key: "sig", Value: dagcbor.Bytes(s.Signature)},
		)
	}
	e := entries(header(TypePolicyArchive))
	e.add("bundle", dagcbor.Bytes(a.Bundle))
	e.add("sigs", dagcbor.Array(sigs...))
	return dagcbor.Encode(e.value())
}

// DecodePolicyArchive parses and validates an archive (including its
// bundle); the result re-encodes to exactly data.
func DecodePolicyArchive(data []byte) (*PolicyArchive, error) {
	if len(data) > MaxPolicyArchiveSize {
		return nil, fmt.Errorf("%w: policy archive of %d bytes, at most %d", ErrTooLarge, len(data), MaxPolicyArchiveSize)
	}
	f, err := policyFields(data, MaxPolicyArchiveSize, TypePolicyArchive)
	if err != nil {
		return nil, err
	}
	a := &PolicyArchive{Bundle: bytes.Clone(f.Bytes("bundle"))}
	for _, sf := range f.Maps("sigs") {
		a.Signatures = append(a.Signatures, PolicySignature{
			Owner: sf.Text("owner"), Digest: bytes.Clone(sf.Bytes("digest")),
			Agency: readAgency(sf.Map("agency")), Signature: bytes.Clone(sf.Bytes("sig")),
		})
	}
	if err := f.Done(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPolicyBundle, err)
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return a, nil
}

// PolicyOwnerMessage is what an owner signs: its name and the digest of
// its policies, bound together so a digest cannot be claimed for another
// owner.
func PolicyOwnerMessage(owner string, digest []byte) []byte {
	return append([]byte(owner+"\n"), digest...)
}

// Sign adds (or replaces) signer's signature for owner over digest,
// keeping the list sorted.
func (a *PolicyArchive) Sign(key *hybrid.PrivateKey, signer Agency, owner string, digest []byte) error {
	sig, err := key.Sign(PolicyOwnerContext, PolicyOwnerMessage(owner, digest))
	if err != nil {
		return fmt.Errorf("record: signing policy owner %s: %w", owner, err)
	}
	s := PolicySignature{Owner: owner, Digest: bytes.Clone(digest), Agency: signer, Signature: sig}
	i, found := slices.BinarySearchFunc(a.Signatures, s, comparePolicySigs)
	if found {
		a.Signatures[i] = s
		return nil
	}
	a.Signatures = slices.Insert(a.Signatures, i, s)
	return nil
}

// Verify checks s with the signer's public key.
func (s PolicySignature) Verify(pub *hybrid.PublicKey) error {
	if err := hybrid.Verify(pub, PolicyOwnerContext, PolicyOwnerMessage(s.Owner, s.Digest), s.Signature); err != nil {
		return fmt.Errorf("%w: policy owner %s signed by %s: %w", ErrSignature, s.Owner, s.Agency, err)
	}
	return nil
}
