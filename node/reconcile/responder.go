package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/vigie-project/vigie/protocol/riblt"
)

// Respond serves one session on s, started by the peer's Initiate. It
// returns nil once the initiator has its result. After an error the caller
// should reset the stream: the peer may still be waiting.
func Respond(ctx context.Context, s io.ReadWriter, local Set, opts ...Option) error {
	cfg := newConfig(opts)
	defer watch(ctx, s)()
	r := &responder{c: &conn{ctx: ctx, rw: s}, cfg: cfg, local: local}
	return r.run()
}

type responder struct {
	c     *conn
	cfg   config
	local Set
	prf   prf

	sketch    []riblt.CodedSymbol // the coded symbols we may serve
	keyCheck  uint64
	size      int
	sent      int // coded symbols sent so far
	idx       *index
	fbCharged int // fallback bytes charged against the budget
}

func (r *responder) run() error {
	frame, err := r.c.read()
	if err != nil {
		return err
	}
	h, err := parseHello(frame)
	if err != nil {
		return r.c.abort(abortBadRequest, err)
	}
	if riblt.KeyCheck(h.key) != h.keyCheck {
		return r.c.abort(abortKeyCheck, fmt.Errorf("%w: %w", ErrMalformed, ErrKeyCheck))
	}
	r.prf, r.keyCheck = newPRF(h.key), h.keyCheck
	size, sum := r.prf.setSum(r.local)
	r.size = size
	if uint64(size) == h.size && sum == h.sum {
		return r.c.write([]byte{msgEqual})
	}
	if err := r.sendDiff(h, sum); err != nil {
		return err
	}
	for {
		if err := r.serveOne(); err != nil {
			if errors.Is(err, errDone) {
				return nil
			}
			return err
		}
	}
}

// errDone ends the serving loop normally.
var errDone = errors.New("done")

// sendDiff answers a hello whose set differs: our size and checksum, how
// many coded symbols we will serve, and a first batch sized by the size
// difference (a lower bound on d), which often settles a one-sided
// difference in this one round trip.
func (r *responder) sendDiff(h hello, sum sum128) error {
	m := min(int(h.maxSymbols), r.cfg.symbolBudget())
	gap := absDiff(uint64(r.size), h.size)
	limit := min(r.cfg.maxDiff, (int(h.maxSymbols)-symbolSlack)/2) // the initiator's limit too
	if gap > uint64(max(limit, 0)) {
		m = 0 // the IBLT cannot decode this: straight to the fallback
	}
	if m > 0 {
		sk := riblt.NewSketch(h.key, m)
		r.local.Each(func(id riblt.Symbol) bool { sk.Add(id); return true })
		r.sketch = sk.Symbols(m)
	}
	first := min(max(riblt.FirstChunk, int(gap+gap/3)), m, riblt.MaxSymbolsPerMessage)
	d := diff{size: uint64(r.size), sum: sum, sketch: uint64(m), batch: r.batch(0, first)}
	r.sent = first
	msg, err := d.marshal()
	if err != nil {
		return err
	}
	return r.c.write(msg)
}

func (r *responder) batch(start, n int) riblt.Batch {
	return riblt.Batch{KeyCheck: r.keyCheck, Start: uint64(start), SetSize: uint64(r.size), Symbols: r.sketch[start : start+n]}
}

// serveOne reads one request and answers it.
func (r *responder) serveOne() error {
	frame, err := r.c.read()
	if err != nil {
		return err
	}
	if len(frame) == 0 {
		return r.c.abort(abortBadRequest, fmt.Errorf("%w: empty message", ErrMalformed))
	}
	switch frame[0] {
	case msgMore:
		return r.serveMore(frame)
	case msgQuery:
		return r.serveQuery(frame)
	case msgDone:
		if err := parseEmpty(frame, msgDone); err != nil {
			return r.c.abort(abortBadRequest, err)
		}
		return errDone
	}
	return r.c.abort(abortBadRequest, fmt.Errorf("%w: unexpected message type %d", ErrMalformed, frame[0]))
}

// serveMore sends the next n coded symbols, in batches of at most
// riblt.MaxSymbolsPerMessage; never past the sketch we announced.
func (r *responder) serveMore(frame []byte) error {
	n, err := parseUvarintMsg(frame, msgMore, riblt.MaxStreamLength)
	if err == nil && (n == 0 || n > uint64(len(r.sketch)-r.sent)) {
		err = fmt.Errorf("%w: %d more symbols asked, %d left", ErrMalformed, n, len(r.sketch)-r.sent)
	}
	if err != nil {
		return r.c.abort(abortBadRequest, err)
	}
	for left := int(n); left > 0; {
		k := min(left, riblt.MaxSymbolsPerMessage)
		b := r.batch(r.sent, k)
		msg, err := marshalSymbols(&b)
		if err != nil {
			return err
		}
		if err := r.c.write(msg); err != nil {
			return err
		}
		r.sent += k
		left -= k
	}
	return nil
}

// serveQuery answers each range of a fallback query: equal, split (too
// many of our ids to send), or our ids.
func (r *responder) serveQuery(frame []byte) error {
	items, err := parseQuery(frame)
	if err != nil {
		return r.c.abort(abortBadRequest, err)
	}
	if r.idx == nil {
		r.idx = newIndex(r.local, r.prf)
	}
	entries := make([]answerEntry, len(items))
	for i, it := range items {
		entries[i] = r.answerFor(it)
	}
	msg := marshalAnswer(entries)
	r.fbCharged += max(len(msg), minAnswerCharge)
	if r.fbCharged > r.cfg.fallbackBytes {
		return r.c.abort(abortBudget, fmt.Errorf("%w: fallback past %d bytes", ErrTooLarge, r.cfg.fallbackBytes))
	}
	return r.c.write(msg)
}

func (r *responder) answerFor(it queryItem) answerEntry {
	lo, hi := r.idx.span(it.r)
	fp := r.idx.pre[hi].sub(r.idx.pre[lo])
	switch {
	case uint64(hi-lo) == it.count && fp == it.fp:
		return answerEntry{kind: ansEqual}
	case hi-lo <= leafSize:
		return answerEntry{kind: ansIDs, ids: r.idx.ids[lo:hi]}
	}
	return answerEntry{kind: ansSplit}
}

func absDiff(a, b uint64) uint64 {
	if a > b {
		return a - b
	}
	return b - a
}
