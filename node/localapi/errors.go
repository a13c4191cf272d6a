package localapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/vigie-project/vigie/node"
)

var (
	// ErrInUse means a live server already answers on the node's socket.
	ErrInUse = errors.New("localapi: a running vigie process already serves this node")
	// ErrNoServer means no server answers on the node's socket.
	ErrNoServer = errors.New("localapi: no running vigie process serves this node")
	// ErrBadRequest means the server could not read a request (malformed
	// JSON, unknown field, body too large); it is a bug or a version skew
	// between the client and the server, not bad user input.
	ErrBadRequest = errors.New("localapi: bad request")
	// ErrServer means the server failed in a way the node's errors do not
	// describe.
	ErrServer = errors.New("localapi: server error")
	// ErrUnsupported means the running process does not offer the
	// operation asked (its backend lacks it, e.g. roster adoption).
	ErrUnsupported = errors.New("localapi: the running process does not offer this operation")
)

// Error codes on the wire.
const (
	codeInvalidInput     = "invalid_input"
	codeMissingPurpose   = "missing_purpose"
	codeUnknownRecord    = "unknown_record"
	codeNotOrigin        = "not_origin"
	codeAlreadyRetracted = "already_retracted"
	codeNotInitialised   = "not_initialised"
	codeCorruptNode      = "corrupt_node"
	codeNewerFormat      = "newer_format"
	codeRejected         = "rejected"
	codeStaleRoster      = "stale_roster"
	codeRosterQuorum     = "roster_quorum"
	codeRosterGap        = "roster_gap"
	codeWrongFederation  = "wrong_federation"
	codeRemoved          = "removed_from_federation"
	codeUnsupported      = "not_implemented"
	codeCanceled         = "canceled"
	codeDeadline         = "deadline_exceeded"
	codeBadRequest       = "bad_request"
	codeTooLarge         = "too_large"
	codeNotFound         = "not_found"
	codeMethod           = "method_not_allowed"
	codeInternal         = "internal"
)

// sentinels maps each code to the error errors.Is finds on the client, and
// the HTTP status the server answers with.
var sentinels = []struct {
	code   string
	err    error
	status int
}{
	{codeInvalidInput, node.ErrInvalidInput, http.StatusBadRequest},
	{codeMissingPurpose, node.ErrMissingPurpose, http.StatusBadRequest},
	{codeUnknownRecord, node.ErrUnknownRecord, http.StatusNotFound},
	{codeNotOrigin, node.ErrNotOrigin, http.StatusForbidden},
	{codeAlreadyRetracted, node.ErrAlreadyRetracted, http.StatusConflict},
	{codeNotInitialised, node.ErrNotInitialised, http.StatusInternalServerError},
	{codeCorruptNode, node.ErrCorruptNode, http.StatusInternalServerError},
	{codeNewerFormat, node.ErrNewerFormat, http.StatusInternalServerError},
	{codeRejected, node.ErrRejected, http.StatusUnprocessableEntity},
	{codeStaleRoster, node.ErrStaleRoster, http.StatusConflict},
	{codeRosterQuorum, node.ErrRosterQuorum, http.StatusUnprocessableEntity},
	{codeRosterGap, node.ErrRosterGap, http.StatusConflict},
	{codeWrongFederation, node.ErrWrongFederation, http.StatusUnprocessableEntity},
	{codeRemoved, node.ErrRemovedFromFederation, http.StatusUnprocessableEntity},
	{codeCanceled, context.Canceled, http.StatusServiceUnavailable},
	{codeDeadline, context.DeadlineExceeded, http.StatusGatewayTimeout},
	{codeBadRequest, ErrBadRequest, http.StatusBadRequest},
	{codeTooLarge, ErrBadRequest, http.StatusRequestEntityTooLarge},
	{codeNotFound, ErrBadRequest, http.StatusNotFound},
	{codeMethod, ErrBadRequest, http.StatusMethodNotAllowed},
	{codeUnsupported, ErrUnsupported, http.StatusNotImplemented},
}

// wireError is an error as it travels.
type wireError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// encodeError gives the code of err's sentinel, its message and the status.
func encodeError(err error) (*wireError, int) {
	var we *Error
	if errors.As(err, &we) {
		// Already a wire error (a client used as a backend): pass it on.
		return &wireError{Code: we.Code, Message: we.Message}, statusOf(we.Code)
	}
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return &wireError{Code: s.code, Message: err.Error()}, s.status
		}
	}
	return &wireError{Code: codeInternal, Message: err.Error()}, http.StatusInternalServerError
}

func statusOf(code string) int {
	for _, s := range sentinels {
		if s.code == code {
			return s.status
		}
	}
	return http.StatusInternalServerError
}

// Error is an error the server returned. Its message is the server's own;
// errors.Is finds the sentinel its code names (node.ErrInvalidInput, …), or
// ErrServer for a code this client does not know.
type Error struct {
	Code    string
	Message string
	err     error
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the sentinel the code names.
func (e *Error) Unwrap() error { return e.err }

// decode turns a wire error back into an error errors.Is understands.
func (w *wireError) decode() error {
	if w == nil {
		return nil
	}
	e := &Error{Code: w.Code, Message: w.Message, err: ErrServer}
	for _, s := range sentinels {
		if s.code == w.Code {
			e.err = s.err
			break
		}
	}
	if e.Message == "" {
		e.Message = e.err.Error()
	}
	return e
}
