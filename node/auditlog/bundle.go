package auditlog

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/vigie-project/vigie/crypto/checkpoint"
	"github.com/vigie-project/vigie/crypto/merkle"
)

// Bundle format (what `vigie audit export` writes and `vigie audit verify`
// reads, offline):
//
//	magic   "vigie-audit-bundle/v1\n"
//	record* type (1 byte) ‖ uvarint length ‖ payload
//
//	'k'  a node verifier key (C2SP vkey text); all come first
//	'w'  a witness verifier key (vkey text); after the node keys
//	'e'  an entry: leaf hash (32) ‖ salt (32) ‖ u64 index ‖ encoded entry
//	'p'  a consistency proof: u64 old size ‖ u64 new size ‖ hashes (32 each),
//	     right before the checkpoint of the new size
//	'c'  a signed checkpoint, cosignatures merged, right after the entry
//	     that brings the log to its size
//	'z'  end: u64 entries ‖ u64 checkpoints (detects a cut bundle)
//
// Entries run in index order from 0; the first checkpoint may be of size 0;
// the last one covers every entry.
const bundleMagic = "vigie-audit-bundle/v1\n"

// Bundle record types.
const (
	BundleNodeKey    byte = 'k'
	BundleWitnessKey byte = 'w'
	BundleEntry      byte = 'e'
	BundleProof      byte = 'p'
	BundleCheckpoint byte = 'c'
	BundleEnd        byte = 'z'
)

const (
	maxBundleRecord = checkpoint.MaxNoteSize + 1024
	maxProofHashes  = 128
)

// ErrBundle means a bundle is not in the bundle format.
var ErrBundle = errors.New("auditlog: malformed bundle")

// Export writes a bundle of the whole log: it publishes a checkpoint
// covering every entry appended so far, then writes the keys (the node's and
// witnessKeys, C2SP vkeys of the witnesses whose cosignatures the auditor
// should check), every entry with its salt, and every published checkpoint
// with its cosignatures and a consistency proof from the previous one.
func (l *Log) Export(ctx context.Context, w io.Writer, witnessKeys ...string) error {
	if _, err := l.Publish(ctx); err != nil {
		return err
	}
	l.cpMu.Lock()
	cps := append([]cpRef(nil), l.cps...)
	cosigs := append([]cpRef(nil), l.cosigs...)
	l.cpMu.Unlock()
	if len(cps) == 0 {
		return fmt.Errorf("auditlog: nothing published")
	}
	n := cps[len(cps)-1].size
	l.mu.Lock()
	offsets := l.offsets[:n:n]
	l.mu.Unlock()

	bw := bufio.NewWriterSize(w, 256<<10)
	bw.WriteString(bundleMagic)
	var rec []byte
	put := func(typ byte, parts ...[]byte) error {
		rec = rec[:0]
		size := 0
		for _, p := range parts {
			size += len(p)
		}
		rec = append(rec, typ)
		rec = binary.AppendUvarint(rec, uint64(size))
		for _, p := range parts {
			rec = append(rec, p...)
		}
		_, err := bw.Write(rec)
		return err
	}
	for _, v := range l.vs {
		k, err := checkpoint.VerifierKey(v)
		if err != nil {
			return err
		}
		if err := put(BundleNodeKey, []byte(k)); err != nil {
			return err
		}
	}
	for _, k := range witnessKeys {
		if _, err := checkpoint.NewVerifier(k); err != nil {
			return fmt.Errorf("auditlog: witness key: %w", err)
		}
		if err := put(BundleWitnessKey, []byte(k)); err != nil {
			return err
		}
	}
	// Entries are read sequentially from the file (they were written in
	// index order).
	var r *offsetReader
	if n > 0 {
		r = newOffsetReader(l.f, offsets[0], l.written.Load())
	}
	var buf []byte
	ci := 0
	prev := -1
	emitCheckpoints := func(count uint64) error {
		for ci < len(cps) && cps[ci].size == count {
			if err := l.exportCheckpoint(put, cps, cosigs, ci, prev); err != nil {
				return err
			}
			prev = ci
			ci++
		}
		return nil
	}
	if err := emitCheckpoints(0); err != nil {
		return err
	}
	for i := uint64(0); i < n; i++ {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if r.off != offsets[i] {
			// Skip checkpoint and cosignature records.
			r = newOffsetReader(l.f, offsets[i], l.written.Load())
		}
		rec, ok, err := readRecord(r, l.written.Load(), buf[:0])
		if err != nil {
			return fmt.Errorf("auditlog: reading entry %d: %w", i, err)
		}
		if !ok || rec[0] != recEntry {
			return fmt.Errorf("%w: entry %d damaged on disk", ErrCorrupt, i)
		}
		buf = rec
		l.mu.Lock()
		leaf := l.tree.leaf(i)
		l.mu.Unlock()
		if err := put(BundleEntry, leaf[:], rec[1:]); err != nil {
			return err
		}
		if err := emitCheckpoints(i + 1); err != nil {
			return err
		}
	}
	var end [16]byte
	putU64(end[:], n)
	putU64(end[8:], uint64(len(cps)))
	if err := put(BundleEnd, end[:]); err != nil {
		return err
	}
	return bw.Flush()
}

