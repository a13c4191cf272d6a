package reconcile

import (
	"bytes"
	"slices"
	"sort"

	"github.com/vigie-project/vigie/protocol/riblt"
)

// cmp compares the first r.depth nibbles of x with r's prefix: −1 if x
// sorts before the range, +1 after.
func (r rangeID) cmp(x *riblt.Symbol) int {
	full := int(r.depth) / 2
	if c := bytes.Compare(x[:full], r.prefix[:full]); c != 0 {
		return c
	}
	if r.depth%2 == 1 {
		a, b := x[full]>>4, r.prefix[full]>>4
		switch {
		case a < b:
			return -1
		case a > b:
			return 1
		}
	}
	return 0
}

func (r rangeID) contains(x *riblt.Symbol) bool { return r.cmp(x) == 0 }

// children returns the fanout sub-ranges of r, in id order.
func (r rangeID) children() []rangeID {
	out := make([]rangeID, fanout)
	for v := range fanout {
		c := rangeID{depth: r.depth + 1, prefix: r.prefix}
		if r.depth%2 == 0 {
			c.prefix[r.depth/2] = byte(v) << 4
		} else {
			c.prefix[r.depth/2] |= byte(v)
		}
		out[v] = c
	}
	return out
}

// index is a sorted, duplicate-free copy of a set with prefix sums of the
// ids' keyed hashes, so that any range's count and fingerprint cost two
// binary searches: the fallback asks for many ranges of a large set.
type index struct {
	ids []riblt.Symbol
	pre []sum128 // pre[i] = sum of the hashes of ids[:i]
}

func newIndex(s Set, p prf) *index {
	ids := make([]riblt.Symbol, 0, s.Len())
	s.Each(func(id riblt.Symbol) bool {
		ids = append(ids, id)
		return true
	})
	slices.SortFunc(ids, func(a, b riblt.Symbol) int { return bytes.Compare(a[:], b[:]) })
	ids = slices.Compact(ids)
	pre := make([]sum128, len(ids)+1)
	for i := range ids {
		pre[i+1] = pre[i].add(p.of(&ids[i]))
	}
	return &index{ids: ids, pre: pre}
}

// span returns the positions [lo, hi) of the ids in r.
func (x *index) span(r rangeID) (int, int) {
	lo := sort.Search(len(x.ids), func(i int) bool { return r.cmp(&x.ids[i]) >= 0 })
	hi := lo + sort.Search(len(x.ids)-lo, func(i int) bool { return r.cmp(&x.ids[lo+i]) > 0 })
	return lo, hi
}

// summary returns r's count and fingerprint.
func (x *index) summary(r rangeID) (int, sum128) {
	lo, hi := x.span(r)
	return hi - lo, x.pre[hi].sub(x.pre[lo])
}
