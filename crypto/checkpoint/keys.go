package checkpoint

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/cloudflare/circl/sign/mldsa/mldsa44"
)

// Signature types (the byte after the key name in a key ID computation).
const (
	TypeEd25519            byte = 0x01
	TypeEd25519Cosignature byte = 0x04
	TypeMLDSA44            byte = 0x06
)

// Sizes of the signatures each type produces (after the key ID).
const (
	Ed25519SignatureSize     = ed25519.SignatureSize
	CosignatureSize          = 8 + ed25519.SignatureSize
	MLDSA44SignatureSize     = 8 + mldsa44.SignatureSize
	maxVerifierKeyLen        = 1024 + 4*(1+mldsa44.PublicKeySize)/3 + 4
	cosignatureV1Header      = "cosignature/v1\n"
	subtreeV1Label           = "subtree/v1\n\x00"
	maxTimestamp             = 1<<63 - 1
	privateKeyPrefix         = "PRIVATE+KEY+"
	mldsa44MessageOverheadUB = 12 + 1 + 255 + 8 + 1 + 255 + 8 + 8 + 32
)

// KeyHash is the C2SP key ID: SHA-256(name ‖ "\n" ‖ type ‖ public key)[:4].
func KeyHash(name string, typ byte, pub []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{'\n', typ})
	h.Write(pub)
	var sum [sha256.Size]byte
	return binary.BigEndian.Uint32(h.Sum(sum[:0]))
}

// Clock returns the current time; signers of timestamped types take one
// (nil means time.Now).
type Clock func() time.Time

func posix(c Clock) uint64 {
	var t time.Time
	if c == nil {
		t = time.Now()
	} else {
		t = c()
	}
	s := t.Unix()
	if s < 0 {
		return 0
	}
	return uint64(s)
}

// ---- Ed25519 (0x01) ----

type ed25519Signer struct {
	name string
	hash uint32
	priv ed25519.PrivateKey
}

// NewEd25519Signer returns a type 0x01 signer.
func NewEd25519Signer(name string, priv ed25519.PrivateKey) (Signer, error) {
	if !validName(name) {
		return nil, fmt.Errorf("%w: key name %q", ErrMalformed, name)
	}
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: Ed25519 private key of %d bytes", ErrMalformed, len(priv))
	}
	pub := priv.Public().(ed25519.PublicKey)
	return &ed25519Signer{name: name, hash: KeyHash(name, TypeEd25519, pub), priv: priv}, nil
}

func (s *ed25519Signer) Name() string    { return s.name }
func (s *ed25519Signer) KeyHash() uint32 { return s.hash }
func (s *ed25519Signer) Sign(msg []byte) ([]byte, error) {
	return ed25519.Sign(s.priv, msg), nil
}
func (s *ed25519Signer) Verifier() Verifier {
	v, _ := NewEd25519Verifier(s.name, s.priv.Public().(ed25519.PublicKey))
	return v
}
func (s *ed25519Signer) privateKey() (byte, []byte) { return TypeEd25519, s.priv.Seed() }

type ed25519Verifier struct {
	name string
	hash uint32
	pub  ed25519.PublicKey
}

// NewEd25519Verifier returns the verifier of a type 0x01 key.
func NewEd25519Verifier(name string, pub ed25519.PublicKey) (Verifier, error) {
	if !validName(name) {
		return nil, fmt.Errorf("%w: key name %q", ErrMalformed, name)
	}
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: Ed25519 public key of %d bytes", ErrMalformed, len(pub))
	}
	return &ed25519Verifier{name: name, hash: KeyHash(name, TypeEd25519, pub), pub: pub}, nil
}

func (v *ed25519Verifier) Name() string    { return v.name }
func (v *ed25519Verifier) KeyHash() uint32 { return v.hash }
func (v *ed25519Verifier) Verify(msg, sig []byte) bool {
	return len(sig) == ed25519.SignatureSize && ed25519.Verify(v.pub, msg, sig)
}
func (v *ed25519Verifier) publicKey() (byte, []byte) { return TypeEd25519, v.pub }

