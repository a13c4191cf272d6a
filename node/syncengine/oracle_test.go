package syncengine

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"strconv"
)

// oracle watches every message a node sends and checks it against the
// federation's sharing rule, reading the records' own bytes. It shares no
// code with the engine or with fakePolicy: if either lets a record reach a
// peer it must not reach, the oracle sees it on the wire.
//
// The rule: a record may go from node X to node Y iff it is not RED, Y is
// in its audience, and either X is its origin or it allows onward
// transfer. A record travels with a manifest that covers it and hashes to
// its own CID; a manifest never travels without a record.
type oracle struct {
	origin     map[PeerID]string // the agency of each node
	index      map[PeerID]int
	violations []string
	checked    int // records checked
}

func newOracle() *oracle {
	return &oracle{origin: map[PeerID]string{}, index: map[PeerID]int{}}
}

func (o *oracle) addNode(id PeerID, origin string, i int) {
	o.origin[id], o.index[id] = origin, i
}

func (o *oracle) failf(format string, args ...any) {
	if len(o.violations) < 20 {
		o.violations = append(o.violations, fmt.Sprintf(format, args...))
	}
}

// check inspects one Send from from.
func (o *oracle) check(from PeerID, s *Send) {
	var bundles []Bundle
	switch m := s.Msg.(type) {
	case *Push:
		bundles = m.Bundles
	case *FeedBatch:
		bundles = m.Bundles
	default:
		return
	}
	for _, b := range bundles {
		o.checkBundle(from, s.To, b)
	}
}

func (o *oracle) checkBundle(from, to PeerID, b Bundle) {
	if len(b.Records) == 0 {
		o.failf("%s→%s: manifest without records", from, to)
		return
	}
	if b.Manifest == nil {
		o.failf("%s→%s: records without manifest", from, to)
		return
	}
	if !sameHash(b.Manifest.Bytes, b.Manifest.Ref.CID.Hash()) {
		o.failf("%s→%s: manifest bytes do not match its CID", from, to)
	}
	for _, r := range b.Records {
		o.checked++
		if !sameHash(r.Bytes, r.Ref.CID.Hash()) {
			o.failf("%s→%s: record bytes do not match CID %s", from, to, r.Ref.CID)
			continue
		}
		if !bytes.Contains(b.Manifest.Bytes, []byte(r.Ref.CID.String())) {
			o.failf("%s→%s: record %s not covered by its manifest", from, to, r.Ref.CID)
		}
		if why := o.forbidden(from, to, r.Bytes); why != "" {
			o.failf("%s→%s: %s: %q", from, to, why, r.Bytes)
		}
	}
}

// forbidden returns why raw may not go from→to, or "".
func (o *oracle) forbidden(from, to PeerID, raw []byte) string {
	f := bytes.Split(raw, []byte("|"))
	if len(f) != 8 || string(f[0]) != "rec" {
		return "unreadable record"
	}
	origin := string(f[2])
	aud, err := strconv.ParseUint(string(f[4]), 16, 64)
	if err != nil {
		return "unreadable audience"
	}
	i, ok := o.index[to]
	switch {
	case !ok:
		return "destination not a member"
	case string(f[5]) == "true":
		return "TLP RED left its origin"
	case aud&(1<<i) == 0:
		return "destination outside the audience"
	case origin != o.origin[from] && string(f[6]) != "true":
		return "relayed without onward-transfer consent"
	}
	return ""
}

// sameHash reports whether mh is the sha2-256 multihash of b.
func sameHash(b []byte, mh []byte) bool {
	sum := sha256.Sum256(b)
	return len(mh) == 34 && mh[0] == 0x12 && mh[1] == 0x20 && bytes.Equal(mh[2:], sum[:])
}
