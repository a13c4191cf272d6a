package simulations

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/node/syncengine"
)

// oracle checks a run from the outside. It shares no code with the
// engine, the simulated node or the simulated policy: it reads records'
// own bytes with its own parser, verifies manifests with the roster's
// keys itself, and applies its own copy of the baseline rule. It checks:
//
//   - every message an honest node sends (Push, FeedBatch): nothing the
//     sender's rule forbids for that hop (shareWhy), every record with a
//     manifest that covers it and hashes right, never a bare manifest;
//   - every cursor a node persists: it never passes a record of the
//     peer's own that the hop from the peer allows (hopWhy) and the node
//     does not hold (the feed would skip it for good);
//   - at the end, every honest node's store: nothing invalid or
//     outside the record's reach (see reach), nothing missing that is
//     within it (a lost record), and no assertion still live whose origin
//     retracted it.
type oracle struct {
	s          *sim
	violations int
	first      []string
	lost       int
	parsed     map[cid.Cid]*oracleRecord
	hashed     map[*byte]hashedBytes // bytes already hashed (see sim.checkRecord)
	covered    map[*byte]map[string]bool
	byOrigin   map[string]*node
	issued     []*oracleRecord
	checked    int          // records checked on the wire
	cedar      *oracleCedar // nil unless Options.Cedar
	adj        [][]int      // node.i → the indexes of the nodes it connects to (see reach)
}

// oracleRecord is what the oracle reads from a record's bytes.
type oracleRecord struct {
	cid          cid.Cid
	kind         string // "1" assertion, "2" retraction
	origin       string
	tlp          string
	onward       string
	target       string
	targetOrigin string
	retracted    *oracleRecord // for issued assertions: its origin's retraction
	pad          []byte        // the padding field, where Cedar facts are (see oracle_cedar.go)
	cedar        *oracleVerdicts
	must, may    []bool // by node.i, once computed: see reach
}

const maxViolationNotes = 12

func newOracle(s *sim) *oracle {
	o := &oracle{s: s, parsed: map[cid.Cid]*oracleRecord{}, byOrigin: map[string]*node{}, hashed: map[*byte]hashedBytes{}, covered: map[*byte]map[string]bool{}}
	for _, n := range s.nodes {
		o.byOrigin[n.origin] = n
	}
	return o
}

func (o *oracle) failf(format string, args ...any) {
	o.violations++
	if len(o.first) < maxViolationNotes {
		o.first = append(o.first, fmt.Sprintf("t=%dms ", o.s.now/1e6)+fmt.Sprintf(format, args...))
	}
}

// read parses raw, which must hash to c.
func (o *oracle) read(raw []byte) *oracleRecord {
	f := bytes.SplitN(raw, []byte("|"), 10)
	if len(f) != 10 || string(f[0]) != "rec" {
		return nil
	}
	return &oracleRecord{kind: string(f[1]), origin: string(f[2]), tlp: string(f[4]), onward: string(f[5]), target: string(f[7]), targetOrigin: string(f[8]), pad: f[9]}
}

// readCID parses the record stored under c, caching.
func (o *oracle) readCID(c cid.Cid, raw []byte) *oracleRecord {
	if r, ok := o.parsed[c]; ok {
		return r
	}
	r := o.read(raw)
	if r != nil {
		r.cid = c
		o.parsed[c] = r
	}
	return r
}

// issue learns of a record an honest origin acknowledged.
func (o *oracle) issue(c cid.Cid, raw []byte) {
	r := o.readCID(c, raw)
	if r == nil {
		o.failf("origin issued an unreadable record %s", c)
		return
	}
	o.issued = append(o.issued, r)
	if r.kind == "2" {
		if tc, err := cid.Decode(r.target); err == nil {
			if t := o.parsed[tc]; t != nil && t.origin == r.origin {
				t.retracted = r
			}
		}
	}
}

// forbidden is the baseline rule, the oracle's own copy: why raw may not
// go from holder to to, or "".
func forbidden(holder, to string, r *oracleRecord) string {
	switch {
	case r == nil:
		return "unreadable record"
	case to == holder:
		return "sent to itself"
	case r.kind == "2":
		return "" // retractions are never withheld
	case r.kind != "1":
		return "unknown kind"
	case r.tlp == "red":
		return "TLP:RED left its origin"
	case r.origin != holder && r.onward != "granted":
		return "relayed without onward-transfer consent"
	case r.origin != holder && r.tlp == "amber+strict":
		return "relayed TLP:AMBER+STRICT"
	}
	return ""
}

