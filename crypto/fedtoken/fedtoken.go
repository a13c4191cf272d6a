package fedtoken

import (
	"crypto"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/cloudflare/circl/group"
	"github.com/cloudflare/circl/zk/dleq"
)

// BatchSize is the number of elements in every evaluation request. A URL
// look-up expands to at most 30 expressions; padding every request to the same
// size means an issuer learns nothing from the count.
const BatchSize = 32

// Limits on the OPRF input. RFC 9497 length-prefixes the input with two bytes,
// so the whole encoding must stay below 65536 bytes; these bounds keep it there.
const (
	MaxFederationIDLen = 255
	MaxExpressionLen   = 65000
)

// MaxIssuers bounds the number of shares: share indices must be distinct
// non-zero x-coordinates, and a federation of more than 255 issuers is not a
// design goal.
const MaxIssuers = 255

// TokenSize is the length of a token: the SHA-512 output of the OPRF.
const TokenSize = 64

// Token is a federation token: the RFC 9497 ristretto255-SHA512 OPRF output
// under the federation key for one encoded Input.
type Token [TokenSize]byte

// Input is one value to tokenise. Kind separates kinds of indicator (for
// example exact URL, path prefix, host); its values are assigned by the caller
// and must be the same on every node, because they are part of the OPRF input.
type Input struct {
	Kind       byte
	Expression string
}

// Errors. Functions wrap these with %w; test with errors.Is.
var (
	// ErrBatchSize: a request or response does not have the expected number
	// of elements, or a caller passed no or too many inputs.
	ErrBatchSize = errors.New("fedtoken: wrong batch size")
	// ErrMalformed: bytes from outside do not decode (element, scalar,
	// proof, share), or decode to a forbidden value such as the identity.
	ErrMalformed = errors.New("fedtoken: malformed encoding")
	// ErrBadProof: an issuer's DLEQ proof does not verify against its share
	// public key, so its evaluation cannot be trusted.
	ErrBadProof = errors.New("fedtoken: proof does not verify")
	// ErrUnknownIssuer: a response carries a share index not in the group key.
	ErrUnknownIssuer = errors.New("fedtoken: unknown issuer")
	// ErrDuplicateIssuer: more than one response carries the same share index.
	ErrDuplicateIssuer = errors.New("fedtoken: duplicate issuer")
	// ErrNotEnoughIssuers: fewer than the threshold of responses verified.
	ErrNotEnoughIssuers = errors.New("fedtoken: not enough valid issuer responses")
	// ErrInvalidInput: a federation ID or Input is empty or too long.
	ErrInvalidInput = errors.New("fedtoken: invalid input")
	// ErrInvalidGroupKey: a GroupKey is inconsistent (see GroupKey.Validate).
	ErrInvalidGroupKey = errors.New("fedtoken: invalid group key")
	// ErrInvalidParams: threshold and total are out of range.
	ErrInvalidParams = errors.New("fedtoken: invalid threshold parameters")
)

// Suite constants. They are the RFC 9497 values for ristretto255-SHA512 in
// verifiable mode; circl keeps its own copies unexported, so they are rebuilt
// here and checked byte for byte by the RFC 9497 vector test.
// contextString = "OPRFV1-" ‖ I2OSP(mode, 1) ‖ "-" ‖ identifier, with mode
// 0x01 (verifiable).
const contextString = "OPRFV1-\x01-ristretto255-SHA512"

var (
	grp            = group.Ristretto255
	hashToGroupDST = []byte("HashToGroup-" + contextString)
	dleqParams     = dleq.Params{G: grp, H: crypto.SHA512, DST: []byte(contextString)}
)

// Labels of this package. Each is distinct from every prefix of the others,
// so no two uses can be confused.
const (
	inputLabel   = "vigie/token/v1"
	paddingLabel = "vigie/token/v1/pad"
	blindDST     = "vigie/token/v1/blind"
	nonceDST     = "vigie/token/v1/proof-nonce"
	dealDST      = "vigie/token/v1/deal"
	validateDST  = "vigie/token/v1/validate-group-key"
)

const (
	elementLen = 32 // compressed ristretto255 element
	scalarLen  = 32 // ristretto255 scalar
	proofLen   = 2 * scalarLen
)

// EncodeInput returns the OPRF input bytes for one Input in a federation:
//
//	"vigie/token/v1" ‖ 0x00 ‖ I2OSP(len(federationID), 2) ‖ federationID ‖
//	Kind ‖ I2OSP(len(Expression), 2) ‖ Expression
//
// Every node must produce these bytes exactly, so the layout is part of the
// federation protocol (see the package documentation).
func EncodeInput(federationID string, in Input) ([]byte, error) {
	if err := checkFederationID(federationID); err != nil {
		return nil, err
	}
	if len(in.Expression) == 0 || len(in.Expression) > MaxExpressionLen {
		return nil, fmt.Errorf("%w: expression length %d not in 1..%d", ErrInvalidInput, len(in.Expression), MaxExpressionLen)
	}
	out := make([]byte, 0, len(inputLabel)+1+2+len(federationID)+1+2+len(in.Expression))
	out = append(out, inputLabel...)
	out = append(out, 0x00)
	out = binary.BigEndian.AppendUint16(out, uint16(len(federationID)))
	out = append(out, federationID...)
	out = append(out, in.Kind)
	out = binary.BigEndian.AppendUint16(out, uint16(len(in.Expression)))
	out = append(out, in.Expression...)
	return out, nil
}

