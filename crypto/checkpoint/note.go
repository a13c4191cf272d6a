package checkpoint

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Limits applied by every parser in this package.
const (
	// MaxNoteSize bounds a whole signed note, text and signatures. It
	// leaves room for the 16 signatures the spec requires verifiers to
	// accept even when they are ML-DSA-44 (about 3.3 KB each in base64).
	MaxNoteSize = 64 << 10
	// MaxSignatures bounds the number of signature lines in a note.
	MaxSignatures = 100
)

// Errors callers test for with errors.Is.
var (
	// ErrMalformed means a note, checkpoint, key or signature is not in
	// the expected format or exceeds a limit.
	ErrMalformed = errors.New("checkpoint: malformed")
	// ErrInvalidSignature means a signature from a known key did not verify.
	ErrInvalidSignature = errors.New("checkpoint: invalid signature")
	// ErrUnverified means no given verifier signed the note.
	ErrUnverified = errors.New("checkpoint: no signature from a known key")
)

// Signer signs note texts. Its method set is golang.org/x/mod/sumdb/note's.
type Signer interface {
	// Name is the key name, written on the signature line.
	Name() string
	// KeyHash is the 4-byte key ID.
	KeyHash() uint32
	// Sign returns the signature over the note text (without the key ID).
	Sign(msg []byte) ([]byte, error)
}

// Verifier verifies note signatures. Its method set is
// golang.org/x/mod/sumdb/note's.
type Verifier interface {
	Name() string
	KeyHash() uint32
	// Verify reports whether sig (without the key ID) is a valid
	// signature by this key over the note text msg.
	Verify(msg, sig []byte) bool
}

// timestamped is implemented by verifiers of timestamped cosignature types
// (0x04, 0x06), whose signatures begin with a big-endian u64 timestamp.
type timestamped interface {
	timestamped()
}

// Signature is one signature line.
type Signature struct {
	Name    string
	KeyHash uint32
	// Sig is the signature bytes after the 4-byte key ID.
	Sig []byte
	// Timestamp is the POSIX time a verified cosignature (types 0x04 and
	// 0x06) carries; zero otherwise.
	Timestamp uint64
}

// Line renders the signature line, with its final newline.
func (s Signature) Line() string {
	b := make([]byte, 4+len(s.Sig))
	binary.BigEndian.PutUint32(b, s.KeyHash)
	copy(b[4:], s.Sig)
	return "— " + s.Name + " " + base64.StdEncoding.EncodeToString(b) + "\n"
}

// Note is a parsed signed note.
type Note struct {
	// Text is the note text, including its final newline.
	Text []byte
	// Verified are the signatures of given verifiers, all verified, in
	// the order they appear (one per key).
	Verified []Signature
	// Unknown are the signatures of keys not given, unverified, in order
	// (identical lines once).
	Unknown []Signature
}

// Signed reports whether v's key signed the note (among Verified).
func (n *Note) Signed(v Verifier) bool {
	for _, s := range n.Verified {
		if s.Name == v.Name() && s.KeyHash == v.KeyHash() {
			return true
		}
	}
	return false
}

// Missing returns the verifiers among vs that did not sign the note; a
// caller that requires several keys (the node's Ed25519 and ML-DSA-44
// keys, say) checks that it is empty.
func (n *Note) Missing(vs ...Verifier) []Verifier {
	var out []Verifier
	for _, v := range vs {
		if !n.Signed(v) {
			out = append(out, v)
		}
	}
	return out
}

var sigPrefix = []byte("— ")

// ParseNote splits a signed note into its text and signature lines without
// verifying anything; every signature is returned in Unknown.
func ParseNote(note []byte) (*Note, error) {
	if len(note) > MaxNoteSize {
		return nil, fmt.Errorf("%w: note of %d bytes exceeds %d", ErrMalformed, len(note), MaxNoteSize)
	}
	if err := checkChars(note); err != nil {
		return nil, err
	}
	split := bytes.LastIndex(note, []byte("\n\n"))
	if split < 0 {
		return nil, fmt.Errorf("%w: no blank line before the signatures", ErrMalformed)
	}
	text, sigs := note[:split+1], note[split+2:]
	if len(sigs) == 0 || sigs[len(sigs)-1] != '\n' {
		return nil, fmt.Errorf("%w: no signature lines, or no final newline", ErrMalformed)
	}
	if bytes.Count(sigs, []byte("\n")) > MaxSignatures {
		return nil, fmt.Errorf("%w: more than %d signatures", ErrMalformed, MaxSignatures)
	}
	n := &Note{Text: bytes.Clone(text)}
	seen := make(map[string]bool)
	for len(sigs) > 0 {
		i := bytes.IndexByte(sigs, '\n')
		line := sigs[:i]
		sigs = sigs[i+1:]
		s, err := parseSignatureLine(line)
		if err != nil {
			return nil, err
		}
		if seen[string(line)] {
			continue
		}
		seen[string(line)] = true
		n.Unknown = append(n.Unknown, s)
	}
	return n, nil
}