// ---- Ed25519 cosignature (0x04) ----

type cosigner struct {
	name  string
	hash  uint32
	priv  ed25519.PrivateKey
	clock Clock
}

// NewEd25519Cosigner returns a type 0x04 (tlog-cosignature/v1) signer. Its
// Sign stamps the time from clock (nil: time.Now); Cosign takes the time
// explicitly.
func NewEd25519Cosigner(name string, priv ed25519.PrivateKey, clock Clock) (Signer, error) {
	if !validName(name) {
		return nil, fmt.Errorf("%w: key name %q", ErrMalformed, name)
	}
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: Ed25519 private key of %d bytes", ErrMalformed, len(priv))
	}
	pub := priv.Public().(ed25519.PublicKey)
	return &cosigner{name: name, hash: KeyHash(name, TypeEd25519Cosignature, pub), priv: priv, clock: clock}, nil
}

func (s *cosigner) Name() string    { return s.name }
func (s *cosigner) KeyHash() uint32 { return s.hash }
func (s *cosigner) Sign(msg []byte) ([]byte, error) {
	return s.SignAt(msg, posix(s.clock))
}

// SignAt signs "cosignature/v1\ntime <t>\n" ‖ msg.
func (s *cosigner) SignAt(msg []byte, t uint64) ([]byte, error) {
	if t > maxTimestamp {
		return nil, fmt.Errorf("%w: timestamp %d", ErrMalformed, t)
	}
	out := make([]byte, 8, CosignatureSize)
	binary.BigEndian.PutUint64(out, t)
	return append(out, ed25519.Sign(s.priv, cosignatureV1Message(msg, t))...), nil
}
func (s *cosigner) Verifier() Verifier {
	v, _ := NewEd25519CosignatureVerifier(s.name, s.priv.Public().(ed25519.PublicKey))
	return v
}
func (s *cosigner) privateKey() (byte, []byte) { return TypeEd25519Cosignature, s.priv.Seed() }

func cosignatureV1Message(body []byte, t uint64) []byte {
	m := make([]byte, 0, len(cosignatureV1Header)+26+len(body))
	m = append(m, cosignatureV1Header...)
	m = append(m, "time "...)
	m = strconv.AppendUint(m, t, 10)
	m = append(m, '\n')
	return append(m, body...)
}

type cosignatureVerifier struct {
	name string
	hash uint32
	pub  ed25519.PublicKey
}

// NewEd25519CosignatureVerifier returns the verifier of a type 0x04 key.
func NewEd25519CosignatureVerifier(name string, pub ed25519.PublicKey) (Verifier, error) {
	if !validName(name) {
		return nil, fmt.Errorf("%w: key name %q", ErrMalformed, name)
	}
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: Ed25519 public key of %d bytes", ErrMalformed, len(pub))
	}
	return &cosignatureVerifier{name: name, hash: KeyHash(name, TypeEd25519Cosignature, pub), pub: pub}, nil
}

func (v *cosignatureVerifier) Name() string    { return v.name }
func (v *cosignatureVerifier) KeyHash() uint32 { return v.hash }
func (v *cosignatureVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != CosignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig)
	if t > maxTimestamp {
		return false
	}
	return ed25519.Verify(v.pub, cosignatureV1Message(msg, t), sig[8:])
}
func (v *cosignatureVerifier) timestamped()              {}
func (v *cosignatureVerifier) publicKey() (byte, []byte) { return TypeEd25519Cosignature, v.pub }

// ---- ML-DSA-44 (0x06, subtree/v1) ----

type mldsaSigner struct {
	name  string
	hash  uint32
	priv  *mldsa44.PrivateKey
	clock Clock
}

