package issuance

import (
	"errors"
	"fmt"

	"github.com/vigie-project/vigie/crypto/fedtoken"
	"github.com/vigie-project/vigie/protocol/dagcbor"
)

// Version is the message format this package writes and reads.
const Version = 1

// ElementSize is the size of a blinded or evaluated ristretto255 element.
const ElementSize = 32

// ProofSize is the size of a batched DLEQ proof (two scalars).
const ProofSize = 64

// MaxMessageSize bounds every issuance message on the wire. A full request is
// about 1.2 KiB; the rest is headroom for an error message.
const MaxMessageSize = 4096

// MaxErrorMessageLen bounds the human-readable part of an error response.
const MaxErrorMessageLen = 512

// BatchIDSize is the size of the random batch identifier that lets both
// sides' audit logs refer to the same batch.
const BatchIDSize = 16

// Use says what the requesting node needs tokens for.
type Use string

// The uses an issuer may see and rate-limit separately.
const (
	UseLookup Use = "lookup" // a liaison officer's look-up
	UseAssert Use = "assert" // the node's own new assertion(s)
	UseImport Use = "import" // a bulk import
)

func (u Use) valid() bool { return u == UseLookup || u == UseAssert || u == UseImport }

// ErrorCode says why an issuer refused a batch.
type ErrorCode string

// The refusal reasons.
const (
	CodeRateLimited ErrorCode = "rate_limited" // the peer's daily budget is spent
	CodeBadRequest  ErrorCode = "bad_request"  // the request did not decode or had bad elements
	CodeNotIssuer   ErrorCode = "not_issuer"   // this node holds no share for that federation
	CodeForbidden   ErrorCode = "forbidden"    // the peer may not request tokens (policy)
	CodeInternal    ErrorCode = "internal"     // the issuer failed; try another
)

func (c ErrorCode) valid() bool {
	switch c {
	case CodeRateLimited, CodeBadRequest, CodeNotIssuer, CodeForbidden, CodeInternal:
		return true
	}
	return false
}

// Errors callers test for.
var (
	// ErrInvalid means a message decoded but breaks a rule of this package.
	ErrInvalid = errors.New("issuance: invalid message")
	// ErrUnknownVersion means the message has a version this build does not read.
	ErrUnknownVersion = errors.New("issuance: unknown message version")
)

// Request asks an issuer to evaluate a batch.
type Request struct {
	BatchID      [BatchIDSize]byte
	FederationID string
	Use          Use
	Blinded      [][]byte // exactly fedtoken.BatchSize elements of ElementSize bytes
}

// Response carries one issuer's evaluation of a batch.
type Response struct {
	BatchID   [BatchIDSize]byte
	Index     fedtoken.ShareIndex
	Evaluated [][]byte // exactly fedtoken.BatchSize elements of ElementSize bytes
	Proof     []byte   // ProofSize bytes
}

// Refusal is an issuer's "no", with a reason.
type Refusal struct {
	BatchID [BatchIDSize]byte
	Code    ErrorCode
	Message string
}

// ForClient converts a response into what the token client verifies.
func (r *Response) ForClient() fedtoken.Response {
	return fedtoken.Response{Index: r.Index, Evaluated: r.Evaluated, Proof: r.Proof}
}

// Encode writes the request in its wire form.
func (r *Request) Encode() ([]byte, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	return dagcbor.Encode(dagcbor.Map(
		dagcbor.Entry{Key: "v", Value: dagcbor.Uint(Version)},
		dagcbor.Entry{Key: "type", Value: dagcbor.Text("token-request")},
		dagcbor.Entry{Key: "batch", Value: dagcbor.Bytes(r.BatchID[:])},
		dagcbor.Entry{Key: "fed", Value: dagcbor.Text(r.FederationID)},
		dagcbor.Entry{Key: "use", Value: dagcbor.Text(string(r.Use))},
		dagcbor.Entry{Key: "blinded", Value: bytesList(r.Blinded)},
	))
}

// Encode writes the response in its wire form.
func (r *Response) Encode() ([]byte, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	return dagcbor.Encode(dagcbor.Map(
		dagcbor.Entry{Key: "v", Value: dagcbor.Uint(Version)},
		dagcbor.Entry{Key: "type", Value: dagcbor.Text("token-response")},
		dagcbor.Entry{Key: "batch", Value: dagcbor.Bytes(r.BatchID[:])},
		dagcbor.Entry{Key: "share", Value: dagcbor.Uint(uint64(r.Index))},
		dagcbor.Entry{Key: "evaluated", Value: bytesList(r.Evaluated)},
		dagcbor.Entry{Key: "proof", Value: dagcbor.Bytes(r.Proof)},
	))
}

// Encode writes the refusal in its wire form.
func (r *Refusal) Encode() ([]byte, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	return dagcbor.Encode(dagcbor.Map(
		dagcbor.Entry{Key: "v", Value: dagcbor.Uint(Version)},
		dagcbor.Entry{Key: "type", Value: dagcbor.Text("token-error")},
		dagcbor.Entry{Key: "batch", Value: dagcbor.Bytes(r.BatchID[:])},
		dagcbor.Entry{Key: "code", Value: dagcbor.Text(string(r.Code))},
		dagcbor.Entry{Key: "msg", Value: dagcbor.Text(r.Message)},
	))
}

// Error makes a refusal usable as an error on the client side.
func (r *Refusal) Error() string {
	return fmt.Sprintf("issuer refused the batch: %s: %s", r.Code, r.Message)
}

func bytesList(bs [][]byte) dagcbor.Value {
	items := make([]dagcbor.Value, len(bs))
	for i, b := range bs {
		items[i] = dagcbor.Bytes(b)
	}
	return dagcbor.Array(items...)
}

func (r *Request) validate() error {
	if !r.Use.valid() {
		return fmt.Errorf("%w: unknown use %q", ErrInvalid, r.Use)
	}
	if r.FederationID == "" || len(r.FederationID) > fedtoken.MaxFederationIDLen {
		return fmt.Errorf("%w: federation id must be 1 to %d bytes", ErrInvalid, fedtoken.MaxFederationIDLen)
	}
	return checkElements("blinded", r.Blinded)
}

func (r *Response) validate() error {
	if r.Index == 0 || int(r.Index) > fedtoken.MaxIssuers {
		return fmt.Errorf("%w: share index %d outside 1..%d", ErrInvalid, r.Index, fedtoken.MaxIssuers)
	}
	if len(r.Proof) != ProofSize {
		return fmt.Errorf("%w: proof is %d bytes, want %d", ErrInvalid, len(r.Proof), ProofSize)
	}
	return checkElements("evaluated", r.Evaluated)
}

func (r *Refusal) validate() error {
	if !r.Code.valid() {
		return fmt.Errorf("%w: unknown error code %q", ErrInvalid, r.Code)
	}
	if len(r.Message) > MaxErrorMessageLen {
		return fmt.Errorf("%w: error message is %d bytes, at most %d", ErrInvalid, len(r.Message), MaxErrorMessageLen)
	}
	return nil
}

func checkElements(field string, elems [][]byte) error {
	if len(elems) != fedtoken.BatchSize {
		return fmt.Errorf("%w: %s has %d elements, want exactly %d", ErrInvalid, field, len(elems), fedtoken.BatchSize)
	}
	for i, e := range elems {
		if len(e) != ElementSize {
			return fmt.Errorf("%w: %s[%d] is %d bytes, want %d", ErrInvalid, field, i, len(e), ElementSize)
		}
	}
	return nil
}
