package localapi

import (
	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/node"
)

// apiVersion is what /v1/ping answers; a client checks it.
const apiVersion = 1

// Routes.
const (
	routePing    = "/v1/ping"
	routeLookup  = "/v1/lookup"
	routeAssert  = "/v1/assert"
	routeRetract = "/v1/retract"
	routeAdopt   = "/v1/roster/adopt"
)

type pingReply struct {
	API   int        `json:"api"`
	Error *wireError `json:"error,omitempty"`
}

// lookupReply is a node.LookupResult, or an error.
type lookupReply struct {
	node.LookupResult
	Error *wireError `json:"error,omitempty"`
}

type assertCall struct {
	Requests []node.AssertRequest `json:"requests"`
}

type assertReply struct {
	Results []assertResult `json:"results"`
	Error   *wireError     `json:"error,omitempty"`
}

// assertResult is node.AssertResult on the wire: Err becomes an error code
// and message.
type assertResult struct {
	Indicator cid.Cid    `json:"indicator"`
	Assertion cid.Cid    `json:"assertion"`
	Duplicate bool       `json:"duplicate,omitempty"`
	Error     *wireError `json:"error,omitempty"`
}

// retractReply carries the retraction's CID; with an "already retracted"
// error it is the earlier retraction, as node.Retract returns it.
type retractReply struct {
	Retraction cid.Cid    `json:"retraction"`
	Error      *wireError `json:"error,omitempty"`
}

// adoptCall carries an encoded roster (base64 in JSON).
type adoptCall struct {
	Roster []byte `json:"roster"`
}

// adoptReply is what the roster version adopted changes, or an error, or
// both when the node adopted the version but the running process could
// not apply all of it (node.RosterChange in its encoding/json form).
type adoptReply struct {
	Change *node.RosterChange `json:"change,omitempty"`
	Error  *wireError         `json:"error,omitempty"`
}

func toWire(r node.AssertResult) assertResult {
	w := assertResult{Indicator: r.Indicator, Assertion: r.Assertion, Duplicate: r.Duplicate}
	if r.Err != nil {
		w.Error, _ = encodeError(r.Err)
	}
	return w
}

func fromWire(w assertResult) node.AssertResult {
	return node.AssertResult{Indicator: w.Indicator, Assertion: w.Assertion, Duplicate: w.Duplicate, Err: w.Error.decode()}
}
