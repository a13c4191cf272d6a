package reconcile

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/vigie-project/vigie/node/p2p"
	"github.com/vigie-project/vigie/protocol/riblt"
)

// fakePeer runs script on one end of a pipe while the real side runs on
// the other, and returns the real side's error.
func fakePeer(t *testing.T, real func(context.Context, net.Conn) error, script func(net.Conn)) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, b := net.Pipe()
	go func() {
		defer b.Close()
		script(b)
	}()
	err := real(ctx, a)
	a.Close()
	if ctx.Err() != nil {
		t.Fatalf("session hung until the timeout: %v", err)
	}
	return err
}

func initiateWith(set Set, opts ...Option) func(context.Context, net.Conn) error {
	return func(ctx context.Context, c net.Conn) error {
		_, err := Initiate(ctx, c, set, opts...)
		return err
	}
}

func respondWith(set Set, opts ...Option) func(context.Context, net.Conn) error {
	return func(ctx context.Context, c net.Conn) error { return Respond(ctx, c, set, opts...) }
}

// readHello reads the initiator's hello in a fake responder.
func readHello(c net.Conn) hello {
	f, _ := p2p.ReadFrame(c, MaxFrame)
	h, _ := parseHello(f)
	return h
}

func TestMaliciousResponder(t *testing.T) {
	a, b, _, _ := sets(3, 2000, 20, 20)
	bSize, bSum := 0, sum128{}
	cases := []struct {
		name   string
		want   error
		script func(net.Conn, hello)
	}{
		{"garbage", ErrMalformed, func(c net.Conn, _ hello) { _ = p2p.WriteFrame(c, []byte{0xff, 1, 2, 3}, MaxFrame) }},
		{"empty frame", ErrMalformed, func(c net.Conn, _ hello) { _ = p2p.WriteFrame(c, nil, MaxFrame) }},
		{"oversized frame", ErrMalformed, func(c net.Conn, _ hello) {
			_, _ = c.Write([]byte{0x80, 0x80, 0x80, 0x01}) // declares 2 MiB
		}},
		{"bad length prefix", ErrMalformed, func(c net.Conn, _ hello) { _, _ = c.Write([]byte{0x80, 0x00}) }},
		{"abort", ErrAborted, func(c net.Conn, _ hello) { _ = p2p.WriteFrame(c, marshalUvarintMsg(msgAbort, 7), MaxFrame) }},
		{"hang up", io.ErrUnexpectedEOF, func(c net.Conn, _ hello) { _, _ = c.Write([]byte{0x10, msgDiff}) }},
		{"wrong key", ErrMalformed, func(c net.Conn, h hello) {
			var other riblt.Key
			other[0] = 1
			sk := riblt.NewSketch(other, 64)
			d := diff{size: 5, sketch: 64, batch: riblt.Batch{KeyCheck: riblt.KeyCheck(other), SetSize: 5, Symbols: sk.Symbols(16)}}
			msg, _ := d.marshal()
			_ = p2p.WriteFrame(c, msg, MaxFrame)
		}},
		{"batch beyond request", ErrMalformed, func(c net.Conn, h hello) {
			d := diff{size: uint64(bSize), sum: bSum, sketch: 4096, batch: riblt.Batch{KeyCheck: h.keyCheck, SetSize: uint64(bSize)}}
			msg, _ := d.marshal()
			_ = p2p.WriteFrame(c, msg, MaxFrame)
			_, _ = p2p.ReadFrame(c, MaxFrame) // more
			bt := riblt.Batch{KeyCheck: h.keyCheck, Start: 5, SetSize: uint64(bSize), Symbols: make([]riblt.CodedSymbol, 3)}
			msg, _ = marshalSymbols(&bt)
			_ = p2p.WriteFrame(c, msg, MaxFrame)
		}},
		{"split forever", ErrTooLarge, func(c net.Conn, h hello) {
			d := diff{size: 1, sum: bSum, batch: riblt.Batch{KeyCheck: h.keyCheck, SetSize: 1}}
			msg, _ := d.marshal()
			_ = p2p.WriteFrame(c, msg, MaxFrame)
			for {
				f, err := p2p.ReadFrame(c, MaxFrame)
				if err != nil {
					return
				}
				q, err := parseQuery(f)
				if err != nil {
					return
				}
				ans := make([]answerEntry, len(q))
				for i := range ans {
					ans[i].kind = ansSplit
				}
				if p2p.WriteFrame(c, marshalAnswer(ans), MaxFrame) != nil {
					return
				}
			}
		}},
	}
	bSize, bSum = newPRF(riblt.Key{}).setSum(Slice(b))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := fakePeer(t, initiateWith(Slice(a), WithMaxFallbackBytes(1<<20)), func(conn net.Conn) { c.script(conn, readHello(conn)) })
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

func TestMaliciousInitiator(t *testing.T) {
	_, b, _, _ := sets(4, 2000, 20, 20)
	good := func() hello {
		var k riblt.Key
		k[3] = 9
		return hello{key: k, keyCheck: riblt.KeyCheck(k), size: 10, maxSymbols: 64}
	}
	cases := []struct {
		name   string
		want   error
		script func(net.Conn)
	}{
		{"garbage", ErrMalformed, func(c net.Conn) { _ = p2p.WriteFrame(c, []byte{msgHello, 9, 9}, MaxFrame) }},
		{"oversized", ErrMalformed, func(c net.Conn) { _, _ = c.Write([]byte{0xff, 0xff, 0x7f}) }},
		{"key check", ErrKeyCheck, func(c net.Conn) {
			h := good()
			h.keyCheck++
			_ = p2p.WriteFrame(c, h.marshal(), MaxFrame)
			_, _ = p2p.ReadFrame(c, MaxFrame)
		}},
		{"too many symbols", ErrMalformed, func(c net.Conn) {
			h := good()
			_ = p2p.WriteFrame(c, h.marshal(), MaxFrame)
			_, _ = p2p.ReadFrame(c, MaxFrame)
			_ = p2p.WriteFrame(c, marshalUvarintMsg(msgMore, 1000), MaxFrame)
			_, _ = p2p.ReadFrame(c, MaxFrame)
		}},
		{"bad query", ErrMalformed, func(c net.Conn) {
			h := good()
			_ = p2p.WriteFrame(c, h.marshal(), MaxFrame)
			_, _ = p2p.ReadFrame(c, MaxFrame)
			_ = p2p.WriteFrame(c, []byte{msgQuery, 1, 3, 0xab, 0xcd}, MaxFrame)
			_, _ = p2p.ReadFrame(c, MaxFrame)
		}},
		{"hang up", io.EOF, func(net.Conn) {}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := fakePeer(t, respondWith(Slice(b)), c.script)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

func TestContextCancel(t *testing.T) {
	a, _, _, _ := sets(5, 1000, 0, 0)
	for _, side := range []string{"initiator", "responder"} {
		t.Run(side, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			x, y := net.Pipe()
			defer x.Close()
			defer y.Close()
			done := make(chan error, 1)
			go func() {
				if side == "initiator" {
					_, err := Initiate(ctx, x, Slice(a))
					done <- err
				} else {
					done <- Respond(ctx, x, Slice(a))
				}
			}()
			time.Sleep(20 * time.Millisecond) // the peer y stays silent
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("got %v, want context.Canceled", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("cancellation did not unblock the session")
			}
		})
	}
}
