package record

import (
	"errors"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
)

func TestAssertionValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(a *Assertion)
		want  error
		field string
	}{
		{"no categories", func(a *Assertion) { a.Categories = nil }, ErrInvalid, "categories"},
		{"unknown category", func(a *Assertion) { a.Categories = []Category{"hate_speech"} }, ErrInvalid, "categories"},
		{"repeated category", func(a *Assertion) { a.Categories = []Category{CatThreat, CatThreat} }, ErrInvalid, "categories"},
		{"unknown flag", func(a *Assertion) { a.Flags = []Flag{"excluded_purpose"} }, ErrInvalid, "flags"},
		{"unknown expression kind", func(a *Assertion) { a.Expr = "domain" }, ErrInvalid, "expr"},
		{"unknown status", func(a *Assertion) { a.LegalStatus = "tco_order_under_scrutiny" }, ErrInvalid, "status"},
		{"order without reference", func(a *Assertion) { a.OrderRef = "" }, ErrInvalid, "order_ref"},
		{"order without legal basis", func(a *Assertion) { a.LegalBasis = nil }, ErrInvalid, "legal_basis"},
		{"empty legal basis item", func(a *Assertion) { a.LegalBasis = []string{""} }, ErrInvalid, "legal_basis[0]"},
		{"repeated legal basis", func(a *Assertion) { a.LegalBasis = []string{"x", "x"} }, ErrInvalid, "legal_basis"},
		{"legal basis too long", func(a *Assertion) { a.LegalBasis = []string{strings.Repeat("x", MaxRefLen+1)} }, ErrTooLarge, "legal_basis[0]"},
		{"control character", func(a *Assertion) { a.OrderRef = "A\nB" }, ErrInvalid, "order_ref"},
		{"TLP 1.0 white", func(a *Assertion) { a.TLP = "white" }, ErrInvalid, "tlp"},
		{"upper-case TLP", func(a *Assertion) { a.TLP = "AMBER" }, ErrInvalid, "tlp"},
		{"unknown PAP", func(a *Assertion) { a.PAP = "white" }, ErrInvalid, "pap"},
		{"unknown handling", func(a *Assertion) { a.Handling = "H4" }, ErrInvalid, "handling"},
		{"H3 without note", func(a *Assertion) { a.Handling = HandlingH3 }, ErrInvalid, "handling_note"},
		{"note without H3", func(a *Assertion) { a.HandlingNote = "x" }, ErrInvalid, "handling_note"},
		{"source D", func(a *Assertion) { a.SourceEval = "D" }, ErrInvalid, "source_eval"},
		{"information 5", func(a *Assertion) { a.InfoEval = "5" }, ErrInvalid, "info_eval"},
		{"unknown onward consent", func(a *Assertion) { a.Onward = "yes" }, ErrInvalid, "onward"},
		{"no created time", func(a *Assertion) { a.Created = 0 }, ErrInvalid, "created"},
		{"expires at created", func(a *Assertion) { a.Expires = a.Created }, ErrInvalid, "expires"},
		{"review before created", func(a *Assertion) { a.ReviewDue = a.Created - 1 }, ErrInvalid, "review_due"},
		{"lower-case country", func(a *Assertion) { a.Origin.Country = "fr" }, ErrInvalid, "origin.cc"},
		{"three-letter country", func(a *Assertion) { a.Origin.Country = "FRA" }, ErrInvalid, "origin.cc"},
		{"upper-case org", func(a *Assertion) { a.Origin.Org = "OFAC" }, ErrInvalid, "origin.org"},
		{"org too long", func(a *Assertion) { a.Origin.Org = strings.Repeat("o", MaxOrgIDLen+1) }, ErrTooLarge, "origin.org"},
		{"sequence 0", func(a *Assertion) { a.Seq = 0 }, ErrInvalid, "seq"},
		{"no indicator", func(a *Assertion) { a.Indicator = cid.Undef }, ErrInvalid, "indicator"},
		{"record CID as indicator", func(a *Assertion) { a.Indicator = CIDOf([]byte("x")) }, ErrInvalid, "indicator"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := sampleAssertion(1)
			tc.edit(a)
			checkInvalid(t, a.Validate(), tc.want, tc.field)
		})
	}
	if err := sampleAssertionFull().Validate(); err != nil {
		t.Errorf("full assertion: %v", err)
	}
	intel := sampleAssertion(1)
	intel.LegalStatus, intel.LegalBasis, intel.OrderRef = StatusIntel, nil, ""
	if err := intel.Validate(); err != nil {
		t.Errorf("intelligence needs no legal basis: %v", err)
	}
	eu := sampleAssertion(1)
	eu.Origin = agencyEU
	if err := eu.Validate(); err != nil {
		t.Errorf("EU agencies are allowed: %v", err)
	}
}

