package riblt

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// MaxSymbolsPerMessage bounds a Batch, so that one message is at most
// MaxMessageSize bytes (about 41 KiB) whatever the difference: a receiver
// asking for more symbols asks for several messages, never a big one.
const MaxSymbolsPerMessage = 1024

// batchVersion is the first byte of every encoded Batch.
const batchVersion = 1

// maxBatchHeader is the version byte, the key check and three uvarints.
const maxBatchHeader = 1 + 8 + 3*binary.MaxVarintLen64

// MaxMessageSize is the largest encoded Batch.
const MaxMessageSize = maxBatchHeader + MaxSymbolsPerMessage*CodedSymbolSize

// ErrBatch is wrapped by every Batch decoding error.
var ErrBatch = errors.New("riblt: malformed batch")

// Batch is one message of the coded stream: consecutive coded symbols from
// index Start, labelled with the session's key check value and the sender's
// set size.
//
// Wire form: version byte (1), key check (8 bytes little endian), then
// uvarints Start, SetSize and the number of symbols n ≤
// MaxSymbolsPerMessage, then n × 41 bytes of symbols. Varints must be
// minimal and nothing may follow, so every Batch has one encoding.
type Batch struct {
	KeyCheck uint64 // KeyCheck of the session key
	Start    uint64 // stream index of Symbols[0]
	SetSize  uint64 // number of items in the sender's set
	Symbols  []CodedSymbol
}

// AppendBinary appends the wire form of b.
func (b *Batch) AppendBinary(buf []byte) ([]byte, error) {
	if len(b.Symbols) > MaxSymbolsPerMessage {
		return buf, fmt.Errorf("%w: %d symbols, at most %d", ErrBatch, len(b.Symbols), MaxSymbolsPerMessage)
	}
	if b.Start+uint64(len(b.Symbols)) > MaxStreamLength {
		return buf, fmt.Errorf("%w: symbols past the stream cap %d", ErrBatch, MaxStreamLength)
	}
	buf = append(buf, batchVersion)
	buf = binary.LittleEndian.AppendUint64(buf, b.KeyCheck)
	buf = binary.AppendUvarint(buf, b.Start)
	buf = binary.AppendUvarint(buf, b.SetSize)
	buf = binary.AppendUvarint(buf, uint64(len(b.Symbols)))
	for _, c := range b.Symbols {
		buf, _ = c.AppendBinary(buf)
	}
	return buf, nil
}

// MarshalBinary returns the wire form of b.
func (b *Batch) MarshalBinary() ([]byte, error) {
	return b.AppendBinary(make([]byte, 0, maxBatchHeader+len(b.Symbols)*CodedSymbolSize))
}

// EncodedLen returns the size of b's wire form.
func (b *Batch) EncodedLen() int {
	return 1 + 8 + uvarintLen(b.Start) + uvarintLen(b.SetSize) +
		uvarintLen(uint64(len(b.Symbols))) + len(b.Symbols)*CodedSymbolSize
}

// UnmarshalBinary decodes a Batch, rejecting anything but the one canonical
// encoding. It allocates only after checking that the length matches the
// symbol count, so a hostile count cannot make it allocate.
func (b *Batch) UnmarshalBinary(data []byte) error {
	if len(data) < 1+8 || data[0] != batchVersion {
		return fmt.Errorf("%w: bad header", ErrBatch)
	}
	keyCheck := binary.LittleEndian.Uint64(data[1:9])
	rest := data[9:]
	var fields [3]uint64
	for i := range fields {
		v, n := binary.Uvarint(rest)
		if n <= 0 || n != uvarintLen(v) {
			return fmt.Errorf("%w: bad varint", ErrBatch)
		}
		fields[i], rest = v, rest[n:]
	}
	start, setSize, count := fields[0], fields[1], fields[2]
	if count > MaxSymbolsPerMessage {
		return fmt.Errorf("%w: %d symbols, at most %d", ErrBatch, count, MaxSymbolsPerMessage)
	}
	if start > MaxStreamLength || start+count > MaxStreamLength {
		return fmt.Errorf("%w: symbols past the stream cap %d", ErrBatch, MaxStreamLength)
	}
	if uint64(len(rest)) != count*CodedSymbolSize {
		return fmt.Errorf("%w: %d bytes for %d symbols", ErrBatch, len(rest), count)
	}
	syms := make([]CodedSymbol, count)
	for i := range syms {
		_ = syms[i].UnmarshalBinary(rest[i*CodedSymbolSize : (i+1)*CodedSymbolSize])
	}
	*b = Batch{KeyCheck: keyCheck, Start: start, SetSize: setSize, Symbols: syms}
	return nil
}

// uvarintLen is the length of the minimal uvarint encoding of v.
func uvarintLen(v uint64) int {
	n := 1
	for ; v >= 0x80; v >>= 7 {
		n++
	}
	return n
}

// AddBatch checks that b belongs to this session and continues the stream,
// then adds its symbols. Symbols the decoder already has (a resent batch)
// are skipped; a gap is an error.
func (d *Decoder) AddBatch(b *Batch) error {
	if d.err != nil {
		return d.err
	}
	if b.KeyCheck != d.keyCheck {
		return d.fail(ErrKeyMismatch)
	}
	have := uint64(len(d.cells))
	if b.Start > have {
		return d.fail(fmt.Errorf("%w: batch starts at %d, expected %d", ErrOutOfOrder, b.Start, have))
	}
	if b.SetSize > MaxStreamLength*uint64(MaxSymbolsPerMessage) {
		return d.fail(fmt.Errorf("%w: implausible set size %d", ErrInconsistent, b.SetSize))
	}
	if d.remoteSize >= 0 && uint64(d.remoteSize) != b.SetSize {
		return d.fail(fmt.Errorf("%w: the sender's set size changed from %d to %d", ErrInconsistent, d.remoteSize, b.SetSize))
	}
	d.remoteSize = int(b.SetSize)
	skip := have - b.Start
	if skip >= uint64(len(b.Symbols)) {
		return nil
	}
	for _, c := range b.Symbols[skip:] {
		if err := d.AddCoded(c); err != nil {
			return err
		}
	}
	return nil
}