func checkFederationID(id string) error {
	if len(id) == 0 || len(id) > MaxFederationIDLen {
		return fmt.Errorf("%w: federation ID length %d not in 1..%d", ErrInvalidInput, len(id), MaxFederationIDLen)
	}
	return nil
}

// paddingInput returns a random dummy OPRF input. Its label differs from
// inputLabel ‖ 0x00 at byte 14, so it can never equal a real encoded input.
func paddingInput(rnd io.Reader) ([]byte, error) {
	out := make([]byte, len(paddingLabel)+1+32)
	copy(out, paddingLabel)
	if _, err := io.ReadFull(rnd, out[len(paddingLabel)+1:]); err != nil {
		return nil, fmt.Errorf("fedtoken: reading randomness: %w", err)
	}
	return out, nil
}

// randomScalar draws a non-zero scalar from rnd. circl's ristretto255
// RandomScalar ignores its reader and always uses crypto/rand; drawing from
// the caller's reader instead keeps dealing and blinding reproducible in
// deterministic simulations. 64 uniform bytes hashed to a scalar give a
// distribution statistically close to uniform. extra is hashed in as well
// (hedging: see Issuer.EvaluateWithRand).
func randomScalar(rnd io.Reader, dst string, extra ...[]byte) (group.Scalar, error) {
	for range 8 {
		buf := make([]byte, 64, 64+hedgeLen(extra))
		if _, err := io.ReadFull(rnd, buf); err != nil {
			return nil, fmt.Errorf("fedtoken: reading randomness: %w", err)
		}
		for _, e := range extra {
			buf = append(buf, e...)
		}
		s := grp.HashToScalar(buf, []byte(dst))
		if !s.IsZero() {
			return s, nil
		}
	}
	// Only a broken reader (e.g. one returning constant bytes that hash to
	// zero) gets here; a zero scalar would be unsafe to use.
	return nil, errors.New("fedtoken: randomness source keeps yielding zero scalars")
}

func hedgeLen(extra [][]byte) int {
	n := 0
	for _, e := range extra {
		n += len(e)
	}
	return n
}

// decodeElement parses a compressed, canonical, non-identity element.
func decodeElement(b []byte) (group.Element, error) {
	if len(b) != elementLen {
		return nil, fmt.Errorf("%w: element is %d bytes, want %d", ErrMalformed, len(b), elementLen)
	}
	e := grp.NewElement()
	if err := e.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("%w: element: %w", ErrMalformed, err)
	}
	if e.IsIdentity() {
		return nil, fmt.Errorf("%w: identity element", ErrMalformed)
	}
	return e, nil
}

// decodeElements parses a list of elements, naming the failing position.
func decodeElements(bs [][]byte) ([]group.Element, error) {
	out := make([]group.Element, len(bs))
	for i, b := range bs {
		e, err := decodeElement(b)
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
		out[i] = e
	}
	return out, nil
}

// decodeScalar parses a canonical non-zero scalar.
func decodeScalar(b []byte) (group.Scalar, error) {
	if len(b) != scalarLen {
		return nil, fmt.Errorf("%w: scalar is %d bytes, want %d", ErrMalformed, len(b), scalarLen)
	}
	s := grp.NewScalar()
	if err := s.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("%w: scalar: %w", ErrMalformed, err)
	}
	if s.IsZero() {
		return nil, fmt.Errorf("%w: zero scalar", ErrMalformed)
	}
	return s, nil
}

func encodeElement(e group.Element) []byte {
	b, err := e.MarshalBinaryCompress()
	if err != nil {
		// ristretto255 encoding cannot fail for a valid element.
		panic(fmt.Sprintf("fedtoken: encoding element: %v", err))
	}
	return b
}

func encodeScalar(s group.Scalar) []byte {
	b, err := s.MarshalBinary()
	if err != nil {
		panic(fmt.Sprintf("fedtoken: encoding scalar: %v", err))
	}
	return b
}

// finalizeHash is RFC 9497 Finalize's hash for the OPRF and VOPRF modes:
// SHA-512(I2OSP(len(input), 2) ‖ input ‖ I2OSP(len(element), 2) ‖ element ‖ "Finalize").
func finalizeHash(input, element []byte) Token {
	h := sha512.New()
	var l [2]byte
	binary.BigEndian.PutUint16(l[:], uint16(len(input)))
	h.Write(l[:])
	h.Write(input)
	binary.BigEndian.PutUint16(l[:], uint16(len(element)))
	h.Write(l[:])
	h.Write(element)
	h.Write([]byte("Finalize"))
	var t Token
	h.Sum(t[:0])
	return t
}
