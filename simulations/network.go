package simulations

// The simulated network: links between nodes, their delays, loss and
// partitions, and the size of what crosses them.

import (
	"fmt"
	"slices"
	"time"

	"github.com/vigie-project/vigie/node/syncengine"
)

func (s *sim) sendFromEngine(n *node, a *syncengine.Send) {
	dst := s.byID[a.To]
	if dst == nil || dst == n {
		s.oracle.failf("%s sent to a peer that is not a member: %s", n.origin, a.To)
		return
	}
	if n.honest() {
		s.oracle.checkSend(n, dst, a.Msg)
	} else if n.byz.withholds(a.Msg) {
		// Written to nowhere: the engine sees it go, the peer never does.
		s.later(n, s.now+int64(20*time.Microsecond), func() { s.step(n, syncengine.SendDone{Peer: a.To}) })
		return
	}
	s.transmit(n, dst, wire{msg: a.Msg, size: msgSize(a.Msg)}, true)
}

// transmit puts w on n's stream to dst: serialised on n's uplink, then
// the link's one-way delay and jitter, FIFO per stream. A lost message
// breaks the stream. engine: report SendDone to n's engine.
func (s *sim) transmit(n, dst *node, w wire, engine bool) {
	l, dir := s.link(n.i, dst.i)
	start := max(s.now, n.upFree)
	done := start + int64(float64(w.size)*8e9/s.net.bandwidth)
	n.upFree = done
	n.msgs++
	if n.honest() {
		s.metrics.bytes += int64(w.size)
		switch w.msg.(type) {
		case *syncengine.Hello, *syncengine.FeedRequest, *syncengine.FeedBatch, *syncengine.EpochReset:
			s.metrics.feedBytes += int64(w.size)
		}
	}
	gen := l.gen
	if engine {
		to := dst.id
		s.later(n, done, func() {
			if l.gen == gen {
				s.step(n, syncengine.SendDone{Peer: to})
			}
		})
	}
	if !l.up {
		return // the connection is gone; PeerDown is on its way
	}
	if s.net.loss > 0 && s.rng.Float64() < s.net.loss {
		s.breakLink(n.i, dst.i)
		return
	}
	arrival := done + l.lat
	if s.net.jitter > 0 {
		arrival += int64(s.rng.Float64() * s.net.jitter * float64(l.lat))
	}
	if arrival < l.last[dir] {
		arrival = l.last[dir]
	}
	l.last[dir] = arrival
	s.at(arrival, func() {
		if l.up && l.gen == gen {
			s.receive(dst, n, w)
		}
	})
}

// receive is dst's adapter decoding a message from src.
func (s *sim) receive(dst, src *node, w wire) {
	if !dst.alive {
		return
	}
	if w.garbage || w.size > decodeLimit {
		// The decoder refuses it and closes the stream.
		s.wireRefs++
		s.breakLink(src.i, dst.i)
		return
	}
	if fb, ok := w.msg.(*syncengine.FeedBatch); ok && dst.honest() {
		for _, b := range fb.Bundles {
			for _, r := range b.Records {
				if !dst.store.has(r.Ref.CID) {
					s.metrics.diffRecords++
				}
			}
		}
	}
	s.step(dst, syncengine.Received{From: src.id, Msg: w.msg})
}

// peered reports whether a and b connect at all.
func (s *sim) peered(a, b *node) bool {
	if a == b {
		return false
	}
	l, _ := s.link(a.i, b.i)
	return l.peered
}

// overlay replaces the full mesh by a bounded-degree one: every node
// peers with its near nearest nodes (by delay), far random others, and
// its neighbours in a ring (so the overlay is connected).
func (s *sim) overlay(near, far int) {
	n := len(s.nodes)
	if n-1 <= near+far+2 {
		return
	}
	for i := range s.links {
		s.links[i].peered = false
	}
	peer := func(i, j int) {
		if i != j {
			l, _ := s.link(i, j)
			l.peered = true
		}
	}
	order := make([]int, n)
	for i := range n {
		peer(i, (i+1)%n)
		for k := range order {
			order[k] = k
		}
		slices.SortStableFunc(order, func(a, b int) int {
			la, lb := s.delay(i, a), s.delay(i, b)
			switch {
			case la < lb:
				return -1
			case la > lb:
				return 1
			}
			return 0
		})
		for _, j := range order[1 : near+1] {
			peer(i, j)
		}
		for range far {
			peer(i, s.rng.IntN(n))
		}
	}
	links := 0
	for i := range n {
		for j := i + 1; j < n; j++ {
			if l, _ := s.link(i, j); l.peered {
				links++
			}
		}
	}
	s.faults = append(s.faults, fmt.Sprintf("t=0ms overlay: each node peers with its %d nearest, %d random others and its ring neighbours (%d connections, mean degree %.1f)", near, far, links, 2*float64(links)/float64(n)))
}