func checkInvalid(t *testing.T, err, want error, field string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("Validate = %v, want %v", err, want)
	}
	if !strings.Contains(err.Error(), `"`+field+`"`) {
		t.Errorf("error %q does not name field %q", err, field)
	}
}

func TestRetractionValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(r *Retraction)
		field string
	}{
		{"no target", func(r *Retraction) { r.Assertion = IndicatorCID(nil) }, "assertion"},
		{"unknown reason", func(r *Retraction) { r.Reason = "oops" }, "reason"},
		{"superseded without successor", func(r *Retraction) { r.Reason = ReasonSuperseded }, "superseded_by"},
		{"successor without superseded", func(r *Retraction) { r.SupersededBy = r.Assertion }, "superseded_by"},
		{"supersedes itself", func(r *Retraction) { r.Reason, r.SupersededBy = ReasonSuperseded, r.Assertion }, "superseded_by"},
		{"scheme in note", func(r *Retraction) { r.Note = "was hxxp://evil.example" }, "note"},
		{"www in note", func(r *Retraction) { r.Note = "see www.example" }, "note"},
		{"host in note", func(r *Retraction) { r.Note = "the page on Evil.Example/a/ is fine" }, "note"},
		{"quoted host in note", func(r *Retraction) { r.Note = `mistook it for "wikipedia.org".` }, "note"},
		{"IP address in note", func(r *Retraction) { r.Note = "hosted at 192.0.2.7," }, "note"},
		{"no origin", func(r *Retraction) { r.Origin = Agency{} }, "origin.cc"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sampleRetraction(2)
			tc.edit(r)
			checkInvalid(t, r.Validate(), ErrInvalid, tc.field)
		})
	}
	for _, note := range []string{"Listed in error, e.g. a news report.", "TCO Art. 4(7) annulment, ref. 2023/17.", "Court of Appeal decision no. 1801344."} {
		r := sampleRetraction(2)
		r.Note = note
		if err := r.Validate(); err != nil {
			t.Errorf("note %q refused: %v", note, err)
		}
	}
}

func TestSightingValidate(t *testing.T) {
	s := sampleSighting(3)
	s.Opinion = "maybe"
	checkInvalid(t, s.Validate(), ErrInvalid, "opinion")
	s = sampleSighting(3)
	s.Assertion = IndicatorCID(testToken(1)) // a raw CID where a record CID belongs
	checkInvalid(t, s.Validate(), ErrInvalid, "assertion")
}

func TestManifestValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(m *Manifest)
		want  error
		field string
	}{
		{"first 0", func(m *Manifest) { m.First = 0 }, ErrInvalid, "first"},
		{"last before first", func(m *Manifest) { m.Last = 0 }, ErrInvalid, "last"},
		{"count mismatch", func(m *Manifest) { m.Count++ }, ErrInvalid, "count"},
		{"too many", func(m *Manifest) { m.Last = m.First + MaxBatchRecords; m.Count = MaxBatchRecords + 1 }, ErrTooLarge, "count"},
		{"no key id", func(m *Manifest) { m.KeyID = "" }, ErrInvalid, "key_id"},
		{"no signature", func(m *Manifest) { m.Signature = nil }, ErrInvalid, "sig"},
		{"short signature", func(m *Manifest) { m.Signature = m.Signature[:100] }, ErrInvalid, "sig"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := sampleManifest(t)
			tc.edit(m)
			checkInvalid(t, m.Validate(), tc.want, tc.field)
		})
	}
}
