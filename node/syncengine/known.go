package syncengine

import "github.com/ipfs/go-cid"

// knownSet remembers up to a fixed number of CIDs, forgetting the oldest
// first. Forgetting only costs a duplicate send (the receiver's store
// deduplicates), so a bounded memory per peer is enough.
type knownSet struct {
	limit int
	set   map[cid.Cid]struct{}
	ring  []cid.Cid // insertion order; ring[next] is the oldest once full
	next  int
}

func newKnownSet(limit int) knownSet {
	return knownSet{limit: limit}
}

func (k *knownSet) has(c cid.Cid) bool {
	_, ok := k.set[c]
	return ok
}

func (k *knownSet) add(c cid.Cid) {
	if !c.Defined() || k.has(c) {
		return
	}
	if k.set == nil {
		k.set = make(map[cid.Cid]struct{})
	}
	if len(k.ring) < k.limit {
		k.ring = append(k.ring, c)
	} else {
		delete(k.set, k.ring[k.next])
		k.ring[k.next] = c
		k.next = (k.next + 1) % k.limit
	}
	k.set[c] = struct{}{}
}

func (k *knownSet) len() int { return len(k.set) }
