package p2p

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func TestFrameRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 300, 4096} {
		msg := bytes.Repeat([]byte{byte(n)}, n)
		var buf bytes.Buffer
		if err := WriteFrame(&buf, msg, 4096); err != nil {
			t.Fatal(err)
		}
		if err := WriteFrame(&buf, []byte("next"), 4096); err != nil {
			t.Fatal(err)
		}
		// One byte per Read, as a slow stream might deliver it.
		r := iotest.OneByteReader(&buf)
		got, err := ReadFrame(r, 4096)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("%d bytes: got %d bytes, %v", n, len(got), err)
		}
		if got, err := ReadFrame(r, 4096); err != nil || string(got) != "next" {
			t.Fatalf("the prefix reader consumed too much: %q, %v", got, err)
		}
		if _, err := ReadFrame(r, 4096); err != io.EOF {
			t.Fatalf("after the last frame: %v, want io.EOF", err)
		}
	}
}

func TestReadFrameRejects(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"too large", varintOf(4097), ErrFrameTooLarge},
		{"huge", varintOf(1 << 62), ErrFrameTooLarge},
		{"not minimal", []byte{0x81, 0x00}, ErrBadFrame},
		{"overflow", bytes.Repeat([]byte{0xff}, 10), ErrBadFrame},
		{"truncated prefix", []byte{0x80}, io.ErrUnexpectedEOF},
		{"truncated payload", append(varintOf(10), 1, 2, 3), io.ErrUnexpectedEOF},
		{"empty", nil, io.EOF},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadFrame(bytes.NewReader(c.in), 4096)
			if !errors.Is(err, c.want) {
				t.Errorf("got %v, want %v", err, c.want)
			}
		})
	}
	if err := WriteFrame(io.Discard, make([]byte, 10), 9); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("writing an oversized frame: %v", err)
	}
}

// FuzzReadFrame: whatever the bytes, ReadFrame never panics, never returns
// more than max bytes, and whatever it accepts re-encodes to exactly the
// bytes it consumed.
func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{}, uint16(64))
	f.Add(frame([]byte("hello")), uint16(64))
	f.Add(varintOf(1<<40), uint16(64))
	f.Add([]byte{0x80, 0x00}, uint16(64))
	f.Add(bytes.Repeat([]byte{0xff}, 12), uint16(4096))
	f.Fuzz(func(t *testing.T, in []byte, max uint16) {
		// Unbuffered: the prefix is read a byte at a time through our
		// adapter, and nothing past the frame may be consumed.
		counted := &countingReader{r: bytes.NewReader(in)}
		msg, err := ReadFrame(counted, int(max))
		checkFuzzFrame(t, in, msg, err, int(max), counted.n)
		// Buffered: the reader is an io.ByteReader and is used directly.
		msg2, err2 := ReadFrame(bufio.NewReaderSize(bytes.NewReader(in), 16), int(max))
		checkFuzzFrame(t, in, msg2, err2, int(max), -1)
		if (err == nil) != (err2 == nil) || !bytes.Equal(msg, msg2) {
			t.Fatalf("the two paths disagree: %v / %v", err, err2)
		}
	})
}

func checkFuzzFrame(t *testing.T, in, msg []byte, err error, max, consumed int) {
	t.Helper()
	if err != nil {
		return
	}
	if len(msg) > max {
		t.Fatalf("returned %d bytes, max %d", len(msg), max)
	}
	var again bytes.Buffer
	if err := WriteFrame(&again, msg, max); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(in, again.Bytes()) {
		t.Fatalf("accepted frame does not re-encode to its input")
	}
	if consumed >= 0 && consumed != again.Len() {
		t.Fatalf("consumed %d bytes for a %d-byte frame", consumed, again.Len())
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