func (l *Log) exportCheckpoint(put func(byte, ...[]byte) error, cps, cosigs []cpRef, ci, prev int) error {
	note, err := l.readRecordAt(cps[ci].offset, recCheckpoint)
	if err != nil {
		return err
	}
	var sigs []checkpoint.Signature
	for _, cs := range cosigs {
		if cs.size != cps[ci].size {
			continue
		}
		p, err := l.readRecordAt(cs.offset, recCosignatures)
		if err != nil {
			return err
		}
		n, err := checkpoint.ParseNote(append([]byte("x\n\n"), p[8:]...))
		if err != nil {
			return fmt.Errorf("%w: cosignature record: %v", ErrCorrupt, err)
		}
		sigs = append(sigs, n.Unknown...)
	}
	if len(sigs) > 0 {
		if note, err = checkpoint.AddSignatures(note, sigs...); err != nil {
			return err
		}
	}
	if prev >= 0 && cps[prev].size > 0 {
		old, new := cps[prev].size, cps[ci].size
		l.mu.Lock()
		proof, err := l.tree.consistency(old, new)
		l.mu.Unlock()
		if err != nil {
			return err
		}
		b := make([]byte, 16, 16+32*len(proof))
		putU64(b, old)
		putU64(b[8:], new)
		for _, h := range proof {
			b = append(b, h[:]...)
		}
		if err := put(BundleProof, b); err != nil {
			return err
		}
	}
	return put(BundleCheckpoint, note)
}

// BundleReader reads bundle records one by one, with limits.
type BundleReader struct {
	r     *bufio.Reader
	buf   []byte
	start bool
	err   error
}

// NewBundleReader reads a bundle from r.
func NewBundleReader(r io.Reader) *BundleReader {
	return &BundleReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// Next returns the next record's type and payload (valid until the next
// call), or io.EOF after the end record.
func (b *BundleReader) Next() (byte, []byte, error) {
	if b.err != nil {
		return 0, nil, b.err
	}
	if !b.start {
		magic := make([]byte, len(bundleMagic))
		if _, err := io.ReadFull(b.r, magic); err != nil || string(magic) != bundleMagic {
			b.err = fmt.Errorf("%w: not a vigie audit bundle", ErrBundle)
			return 0, nil, b.err
		}
		b.start = true
	}
	typ, err := b.r.ReadByte()
	if err != nil {
		b.err = fmt.Errorf("%w: cut short (no end record)", ErrBundle)
		return 0, nil, b.err
	}
	n, err := binary.ReadUvarint(b.r)
	if err != nil || n > maxBundleRecord {
		b.err = fmt.Errorf("%w: bad record length", ErrBundle)
		return 0, nil, b.err
	}
	if uint64(cap(b.buf)) < n {
		b.buf = make([]byte, n)
	}
	b.buf = b.buf[:n]
	if _, err := io.ReadFull(b.r, b.buf); err != nil {
		b.err = fmt.Errorf("%w: cut short in a record", ErrBundle)
		return 0, nil, b.err
	}
	if typ == BundleEnd {
		if n != 16 {
			b.err = fmt.Errorf("%w: bad end record", ErrBundle)
			return 0, nil, b.err
		}
		if _, err := b.r.ReadByte(); err != io.EOF {
			b.err = fmt.Errorf("%w: data after the end record", ErrBundle)
			return 0, nil, b.err
		}
		b.err = io.EOF
	}
	return typ, b.buf, nil
}

// BundleEntryRecord parses an 'e' record.
func BundleEntryRecord(p []byte) (StoredEntry, error) {
	if len(p) < 32+SaltSize+8 {
		return StoredEntry{}, fmt.Errorf("%w: short entry record", ErrBundle)
	}
	s, _ := storedFromPayload(p[32:])
	s.Leaf = merkle.Hash(p[:32])
	s.Encoded = append([]byte(nil), s.Encoded...)
	return s, nil
}

// BundleProofRecord parses a 'p' record.
func BundleProofRecord(p []byte) (old, new uint64, proof []merkle.Hash, err error) {
	if len(p) < 16 || (len(p)-16)%32 != 0 || (len(p)-16)/32 > maxProofHashes {
		return 0, 0, nil, fmt.Errorf("%w: bad consistency proof record", ErrBundle)
	}
	old, new = getU64(p), getU64(p[8:])
	for q := p[16:]; len(q) > 0; q = q[32:] {
		proof = append(proof, merkle.Hash(q[:32]))
	}
	return old, new, proof, nil
}
