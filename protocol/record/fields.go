package record

import (
	"cmp"
	"fmt"

	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/protocol/dagcbor"
)

// Agency identifies a national service: its country and a short
// organisation id chosen by that country ("FR"/"ofac", "DE"/"bka").
type Agency struct {
	// Country is an ISO 3166-1 alpha-2 code in upper case. Only the shape is
	// checked, not the list: "EU" (exceptionally reserved in ISO 3166-1) is
	// how Union bodies such as Europol appear, and the signed roster, not
	// this package, says who is a member.
	Country string
	// Org is a lower-case id, unique within its country.
	Org string
}

// String renders the agency as "FR/ofac".
func (a Agency) String() string { return a.Country + "/" + a.Org }

// Compare orders agencies by country, then organisation id; rosters keep
// their members and signatures in this order.
func (a Agency) Compare(b Agency) int {
	return cmp.Or(cmp.Compare(a.Country, b.Country), cmp.Compare(a.Org, b.Org))
}

// check validates the agency as the value of field.
func (a Agency) check(field string) error {
	if len(a.Country) != 2 || !isUpper(a.Country[0]) || !isUpper(a.Country[1]) {
		return invalid(field+".cc", "%q is not an upper-case ISO 3166-1 alpha-2 code", a.Country)
	}
	return checkID(field+".org", a.Org, MaxOrgIDLen)
}

func isUpper(b byte) bool { return b >= 'A' && b <= 'Z' }

func (a Agency) value() dagcbor.Value {
	return dagcbor.Map(
		dagcbor.Entry{Key: "cc", Value: dagcbor.Text(a.Country)},
		dagcbor.Entry{Key: "org", Value: dagcbor.Text(a.Org)},
	)
}

func readAgency(f *dagcbor.Fields) Agency {
	return Agency{Country: f.Text("cc"), Org: f.Text("org")}
}

// entries collects a record's map entries; the opt* methods leave a field
// out when it holds its zero value, which is how "absent" is encoded.
type entries []dagcbor.Entry

func (e *entries) add(key string, v dagcbor.Value) {
	*e = append(*e, dagcbor.Entry{Key: key, Value: v})
}

func (e *entries) text(key, s string)         { e.add(key, dagcbor.Text(s)) }
func (e *entries) num(key string, u uint64)   { e.add(key, dagcbor.Uint(u)) }
func (e *entries) link(key string, c cid.Cid) { e.add(key, dagcbor.Link(c)) }

func (e *entries) optText(key, s string) {
	if s != "" {
		e.text(key, s)
	}
}

func (e *entries) optUint(key string, u uint64) {
	if u != 0 {
		e.num(key, u)
	}
}

func (e *entries) optLink(key string, c cid.Cid) {
	if c.Defined() {
		e.link(key, c)
	}
}

func (e *entries) optBytes(key string, b []byte) {
	if len(b) > 0 {
		e.add(key, dagcbor.Bytes(b))
	}
}

func optTextList[S ~string](e *entries, key string, list []S) {
	if len(list) > 0 {
		e.add(key, dagcbor.TextList(list))
	}
}

func (e *entries) value() dagcbor.Value { return dagcbor.Map(*e...) }

// errPresentButEmpty: an optional field is encoded by leaving it out, so a
// present zero value would be a second encoding of the same record.
var errPresentButEmpty = fmt.Errorf("%w: present but empty (an unset optional field is left out)", ErrInvalid)

func optText(f *dagcbor.Fields, key string) string {
	s, ok := f.OptText(key)
	if ok && s == "" {
		f.Fail(key, errPresentButEmpty)
	}
	return s
}

func optUint(f *dagcbor.Fields, key string) uint64 {
	u, ok := f.OptUint(key)
	if ok && u == 0 {
		f.Fail(key, errPresentButEmpty)
	}
	return u
}

func optLink(f *dagcbor.Fields, key string) cid.Cid {
	c, _ := f.OptLink(key)
	return c
}

func optBytes(f *dagcbor.Fields, key string) []byte {
	b, ok := f.OptBytes(key)
	if ok && len(b) == 0 {
		f.Fail(key, errPresentButEmpty)
	}
	return b
}

func optTypedList[S ~string](f *dagcbor.Fields, key string) []S {
	list, ok := f.OptTextList(key)
	if ok && len(list) == 0 {
		f.Fail(key, errPresentButEmpty)
	}
	return typed[S](list)
}

func typedList[S ~string](f *dagcbor.Fields, key string) []S {
	return typed[S](f.TextList(key))
}

func typed[S ~string](list []string) []S {
	if list == nil {
		return nil
	}
	out := make([]S, len(list))
	for i, s := range list {
		out[i] = S(s)
	}
	return out
}
