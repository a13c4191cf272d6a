package reconcile

import (
	"bytes"
	"fmt"

	"github.com/vigie-project/vigie/protocol/riblt"
)

// fallback reconciles by ranges of the id space: it sends the count and
// fingerprint of each range it is unsure of, and the responder answers
// equal, split (more than leafSize ids on its side: ask for the 16
// sub-ranges) or with its ids, which settle the range. Ranges go breadth
// first, at most maxQueryRanges per round trip, so every message is
// bounded; the fallback bytes received are bounded by the budget, and
// the number of ranges (queried or queued) by the budget over 64: a
// responder answering "split" to everything would otherwise make us queue
// 16 ranges per byte it sends.
func (in *initiator) fallback() error {
	idx := newIndex(in.local, in.prf)
	pending := rangeID{}.children()
	maxRanges := in.cfg.fallbackBytes / 64
	queried := 0
	var theirs, ours []riblt.Symbol
	for len(pending) > 0 {
		k := min(len(pending), maxQueryRanges)
		batch := pending[:k]
		pending = pending[k:]
		if queried += k; queried+len(pending) > maxRanges {
			return fmt.Errorf("%w: more than %d ranges", ErrTooLarge, maxRanges)
		}
		q := make([]queryItem, k)
		for i, r := range batch {
			n, fp := idx.summary(r)
			q[i] = queryItem{r: r, count: uint64(n), fp: fp}
		}
		frame, err := in.roundTrip(marshalQuery(q))
		if err != nil {
			return err
		}
		if in.fbBytes += frameLen(len(frame)); in.fbBytes > in.cfg.fallbackBytes {
			return fmt.Errorf("%w: fallback past %d bytes", ErrTooLarge, in.cfg.fallbackBytes)
		}
		answers, err := parseAnswer(frame, q)
		if err != nil {
			return err
		}
		for i, a := range answers {
			switch a.kind {
			case ansSplit:
				pending = append(pending, q[i].r.children()...)
			case ansIDs:
				lo, hi := idx.span(q[i].r)
				theirs, ours = mergeDiff(a.ids, idx.ids[lo:hi], theirs, ours)
			}
		}
	}
	if !in.confirm(theirs, ours) {
		return fmt.Errorf("%w: after the range-based fallback", ErrUnconfirmed)
	}
	return nil
}

// mergeDiff appends to theirs the ids only in remote and to ours those
// only in local; both inputs are sorted.
func mergeDiff(remote, local, theirs, ours []riblt.Symbol) ([]riblt.Symbol, []riblt.Symbol) {
	i, j := 0, 0
	for i < len(remote) && j < len(local) {
		switch c := bytes.Compare(remote[i][:], local[j][:]); {
		case c < 0:
			theirs = append(theirs, remote[i])
			i++
		case c > 0:
			ours = append(ours, local[j])
			j++
		default:
			i++
			j++
		}
	}
	theirs = append(theirs, remote[i:]...)
	return theirs, append(ours, local[j:]...)
}
