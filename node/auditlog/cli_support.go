package auditlog

import (
	"errors"
	"fmt"

	"github.com/vigie-project/vigie/crypto/checkpoint"
)

// ErrNoCosigned means no published checkpoint carries a witness
// cosignature yet.
var ErrNoCosigned = errors.New("auditlog: no checkpoint has a witness cosignature yet")

// LatestCheckpoint returns the newest published checkpoint as a signed note
// with the witness cosignatures the log holds for it merged in (as Export
// writes it), and its size. With cosigned, it returns the newest checkpoint
// that holds at least one cosignature, or ErrNoCosigned. Unlike Checkpoint,
// it never publishes: call Publish first for a checkpoint covering every
// entry.
func (l *Log) LatestCheckpoint(cosigned bool) (note []byte, size uint64, err error) {
	l.cpMu.Lock()
	cps := append([]cpRef(nil), l.cps...)
	cosigs := append([]cpRef(nil), l.cosigs...)
	l.cpMu.Unlock()
	for ci := len(cps) - 1; ci >= 0; ci-- {
		var mine []cpRef
		for _, cs := range cosigs {
			if cs.size == cps[ci].size {
				mine = append(mine, cs)
			}
		}
		if cosigned && len(mine) == 0 {
			continue
		}
		note, err := l.noteWithCosignatures(cps[ci], mine)
		return note, cps[ci].size, err
	}
	if cosigned {
		return nil, 0, ErrNoCosigned
	}
	return nil, 0, fmt.Errorf("auditlog: nothing published")
}

// noteWithCosignatures reads a checkpoint record and merges the
// cosignature records of its size into the note.
func (l *Log) noteWithCosignatures(cp cpRef, cosigs []cpRef) ([]byte, error) {
	note, err := l.readRecordAt(cp.offset, recCheckpoint)
	if err != nil {
		return nil, err
	}
	var sigs []checkpoint.Signature
	for _, cs := range cosigs {
		p, err := l.readRecordAt(cs.offset, recCosignatures)
		if err != nil {
			return nil, err
		}
		n, err := checkpoint.ParseNote(append([]byte("x\n\n"), p[8:]...))
		if err != nil {
			return nil, fmt.Errorf("%w: cosignature record: %v", ErrCorrupt, err)
		}
		sigs = append(sigs, n.Unknown...)
	}
	if len(sigs) == 0 {
		return note, nil
	}
	return checkpoint.AddSignatures(note, sigs...)
}
