package record

import (
	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/protocol/dagcbor"
)

// Sighting is an agency's opinion on an indicator, or on one assertion of
// it. A "disagree" makes the disagreement visible (the DISPUTED state of
// DESIGN.md decision 4) instead of merging it away.
type Sighting struct {
	Indicator cid.Cid // "indicator": the indicator's CID
	// Assertion optionally narrows the opinion to one assertion
	// ("assertion").
	Assertion cid.Cid
	Opinion   Opinion // "opinion"
	// Note is optional context for people ("note"); like a retraction's
	// note it must never carry a URL or host name.
	Note    string
	Created uint64 // "created": Unix seconds
	Origin  Agency // "origin"
	Seq     uint64 // "seq"
}

// Type returns TypeSighting.
func (s *Sighting) Type() Type { return TypeSighting }

// Encode validates s and returns its canonical bytes.
func (s *Sighting) Encode() ([]byte, error) { return encode(s) }

// CID returns the sighting's record CID.
func (s *Sighting) CID() (cid.Cid, error) { return recordCID(s) }

// Validate checks every field.
func (s *Sighting) Validate() error {
	return firstError(
		checkLink("indicator", s.Indicator, cid.Raw),
		checkOptLink("assertion", s.Assertion, cid.DagCBOR),
		checkEnum("opinion", s.Opinion),
		checkNote("note", s.Note),
		checkTime("created", s.Created),
		s.Origin.check("origin"),
		checkSeq(s.Seq),
	)
}

func (s *Sighting) value() dagcbor.Value {
	e := entries(header(TypeSighting))
	e.link("indicator", s.Indicator)
	e.optLink("assertion", s.Assertion)
	e.text("opinion", string(s.Opinion))
	e.optText("note", s.Note)
	e.num("created", s.Created)
	e.add("origin", s.Origin.value())
	e.num("seq", s.Seq)
	return e.value()
}

func readSighting(f *dagcbor.Fields) *Sighting {
	return &Sighting{
		Indicator: f.Link("indicator"),
		Assertion: optLink(f, "assertion"),
		Opinion:   Opinion(f.Text("opinion")),
		Note:      optText(f, "note"),
		Created:   f.Uint("created"),
		Origin:    readAgency(f.Map("origin")),
		Seq:       f.Uint("seq"),
	}
}
