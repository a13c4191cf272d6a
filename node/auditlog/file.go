package auditlog

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// File format (the log folder holds one file, audit.log):
//
//	header  "VIGIE-AUDITLOG\x00\x01" (16 bytes; the last byte is the version)
//	record* u32 length ‖ u32 CRC-32C(payload) ‖ payload (length bytes)
//
// payload is a type byte and its data:
//
//	1 entry         salt (32) ‖ u64 index ‖ encoded entry
//	2 checkpoint    a signed checkpoint note, published
//	3 cosignatures  u64 checkpoint size ‖ signature lines
//
// Integers are big-endian.
const (
	fileName   = "audit.log"
	headerSize = 16
	recordHead = 8
	maxRecord  = 1 << 20

	recEntry        byte = 1
	recCheckpoint   byte = 2
	recCosignatures byte = 3

	// SaltSize is the length of an entry's random salt.
	SaltSize = 32
)

var fileHeader = [headerSize]byte{'V', 'I', 'G', 'I', 'E', '-', 'A', 'U', 'D', 'I', 'T', 'L', 'O', 'G', 0, 1}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt means the log file is damaged other than by a torn tail, or
// disagrees with a checkpoint it published.
var ErrCorrupt = errors.New("auditlog: log file corrupt")

func appendRecord(b []byte, typ byte, parts ...[]byte) []byte {
	n := 1
	for _, p := range parts {
		n += len(p)
	}
	start := len(b)
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	b = append(b, 0, 0, 0, 0)
	b = append(b, typ)
	for _, p := range parts {
		b = append(b, p...)
	}
	binary.BigEndian.PutUint32(b[start+4:], crc32.Checksum(b[start+recordHead:], castagnoli))
	return b
}

// scanned is one record found by scanFile.
type scanned struct {
	offset  int64 // of the record header
	typ     byte
	payload []byte // without the type byte
}

// scanFile reads every intact record. It stops at the first record that is
// incomplete or fails its CRC, and reports where: a torn tail. A bad record
// whose length is plausible and that is followed by an intact record is not
// a torn tail (writes are appended and fsynced in order) but damage:
// ErrCorrupt.
func scanFile(f *os.File, visit func(scanned) error) (end int64, torn bool, err error) {
	st, err := f.Stat()
	if err != nil {
		return 0, false, err
	}
	size := st.Size()
	var hdr [headerSize]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil {
		return 0, false, fmt.Errorf("%w: reading header: %v", ErrCorrupt, err)
	}
	if hdr != fileHeader {
		return 0, false, fmt.Errorf("%w: not an audit log (bad header)", ErrCorrupt)
	}
	r := newOffsetReader(f, headerSize, size)
	buf := make([]byte, 0, 4096)
	for r.off < size {
		start := r.off
		rec, ok, err := readRecord(r, size, buf[:0])
		if err != nil {
			return 0, false, err
		}
		if !ok {
			// Is an intact record right after the bad one?
			if next, ok := nextAfter(f, start, size); ok {
				return 0, false, fmt.Errorf("%w: damaged record at offset %d followed by an intact one at %d", ErrCorrupt, start, next)
			}
			return start, true, nil
		}
		if cap(rec) > cap(buf) {
			buf = rec[:0]
		}
		if err := visit(scanned{offset: start, typ: rec[0], payload: rec[1:]}); err != nil {
			return 0, false, err
		}
	}
	return r.off, false, nil
}

// readRecord reads one record at r.off; ok is false for an incomplete or
// damaged record (r.off is then unspecified).
func readRecord(r *offsetReader, size int64, buf []byte) ([]byte, bool, error) {
	var h [recordHead]byte
	if size-r.off < recordHead {
		return nil, false, nil
	}
	if _, err := r.Read(h[:]); err != nil {
		return nil, false, err
	}
	n := int64(binary.BigEndian.Uint32(h[:4]))
	if n < 1 || n > maxRecord || n > size-r.off {
		return nil, false, nil
	}
	if int64(cap(buf)) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, false, err
	}
	if crc32.Checksum(buf, castagnoli) != binary.BigEndian.Uint32(h[4:]) {
		return nil, false, nil
	}
	return buf, true, nil
}

func nextAfter(f *os.File, start, size int64) (int64, bool) {
	var h [recordHead]byte
	if _, err := f.ReadAt(h[:], start); err != nil {
		return 0, false
	}
	n := int64(binary.BigEndian.Uint32(h[:4]))
	if n < 1 || n > maxRecord {
		return 0, false
	}
	next := start + recordHead + n
	if next >= size {
		return 0, false
	}
	r := newOffsetReader(f, next, size)
	_, ok, err := readRecord(r, size, nil)
	return next, ok && err == nil
}

// offsetReader reads a file sequentially through a buffer, counting the
// offset.
type offsetReader struct {
	br  *bufio.Reader
	off int64
}

func newOffsetReader(f *os.File, off, size int64) *offsetReader {
	return &offsetReader{br: bufio.NewReaderSize(io.NewSectionReader(f, off, size-off), 256<<10), off: off}
}

func (r *offsetReader) Read(p []byte) (int, error) {
	n, err := io.ReadFull(r.br, p)
	r.off += int64(n)
	return n, err
}
