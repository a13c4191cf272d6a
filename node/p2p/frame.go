package p2p

import (
	"errors"
	"fmt"
	"io"

	"github.com/multiformats/go-varint"
)

// Framing: every message on a Vigie stream is an unsigned-varint length
// (minimally encoded, as in multiformats and protobuf-delimited streams)
// followed by that many bytes. The reader refuses a frame longer than the
// caller's maximum before allocating anything, so a peer cannot make us
// allocate more than one maximum-sized message per stream.

// ErrFrameTooLarge means a frame's declared length exceeds the maximum the
// reader accepts (or the writer was asked to send such a frame).
var ErrFrameTooLarge = errors.New("p2p: frame too large")

// ErrBadFrame means the length prefix is malformed (not minimal, or too
// long to be a varint).
var ErrBadFrame = errors.New("p2p: malformed frame length")

// WriteFrame writes msg as one frame. Prefix and payload go out in a single
// Write, so a small message is a single muxer frame on the wire.
func WriteFrame(w io.Writer, msg []byte, max int) error {
	if len(msg) > max {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrFrameTooLarge, len(msg), max)
	}
	n := varint.UvarintSize(uint64(len(msg)))
	buf := make([]byte, n+len(msg))
	varint.PutUvarint(buf, uint64(len(msg)))
	copy(buf[n:], msg)
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("p2p: writing frame: %w", err)
	}
	return nil
}

// ReadFrame reads one frame of at most max bytes. A clean end of stream
// before the first byte gives io.EOF; an end inside a frame gives
// io.ErrUnexpectedEOF.
func ReadFrame(r io.Reader, max int) ([]byte, error) {
	n, err := readLength(r)
	if err != nil {
		return nil, err
	}
	if n > uint64(max) {
		return nil, fmt.Errorf("%w: %d bytes declared, at most %d", ErrFrameTooLarge, n, max)
	}
	msg := make([]byte, n)
	if _, err := io.ReadFull(r, msg); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("p2p: reading frame: %w", err)
	}
	return msg, nil
}

// readLength reads the varint prefix one byte at a time, so that nothing
// past the prefix is consumed and no buffer is needed on the stream.
func readLength(r io.Reader) (uint64, error) {
	br, ok := r.(io.ByteReader)
	if !ok {
		br = &byteReader{r: r}
	}
	n, err := varint.ReadUvarint(br)
	switch {
	case err == nil:
		return n, nil
	case errors.Is(err, io.EOF):
		return 0, io.EOF // nothing read: a clean end between frames
	case errors.Is(err, varint.ErrOverflow), errors.Is(err, varint.ErrNotMinimal):
		return 0, fmt.Errorf("%w: %v", ErrBadFrame, err)
	}
	return 0, fmt.Errorf("p2p: reading frame length: %w", err)
}

// byteReader adapts an io.Reader to io.ByteReader without buffering.
type byteReader struct {
	r   io.Reader
	buf [1]byte
}

func (b *byteReader) ReadByte() (byte, error) {
	if _, err := io.ReadFull(b.r, b.buf[:]); err != nil {
		return 0, err
	}
	return b.buf[0], nil
}
