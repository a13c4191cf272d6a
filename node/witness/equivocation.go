package witness

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/vigie-project/vigie/crypto/checkpoint"
	"github.com/vigie-project/vigie/crypto/merkle"
)

// EquivocationType names the JSON format of an Equivocation.
const EquivocationType = "vigie/witness-equivocation/v1"

// MaxEquivocationSize bounds a serialised Equivocation: two notes of at
// most checkpoint.MaxNoteSize (JSON escaping may double them), a proof
// and the field names.
const MaxEquivocationSize = 5*checkpoint.MaxNoteSize + 4096

// Kinds of equivocation.
const (
	// KindSameSize: two checkpoints of the same size with different roots.
	KindSameSize = "same_size"
	// KindInconsistent: two checkpoints of sizes m < n where the newer
	// one commits to a first-m-leaves root other than the older one's.
	KindInconsistent = "inconsistent"
)

// ErrNotEvidence means an Equivocation does not prove misbehaviour: a
// signature is missing or invalid, or the two checkpoints are consistent,
// or the proof does not show otherwise.
var ErrNotEvidence = errors.New("witness: not evidence of equivocation")

// Equivocation is a portable proof that an origin signed two checkpoints
// that cannot both belong to one append-only log. Anyone holding the
// origin's public keys checks it with VerifyEquivocation.
//
// For KindSameSize, First and Second have the same size and different
// roots; Proof is empty.
//
// For KindInconsistent, First is the smaller checkpoint (size m ≥ 1) and
// Second the larger (size n). Proof is a valid RFC 6962 consistency proof
// from the tree (m, PrefixRoot) to Second's tree (n, root), and PrefixRoot
// differs from First's root: Second's tree begins with m leaves whose root
// is not First's. (A consistency proof that merely fails to verify proves
// nothing, since anyone can forge a bad proof; this one verifies, against
// Second's signed root.)
type Equivocation struct {
	Kind   string
	Origin string
	// First and Second are the two signed checkpoint notes.
	First, Second []byte
	PrefixRoot    merkle.Hash
	Proof         []merkle.Hash
}

// equivocationJSON is the serialised form.
type equivocationJSON struct {
	Type       string   `json:"type"`
	Kind       string   `json:"kind"`
	Origin     string   `json:"origin"`
	First      string   `json:"first"`
	Second     string   `json:"second"`
	PrefixRoot string   `json:"prefix_root,omitempty"`
	Proof      []string `json:"proof,omitempty"`
}

// Marshal serialises p as JSON (the notes as strings, hashes in base64).
func (p *Equivocation) Marshal() ([]byte, error) {
	if err := p.checkForm(); err != nil {
		return nil, err
	}
	j := equivocationJSON{Type: EquivocationType, Kind: p.Kind, Origin: p.Origin, First: string(p.First), Second: string(p.Second)}
	if p.Kind == KindInconsistent {
		j.PrefixRoot = base64.StdEncoding.EncodeToString(p.PrefixRoot[:])
		for _, h := range p.Proof {
			j.Proof = append(j.Proof, base64.StdEncoding.EncodeToString(h[:]))
		}
	}
	b, err := json.Marshal(j)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxEquivocationSize {
		return nil, fmt.Errorf("witness: equivocation of %d bytes exceeds %d", len(b), MaxEquivocationSize)
	}
	return b, nil
}

// ParseEquivocation decodes a serialised Equivocation and checks its
// form (it does not verify signatures: VerifyEquivocation does).
func ParseEquivocation(b []byte) (*Equivocation, error) {
	if len(b) > MaxEquivocationSize {
		return nil, fmt.Errorf("witness: equivocation of %d bytes exceeds %d", len(b), MaxEquivocationSize)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var j equivocationJSON
	if err := dec.Decode(&j); err != nil {
		return nil, fmt.Errorf("witness: equivocation: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("witness: equivocation: trailing data")
	}
	if j.Type != EquivocationType {
		return nil, fmt.Errorf("witness: equivocation of type %q, want %q", truncate(j.Type, 64), EquivocationType)
	}
	p := &Equivocation{Kind: j.Kind, Origin: j.Origin, First: []byte(j.First), Second: []byte(j.Second)}
	if j.Kind == KindInconsistent {
		if err := decodeHash(j.PrefixRoot, &p.PrefixRoot); err != nil {
			return nil, fmt.Errorf("witness: equivocation prefix root: %w", err)
		}
		if len(j.Proof) > MaxProofHashes {
			return nil, fmt.Errorf("witness: equivocation proof of %d hashes exceeds %d", len(j.Proof), MaxProofHashes)
		}
		p.Proof = make([]merkle.Hash, len(j.Proof))
		for i, s := range j.Proof {
			if err := decodeHash(s, &p.Proof[i]); err != nil {
				return nil, fmt.Errorf("witness: equivocation proof hash %d: %w", i, err)
			}
		}
	} else if j.PrefixRoot != "" || len(j.Proof) != 0 {
		return nil, fmt.Errorf("witness: %s equivocation with a proof", truncate(j.Kind, 32))
	}
	if err := p.checkForm(); err != nil {
		return nil, err
	}
	return p, nil
}

func decodeHash(s string, h *merkle.Hash) error {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != len(h) {
		return fmt.Errorf("not base64 of %d bytes", len(h))
	}
	copy(h[:], b)
	return nil
}

// checkpoints parses both notes (no verification).
func (p *Equivocation) checkpoints() (first, second checkpoint.Checkpoint, err error) {
	for i, note := range [][]byte{p.First, p.Second} {
		n, err := checkpoint.ParseNote(note)
		if err != nil {
			return first, second, err
		}
		c, err := checkpoint.ParseCheckpoint(n.Text)
		if err != nil {
			return first, second, err
		}
		if i == 0 {
			first = c
		} else {
			second = c
		}
	}
	return first, second, nil
}

// checkForm checks everything but the signatures: both notes are
// checkpoints of Origin, and their sizes, roots and the proof are what
// Kind claims.
func (p *Equivocation) checkForm() error {
	first, second, err := p.checkpoints()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotEvidence, err)
	}
	if first.Origin != p.Origin || second.Origin != p.Origin {
		return fmt.Errorf("%w: checkpoints of %q and %q, origin %q", ErrNotEvidence, first.Origin, second.Origin, p.Origin)
	}
	switch p.Kind {
	case KindSameSize:
		if first.Size != second.Size {
			return fmt.Errorf("%w: sizes %d and %d differ", ErrNotEvidence, first.Size, second.Size)
		}
		if first.Root == second.Root {
			return fmt.Errorf("%w: same size and same root", ErrNotEvidence)
		}
		if len(p.Proof) != 0 || p.PrefixRoot != (merkle.Hash{}) {
			return fmt.Errorf("%w: %s with a proof", ErrNotEvidence, p.Kind)
		}
	case KindInconsistent:
		if first.Size == 0 || first.Size >= second.Size {
			return fmt.Errorf("%w: sizes %d and %d, want 0 < first < second", ErrNotEvidence, first.Size, second.Size)
		}
		if p.PrefixRoot == first.Root {
			return fmt.Errorf("%w: the prefix root is the first checkpoint's root", ErrNotEvidence)
		}
		if len(p.Proof) > MaxProofHashes {
			return fmt.Errorf("%w: proof of %d hashes", ErrNotEvidence, len(p.Proof))
		}
	default:
		return fmt.Errorf("%w: unknown kind %q", ErrNotEvidence, truncate(p.Kind, 32))
	}
	return nil
}

