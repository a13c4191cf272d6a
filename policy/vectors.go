package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Vector is one legal test scenario.
type Vector struct {
	Name    string  `json:"name"`
	Request Request `json:"request"`
	Expect  Expect  `json:"expect"`
}

// Expect is what a vector requires. Grounds and Bars are compared as sets
// when present (non-nil, even empty) and ignored when absent.
type Expect struct {
	Decision string   `json:"decision"`
	Grounds  []string `json:"grounds,omitempty"`
	Bars     []string `json:"bars,omitempty"`
}

// UnmarshalJSON keeps an explicit empty list distinct from an absent one.
func (e *Expect) UnmarshalJSON(b []byte) error {
	type plain struct {
		Decision string           `json:"decision"`
		Grounds  *json.RawMessage `json:"grounds"`
		Bars     *json.RawMessage `json:"bars"`
	}
	var p plain
	if err := strictUnmarshal(b, &p); err != nil {
		return fmt.Errorf("expect: %w", err)
	}
	switch p.Decision {
	case Allow, Deny, Indeterminate:
	default:
		return fmt.Errorf("expect: decision %q (want allow, deny or indeterminate)", p.Decision)
	}
	*e = Expect{Decision: p.Decision}
	for _, f := range []struct {
		raw *json.RawMessage
		dst *[]string
	}{{p.Grounds, &e.Grounds}, {p.Bars, &e.Bars}} {
		if f.raw == nil || string(*f.raw) == "null" {
			continue
		}
		*f.dst = []string{}
		if err := json.Unmarshal(*f.raw, f.dst); err != nil {
			return fmt.Errorf("expect: %w", err)
		}
	}
	return nil
}

func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}

// DecodeVectors reads one vector, a JSON array of vectors, or
// {"vectors": [...]}.
func DecodeVectors(data []byte) ([]Vector, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, fmt.Errorf("empty vector file")
	}
	var vs []Vector
	switch data[0] {
	case '[':
		if err := strictUnmarshal(data, &vs); err != nil {
			return nil, err
		}
	case '{':
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(data, &probe); err != nil {
			return nil, err
		}
		if raw, ok := probe["vectors"]; ok {
			if len(probe) != 1 {
				return nil, fmt.Errorf(`a vector file with "vectors" holds nothing else`)
			}
			if err := strictUnmarshal(raw, &vs); err != nil {
				return nil, err
			}
		} else {
			var v Vector
			if err := strictUnmarshal(data, &v); err != nil {
				return nil, err
			}
			vs = []Vector{v}
		}
	default:
		return nil, fmt.Errorf("want a JSON object or array")
	}
	for i, v := range vs {
		if strings.TrimSpace(v.Name) == "" {
			return nil, fmt.Errorf("vector #%d has no name", i+1)
		}
		if v.Expect.Decision == "" {
			return nil, fmt.Errorf("vector %q has no expect.decision", v.Name)
		}
	}
	return vs, nil
}

// Check runs v against b and returns its failures (none if it passed).
func (b *Bundle) Check(v Vector) (Decision, []string) {
	d := b.Decide(v.Request)
	var fails []string
	if d.Decision != v.Expect.Decision {
		fails = append(fails, fmt.Sprintf("decision %s, want %s", d.Decision, v.Expect.Decision))
	}
	for _, c := range []struct {
		what string
		want []string
		got  []Rule
	}{{"grounds", v.Expect.Grounds, d.Grounds}, {"bars", v.Expect.Bars, d.Bars}} {
		if c.want == nil {
			continue
		}
		want := slices.Sorted(slices.Values(c.want))
		got := slices.Sorted(slices.Values(IDs(c.got)))
		if !slices.Equal(slices.Compact(want), got) {
			fails = append(fails, fmt.Sprintf("%s [%s], want [%s]", c.what, strings.Join(got, ", "), strings.Join(want, ", ")))
		}
	}
	if len(fails) > 0 && len(d.Errors) > 0 {
		fails = append(fails, "errors: "+strings.Join(d.Errors, "; "))
	}
	return d, fails
}

// Record is a logged decision: the request, the decision and (inside it)
// the bundle hash it was taken under.
type Record struct {
	Request  Request  `json:"request"`
	Decision Decision `json:"decision"`
}

// DecodeRecord reads a record.
func DecodeRecord(data []byte) (Record, error) {
	var r Record
	if err := strictUnmarshal(bytes.TrimSpace(data), &r); err != nil {
		return r, err
	}
	if r.Request.Action == "" {
		return r, fmt.Errorf("record has no request.action")
	}
	if r.Decision.Decision == "" {
		return r, fmt.Errorf("record has no decision.decision")
	}
	if r.Decision.Bundle == "" {
		return r, fmt.Errorf("record has no decision.bundle (the bundle hash)")
	}
	return r, nil
}

// Changes lists how two decisions differ, in words; empty if they agree on
// the decision, grounds, bars, checked grounds and obligations.
func Changes(old, new Decision) []string {
	var out []string
	if old.Decision != new.Decision {
		out = append(out, fmt.Sprintf("decision %s → %s", old.Decision, new.Decision))
	}
	for _, c := range []struct {
		what     string
		old, new []string
	}{
		{"grounds", IDs(old.Grounds), IDs(new.Grounds)},
		{"bars", IDs(old.Bars), IDs(new.Bars)},
		{"checked", IDs(old.Checked), IDs(new.Checked)},
		{"obligations", old.Obligations, new.Obligations},
		{"errors", old.Errors, new.Errors},
	} {
		o, n := slices.Sorted(slices.Values(c.old)), slices.Sorted(slices.Values(c.new))
		if !slices.Equal(o, n) {
			out = append(out, fmt.Sprintf("%s [%s] → [%s]", c.what, strings.Join(o, ", "), strings.Join(n, ", ")))
		}
	}
	return out
}