func (s *sim) delay(i, j int) int64 {
	if i == j {
		return -1
	}
	l, _ := s.link(i, j)
	return l.lat
}

func (s *sim) link(i, j int) (*link, int) {
	if i < j {
		return &s.links[i*len(s.nodes)+j], 0
	}
	return &s.links[j*len(s.nodes)+i], 1
}

// ---- the simulated node

// connect brings a connection up after a handshake (one round trip)
// unless a partition or a dead node stands in the way.
func (s *sim) connect(i, j int) {
	l, _ := s.link(i, j)
	a, b := s.nodes[i], s.nodes[j]
	if !l.peered || l.up || !a.alive || !b.alive || s.group[i] != s.group[j] {
		return
	}
	l.up = true
	l.gen++
	gen := l.gen
	s.at(s.now+2*l.lat+int64(time.Millisecond), func() {
		if l.up && l.gen == gen {
			s.step(a, syncengine.PeerUp{Peer: b.id, Origin: b.origin})
			s.step(b, syncengine.PeerUp{Peer: a.id, Origin: a.origin})
		}
	})
}

// breakLink drops a connection and what is in flight on it; both sides
// are told, and it is tried again after the reconnect delay.
func (s *sim) breakLink(i, j int) {
	l, _ := s.link(i, j)
	if !l.up {
		return
	}
	l.up = false
	l.gen++
	l.last = [2]int64{}
	a, b := s.nodes[i], s.nodes[j]
	s.step(a, syncengine.PeerDown{Peer: b.id})
	s.step(b, syncengine.PeerDown{Peer: a.id})
	d := s.net.reconnect[0]
	if span := s.net.reconnect[1] - s.net.reconnect[0]; span > 0 {
		d += time.Duration(s.rng.Int64N(int64(span)))
	}
	s.after(d, func() { s.connect(i, j) })
}

// setGroups partitions the network: connections between groups break,
// connections within a group come back.
func (s *sim) setGroups(g []int) {
	copy(s.group, g)
	for i := range s.nodes {
		for j := i + 1; j < len(s.nodes); j++ {
			if s.group[i] != s.group[j] {
				s.breakLink(i, j)
			} else {
				s.connect(i, j)
			}
		}
	}
}

// msgSize estimates a message's encoded size: a frame header, fixed
// fields, origins, and bundles (manifest, records, proofs).
func msgSize(m syncengine.Msg) int {
	const frame = 16
	switch m := m.(type) {
	case *syncengine.Hello:
		return frame + 16 + 9
	case *syncengine.Direct:
		return frame + originsSize(m.Origins)
	case *syncengine.Push:
		return frame + 16 + 9 + bundlesSize(m.Bundles)
	case *syncengine.FeedRequest:
		return frame + 16 + 9 + 5 + originsSize(m.Skip)
	case *syncengine.FeedBatch:
		return frame + 16 + 9 + 9 + 1 + bundlesSize(m.Bundles)
	case *syncengine.EpochReset:
		return frame + 16 + 9
	}
	return frame
}

func originsSize(os []string) int {
	n := 2
	for _, o := range os {
		n += len(o) + 1
	}
	return n
}

func bundlesSize(bs []syncengine.Bundle) int {
	n := 2
	for _, b := range bs {
		n += 4
		if b.Manifest != nil {
			n += len(b.Manifest.Bytes) + 4
		}
		for _, r := range b.Records {
			n += len(r.Bytes) + len(r.Proof) + 6
		}
	}
	return n
}
