package reconcile

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/vigie-project/vigie/node/p2p"
	"github.com/vigie-project/vigie/protocol/riblt"
)

// Every decoder must either fail with ErrMalformed or accept an input it
// re-encodes byte for byte (one encoding per message), and never panic.

func checkDecode(t *testing.T, data []byte, err error, back func() ([]byte, error)) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("error %v does not wrap ErrMalformed", err)
		}
		return
	}
	b, err := back()
	if err != nil {
		t.Fatalf("re-encoding an accepted message: %v", err)
	}
	if !bytes.Equal(b, data) {
		t.Fatalf("accepted %x but re-encodes as %x", data, b)
	}
}

func testKey() riblt.Key {
	var k riblt.Key
	copy(k[:], "fuzz-session-key")
	return k
}

func FuzzParseHello(f *testing.F) {
	k := testKey()
	f.Add((&hello{key: k, keyCheck: riblt.KeyCheck(k), size: 1000, sum: sum128{1, 2}, maxSymbols: 4128}).marshal())
	f.Add([]byte{msgHello})
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := parseHello(data)
		checkDecode(t, data, err, func() ([]byte, error) { return h.marshal(), nil })
	})
}

func FuzzParseDiff(f *testing.F) {
	k := testKey()
	sk := riblt.NewSketch(k, 32)
	for i := range 20 {
		sk.Add(riblt.Symbol{byte(i)})
	}
	d := diff{size: 20, sum: sum128{3, 4}, sketch: 32, batch: riblt.Batch{KeyCheck: riblt.KeyCheck(k), SetSize: 20, Symbols: sk.Symbols(3)}}
	msg, _ := d.marshal()
	f.Add(msg)
	f.Add([]byte{msgDiff, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := parseDiff(data)
		checkDecode(t, data, err, d.marshal)
	})
}

func FuzzParseSymbols(f *testing.F) {
	k := testKey()
	sk := riblt.NewSketch(k, 8)
	sk.Add(riblt.Symbol{1})
	b := riblt.Batch{KeyCheck: riblt.KeyCheck(k), Start: 4, SetSize: 1, Symbols: sk.Symbols(2)}
	msg, _ := marshalSymbols(&b)
	f.Add(msg)
	f.Add([]byte{msgSymbols, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := parseSymbols(data)
		checkDecode(t, data, err, func() ([]byte, error) { return marshalSymbols(&b) })
	})
}

func FuzzParseUvarintMsg(f *testing.F) {
	f.Add(marshalUvarintMsg(msgMore, 300))
	f.Add([]byte{msgMore, 0x80, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := parseUvarintMsg(data, msgMore, riblt.MaxStreamLength)
		checkDecode(t, data, err, func() ([]byte, error) { return marshalUvarintMsg(msgMore, v), nil })
	})
}

func sampleQuery() []queryItem {
	root := rangeID{}
	kids := root.children()
	return []queryItem{{r: kids[3], count: 7, fp: sum128{5, 6}}, {r: kids[3].children()[9], count: 0}, {r: kids[15]}}
}

func FuzzParseQuery(f *testing.F) {
	f.Add(marshalQuery(sampleQuery()))
	f.Add([]byte{msgQuery, 1, 65})
	f.Fuzz(func(t *testing.T, data []byte) {
		q, err := parseQuery(data)
		checkDecode(t, data, err, func() ([]byte, error) { return marshalQuery(q), nil })
	})
}

func FuzzParseAnswer(f *testing.F) {
	q := sampleQuery()
	var in riblt.Symbol
	in[0] = 0x39
	f.Add(marshalQuery(q), marshalAnswer([]answerEntry{{kind: ansEqual}, {kind: ansIDs, ids: []riblt.Symbol{in}}, {kind: ansSplit}}))
	f.Add(marshalQuery(q[:1]), []byte{msgAnswer, 1, ansIDs, 17})
	f.Fuzz(func(t *testing.T, query, data []byte) {
		q, err := parseQuery(query)
		if err != nil {
			return
		}
		a, err := parseAnswer(data, q)
		checkDecode(t, data, err, func() ([]byte, error) { return marshalAnswer(a), nil })
	})
}

// script is a stream that reads a fixed input and discards what is
// written.
type script struct {
	io.Reader
	io.Writer
}

func frames(msgs ...[]byte) []byte {
	var buf bytes.Buffer
	for _, m := range msgs {
		_ = p2p.WriteFrame(&buf, m, MaxFrame)
	}
	return buf.Bytes()
}

// FuzzRespond feeds a responder an arbitrary byte stream: it must end with
// an error or nil, bounded, and never panic.
func FuzzRespond(f *testing.F) {
	_, b, _, _ := sets(21, 200, 5, 5)
	k := testKey()
	h := hello{key: k, keyCheck: riblt.KeyCheck(k), size: 3, maxSymbols: 64}
	f.Add(frames(h.marshal(), marshalUvarintMsg(msgMore, 10), marshalQuery(sampleQuery()), []byte{msgDone}))
	f.Add(frames(h.marshal(), marshalUvarintMsg(msgMore, 100)))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = Respond(context.Background(), script{bytes.NewReader(data), io.Discard}, Slice(b))
	})
}

// FuzzInitiate feeds an initiator (with a fixed key) an arbitrary
// responder stream.
func FuzzInitiate(f *testing.F) {
	a, b, _, _ := sets(22, 200, 5, 5)
	zero := bytes.Repeat([]byte{0}, 16)
	p := newPRF(riblt.Key{})
	n, sum := p.setSum(Slice(b))
	sk := riblt.NewSketch(riblt.Key{}, 64)
	for _, id := range b {
		sk.Add(id)
	}
	d := diff{size: uint64(n), sum: sum, sketch: 64, batch: riblt.Batch{KeyCheck: riblt.KeyCheck(riblt.Key{}), SetSize: uint64(n), Symbols: sk.Symbols(16)}}
	msg, _ := d.marshal()
	// One symbol per frame: whatever the decoder asks for, the stream stays
	// in step, so the seed reaches decoding and the checks after it.
	msgs := [][]byte{msg}
	all := sk.Symbols(64)
	for i := 16; i < 64; i++ {
		more := riblt.Batch{KeyCheck: d.batch.KeyCheck, Start: uint64(i), SetSize: uint64(n), Symbols: all[i : i+1]}
		m, _ := marshalSymbols(&more)
		msgs = append(msgs, m)
	}
	f.Add(frames(msgs...))
	f.Add(frames([]byte{msgEqual}))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Initiate(context.Background(), script{bytes.NewReader(data), io.Discard}, Slice(a),
			WithRand(bytes.NewReader(zero)), WithMaxFallbackBytes(1<<16))
	})
}