// NewMLDSA44Signer returns a type 0x06 signer: the node's post-quantum
// checkpoint signature, and a witness's ML-DSA-44 cosignature. It signs
// only checkpoint bodies. Sign stamps the time from clock (nil: time.Now).
func NewMLDSA44Signer(name string, priv *mldsa44.PrivateKey, clock Clock) (Signer, error) {
	if !validName(name) || len(name) > 255 {
		return nil, fmt.Errorf("%w: key name %q", ErrMalformed, name)
	}
	if priv == nil {
		return nil, fmt.Errorf("%w: nil ML-DSA-44 key", ErrMalformed)
	}
	pub := priv.Public().(*mldsa44.PublicKey).Bytes()
	return &mldsaSigner{name: name, hash: KeyHash(name, TypeMLDSA44, pub), priv: priv, clock: clock}, nil
}

func (s *mldsaSigner) Name() string    { return s.name }
func (s *mldsaSigner) KeyHash() uint32 { return s.hash }
func (s *mldsaSigner) Sign(msg []byte) ([]byte, error) {
	return s.SignAt(msg, posix(s.clock))
}

// SignAt signs the subtree/v1 message for the checkpoint msg at time t.
func (s *mldsaSigner) SignAt(msg []byte, t uint64) ([]byte, error) {
	if t > maxTimestamp {
		return nil, fmt.Errorf("%w: timestamp %d", ErrMalformed, t)
	}
	c, err := ParseCheckpoint(msg)
	if err != nil {
		return nil, fmt.Errorf("ML-DSA-44 (0x06) signs checkpoints only: %w", err)
	}
	m, err := subtreeV1Message(s.name, t, c)
	if err != nil {
		return nil, err
	}
	out := make([]byte, MLDSA44SignatureSize)
	binary.BigEndian.PutUint64(out, t)
	if err := mldsa44.SignTo(s.priv, m, nil, true, out[8:]); err != nil {
		return nil, err
	}
	return out, nil
}
func (s *mldsaSigner) Verifier() Verifier {
	v, _ := NewMLDSA44Verifier(s.name, s.priv.Public().(*mldsa44.PublicKey))
	return v
}
func (s *mldsaSigner) privateKey() (byte, []byte) { return TypeMLDSA44, s.priv.Seed() }

// subtreeV1Message is the TLS-encoded cosigned_message of tlog-cosignature
// for a whole checkpoint (start 0, end size).
func subtreeV1Message(name string, t uint64, c Checkpoint) ([]byte, error) {
	if len(name) == 0 || len(name) > 255 || len(c.Origin) == 0 || len(c.Origin) > 255 {
		return nil, fmt.Errorf("%w: name or origin longer than 255 bytes", ErrMalformed)
	}
	m := make([]byte, 0, mldsa44MessageOverheadUB)
	m = append(m, subtreeV1Label...)
	m = append(m, byte(len(name)))
	m = append(m, name...)
	m = binary.BigEndian.AppendUint64(m, t)
	m = append(m, byte(len(c.Origin)))
	m = append(m, c.Origin...)
	m = binary.BigEndian.AppendUint64(m, 0)
	m = binary.BigEndian.AppendUint64(m, c.Size)
	return append(m, c.Root[:]...), nil
}

type mldsaVerifier struct {
	name string
	hash uint32
	pub  *mldsa44.PublicKey
}

// NewMLDSA44Verifier returns the verifier of a type 0x06 key.
func NewMLDSA44Verifier(name string, pub *mldsa44.PublicKey) (Verifier, error) {
	if !validName(name) || len(name) > 255 {
		return nil, fmt.Errorf("%w: key name %q", ErrMalformed, name)
	}
	if pub == nil {
		return nil, fmt.Errorf("%w: nil ML-DSA-44 key", ErrMalformed)
	}
	return &mldsaVerifier{name: name, hash: KeyHash(name, TypeMLDSA44, pub.Bytes()), pub: pub}, nil
}

