package record

import (
	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/protocol/dagcbor"
)

// Assertion is one agency's statement about one indicator (DESIGN.md
// decision 4): what the content is, on what legal footing, and how the data
// may be handled. Many agencies may assert the same indicator; their
// assertions are kept side by side, never merged.
//
// Optional fields are absent when they hold their zero value ("", 0, nil,
// cid.Undef); sets (Categories, Flags) are sorted and without repeats.
type Assertion struct {
	Indicator  cid.Cid    // "indicator": IndicatorCID of the federation token
	Expr       ExprKind   // "expr": which kind of Safe Browsing expression
	Categories []Category // "categories": non-empty set
	Flags      []Flag     // "flags": optional set

	LegalStatus LegalStatus // "status"
	// LegalBasis lists what the originator relies on, e.g.
	// "FR:C.pen.421-2-5", "TCO:Art.3" ("legal_basis"; optional for intel).
	LegalBasis []string
	// OrderRef references the order ("order_ref"); required when the status
	// is an order.
	OrderRef string

	TLP          TLP      // "tlp": TLP 2.0
	PAP          PAP      // "pap"
	Handling     Handling // "handling": optional Europol handling code
	HandlingNote string   // "handling_note": the H3 restriction; only with H3
	SourceEval   SourceEval
	InfoEval     InfoEval
	Onward       OnwardConsent // "onward": onward-transfer consent

	Created   uint64 // "created": Unix seconds
	Expires   uint64 // "expires": optional, after Created
	ReviewDue uint64 // "review_due": optional, after Created

	Origin Agency // "origin"
	Seq    uint64 // "seq": the origin's sequence number, from 1
}

// Type returns TypeAssertion.
func (a *Assertion) Type() Type { return TypeAssertion }

// Encode validates a and returns its canonical bytes.
func (a *Assertion) Encode() ([]byte, error) { return encode(a) }

// CID returns the assertion's record CID.
func (a *Assertion) CID() (cid.Cid, error) { return recordCID(a) }

// Validate checks closed vocabularies, required fields, lengths and the
// consistency rules between fields.
func (a *Assertion) Validate() error {
	return firstError(
		checkLink("indicator", a.Indicator, cid.Raw),
		checkEnum("expr", a.Expr),
		checkSet("categories", a.Categories, 1, len(Categories())),
		checkSet("flags", a.Flags, 0, 2),
		checkEnum("status", a.LegalStatus),
		a.checkLegalBasis(),
		checkOptText("order_ref", a.OrderRef, MaxRefLen),
		a.checkOrderRef(),
		checkEnum("tlp", a.TLP),
		checkEnum("pap", a.PAP),
		checkOptEnum("handling", a.Handling),
		a.checkHandlingNote(),
		checkEnum("source_eval", a.SourceEval),
		checkEnum("info_eval", a.InfoEval),
		checkEnum("onward", a.Onward),
		checkTime("created", a.Created),
		checkOptAfter("expires", a.Expires, a.Created),
		checkOptAfter("review_due", a.ReviewDue, a.Created),
		a.Origin.check("origin"),
		checkSeq(a.Seq),
	)
}

// checkLegalBasis: anything beyond intelligence rests on a legal basis the
// recipient must be able to read (TCO Art. 3(4), LED Art. 9(3)).
func (a *Assertion) checkLegalBasis() error {
	min := 1
	if a.LegalStatus == StatusIntel {
		min = 0
	}
	return checkTextList("legal_basis", a.LegalBasis, min, MaxLegalBasis, MaxRefLen)
}

func (a *Assertion) checkOrderRef() error {
	if a.LegalStatus.isOrder() && a.OrderRef == "" {
		return invalid("order_ref", "required when status is %q", a.LegalStatus)
	}
	return nil
}

// checkHandlingNote: H3 means "other restrictions", which are meaningless
// unless stated; other codes have fixed meanings and take no note.
func (a *Assertion) checkHandlingNote() error {
	if a.Handling == HandlingH3 && a.HandlingNote == "" {
		return invalid("handling_note", "required with handling H3")
	}
	if a.Handling != HandlingH3 && a.HandlingNote != "" {
		return invalid("handling_note", "only allowed with handling H3")
	}
	return checkOptText("handling_note", a.HandlingNote, MaxHandlingNote)
}

func (a *Assertion) value() dagcbor.Value {
	e := entries(header(TypeAssertion))
	e.link("indicator", a.Indicator)
	e.text("expr", string(a.Expr))
	e.add("categories", dagcbor.TextList(a.Categories))
	optTextList(&e, "flags", a.Flags)
	e.text("status", string(a.LegalStatus))
	optTextList(&e, "legal_basis", a.LegalBasis)
	e.optText("order_ref", a.OrderRef)
	e.text("tlp", string(a.TLP))
	e.text("pap", string(a.PAP))
	e.optText("handling", string(a.Handling))
	e.optText("handling_note", a.HandlingNote)
	e.text("source_eval", string(a.SourceEval))
	e.text("info_eval", string(a.InfoEval))
	e.text("onward", string(a.Onward))
	e.num("created", a.Created)
	e.optUint("expires", a.Expires)
	e.optUint("review_due", a.ReviewDue)
	e.add("origin", a.Origin.value())
	e.num("seq", a.Seq)
	return e.value()
}

func readAssertion(f *dagcbor.Fields) *Assertion {
	return &Assertion{
		Indicator:    f.Link("indicator"),
		Expr:         ExprKind(f.Text("expr")),
		Categories:   typedList[Category](f, "categories"),
		Flags:        optTypedList[Flag](f, "flags"),
		LegalStatus:  LegalStatus(f.Text("status")),
		LegalBasis:   optTypedList[string](f, "legal_basis"),
		OrderRef:     optText(f, "order_ref"),
		TLP:          TLP(f.Text("tlp")),
		PAP:          PAP(f.Text("pap")),
		Handling:     Handling(optText(f, "handling")),
		HandlingNote: optText(f, "handling_note"),
		SourceEval:   SourceEval(f.Text("source_eval")),
		InfoEval:     InfoEval(f.Text("info_eval")),
		Onward:       OnwardConsent(f.Text("onward")),
		Created:      f.Uint("created"),
		Expires:      optUint(f, "expires"),
		ReviewDue:    optUint(f, "review_due"),
		Origin:       readAgency(f.Map("origin")),
		Seq:          f.Uint("seq"),
	}
}
