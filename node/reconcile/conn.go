package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/vigie-project/vigie/node/p2p"
)

// conn frames messages on the stream and counts the bytes.
type conn struct {
	ctx      context.Context
	rw       io.ReadWriter
	sent     int
	received int
}

// deadliner is what net.Conn and libp2p streams offer to unblock I/O.
type deadliner interface{ SetDeadline(time.Time) error }

// watch makes ctx's end unblock reads and writes on rw, if rw has
// deadlines: a session otherwise blocks in Read for as long as the peer
// stays silent. The returned function undoes it.
func watch(ctx context.Context, rw io.ReadWriter) func() {
	d, ok := rw.(deadliner)
	if !ok {
		return func() {}
	}
	if t, ok := ctx.Deadline(); ok {
		_ = d.SetDeadline(t)
	}
	stop := context.AfterFunc(ctx, func() { _ = d.SetDeadline(time.Unix(1, 0)) })
	return func() {
		if stop() || ctx.Err() == nil {
			_ = d.SetDeadline(time.Time{})
		}
	}
}

func (c *conn) write(msg []byte) error {
	if err := c.ctx.Err(); err != nil {
		return err
	}
	if err := p2p.WriteFrame(c.rw, msg, MaxFrame); err != nil {
		return c.ioErr(err)
	}
	c.sent += frameLen(len(msg))
	return nil
}

func (c *conn) read() ([]byte, error) {
	if err := c.ctx.Err(); err != nil {
		return nil, err
	}
	msg, err := p2p.ReadFrame(c.rw, MaxFrame)
	if err != nil {
		if errors.Is(err, p2p.ErrFrameTooLarge) || errors.Is(err, p2p.ErrBadFrame) {
			return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		return nil, c.ioErr(err)
	}
	c.received += frameLen(len(msg))
	if len(msg) > 0 && msg[0] == msgAbort {
		code, err := parseUvarintMsg(msg, msgAbort, 1<<16)
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w (code %d)", ErrAborted, code)
	}
	return msg, nil
}

// ioErr reports the context's error when its end is what broke the I/O.
func (c *conn) ioErr(err error) error {
	if cerr := c.ctx.Err(); cerr != nil {
		return fmt.Errorf("reconcile: %w (%v)", cerr, err)
	}
	return fmt.Errorf("reconcile: %w", err)
}

// abort tells the peer why we stop and returns err.
func (c *conn) abort(code uint64, err error) error {
	_ = c.write(marshalUvarintMsg(msgAbort, code))
	return err
}

func frameLen(n int) int {
	l := 1
	for v := n; v >= 0x80; v >>= 7 {
		l++
	}
	return l + n
}