// checkSend inspects one message an honest node sends.
func (o *oracle) checkSend(from, to *node, m syncengine.Msg) {
	var bundles []syncengine.Bundle
	switch m := m.(type) {
	case *syncengine.Push:
		bundles = m.Bundles
	case *syncengine.FeedBatch:
		bundles = m.Bundles
	default:
		return
	}
	for _, b := range bundles {
		if len(b.Records) == 0 {
			o.failf("%s→%s: a manifest without records", from.origin, to.origin)
			continue
		}
		if b.Manifest == nil {
			o.failf("%s→%s: records without their manifest", from.origin, to.origin)
			continue
		}
		if !o.sameHash(b.Manifest.Bytes, b.Manifest.Ref.CID) {
			o.failf("%s→%s: manifest bytes do not match its CID", from.origin, to.origin)
		}
		covers := o.covers(b.Manifest.Bytes)
		for _, r := range b.Records {
			o.checked++
			if !o.sameHash(r.Bytes, r.Ref.CID) {
				o.failf("%s→%s: record bytes do not match CID %s", from.origin, to.origin, r.Ref.CID)
				continue
			}
			if !covers[r.Ref.CID.String()] {
				o.failf("%s→%s: record %s not covered by its manifest", from.origin, to.origin, r.Ref.CID)
			}
			if why := o.shareWhy(o.readCID(r.Ref.CID, r.Bytes), from, to); why != "" {
				o.failf("%s→%s: %s (record %s)", from.origin, to.origin, why, r.Ref.CID)
			}
		}
	}
}

// checkCursor checks a cursor n is about to persist for peer: every
// record of peer's own log up to it that n may hold from peer (the hop's
// accept included: a record n refuses is rightly passed) is stored at n.
func (o *oracle) checkCursor(n *node, peer syncengine.PeerID, c syncengine.Cursor) {
	z := o.s.byID[peer]
	if z == nil || !n.honest() || !z.honest() {
		return
	}
	if z.store.epoch != c.Epoch {
		return
	}
	mark := n.checked[peer]
	from := mark.After
	if mark.Epoch != c.Epoch {
		from = 0
	}
	own := z.store.own
	i, _ := slices.BinarySearch(own, from+1)
	for ; i < len(own) && own[i] <= c.After; i++ {
		e := &z.store.entries[own[i]-1]
		r := o.readCID(e.Record.Ref.CID, e.Record.Bytes)
		if o.hopWhy(r, z, n) == "" && !n.store.has(e.Record.Ref.CID) {
			o.failf("%s: cursor for %s at %d passes its entry %d, not stored", n.origin, z.origin, c.After, own[i])
			return
		}
	}
	n.checked[peer] = syncengine.Cursor{Epoch: c.Epoch, After: max(from, c.After)}
}

// final checks every honest node's store at the end of a run. It returns
// whether every store is exactly what it should be.
func (o *oracle) final() bool {
	ok := true
	manOK := map[cid.Cid]string{} // manifest → its verified origin, "" if invalid
	for _, n := range o.s.nodes {
		if !n.honest() {
			continue
		}
		for k := range n.store.entries {
			e := &n.store.entries[k]
			if e.Erased || e.Record.Ref.Kind == syncengine.KindManifest {
				continue
			}
			if why := o.invalid(n, e, manOK); why != "" {
				ok = false
				o.failf("%s holds %s: %s", n.origin, e.Record.Ref.CID, why)
			}
		}
		for _, r := range o.issued {
			must, _ := o.reach(r)
			has := n.store.has(r.cid)
			if must[n.i] && !has {
				ok = false
				o.lost++
				if len(o.first) < maxViolationNotes {
					o.first = append(o.first, fmt.Sprintf("%s lost %s's record %s", n.origin, r.origin, r.cid))
				}
			}
			if has && r.kind == "1" && r.retracted != nil && !n.store.has(r.retracted.cid) {
				ok = false
				o.failf("%s: %s's assertion %s is still live, retracted by its origin", n.origin, r.origin, r.cid)
			}
		}
	}
	return ok
}

// invalid returns why n must not hold e, or "".
func (o *oracle) invalid(n *node, e *syncengine.Entry, manOK map[cid.Cid]string) string {
	if !sameHash(e.Record.Bytes, e.Record.Ref.CID) {
		return "bytes do not match the CID"
	}
	r := o.readCID(e.Record.Ref.CID, e.Record.Bytes)
	if r == nil {
		return "unreadable"
	}
	if e.Manifest == nil {
		return "no manifest"
	}
	mc := e.Manifest.Ref.CID
	morigin, seen := manOK[mc]
	if !seen {
		morigin = o.verifyManifest(e.Manifest)
		manOK[mc] = morigin
	}
	switch {
	case morigin == "":
		return "its manifest is not validly signed by a member"
	case morigin != r.origin:
		return "its manifest is another origin's"
	case !bytes.Contains(e.Manifest.Bytes, []byte(e.Record.Ref.CID.String())):
		return "not covered by its manifest"
	case r.kind == "2" && r.targetOrigin != r.origin:
		return "a retraction of another origin's assertion"
	case r.origin == n.origin:
		return ""
	}
	origin := o.byOrigin[r.origin]
	if origin == nil {
		return "its origin is no node of the run"
	}
	if why := o.shareWhy(r, origin, n); why != "" {
		return "forbidden: " + why
	}
	if _, may := o.reach(r); !may[n.i] {
		return "no path the policy allows leads to it from its origin"
	}
	return ""
}