// ParseSignatureLine parses one "— name base64" line, with or without its
// final newline.
func ParseSignatureLine(line []byte) (Signature, error) {
	if len(line) > MaxNoteSize {
		return Signature{}, fmt.Errorf("%w: signature line too long", ErrMalformed)
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	if err := checkChars(line); err != nil {
		return Signature{}, err
	}
	if bytes.IndexByte(line, '\n') >= 0 {
		return Signature{}, fmt.Errorf("%w: more than one line", ErrMalformed)
	}
	return parseSignatureLine(line)
}

func parseSignatureLine(line []byte) (Signature, error) {
	if !bytes.HasPrefix(line, sigPrefix) {
		return Signature{}, fmt.Errorf("%w: signature line does not start with an em dash and a space", ErrMalformed)
	}
	name, b64, ok := strings.Cut(string(line[len(sigPrefix):]), " ")
	if !ok || !validName(name) || b64 == "" {
		return Signature{}, fmt.Errorf("%w: signature line %q", ErrMalformed, line)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil || len(raw) < 5 {
		return Signature{}, fmt.Errorf("%w: signature of %s is not base64 of a key ID and a signature", ErrMalformed, name)
	}
	return Signature{Name: name, KeyHash: binary.BigEndian.Uint32(raw), Sig: raw[4:]}, nil
}

// Open parses a signed note and verifies the signatures of the given
// verifiers (see the package documentation for the rules).
func Open(note []byte, verifiers ...Verifier) (*Note, error) {
	n, err := ParseNote(note)
	if err != nil {
		return nil, err
	}
	type key struct {
		name string
		hash uint32
	}
	known := make(map[key]Verifier, len(verifiers))
	for _, v := range verifiers {
		known[key{v.Name(), v.KeyHash()}] = v
	}
	all := n.Unknown
	n.Unknown = nil
	done := make(map[key]bool)
	for _, s := range all {
		k := key{s.Name, s.KeyHash}
		v, ok := known[k]
		if !ok {
			n.Unknown = append(n.Unknown, s)
			continue
		}
		if done[k] {
			// Another line of the same key: it must verify too.
			if !v.Verify(n.Text, s.Sig) {
				return nil, fmt.Errorf("%w: repeated signature by %s+%08x", ErrInvalidSignature, s.Name, s.KeyHash)
			}
			continue
		}
		if !v.Verify(n.Text, s.Sig) {
			return nil, fmt.Errorf("%w: by %s+%08x", ErrInvalidSignature, s.Name, s.KeyHash)
		}
		done[k] = true
		if _, ok := v.(timestamped); ok {
			s.Timestamp = binary.BigEndian.Uint64(s.Sig)
		}
		n.Verified = append(n.Verified, s)
	}
	if len(n.Verified) == 0 {
		return nil, fmt.Errorf("%w (%d signatures from other keys)", ErrUnverified, len(n.Unknown))
	}
	return n, nil
}

// Sign signs text with every signer and returns the signed note. The text
// must be non-empty, valid UTF-8 without control characters but newline,
// and end in a newline.
func Sign(text []byte, signers ...Signer) ([]byte, error) {
	if err := checkText(text); err != nil {
		return nil, err
	}
	if len(signers) == 0 {
		return nil, fmt.Errorf("checkpoint: no signers")
	}
	if len(signers) > MaxSignatures {
		return nil, fmt.Errorf("%w: more than %d signers", ErrMalformed, MaxSignatures)
	}
	var b bytes.Buffer
	b.Write(text)
	b.WriteByte('\n')
	for _, s := range signers {
		if !validName(s.Name()) {
			return nil, fmt.Errorf("%w: key name %q", ErrMalformed, s.Name())
		}
		sig, err := s.Sign(text)
		if err != nil {
			return nil, fmt.Errorf("checkpoint: signing with %s: %w", s.Name(), err)
		}
		b.WriteString(Signature{Name: s.Name(), KeyHash: s.KeyHash(), Sig: sig}.Line())
	}
	if b.Len() > MaxNoteSize {
		return nil, fmt.Errorf("%w: signed note of %d bytes exceeds %d", ErrMalformed, b.Len(), MaxNoteSize)
	}
	return b.Bytes(), nil
}

// SignCheckpoint marshals c and signs it.
func SignCheckpoint(c Checkpoint, signers ...Signer) ([]byte, error) {
	text, err := c.Marshal()
	if err != nil {
		return nil, err
	}
	return Sign(text, signers...)
}

// OpenCheckpoint opens a signed note and parses its text as a checkpoint.
func OpenCheckpoint(note []byte, verifiers ...Verifier) (Checkpoint, *Note, error) {
	n, err := Open(note, verifiers...)
	if err != nil {
		return Checkpoint{}, nil, err
	}
	c, err := ParseCheckpoint(n.Text)
	if err != nil {
		return Checkpoint{}, nil, err
	}
	return c, n, nil
}

// AddSignatures returns note with the signature lines sigs appended, except
// those whose key (name and key ID) already signed it. It does not verify
// anything: the node uses it to attach witness cosignatures it has checked.
func AddSignatures(note []byte, sigs ...Signature) ([]byte, error) {
	n, err := ParseNote(note)
	if err != nil {
		return nil, err
	}
	type key struct {
		name string
		hash uint32
	}
	have := make(map[key]bool)
	for _, s := range n.Unknown {
		have[key{s.Name, s.KeyHash}] = true
	}
	out := bytes.Clone(note)
	count := len(n.Unknown)
	for _, s := range sigs {
		if !validName(s.Name) || len(s.Sig) == 0 {
			return nil, fmt.Errorf("%w: signature by %q", ErrMalformed, s.Name)
		}
		k := key{s.Name, s.KeyHash}
		if have[k] {
			continue
		}
		have[k] = true
		if count++; count > MaxSignatures {
			return nil, fmt.Errorf("%w: more than %d signatures", ErrMalformed, MaxSignatures)
		}
		out = append(out, s.Line()...)
	}
	if len(out) > MaxNoteSize {
		return nil, fmt.Errorf("%w: note of %d bytes exceeds %d", ErrMalformed, len(out), MaxNoteSize)
	}
	return out, nil
}

// Cosign returns a witness's cosignature on a checkpoint body at time t
// (POSIX seconds). The cosigner must be a timestamped type (0x04 or 0x06:
// NewEd25519Cosigner or NewMLDSA44Signer); the body must be a checkpoint.
func Cosign(body []byte, cosigner Signer, t uint64) (Signature, error) {
	ts, ok := cosigner.(interface {
		SignAt(msg []byte, t uint64) ([]byte, error)
	})
	if !ok {
		return Signature{}, fmt.Errorf("checkpoint: %s is not a cosignature key (types 0x04, 0x06)", cosigner.Name())
	}
	if _, err := ParseCheckpoint(body); err != nil {
		return Signature{}, err
	}
	if t > 1<<63-1 {
		return Signature{}, fmt.Errorf("%w: timestamp %d exceeds 2^63-1", ErrMalformed, t)
	}
	sig, err := ts.SignAt(body, t)
	if err != nil {
		return Signature{}, err
	}
	return Signature{Name: cosigner.Name(), KeyHash: cosigner.KeyHash(), Sig: sig, Timestamp: t}, nil
}

// VerifyCosignature checks that sig is v's cosignature on the checkpoint
// body and returns its timestamp. v must be a cosignature verifier (types
// 0x04 or 0x06).
func VerifyCosignature(body []byte, sig Signature, v Verifier) (uint64, error) {
	if _, ok := v.(timestamped); !ok {
		return 0, fmt.Errorf("checkpoint: %s is not a cosignature key (types 0x04, 0x06)", v.Name())
	}
	if sig.Name != v.Name() || sig.KeyHash != v.KeyHash() {
		return 0, fmt.Errorf("%w: signature by %s+%08x, want %s+%08x", ErrUnverified, sig.Name, sig.KeyHash, v.Name(), v.KeyHash())
	}
	if _, err := ParseCheckpoint(body); err != nil {
		return 0, err
	}
	if !v.Verify(body, sig.Sig) {
		return 0, fmt.Errorf("%w: cosignature by %s+%08x", ErrInvalidSignature, sig.Name, sig.KeyHash)
	}
	return binary.BigEndian.Uint64(sig.Sig), nil
}
