package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/vigie-project/vigie/protocol/riblt"
)

// Initiate runs one session as the initiator over s and returns the ids
// only the remote holds (Theirs) and only we hold (Ours). A fresh random
// key is drawn for the session. After an error the caller should reset the
// stream.
func Initiate(ctx context.Context, s io.ReadWriter, local Set, opts ...Option) (Result, error) {
	cfg := newConfig(opts)
	defer watch(ctx, s)()
	in := &initiator{c: &conn{ctx: ctx, rw: s}, cfg: cfg, local: local}
	err := in.run()
	in.res.BytesSent, in.res.BytesReceived = in.c.sent, in.c.received
	if err != nil {
		return in.res, err
	}
	return in.res, nil
}

type initiator struct {
	c     *conn
	cfg   config
	local Set
	key   riblt.Key
	prf   prf

	size       int    // our set's size
	sum        sum128 // our set's checksum
	remoteSize int
	remoteSum  sum128
	fbBytes    int // fallback bytes received
	res        Result
}

func (in *initiator) run() error {
	if _, err := io.ReadFull(in.cfg.rand, in.key[:]); err != nil {
		return fmt.Errorf("reconcile: drawing the session key: %w", err)
	}
	in.prf = newPRF(in.key)
	in.size, in.sum = in.prf.setSum(in.local)
	h := hello{key: in.key, keyCheck: riblt.KeyCheck(in.key), size: uint64(in.size), sum: in.sum,
		maxSymbols: uint64(in.cfg.symbolBudget())}
	frame, err := in.roundTrip(h.marshal())
	if err != nil {
		return err
	}
	if len(frame) > 0 && frame[0] == msgEqual {
		return parseEmpty(frame, msgEqual)
	}
	d, err := parseDiff(frame)
	if err != nil {
		return err
	}
	in.remoteSize, in.remoteSum = int(d.size), d.sum
	if d.size == uint64(in.size) && d.sum == in.sum {
		return fmt.Errorf("%w: equal sets answered as different", ErrMalformed)
	}
	ok, err := in.decode(d)
	if err != nil {
		return err
	}
	if !ok {
		in.res.Theirs, in.res.Ours, in.res.Fallback = nil, nil, true
		if err := in.fallback(); err != nil {
			return err
		}
	}
	return in.c.write([]byte{msgDone})
}

// roundTrip sends one request and reads the first frame of the answer.
func (in *initiator) roundTrip(msg []byte) ([]byte, error) {
	in.res.Rounds++
	if err := in.c.write(msg); err != nil {
		return nil, err
	}
	return in.c.read()
}

// decode runs the rateless IBLT. It returns false when the fallback should
// take over: the difference is past the budget, decoding got stuck, or
// the decoded difference does not match the checksums.
func (in *initiator) decode(d diff) (bool, error) {
	budget := min(in.cfg.symbolBudget(), int(d.sketch))
	if budget == 0 || absDiff(uint64(in.size), d.size) > uint64(in.cfg.maxDiff) {
		return false, nil
	}
	sk := riblt.NewSketch(in.key, budget)
	in.local.Each(func(id riblt.Symbol) bool { sk.Add(id); return true })
	dec := riblt.NewDecoderWithSketch(sk)
	dec.SetBudget(budget)
	if err := in.feed(dec, &d.batch); err != nil {
		return false, err
	}
	for {
		if dec.Err() != nil {
			return false, nil // budget, stuck or inconsistent: the fallback decides
		}
		if dec.Decoded() {
			theirs, ours := dec.Remote(), dec.Local()
			return in.held(theirs, ours) && in.confirm(theirs, ours), nil
		}
		n := dec.NextChunk()
		if n == 0 {
			return false, nil
		}
		if err := in.more(dec, n); err != nil {
			return false, err
		}
	}
}

// feed gives one batch to the decoder and peels. Decoding failures stay in
// dec for the caller; a batch that does not continue the stream under our
// key, or changes the sender's set size, is malformed.
func (in *initiator) feed(dec *riblt.Decoder, b *riblt.Batch) error {
	if b.SetSize != uint64(in.remoteSize) {
		return fmt.Errorf("%w: the responder's set size changed", ErrMalformed)
	}
	if err := dec.AddBatch(b); errors.Is(err, riblt.ErrKeyMismatch) || errors.Is(err, riblt.ErrOutOfOrder) {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	_ = dec.TryDecode()
	return nil
}

// more asks for n more coded symbols and feeds them to dec. It reads the
// whole answer even if decoding fails part-way, so that the stream stays
// in step for the fallback.
func (in *initiator) more(dec *riblt.Decoder, n int) error {
	start := dec.Received()
	in.res.Rounds++
	if err := in.c.write(marshalUvarintMsg(msgMore, uint64(n))); err != nil {
		return err
	}
	for got := 0; got < n; {
		frame, err := in.c.read()
		if err != nil {
			return err
		}
		b, err := parseSymbols(frame)
		if err != nil {
			return err
		}
		if b.Start != uint64(start+got) || len(b.Symbols) == 0 || len(b.Symbols) > n-got {
			return fmt.Errorf("%w: batch of %d symbols at %d, expected at %d", ErrMalformed, len(b.Symbols), b.Start, start+got)
		}
		got += len(b.Symbols)
		if dec.Err() == nil {
			if err := in.feed(dec, &b); err != nil {
				return err
			}
		}
	}
	return nil
}

// held checks, in one pass over our set, that we hold every id of ours
// and none of theirs. The checksums cannot see this when the responder's
// set has duplicates, and a lying responder could otherwise make us offer
// records we do not have.
func (in *initiator) held(theirs, ours []riblt.Symbol) bool {
	want := make(map[riblt.Symbol]bool, len(theirs)+len(ours))
	for _, id := range theirs {
		want[id] = false
	}
	for _, id := range ours {
		if _, dup := want[id]; dup {
			return false
		}
		want[id] = true
	}
	found, ok := 0, true
	in.local.Each(func(id riblt.Symbol) bool {
		mine, hit := want[id]
		switch {
		case hit && !mine:
			ok = false
		case hit:
			found++
		}
		return ok
	})
	return ok && found == len(ours)
}

// confirm checks a decoded difference against both set checksums, and
// keeps it if it holds.
func (in *initiator) confirm(theirs, ours []riblt.Symbol) bool {
	want := in.sum.add(in.prf.sumOf(theirs)).sub(in.prf.sumOf(ours))
	if want != in.remoteSum || in.size+len(theirs)-len(ours) != in.remoteSize {
		return false
	}
	in.res.Theirs, in.res.Ours = theirs, ours
	return true
}
