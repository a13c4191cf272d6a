package hybrid

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
)

// Sizes of the encoded forms.
const (
	// PublicKeySize is the Ed25519 public key followed by the ML-DSA-65 one.
	PublicKeySize = ed25519.PublicKeySize + mldsa65.PublicKeySize
	// SignatureSize is the Ed25519 signature followed by the ML-DSA-65 one.
	SignatureSize = ed25519.SignatureSize + mldsa65.SignatureSize
	// SeedSize is the secret material a private key is derived from.
	SeedSize = ed25519.SeedSize + mldsa65.SeedSize
	// MaxContextLen bounds the context string (its length is one byte).
	MaxContextLen = 255
)

const domain = "vigie/hybrid-sig/v1"

// Errors callers test for with errors.Is.
var (
	// ErrEd25519Invalid means the Ed25519 half of a signature did not verify.
	ErrEd25519Invalid = errors.New("hybrid: Ed25519 signature half invalid")
	// ErrMLDSAInvalid means the ML-DSA-65 half of a signature did not verify.
	ErrMLDSAInvalid = errors.New("hybrid: ML-DSA-65 signature half invalid")
	// ErrMalformed means a key or signature has the wrong length or encoding.
	ErrMalformed = errors.New("hybrid: malformed key or signature")
)

// PublicKey verifies hybrid signatures.
type PublicKey struct {
	ed ed25519.PublicKey
	ml *mldsa65.PublicKey
}

// PrivateKey makes hybrid signatures.
type PrivateKey struct {
	seed [SeedSize]byte
	ed   ed25519.PrivateKey
	ml   *mldsa65.PrivateKey
	pub  *PublicKey
}

// GenerateKey creates a fresh key pair from rand.
func GenerateKey(rand io.Reader) (*PrivateKey, error) {
	var seed [SeedSize]byte
	if _, err := io.ReadFull(rand, seed[:]); err != nil {
		return nil, fmt.Errorf("hybrid: reading randomness: %w", err)
	}
	return NewKeyFromSeed(seed), nil
}

// NewKeyFromSeed derives a key pair from its seed: the Ed25519 seed followed
// by the ML-DSA-65 seed.
func NewKeyFromSeed(seed [SeedSize]byte) *PrivateKey {
	edPriv := ed25519.NewKeyFromSeed(seed[:ed25519.SeedSize])
	var mlSeed [mldsa65.SeedSize]byte
	copy(mlSeed[:], seed[ed25519.SeedSize:])
	mlPub, mlPriv := mldsa65.NewKeyFromSeed(&mlSeed)
	return &PrivateKey{
		seed: seed,
		ed:   edPriv,
		ml:   mlPriv,
		pub:  &PublicKey{ed: edPriv.Public().(ed25519.PublicKey), ml: mlPub},
	}
}

// Public returns the key's public half.
func (k *PrivateKey) Public() *PublicKey { return k.pub }

// Seed returns a copy of the secret seed the key derives from.
func (k *PrivateKey) Seed() [SeedSize]byte { return k.seed }

// Sign signs msg for the given purpose (the context). Ed25519 signing is
// deterministic; ML-DSA-65 signing is hedged with fresh randomness that circl
// draws from crypto/rand, which is why Sign takes no io.Reader.
func (k *PrivateKey) Sign(context string, msg []byte) ([]byte, error) {
	m, err := message(context, msg)
	if err != nil {
		return nil, err
	}
	sig := make([]byte, SignatureSize)
	copy(sig, ed25519.Sign(k.ed, m))
	err = mldsa65.SignTo(k.ml, m, []byte(context), true, sig[ed25519.SignatureSize:])
	clearUpperVectorState()
	if err != nil {
		return nil, fmt.Errorf("hybrid: ML-DSA-65 signing: %w", err)
	}
	return sig, nil
}

// Verify checks a hybrid signature. It returns nil only if both halves
// verify; otherwise the error wraps ErrEd25519Invalid, ErrMLDSAInvalid or
// both, or ErrMalformed.
func Verify(pub *PublicKey, context string, msg, sig []byte) error {
	if pub == nil || pub.ml == nil {
		return fmt.Errorf("%w: nil public key", ErrMalformed)
	}
	if len(sig) != SignatureSize {
		return fmt.Errorf("%w: signature is %d bytes, want %d", ErrMalformed, len(sig), SignatureSize)
	}
	m, err := message(context, msg)
	if err != nil {
		return err
	}
	var errs []error
	if !ed25519.Verify(pub.ed, m, sig[:ed25519.SignatureSize]) {
		errs = append(errs, ErrEd25519Invalid)
	}
	mlOK := mldsa65.Verify(pub.ml, m, []byte(context), sig[ed25519.SignatureSize:])
	clearUpperVectorState()
	if !mlOK {
		errs = append(errs, ErrMLDSAInvalid)
	}
	return errors.Join(errs...)
}

// message builds the domain-separated message both halves sign.
func message(context string, msg []byte) ([]byte, error) {
	if len(context) > MaxContextLen {
		return nil, fmt.Errorf("%w: context is %d bytes, at most %d", ErrMalformed, len(context), MaxContextLen)
	}
	m := make([]byte, 0, len(domain)+2+len(context)+len(msg))
	m = append(m, domain...)
	m = append(m, 0, byte(len(context)))
	m = append(m, context...)
	return append(m, msg...), nil
}

// Bytes returns the encoded public key: Ed25519 then ML-DSA-65.
func (p *PublicKey) Bytes() []byte {
	out := make([]byte, 0, PublicKeySize)
	out = append(out, p.ed...)
	return append(out, p.ml.Bytes()...)
}

// ParsePublicKey decodes a public key produced by Bytes.
func ParsePublicKey(b []byte) (*PublicKey, error) {
	if len(b) != PublicKeySize {
		return nil, fmt.Errorf("%w: public key is %d bytes, want %d", ErrMalformed, len(b), PublicKeySize)
	}
	ml := new(mldsa65.PublicKey)
	if err := ml.UnmarshalBinary(b[ed25519.PublicKeySize:]); err != nil {
		return nil, fmt.Errorf("%w: ML-DSA-65 public key: %v", ErrMalformed, err)
	}
	ed := make(ed25519.PublicKey, ed25519.PublicKeySize)
	copy(ed, b[:ed25519.PublicKeySize])
	return &PublicKey{ed: ed, ml: ml}, nil
}

// Equal reports whether p and q are the same key.
func (p *PublicKey) Equal(q *PublicKey) bool {
	if p == nil || q == nil {
		return p == q
	}
	return p.ed.Equal(q.ed) && p.ml.Equal(q.ml)
}

// KeyID is a short, stable name for a public key: the first 16 bytes of
// SHA-256 over its encoding, in hex. Rosters and manifests use it to say which
// key signed.
func (p *PublicKey) KeyID() string {
	sum := sha256.Sum256(p.Bytes())
	return hex.EncodeToString(sum[:16])
}