func (v *mldsaVerifier) Name() string    { return v.name }
func (v *mldsaVerifier) KeyHash() uint32 { return v.hash }
func (v *mldsaVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != MLDSA44SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig)
	if t > maxTimestamp {
		return false
	}
	c, err := ParseCheckpoint(msg)
	if err != nil {
		return false
	}
	m, err := subtreeV1Message(v.name, t, c)
	if err != nil {
		return false
	}
	return mldsa44.Verify(v.pub, m, nil, sig[8:])
}
func (v *mldsaVerifier) timestamped()              {}
func (v *mldsaVerifier) publicKey() (byte, []byte) { return TypeMLDSA44, v.pub.Bytes() }

// ---- key encodings ----

// GenerateKey creates a key of the given type (TypeEd25519,
// TypeEd25519Cosignature or TypeMLDSA44) named name, from rand, and returns
// its private key string (for NewSigner; keep it secret) and its verifier
// key (for NewVerifier).
func GenerateKey(rand io.Reader, typ byte, name string) (skey, vkey string, err error) {
	var seed [32]byte
	if _, err := io.ReadFull(rand, seed[:]); err != nil {
		return "", "", fmt.Errorf("checkpoint: reading randomness: %w", err)
	}
	s, err := newSignerFromSeed(typ, name, seed[:], nil)
	if err != nil {
		return "", "", err
	}
	skey = privateKeyPrefix + name + "+" + fmt.Sprintf("%08x", s.KeyHash()) + "+" +
		base64.StdEncoding.EncodeToString(append([]byte{typ}, seed[:]...))
	vkey, err = VerifierKey(s.(interface{ Verifier() Verifier }).Verifier())
	return skey, vkey, err
}

// SignerKey encodes a signer made by this package as a private key string.
func SignerKey(s Signer) (string, error) {
	p, ok := s.(interface{ privateKey() (byte, []byte) })
	if !ok {
		return "", fmt.Errorf("checkpoint: signer %s was not made by this package", s.Name())
	}
	typ, seed := p.privateKey()
	return privateKeyPrefix + s.Name() + "+" + fmt.Sprintf("%08x", s.KeyHash()) + "+" +
		base64.StdEncoding.EncodeToString(append([]byte{typ}, seed...)), nil
}

// SignerVerifier returns the verifier of a signer made by this package.
func SignerVerifier(s Signer) (Verifier, error) {
	p, ok := s.(interface{ Verifier() Verifier })
	if !ok {
		return nil, fmt.Errorf("checkpoint: signer %s was not made by this package", s.Name())
	}
	return p.Verifier(), nil
}

func newSignerFromSeed(typ byte, name string, seed []byte, clock Clock) (Signer, error) {
	if len(seed) != 32 {
		return nil, fmt.Errorf("%w: seed of %d bytes", ErrMalformed, len(seed))
	}
	switch typ {
	case TypeEd25519:
		return NewEd25519Signer(name, ed25519.NewKeyFromSeed(seed))
	case TypeEd25519Cosignature:
		return NewEd25519Cosigner(name, ed25519.NewKeyFromSeed(seed), clock)
	case TypeMLDSA44:
		var s [mldsa44.SeedSize]byte
		copy(s[:], seed)
		_, priv := mldsa44.NewKeyFromSeed(&s)
		return NewMLDSA44Signer(name, priv, clock)
	default:
		return nil, fmt.Errorf("%w: unknown signature type 0x%02x", ErrMalformed, typ)
	}
}