// VerifyEquivocation returns nil if and only if p proves that the origin
// whose keys are verifiers signed two inconsistent checkpoints: both notes
// carry a valid signature by every one of verifiers (a node signs with
// Ed25519 and ML-DSA-44; give both), and they are inconsistent as p's
// Kind says. Any other outcome wraps ErrNotEvidence.
func VerifyEquivocation(p *Equivocation, verifiers ...checkpoint.Verifier) error {
	if p == nil {
		return fmt.Errorf("%w: nil", ErrNotEvidence)
	}
	if len(verifiers) == 0 {
		return fmt.Errorf("%w: no origin keys given", ErrNotEvidence)
	}
	if err := p.checkForm(); err != nil {
		return err
	}
	var cps [2]checkpoint.Checkpoint
	for i, note := range [][]byte{p.First, p.Second} {
		c, n, err := checkpoint.OpenCheckpoint(note, verifiers...)
		if err != nil {
			return fmt.Errorf("%w: note %d: %v", ErrNotEvidence, i+1, err)
		}
		if missing := n.Missing(verifiers...); len(missing) > 0 {
			return fmt.Errorf("%w: note %d is not signed by %s", ErrNotEvidence, i+1, missing[0].Name())
		}
		cps[i] = c
	}
	if p.Kind == KindSameSize {
		return nil // checkForm saw equal sizes and different roots
	}
	older, newer := cps[0], cps[1]
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, older.Size, newer.Size, hashSlices(p.Proof), p.PrefixRoot[:], newer.Root[:]); err != nil {
		return fmt.Errorf("%w: the proof does not tie the prefix root to the second checkpoint: %v", ErrNotEvidence, err)
	}
	return nil
}

// ID names p by what it proves: a hash of its kind and the two
// checkpoint bodies (not the signature lines, which may differ between
// two signings of one body), so that a witness keeps one proof per pair.
func (p *Equivocation) ID() (string, error) {
	if err := p.checkForm(); err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write([]byte(p.Kind))
	for _, note := range [][]byte{p.First, p.Second} {
		n, err := checkpoint.ParseNote(note)
		if err != nil {
			return "", err
		}
		h.Write([]byte{0})
		h.Write(n.Text)
	}
	return hex.EncodeToString(h.Sum(nil)[:16]), nil
}

// inconsistencyEvidence looks for evidence in a consistency proof that
// failed between the witnessed checkpoint (held) and a newer one (got):
// if the proof, read as a proof from some tree of held.Size leaves to
// got's tree, verifies against got's signed root with a first root other
// than held's, it returns that root. When held.Size is a power of two
// the standard proof does not carry the first root, and nothing can be
// extracted.
func inconsistencyEvidence(held, got checkpoint.Checkpoint, hashes []merkle.Hash) (merkle.Hash, bool) {
	if held.Size == 0 || held.Size >= got.Size || held.Size&(held.Size-1) == 0 {
		return merkle.Hash{}, false
	}
	p := hashSlices(hashes)
	err := proof.VerifyConsistency(rfc6962.DefaultHasher, held.Size, got.Size, p, held.Root[:], got.Root[:])
	var mismatch proof.RootMismatchError
	if !errors.As(err, &mismatch) || !bytes.Equal(mismatch.ExpectedRoot, held.Root[:]) || len(mismatch.CalculatedRoot) != len(merkle.Hash{}) {
		return merkle.Hash{}, false
	}
	var prefix merkle.Hash
	copy(prefix[:], mismatch.CalculatedRoot)
	if proof.VerifyConsistency(rfc6962.DefaultHasher, held.Size, got.Size, p, prefix[:], got.Root[:]) != nil {
		return merkle.Hash{}, false
	}
	return prefix, true
}

func hashSlices(hs []merkle.Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}