// reach returns, by node index, the nodes that must end up holding r and
// those that may: the closure of r's origin over the connections of the
// run (the overlay, or the full mesh) where every hop u→v is one the
// oracle allows on its own (hopWhy: the baseline for u's position, u an
// origin or a relay; with Cedar, the share from u's country to v's, for a
// relay the origin's share to v's country too, and v's accept from u's).
// A node reaches r only through nodes that hold it, so a node the policy
// would let hold r, but that only forbidden hops lead to, is outside both
// sets: it must not hold r and is not owed it. must only crosses honest
// nodes (a byzantine one may withhold); may also crosses byzantine ones
// and lets them pass anything between themselves (the receiver's
// re-check still stands between them and an honest node).
//
// This is what "converged" means for the stores: every honest node holds
// exactly the issued records whose must set names it (and none outside
// their may set). In a full mesh with the baseline alone it is "every
// node the origin may share with"; in an overlay, the same once relays
// are counted, which is why every hop must be allowed. It relies on the
// engine relaying along every allowed hop except to a node connected to
// the origin, which gets the record from the origin: exact because a
// relay's share includes the origin's and (in the packs) no accept
// allows a relay what it refuses the origin. A policy that broke this
// would show up here as lost records.
func (o *oracle) reach(r *oracleRecord) (must, may []bool) {
	if r.must != nil {
		return r.must, r.may
	}
	if o.adj == nil {
		o.adj = o.adjacency()
	}
	origin := o.byOrigin[r.origin]
	if origin == nil {
		r.must = make([]bool, len(o.s.nodes))
		r.may = r.must
		return r.must, r.may
	}
	r.must = o.closure(r, origin, false)
	r.may = r.must
	if o.anyByzantine() {
		r.may = o.closure(r, origin, true)
	}
	return r.must, r.may
}

// closure is the breadth-first search behind reach: from origin, over
// allowed hops, through honest nodes only unless viaByzantine.
func (o *oracle) closure(r *oracleRecord, origin *node, viaByzantine bool) []bool {
	nodes := o.s.nodes
	in := make([]bool, len(nodes))
	in[origin.i] = true
	queue := []int{origin.i}
	for len(queue) > 0 {
		u := nodes[queue[0]]
		queue = queue[1:]
		if !u.honest() && !viaByzantine && u != origin {
			continue
		}
		for _, j := range o.adj[u.i] {
			v := nodes[j]
			if in[j] {
				continue
			}
			if (viaByzantine && !u.honest() && !v.honest()) || o.hopWhy(r, u, v) == "" {
				in[j] = true
				queue = append(queue, j)
			}
		}
	}
	return in
}

// adjacency lists every node's connections, which are fixed once the
// scenario's setup has run.
func (o *oracle) adjacency() [][]int {
	adj := make([][]int, len(o.s.nodes))
	for i, a := range o.s.nodes {
		for j, b := range o.s.nodes {
			if o.s.peered(a, b) {
				adj[i] = append(adj[i], j)
			}
		}
	}
	return adj
}

func (o *oracle) anyByzantine() bool {
	for _, n := range o.s.nodes {
		if !n.honest() {
			return true
		}
	}
	return false
}

// verifyManifest returns the origin whose key signed m, or "".
func (o *oracle) verifyManifest(m *syncengine.Record) string {
	if !sameHash(m.Bytes, m.Ref.CID) {
		return ""
	}
	f := bytes.SplitN(m.Bytes, []byte("|"), 5)
	if len(f) != 5 || string(f[0]) != "man" {
		return ""
	}
	key, ok := o.s.keys[string(f[1])]
	if !ok {
		return ""
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(bytes.Join(f[:3], []byte("|")))
	want := hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), f[3]) {
		return ""
	}
	return string(f[1])
}

type hashedBytes struct {
	n int
	c cid.Cid
}

// sameHash is sameHash, remembering slices already checked.
func (o *oracle) sameHash(b []byte, c cid.Cid) bool {
	if len(b) == 0 {
		return false
	}
	if h, ok := o.hashed[&b[0]]; ok && h.n == len(b) && h.c == c {
		return true
	}
	if !sameHash(b, c) {
		return false
	}
	o.hashed[&b[0]] = hashedBytes{n: len(b), c: c}
	return true
}

// covers returns the CIDs a manifest lists (none if it is unreadable).
func (o *oracle) covers(m []byte) map[string]bool {
	if len(m) == 0 {
		return nil
	}
	if c, ok := o.covered[&m[0]]; ok {
		return c
	}
	c := map[string]bool{}
	if f := bytes.SplitN(m, []byte("|"), 4); len(f) == 4 && string(f[0]) == "man" {
		for _, x := range bytes.Split(f[2], []byte(",")) {
			c[string(x)] = true
		}
	}
	o.covered[&m[0]] = c
	return c
}

// sameHash reports whether c is the sha2-256 CID of b.
func sameHash(b []byte, c cid.Cid) bool {
	mh := c.Hash()
	sum := sha256.Sum256(b)
	return len(mh) == 34 && mh[0] == 0x12 && mh[1] == 0x20 && bytes.Equal(mh[2:], sum[:])
}
