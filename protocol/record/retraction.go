package record

import (
	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/protocol/dagcbor"
)

// Retraction withdraws an assertion. Retractions travel ahead of everything
// else and recipients must erase or restrict the data and lift any measure
// taken on it (LED Arts. 7(3), 16(6)). Whether the sender may retract that
// assertion (its originator, or an authority annulling an order) is for
// policy to decide; the format only records who did.
type Retraction struct {
	Assertion cid.Cid          // "assertion": CID of the withdrawn assertion
	Reason    RetractionReason // "reason"
	// Note is optional context for people ("note", at most MaxNoteLen
	// bytes). It must never carry a URL or host name: Validate refuses
	// anything that looks like one.
	Note string
	// SupersededBy names the replacing assertion ("superseded_by");
	// required with ReasonSuperseded and refused otherwise.
	SupersededBy cid.Cid
	Created      uint64 // "created": Unix seconds
	Origin       Agency // "origin"
	Seq          uint64 // "seq"
}

// Type returns TypeRetraction.
func (r *Retraction) Type() Type { return TypeRetraction }

// Encode validates r and returns its canonical bytes.
func (r *Retraction) Encode() ([]byte, error) { return encode(r) }

// CID returns the retraction's record CID.
func (r *Retraction) CID() (cid.Cid, error) { return recordCID(r) }

// Validate checks every field.
func (r *Retraction) Validate() error {
	return firstError(
		checkLink("assertion", r.Assertion, cid.DagCBOR),
		checkEnum("reason", r.Reason),
		checkNote("note", r.Note),
		checkOptLink("superseded_by", r.SupersededBy, cid.DagCBOR),
		r.checkSupersededBy(),
		checkTime("created", r.Created),
		r.Origin.check("origin"),
		checkSeq(r.Seq),
	)
}

func (r *Retraction) checkSupersededBy() error {
	superseded := r.Reason == ReasonSuperseded
	switch {
	case superseded && !r.SupersededBy.Defined():
		return invalid("superseded_by", "required with reason %q", r.Reason)
	case !superseded && r.SupersededBy.Defined():
		return invalid("superseded_by", "only allowed with reason %q", ReasonSuperseded)
	case r.SupersededBy.Defined() && r.SupersededBy.Equals(r.Assertion):
		return invalid("superseded_by", "an assertion cannot supersede itself")
	}
	return nil
}

func (r *Retraction) value() dagcbor.Value {
	e := entries(header(TypeRetraction))
	e.link("assertion", r.Assertion)
	e.text("reason", string(r.Reason))
	e.optText("note", r.Note)
	e.optLink("superseded_by", r.SupersededBy)
	e.num("created", r.Created)
	e.add("origin", r.Origin.value())
	e.num("seq", r.Seq)
	return e.value()
}

func readRetraction(f *dagcbor.Fields) *Retraction {
	return &Retraction{
		Assertion:    f.Link("assertion"),
		Reason:       RetractionReason(f.Text("reason")),
		Note:         optText(f, "note"),
		SupersededBy: optLink(f, "superseded_by"),
		Created:      f.Uint("created"),
		Origin:       readAgency(f.Map("origin")),
		Seq:          f.Uint("seq"),
	}
}
