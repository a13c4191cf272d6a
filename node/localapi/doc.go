// Package localapi lets the commands of the vigie binary use a node that a
// running process (vigie run) holds open.
//
// A node's store can be open in one process only. While vigie run holds it,
// it also listens on a Unix socket, SocketName inside the node folder, and
// serves look-ups, assertions and retractions over HTTP/1.1 with JSON
// bodies. vigie lookup, assert, import and retract open the node directly
// when they can and otherwise Dial the socket; either way they behave the
// same.
//
// # Who may connect
//
// The socket is created with mode 0600 (bound under a temporary name,
// restricted, then renamed into place, so the umask never matters) inside
// the node folder, which node.Init creates with mode 0700. On Linux the
// server also checks the peer's credentials (SO_PEERCRED) and closes
// connections from any user other than its own. The API is local only:
// nothing listens on the network.
//
// # Wire
//
//	GET  /v1/ping      {"api":1}
//	POST /v1/lookup    node.LookupRequest     -> node.LookupResult
//	POST /v1/assert    {"requests":[node.AssertRequest...]} -> {"results":[{"indicator","assertion","duplicate","error"}...]}
//	POST /v1/retract   node.RetractRequest    -> {"retraction":CID}
//	POST /v1/roster/adopt {"roster":base64}   -> {"change":node.RosterChange}
//
// Requests and results are the node's own types in their encoding/json form
// (Go field names; CIDs as {"/":"bafy…"}); only AssertResult, whose Err is an
// error, has a wire form of its own. Request bodies must be exactly one JSON
// value with no unknown field, at most MaxRequestBody bytes; an assert call
// carries at most MaxAssertBatch requests (the client splits larger calls).
// An adopt call carries one encoded roster of at most record.MaxRosterSize
// bytes; it is served only by a backend that implements RosterAdopter
// (otherwise 501, ErrUnsupported on the client).
//
// A failure is {"error":{"code":…,"message":…}} with a matching HTTP status.
// The code names one of the node's sentinel errors (node.ErrInvalidInput,
// node.ErrMissingPurpose, node.ErrUnknownRecord, …); the client maps it back,
// so errors.Is works on the client side exactly as on a direct call, and the
// message is the node's own.
//
// # Logging
//
// The server logs the endpoint, the status and the duration of each request,
// never a body, a query string or an error message: look-up URLs must not
// reach any log.
package localapi
