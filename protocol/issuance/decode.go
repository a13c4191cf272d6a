package issuance

import (
	"fmt"

	"github.com/vigie-project/vigie/crypto/fedtoken"
	"github.com/vigie-project/vigie/protocol/dagcbor"
)

// Message is one of *Request, *Response or *Refusal.
type Message interface {
	Encode() ([]byte, error)
}

// limits bound decoding to what a valid message can need.
func limits() dagcbor.Limits {
	lim := dagcbor.DefaultLimits()
	lim.MaxBytes = MaxMessageSize
	lim.MaxDepth = 3
	lim.MaxItems = fedtoken.BatchSize + 8
	lim.MaxString = MaxErrorMessageLen
	return lim
}

// Decode reads one issuance message, checking every rule Encode enforces.
func Decode(b []byte) (Message, error) {
	if len(b) > MaxMessageSize {
		return nil, fmt.Errorf("%w: message is %d bytes, at most %d", ErrInvalid, len(b), MaxMessageSize)
	}
	v, err := dagcbor.Decode(b, limits())
	if err != nil {
		return nil, fmt.Errorf("issuance: %w", err)
	}
	f := dagcbor.ReadFields(v)
	version, kind := f.Uint("v"), f.Text("type")
	if err := f.Err(); err != nil {
		return nil, fmt.Errorf("issuance: %w", err)
	}
	if version != Version {
		return nil, fmt.Errorf("%w: version %d, this build reads %d", ErrUnknownVersion, version, Version)
	}
	var m interface {
		Message
		read(*dagcbor.Fields)
		validate() error
	}
	switch kind {
	case "token-request":
		m = new(Request)
	case "token-response":
		m = new(Response)
	case "token-error":
		m = new(Refusal)
	default:
		return nil, fmt.Errorf("%w: unknown message type %q", ErrInvalid, kind)
	}
	m.read(f)
	if err := f.Done(); err != nil {
		return nil, fmt.Errorf("issuance: %s: %w", kind, err)
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return m, nil
}

func (r *Request) read(f *dagcbor.Fields) {
	r.BatchID = batchID(f)
	r.FederationID = f.Text("fed")
	r.Use = Use(f.Text("use"))
	r.Blinded = byteList(f, "blinded")
}

func (r *Response) read(f *dagcbor.Fields) {
	r.BatchID = batchID(f)
	idx := f.Uint("share")
	if idx > fedtoken.MaxIssuers {
		f.Fail("share", fmt.Errorf("%w: share index %d too large", ErrInvalid, idx))
	}
	r.Index = fedtoken.ShareIndex(idx)
	r.Evaluated = byteList(f, "evaluated")
	r.Proof = f.Bytes("proof")
}

func (r *Refusal) read(f *dagcbor.Fields) {
	r.BatchID = batchID(f)
	r.Code = ErrorCode(f.Text("code"))
	r.Message = f.Text("msg")
}

func batchID(f *dagcbor.Fields) (id [BatchIDSize]byte) {
	b := f.Bytes("batch")
	if f.Err() == nil && len(b) != BatchIDSize {
		f.Fail("batch", fmt.Errorf("%w: batch id is %d bytes, want %d", ErrInvalid, len(b), BatchIDSize))
	}
	copy(id[:], b)
	return id
}

func byteList(f *dagcbor.Fields, key string) [][]byte {
	items := f.Array(key)
	out := make([][]byte, 0, len(items))
	for i, it := range items {
		b, err := it.AsBytes()
		if err != nil {
			f.Fail(key, fmt.Errorf("item %d: %w", i, err))
			return nil
		}
		out = append(out, b)
	}
	return out
}
