package simulations

// The workload and the faults scenarios inject: assertions, retractions,
// crashes and restarts.

import (
	"fmt"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/node/syncengine"
)

// crash kills n's engine and its work in progress (deliveries not yet
// acknowledged, cursor writes not yet durable); its store survives.
func (s *sim) crash(n *node) {
	if !n.alive {
		return
	}
	n.alive, n.eng = false, nil
	n.inc++
	for j := range s.nodes {
		if j == n.i {
			continue
		}
		if l, _ := s.link(n.i, j); l.up {
			l.up = false
			l.gen++
			l.last = [2]int64{}
			s.step(s.nodes[j], syncengine.PeerDown{Peer: n.id})
		}
	}
}

func (s *sim) restart(n *node) {
	if n.alive {
		return
	}
	if err := s.boot(n); err != nil {
		s.err = err
		return
	}
	for j := range s.nodes {
		if j != n.i {
			s.connect(n.i, j)
		}
	}
}

func (s *sim) fault(format string, args ...any) {
	s.faults = append(s.faults, fmt.Sprintf("t=%dms ", s.now/int64(time.Millisecond))+fmt.Sprintf(format, args...))
}

// ---- workload

// assert has n originate a signed batch; a node that is down retries a
// second later (its operators' import waits for it).
func (s *sim) assert(n *node, specs []recordSpec, then func([]*uRecord)) {
	if !n.alive {
		s.after(time.Second, func() { s.assert(n, specs, then) })
		return
	}
	b := newBundle(s.keys[n.origin], n.origin, n.seq+1, specs)
	n.seq += uint64(len(specs))
	ev := n.store.commitOwn(b)
	us := make([]*uRecord, len(b.Records))
	for i, r := range b.Records {
		f := r.Ref.Facts.(*facts)
		u := &uRecord{cid: r.Ref.CID, f: f, origin: n, issued: s.now}
		if f.kind == syncengine.KindRetraction {
			if tc, err := cid.Decode(f.target); err == nil {
				if t := s.byCID[tc]; t != nil && t.origin == n {
					u.target, t.retracted = t, u
				}
			}
		} else {
			s.metrics.assertions++
			s.metrics.indicators[f.indicator] = struct{}{}
		}
		s.oracle.issue(r.Ref.CID, r.Bytes)
		s.universe = append(s.universe, u)
		s.byCID[u.cid] = u
		us[i] = u
	}
	s.step(n, ev)
	if then != nil {
		then(us)
	}
}

// retract has the origin of us retract them.
func (s *sim) retract(us []*uRecord) {
	if len(us) == 0 {
		return
	}
	specs := make([]recordSpec, len(us))
	for i, u := range us {
		specs[i] = recordSpec{kind: syncengine.KindRetraction, target: u.cid.String(), targetOrigin: u.f.origin}
	}
	s.assert(us[0].origin, specs, nil)
}

// ---- sizes
