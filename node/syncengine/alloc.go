package syncengine

import "github.com/ipfs/go-cid"

// slabSize is how many actions or messages one allocation provides. A push
// to 30 peers would otherwise allocate 90 small objects per Step; carving
// them from shared arrays makes that a handful. Carved objects escape to
// the adapter and are never reused.
const slabSize = 32

// slab hands out fresh objects carved from larger allocations.
type slab struct {
	sends     []Send
	pushes    []Push
	delivers  []Deliver
	schedules []Schedule
	bundles   []Bundle
}

func (s *slab) send() *Send {
	if len(s.sends) == 0 {
		s.sends = make([]Send, slabSize)
	}
	a := &s.sends[0]
	s.sends = s.sends[1:]
	return a
}

func (s *slab) push() *Push {
	if len(s.pushes) == 0 {
		s.pushes = make([]Push, slabSize)
	}
	m := &s.pushes[0]
	s.pushes = s.pushes[1:]
	return m
}

func (s *slab) deliver() *Deliver {
	if len(s.delivers) == 0 {
		s.delivers = make([]Deliver, slabSize)
	}
	a := &s.delivers[0]
	s.delivers = s.delivers[1:]
	return a
}

func (s *slab) schedule() *Schedule {
	if len(s.schedules) == 0 {
		s.schedules = make([]Schedule, slabSize)
	}
	a := &s.schedules[0]
	s.schedules = s.schedules[1:]
	return a
}

// bundles returns a copy of src in fresh memory, with no spare capacity so
// that no one can append into a neighbour's part.
func (s *slab) bundleCopy(src []Bundle) []Bundle {
	n := len(src)
	if n > slabSize {
		return append([]Bundle(nil), src...)
	}
	if len(s.bundles) < n {
		s.bundles = make([]Bundle, 2*slabSize)
	}
	out := s.bundles[:n:n]
	s.bundles = s.bundles[n:]
	copy(out, src)
	return out
}

// scratch holds buffers reused from one Step to the next, never handed out.
type scratch struct {
	indexes   []uint64
	keep      []bool
	bundles   []Bundle
	manifests map[cid.Cid]int
	verdicts  map[cid.Cid]bool
}
