package simulations

// What a simulated node does with a delivery: verify each record and
// manifest as a real node would, then store and acknowledge.

import (
	"crypto/hmac"
	"errors"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/node/syncengine"
)

// ingest verifies, stores and acknowledges a delivery, one bundle at a
// time; a crash before the acknowledgement loses it (nothing was stored).
func (s *sim) ingest(n *node, a *syncengine.Deliver) {
	cost := float64(s.net.ingestBase+time.Duration(len(a.Bundle.Records))*s.net.ingestPerRecord) * n.slow
	start := max(s.now, n.busy)
	n.busy = start + int64(cost)
	s.later(n, n.busy, func() {
		fs, err := s.verify(n, a.From, a.Bundle)
		if err != nil {
			n.rejected++
			s.step(n, syncengine.Rejected{Delivery: a.Delivery, Invalid: true, Reason: err.Error()})
			return
		}
		stored := n.store.put(a.Bundle, fs)
		if n.honest() {
			for _, ref := range stored {
				if ref.Kind != syncengine.KindManifest {
					s.onStored(n, ref.CID)
				}
			}
		}
		s.step(n, syncengine.Accepted{Delivery: a.Delivery, Stored: stored})
	})
}

var (
	errNoManifest  = errors.New("no manifest")
	errBadCID      = errors.New("bytes do not match the CID")
	errNotMember   = errors.New("origin not in the roster")
	errSignature   = errors.New("bad manifest signature")
	errNotCovered  = errors.New("record not covered by the manifest")
	errOtherOrigin = errors.New("record of another origin than its manifest")
	errWithheld    = errors.New("the sender's policy should have withheld it")
	errRetraction  = errors.New("retraction of another origin's assertion")
)

// verify is the node's check of a delivered bundle, as node.Ingest does
// it: manifest signature by a roster member, every record covered and of
// the manifest's origin, a retraction only by its assertion's origin, and
// the baseline re-checked for the sender (a peer must never have sent a
// record its own policy withholds).
func (s *sim) verify(n *node, from syncengine.PeerID, b syncengine.Bundle) ([]*facts, error) {
	if b.Manifest == nil {
		return nil, errNoManifest
	}
	m, err := s.checkManifest(b.Manifest)
	if err != nil {
		return nil, err
	}
	sender := s.roster[from]
	fs := make([]*facts, len(b.Records))
	for i, r := range b.Records {
		f, err := s.checkRecord(r)
		if err != nil {
			return nil, err
		}
		if !m.covers[r.Ref.CID] {
			return nil, errNotCovered
		}
		if f.origin != m.origin {
			return nil, errOtherOrigin
		}
		if !mayHold(sender, n.origin, f, s.opts.brokenPolicy) || !s.cedar.mayAccept(sender, n.origin, f) {
			n.refused++
			return nil, errWithheld
		}
		if f.kind == syncengine.KindRetraction {
			if f.targetOrigin != f.origin {
				return nil, errRetraction
			}
			if tc, err := cid.Decode(f.target); err == nil {
				if e, ok := n.store.get(tc); ok && e.Record.Ref.Origin != f.origin {
					return nil, errRetraction
				}
			}
		}
		fs[i] = f
	}
	return fs, nil
}

// Verification caches. Bytes travel shared, never copied, and are never
// modified once handed over (the engine's contract), so a slice already
// verified against a CID need not be hashed again; a tampered copy is a
// new slice. The keys are pointers, which keep the slices alive, so they
// are never reused.
type checkedRecord struct {
	n int
	c cid.Cid
	f *facts
}

type checkedManifest struct {
	n      int
	c      cid.Cid
	origin string
	covers map[cid.Cid]bool
}

// checkRecord checks that r's bytes match its CID and decodes its facts.
func (s *sim) checkRecord(r syncengine.Record) (*facts, error) {
	if len(r.Bytes) == 0 {
		return nil, errMalformed
	}
	k := &r.Bytes[0]
	if v, ok := s.recCache[k]; ok && v.n == len(r.Bytes) && v.c == r.Ref.CID {
		return v.f, nil
	}
	if cidOf(r.Bytes) != r.Ref.CID {
		return nil, errBadCID
	}
	f, err := parseFacts(r.Bytes)
	if err != nil {
		return nil, err
	}
	s.recCache[k] = checkedRecord{n: len(r.Bytes), c: r.Ref.CID, f: f}
	return f, nil
}

// checkManifest checks that m matches its CID and is signed by a roster
// member's key, and returns its origin and the CIDs it covers.
func (s *sim) checkManifest(m *syncengine.Record) (*checkedManifest, error) {
	if len(m.Bytes) == 0 {
		return nil, errMalformed
	}
	k := &m.Bytes[0]
	if v, ok := s.manCache[k]; ok && v.n == len(m.Bytes) && v.c == m.Ref.CID {
		return v, nil
	}
	if cidOf(m.Bytes) != m.Ref.CID {
		return nil, errBadCID
	}
	origin, covers, body, tag, err := parseManifest(m.Bytes)
	if err != nil {
		return nil, err
	}
	key, ok := s.keys[origin]
	if !ok {
		return nil, errNotMember
	}
	if !hmac.Equal([]byte(tag), []byte(manifestTag(key, body))) {
		return nil, errSignature
	}
	v := &checkedManifest{n: len(m.Bytes), c: m.Ref.CID, origin: origin, covers: make(map[cid.Cid]bool, len(covers))}
	for _, c := range covers {
		if cc, err := cid.Decode(c); err == nil {
			v.covers[cc] = true
		}
	}
	s.manCache[k] = v
	return v, nil
}

// onStored records the delivery latency of a universe record at n.
func (s *sim) onStored(n *node, c cid.Cid) {
	s.metrics.stored++
	u := s.byCID[c]
	if u == nil {
		return
	}
	ms := float64(s.now-u.issued) / float64(time.Millisecond)
	s.metrics.convergence = append(s.metrics.convergence, ms)
	if u.target != nil && u.target.f.tlp != tlpRed {
		s.metrics.retraction = append(s.metrics.retraction, ms)
	}
}

// ---- connections, faults
