package dagcbor

import (
	"errors"
	"fmt"
)

// Sentinel errors. Decode errors are *Error values wrapping one of the first
// seven; callers test them with errors.Is.
var (
	// ErrNonCanonical: valid CBOR, but not the one encoding DAG-CBOR allows
	// (over-long integer or length heads, indefinite lengths, map keys out of
	// order or repeated).
	ErrNonCanonical = errors.New("non-canonical encoding")
	// ErrUnsupported: CBOR this codec never accepts (floats, tags other than
	// 42, simple values other than true/false/null, non-text map keys, CIDv0).
	ErrUnsupported = errors.New("unsupported data item")
	// ErrMalformed: not well-formed (reserved header values, a stray break,
	// invalid UTF-8, a tag-42 payload that is not a valid CID).
	ErrMalformed = errors.New("malformed data item")
	// ErrTruncated: the input ends inside a data item.
	ErrTruncated = errors.New("unexpected end of input")
	// ErrTrailingData: bytes follow the single top-level data item.
	ErrTrailingData = errors.New("trailing data")
	// ErrTooLarge: the input, a string or a container exceeds a Limits bound.
	ErrTooLarge = errors.New("size limit exceeded")
	// ErrTooDeep: containers nest deeper than Limits.MaxDepth.
	ErrTooDeep = errors.New("nesting limit exceeded")

	// ErrInvalidValue: Encode was given a value it cannot encode canonically.
	ErrInvalidValue = errors.New("invalid value")

	// ErrWrongKind: a getter found a value of another kind than it reads.
	ErrWrongKind = errors.New("wrong kind")
	// ErrMissingField: a required map field is absent.
	ErrMissingField = errors.New("missing field")
	// ErrUnknownField: a map holds a field the reader never asked for.
	ErrUnknownField = errors.New("unknown field")
)

// Error describes why Decode refused its input and where.
type Error struct {
	Offset int    // byte offset of the offending data item's first byte
	Path   string // where in the document, e.g. members[2].signing_key; empty at top level
	Err    error  // one of the decode sentinels above
	Detail string // what exactly was wrong
}

func (e *Error) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("dagcbor: byte %d: %v: %s", e.Offset, e.Err, e.Detail)
	}
	return fmt.Sprintf("dagcbor: byte %d (in %s): %v: %s", e.Offset, e.Path, e.Err, e.Detail)
}

// Unwrap lets errors.Is match the sentinel.
func (e *Error) Unwrap() error { return e.Err }

func errAt(offset int, sentinel error, format string, args ...any) error {
	return &Error{Offset: offset, Err: sentinel, Detail: fmt.Sprintf(format, args...)}
}

// within prefixes the path of a decode error with the map key or array
// index (step) it occurred under. Paths are only built on the error path, so
// they cost nothing when decoding succeeds.
func within(err error, step string) error {
	var de *Error
	if !errors.As(err, &de) {
		return err
	}
	switch {
	case de.Path == "":
		de.Path = step
	case de.Path[0] == '[':
		de.Path = step + de.Path
	default:
		de.Path = step + "." + de.Path
	}
	return de
}
