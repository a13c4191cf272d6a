package riblt

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func FuzzUnmarshalCodedSymbol(f *testing.F) {
	common, _, _ := splitSets(300, 50, 0, 0)
	e := encoderOf(testKey, common)
	for i := range 4 {
		b, _ := e.Symbol(i).MarshalBinary()
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add(make([]byte, 40))
	f.Fuzz(func(t *testing.T, data []byte) {
		var c CodedSymbol
		err := c.UnmarshalBinary(data)
		if (err == nil) != (len(data) == CodedSymbolSize) {
			t.Fatalf("%d bytes: err %v", len(data), err)
		}
		if err != nil {
			return
		}
		back, _ := c.MarshalBinary()
		if !bytes.Equal(back, data) {
			t.Fatalf("round trip changed %x to %x", data, back)
		}
	})
}

func FuzzUnmarshalBatch(f *testing.F) {
	common, _, _ := splitSets(301, 50, 0, 0)
	e := encoderOf(testKey, common)
	for _, n := range []int{0, 1, 3} {
		b := mustBatch(f, e, n, n)
		w, _ := b.MarshalBinary()
		f.Add(w)
	}
	f.Add([]byte{batchVersion})
	f.Fuzz(func(t *testing.T, data []byte) {
		var b Batch
		if err := b.UnmarshalBinary(data); err != nil {
			return
		}
		if len(data) > MaxMessageSize || len(b.Symbols) > MaxSymbolsPerMessage {
			t.Fatalf("accepted %d bytes, %d symbols", len(data), len(b.Symbols))
		}
		back, err := b.MarshalBinary()
		if err != nil || !bytes.Equal(back, data) {
			t.Fatalf("not canonical: %x re-encodes to %x (%v)", data, back, err)
		}
	})
}

// fuzzLocal is the receiver's set in FuzzDecodeStream.
func fuzzLocal() ([]Symbol, *Encoder) {
	common, _, _ := splitSets(302, 24, 0, 0)
	return common, encoderOf(testKey, common)
}

// FuzzDecodeStream feeds arbitrary bytes to a decoder as raw coded symbols
// (first byte even) or as length-prefixed batches (odd). It must never
// panic or loop, never recover more items than symbols received, and
// whenever it reports success the claimed difference must reproduce every
// symbol received exactly.
func FuzzDecodeStream(f *testing.F) {
	seedLocal, _ := fuzzLocal()
	for i, split := range [][2]int{{0, 0}, {3, 0}, {0, 3}, {6, 4}} {
		_, extra, _ := splitSets(uint64(303+i), 0, split[0], 0)
		sender := encoderOf(testKey, seedLocal[split[1]:], extra)
		raw := []byte{0}
		for j := range 24 {
			raw, _ = sender.Symbol(j).AppendBinary(raw)
		}
		f.Add(raw)
		framed := []byte{1}
		for start := 0; start < 24; start += 8 {
			b := mustBatch(f, sender, start, 8)
			w, _ := b.MarshalBinary()
			framed = binary.BigEndian.AppendUint16(framed, uint16(len(w)))
			framed = append(framed, w...)
		}
		f.Add(framed)
	}
	// The local encoder is only read (the budget stays inside its window),
	// so every input can share it.
	local, enc := fuzzLocal()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		dec := NewDecoderWithLocal(enc)
		dec.SetBudget(512)
		var got []CodedSymbol
		if data[0]%2 == 0 {
			got = feedRaw(dec, data[1:])
		} else {
			got = feedBatches(dec, data[1:])
		}
		recovered := len(dec.Remote()) + len(dec.Local())
		if recovered > dec.Received() || dec.Received() > 512 || len(got) != dec.Received() {
			t.Fatalf("recovered %d from %d symbols (%d fed)", recovered, dec.Received(), len(got))
		}
		if dec.Decoded() {
			checkClaim(t, local, dec, got)
		}
	})
}

// feedRaw adds 41-byte symbols one at a time and returns those accepted.
func feedRaw(dec *Decoder, data []byte) []CodedSymbol {
	var got []CodedSymbol
	for ; len(data) >= CodedSymbolSize; data = data[CodedSymbolSize:] {
		var c CodedSymbol
		_ = c.UnmarshalBinary(data[:CodedSymbolSize])
		if dec.AddCoded(c) != nil {
			break
		}
		got = append(got, c)
		if dec.TryDecode() != nil {
			break
		}
	}
	return got
}

// feedBatches adds batches framed by a 2-byte length and returns the
// symbols the decoder took.
func feedBatches(dec *Decoder, data []byte) []CodedSymbol {
	var got []CodedSymbol
	for len(data) >= 2 {
		n := int(binary.BigEndian.Uint16(data))
		data = data[2:]
		if n > len(data) {
			break
		}
		var b Batch
		if b.UnmarshalBinary(data[:n]) != nil {
			break
		}
		data = data[n:]
		have := uint64(len(got))
		err := dec.AddBatch(&b)
		// A batch can fail halfway (the budget): keep what was taken.
		if taken := uint64(dec.Received()) - have; taken > 0 {
			skip := have - b.Start
			got = append(got, b.Symbols[skip:skip+taken]...)
		}
		if err != nil {
			break
		}
		if dec.TryDecode() != nil {
			break
		}
	}
	return got
}

// checkClaim re-encodes the remote set the decoder claims to have found and
// compares it with what was received.
func checkClaim(t *testing.T, local []Symbol, dec *Decoder, got []CodedSymbol) {
	t.Helper()
	claimed := encoderOf(testKey, local)
	for _, x := range dec.Local() {
		if !claimed.Remove(x) {
			t.Fatalf("claimed local-only item %x is not local", x)
		}
	}
	for _, x := range dec.Remote() {
		if !claimed.Add(x) {
			t.Fatalf("claimed remote-only item %x is local", x)
		}
	}
	for i, c := range got {
		if claimed.Symbol(i) != c {
			t.Fatalf("decoded, but the claimed set does not produce symbol %d", i)
		}
	}
}
