package store

import (
	"fmt"

	"github.com/ipfs/go-cid"
)

// validate refuses entries the store could not index or serve faithfully.
// It checks that CID really is the content address of Bytes: a record
// stored under a wrong CID would be served to peers, who would reject it.
func (e *Entry) validate() error {
	if err := checkRecordCID("record", e.CID); err != nil {
		return err
	}
	if len(e.Bytes) == 0 {
		return fmt.Errorf("%w: record %s has no bytes", ErrInvalid, e.CID)
	}
	sum, err := e.CID.Prefix().Sum(e.Bytes)
	if err != nil {
		return fmt.Errorf("%w: record %s: hashing its bytes: %v", ErrInvalid, e.CID, err)
	}
	if !sum.Equals(e.CID) {
		return fmt.Errorf("%w: record %s: its bytes hash to %s", ErrInvalid, e.CID, sum)
	}
	if len(e.Origin) > maxFieldLen {
		return fmt.Errorf("%w: record %s: origin of %d bytes exceeds %d", ErrInvalid, e.CID, len(e.Origin), maxFieldLen)
	}
	if e.Seq != 0 && e.Origin == "" {
		return fmt.Errorf("%w: record %s has sequence %d but no origin", ErrInvalid, e.CID, e.Seq)
	}
	if len(e.Placement) > MaxPlacement {
		return fmt.Errorf("%w: record %s: placement of %d bytes exceeds %d", ErrInvalid, e.CID, len(e.Placement), MaxPlacement)
	}
	if e.Expires < 0 {
		return fmt.Errorf("%w: record %s: negative expiry %d", ErrInvalid, e.CID, e.Expires)
	}
	return e.validateKindFacts()
}

// validateKindFacts checks that exactly the CIDs that apply to the kind are
// set, so that a caller's mix-up shows at Put and not as a missing index.
func (e *Entry) validateKindFacts() error {
	var needIndicator, needTarget, mayTarget bool
	switch e.Kind {
	case KindAssertion:
		needIndicator = true
	case KindSighting:
		needIndicator, mayTarget = true, true
	case KindRetraction:
		needTarget = true
	case KindManifest, KindRoster:
	default:
		return fmt.Errorf("%w: record %s has unknown kind %d", ErrInvalid, e.CID, uint8(e.Kind))
	}
	if err := checkFact(e, "indicator", e.Indicator, needIndicator, needIndicator, checkIndicatorCID); err != nil {
		return err
	}
	return checkFact(e, "target", e.Target, needTarget, needTarget || mayTarget, checkRecordCID)
}

func checkFact(e *Entry, name string, c cid.Cid, required, allowed bool, check func(string, cid.Cid) error) error {
	switch {
	case c.Defined() && !allowed:
		return fmt.Errorf("%w: %s %s must not carry a %s", ErrInvalid, e.Kind, e.CID, name)
	case !c.Defined() && required:
		return fmt.Errorf("%w: %s %s needs a %s", ErrInvalid, e.Kind, e.CID, name)
	case c.Defined():
		if err := check(name, c); err != nil {
			return fmt.Errorf("%s %s: %w", e.Kind, e.CID, err)
		}
	}
	return nil
}

// checkRecordCID: records are CIDv1 dag-cbor (DESIGN decision 3).
func checkRecordCID(what string, c cid.Cid) error {
	return checkCID(what, c, cid.DagCBOR)
}

// checkIndicatorCID: indicators are CIDv1 raw (DESIGN decision 3).
func checkIndicatorCID(what string, c cid.Cid) error {
	return checkCID(what, c, cid.Raw)
}

func checkCID(what string, c cid.Cid, codec uint64) error {
	if !c.Defined() {
		return fmt.Errorf("%w: %s CID is undefined", ErrInvalid, what)
	}
	if c.Version() != 1 || c.Type() != codec {
		return fmt.Errorf("%w: %s CID %s is not a CIDv1 with codec 0x%x", ErrInvalid, what, c, codec)
	}
	if c.ByteLen() > maxFieldLen {
		return fmt.Errorf("%w: %s CID %s is longer than %d bytes", ErrInvalid, what, c, maxFieldLen)
	}
	return nil
}