// NewSigner parses a private key string made by GenerateKey or SignerKey
// (for Ed25519 also by golang.org/x/mod/sumdb/note.GenerateKey). clock is
// used by timestamped types (nil: time.Now).
func NewSigner(skey string, clock Clock) (Signer, error) {
	rest, ok := strings.CutPrefix(skey, privateKeyPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: private key does not start with %s", ErrMalformed, privateKeyPrefix)
	}
	name, hash, key, err := splitKey(rest)
	if err != nil {
		return nil, err
	}
	s, err := newSignerFromSeed(key[0], name, key[1:], clock)
	if err != nil {
		return nil, err
	}
	if s.KeyHash() != hash {
		return nil, fmt.Errorf("%w: private key %s has key ID %08x, want %08x", ErrMalformed, name, hash, s.KeyHash())
	}
	return s, nil
}

// NewVerifier parses a verifier key "<name>+<hash>+<base64(type ‖ key)>"
// of type 0x01, 0x04 or 0x06.
func NewVerifier(vkey string) (Verifier, error) {
	if len(vkey) > maxVerifierKeyLen {
		return nil, fmt.Errorf("%w: verifier key too long", ErrMalformed)
	}
	name, hash, key, err := splitKey(vkey)
	if err != nil {
		return nil, err
	}
	var v Verifier
	switch typ, pub := key[0], key[1:]; typ {
	case TypeEd25519:
		v, err = NewEd25519Verifier(name, pub)
	case TypeEd25519Cosignature:
		v, err = NewEd25519CosignatureVerifier(name, pub)
	case TypeMLDSA44:
		if len(pub) != mldsa44.PublicKeySize {
			return nil, fmt.Errorf("%w: ML-DSA-44 public key of %d bytes", ErrMalformed, len(pub))
		}
		var pk mldsa44.PublicKey
		if err := pk.UnmarshalBinary(pub); err != nil {
			return nil, fmt.Errorf("%w: ML-DSA-44 public key: %v", ErrMalformed, err)
		}
		v, err = NewMLDSA44Verifier(name, &pk)
	default:
		return nil, fmt.Errorf("%w: unknown signature type 0x%02x", ErrMalformed, typ)
	}
	if err != nil {
		return nil, err
	}
	if v.KeyHash() != hash {
		return nil, fmt.Errorf("%w: verifier key %s has key ID %08x, want %08x", ErrMalformed, name, hash, v.KeyHash())
	}
	return v, nil
}

// NewVerifiers parses several verifier keys.
func NewVerifiers(vkeys ...string) ([]Verifier, error) {
	vs := make([]Verifier, 0, len(vkeys))
	for _, k := range vkeys {
		v, err := NewVerifier(k)
		if err != nil {
			return nil, err
		}
		vs = append(vs, v)
	}
	return vs, nil
}

// VerifierKey encodes a verifier made by this package as a verifier key.
func VerifierKey(v Verifier) (string, error) {
	p, ok := v.(interface{ publicKey() (byte, []byte) })
	if !ok {
		return "", fmt.Errorf("checkpoint: verifier %s was not made by this package", v.Name())
	}
	typ, pub := p.publicKey()
	return v.Name() + "+" + fmt.Sprintf("%08x", v.KeyHash()) + "+" +
		base64.StdEncoding.EncodeToString(append([]byte{typ}, pub...)), nil
}

// splitKey splits "<name>+<8 hex>+<base64>" with at least one key byte.
func splitKey(s string) (name string, hash uint32, key []byte, err error) {
	name, rest, ok1 := strings.Cut(s, "+")
	h, b64, ok2 := strings.Cut(rest, "+")
	if !ok1 || !ok2 || !validName(name) || len(h) != 8 {
		return "", 0, nil, fmt.Errorf("%w: key is not <name>+<hash>+<key>", ErrMalformed)
	}
	n, err := strconv.ParseUint(h, 16, 32)
	if err != nil {
		return "", 0, nil, fmt.Errorf("%w: key hash %q", ErrMalformed, h)
	}
	key, err = base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil || len(key) < 2 {
		return "", 0, nil, fmt.Errorf("%w: key data is not base64 of a type and a key", ErrMalformed)
	}
	return name, uint32(n), key, nil
}
