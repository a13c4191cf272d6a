package auditlog

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind is what an entry records. The first six are the processing
// operations LED Art. 25(1) requires logs of; the others are the node's own
// accountability events.
type Kind string

// Entry kinds.
const (
	KindCollection   Kind = "collection"   // a record stored: asserted here or received from a peer
	KindAlteration   Kind = "alteration"   // a stored record changed (superseded, re-labelled)
	KindConsultation Kind = "consultation" // a look-up: who asked, why, what was found
	KindDisclosure   Kind = "disclosure"   // records sent, including transfers abroad
	KindCombination  Kind = "combination"  // records combined or correlated
	KindErasure      Kind = "erasure"      // records erased or retracted

	KindPolicyDecision Kind = "policy_decision" // one policy evaluation
	KindTokenBatch     Kind = "token_batch"     // a batch of token evaluations done for a peer
	KindKeyEvent       Kind = "key_event"       // node, token or witness keys created, rotated, revoked
	KindRosterEvent    Kind = "roster_event"    // a roster version proposed, signed, adopted
	KindWitnessed      Kind = "checkpoint_cosigned"
)

// Field names shared by several kinds; Report counts them.
const (
	FieldCategory    = "category"
	FieldCountry     = "country"
	FieldLegalGround = "legal_ground"
	FieldAction      = "action"
)

// schema lists, per kind, the fields an entry may carry and those it must.
// There is no field that could hold a URL; values are checked too (see
// checkValue).
var schema = map[Kind]struct{ allowed, required []string }{
	KindCollection:   {allowed: []string{"record", "indicator", "origin", "source", "category", "country", "legal_ground", "tlp"}, required: []string{"record"}},
	KindAlteration:   {allowed: []string{"record", "previous", "reason", "category", "country", "legal_ground"}, required: []string{"record"}},
	KindConsultation: {allowed: []string{"purpose", "expressions", "indicators", "live_matches", "category", "country", "legal_ground"}, required: []string{"purpose"}},
	KindDisclosure:   {allowed: []string{"recipient", "legal_ground", "records", "count", "transfer", "category", "country", "tlp"}, required: []string{"recipient", "legal_ground"}},
	KindCombination:  {allowed: []string{"records", "result", "purpose", "category", "country", "legal_ground"}, required: []string{"records"}},
	KindErasure:      {allowed: []string{"records", "reason", "count", "category", "country", "legal_ground"}, required: []string{"reason"}},
	KindPolicyDecision: {allowed: []string{"inputs_digest", "bundle_hash", "action", "decision", "grounds", "bars", "checked", "obligations",
		"record", "country", "category", "legal_ground", "rule"}, required: []string{"inputs_digest", "bundle_hash", "action", "decision"}},
	KindTokenBatch:  {allowed: []string{"peer", "count", "epoch", "legal_ground", "country"}, required: []string{"peer", "count"}},
	KindKeyEvent:    {allowed: []string{"event", "key_type", "key_id", "reason"}, required: []string{"event", "key_id"}},
	KindRosterEvent: {allowed: []string{"event", "roster", "version", "signers", "country", "policy", "bundle_hash"}, required: []string{"event", "roster"}},
	KindWitnessed:   {allowed: []string{"origin", "size", "root", "peer"}, required: []string{"origin", "size", "root"}},
}

// Kinds returns every entry kind, sorted.
func Kinds() []Kind {
	out := make([]Kind, 0, len(schema))
	for k := range schema {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Limits on entries.
const (
	MaxEntrySize  = 16 << 10 // encoded bytes
	MaxValueSize  = 8 << 10  // one field value
	MaxActorSize  = 256
	maxFieldCount = 32
)

// Errors callers test for with errors.Is.
var (
	// ErrInvalidEntry means an entry does not follow its kind's schema or
	// the encoding rules.
	ErrInvalidEntry = errors.New("auditlog: invalid entry")
	// ErrURL means an entry value looks like a URL: the log never holds one.
	ErrURL = errors.New("auditlog: entries never hold URLs")
)

// Entry is one audit log entry. Fields are per kind (see the package
// documentation); lists (records, indicators, grounds, bars) are written
// comma-separated, counts in decimal, times as RFC 3339 UTC.
type Entry struct {
	Kind   Kind
	Time   time.Time // stored in UTC with nanoseconds
	Actor  string    // who acted or asked: a requester, a peer, the node itself
	Fields map[string]string
}

// Validate checks e against its kind's schema.
func (e Entry) Validate() error {
	sc, ok := schema[e.Kind]
	if !ok {
		return fmt.Errorf("%w: unknown kind %q", ErrInvalidEntry, e.Kind)
	}
	if e.Time.IsZero() {
		return fmt.Errorf("%w: %s without a time", ErrInvalidEntry, e.Kind)
	}
	if y := e.Time.UTC().Year(); y < 2000 || y > 9999 {
		return fmt.Errorf("%w: time %v out of range", ErrInvalidEntry, e.Time)
	}
	if e.Actor == "" || len(e.Actor) > MaxActorSize {
		return fmt.Errorf("%w: %s needs an actor of at most %d bytes", ErrInvalidEntry, e.Kind, MaxActorSize)
	}
	if err := checkValue("actor", e.Actor); err != nil {
		return err
	}
	if len(e.Fields) > maxFieldCount {
		return fmt.Errorf("%w: %d fields", ErrInvalidEntry, len(e.Fields))
	}
	for k, v := range e.Fields {
		if !slices.Contains(sc.allowed, k) {
			return fmt.Errorf("%w: %s has no field %q", ErrInvalidEntry, e.Kind, k)
		}
		if err := checkValue(k, v); err != nil {
			return err
		}
	}
	for _, k := range sc.required {
		if e.Fields[k] == "" {
			return fmt.Errorf("%w: %s needs field %q", ErrInvalidEntry, e.Kind, k)
		}
	}
	return nil
}

// checkValue refuses values that are too long, not UTF-8, hold control
// characters, or look like a URL: anything with "://" or starting with a
// scheme-less "www.". Indicator and record CIDs, purposes, case numbers and
// legal references pass.
func checkValue(name, v string) error {
	if len(v) > MaxValueSize || !utf8.ValidString(v) {
		return fmt.Errorf("%w: field %q is too long or not UTF-8", ErrInvalidEntry, name)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: field %q holds a control character", ErrInvalidEntry, name)
		}
	}
	lv := strings.ToLower(v)
	if strings.Contains(lv, "://") || strings.HasPrefix(lv, "www.") || strings.Contains(lv, " www.") {
		return fmt.Errorf("%w (field %q)", ErrURL, name)
	}
	return nil
}

// Encode returns the entry's canonical encoding: a JSON object with sorted
// keys ("a" actor, "f" fields, "k" kind, "t" time), no insignificant space,
// no HTML escaping. Decode(Encode(e)) == e and the encoding of an entry is
// unique, so leaf hashes are reproducible.
func (e Entry) Encode() ([]byte, error) {
	return e.appendEncoding(nil)
}

func (e Entry) appendEncoding(b []byte) ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	b = append(b, `{"a":`...)
	b = appendString(b, e.Actor)
	b = append(b, `,"f":{`...)
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, e.Fields[k])
	}
	b = append(b, `},"k":`...)
	b = appendString(b, string(e.Kind))
	b = append(b, `,"t":"`...)
	b = e.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `"}`...)
	if len(b) > MaxEntrySize {
		return nil, fmt.Errorf("%w: %d bytes encoded, limit %d", ErrInvalidEntry, len(b), MaxEntrySize)
	}
	return b, nil
}

// appendString writes a JSON string. Values were checked to hold no
// control characters, so only '"' and '\\' need escaping.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' || c == '\\' {
			b = append(b, '\\')
		}
		b = append(b, c)
	}
	return append(b, '"')
}

// DecodeEntry parses a canonical encoding. It accepts exactly what Encode
// writes (so Encode(DecodeEntry(b)) == b) and nothing else.
func DecodeEntry(b []byte) (Entry, error) {
	if len(b) > MaxEntrySize {
		return Entry{}, fmt.Errorf("%w: %d bytes", ErrInvalidEntry, len(b))
	}
	d := decoder{b: b}
	var e Entry
	d.lit(`{"a":`)
	e.Actor = d.str()
	d.lit(`,"f":{`)
	prev := ""
	for d.err == nil && d.peek() != '}' {
		if prev != "" {
			d.lit(",")
		}
		k := d.str()
		d.lit(":")
		v := d.str()
		if d.err == nil && k <= prev {
			d.fail("field names not in strictly increasing order")
		}
		if e.Fields == nil {
			e.Fields = make(map[string]string)
		}
		e.Fields[k], prev = v, k
	}
	d.lit(`},"k":`)
	e.Kind = Kind(d.str())
	d.lit(`,"t":`)
	ts := d.str()
	d.lit(`}`)
	if d.err == nil && d.i != len(b) {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return Entry{}, d.err
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return Entry{}, fmt.Errorf("%w: time: %v", ErrInvalidEntry, err)
	}
	e.Time = t.UTC()
	if e.Time.Format(time.RFC3339Nano) != ts {
		return Entry{}, fmt.Errorf("%w: time %q not in canonical form", ErrInvalidEntry, ts)
	}
	if err := e.Validate(); err != nil {
		return Entry{}, err
	}
	return e, nil
}

// decoder reads the canonical encoding; the first error sticks.
type decoder struct {
	b   []byte
	i   int
	err error
}

func (d *decoder) fail(why string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s at byte %d", ErrInvalidEntry, why, d.i)
	}
}

func (d *decoder) peek() byte {
	if d.i >= len(d.b) {
		d.fail("unexpected end")
		return 0
	}
	return d.b[d.i]
}

func (d *decoder) lit(s string) {
	if d.err != nil {
		return
	}
	if !bytes.HasPrefix(d.b[d.i:], []byte(s)) {
		d.fail(fmt.Sprintf("expected %q", s))
		return
	}
	d.i += len(s)
}

// str reads a string as appendString writes it: only \" and \\ escaped.
func (d *decoder) str() string {
	d.lit(`"`)
	if d.err != nil {
		return ""
	}
	var out []byte
	start := d.i
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			if out == nil {
				out = d.b[start:d.i]
			}
			d.i++
			return string(out)
		case c == '\\':
			if d.i+1 >= len(d.b) || (d.b[d.i+1] != '"' && d.b[d.i+1] != '\\') {
				d.fail("escape other than \\\" or \\\\")
				return ""
			}
			if out == nil {
				out = append([]byte(nil), d.b[start:d.i]...)
			}
			out = append(out, d.b[d.i+1])
			d.i += 2
			continue
		case c < 0x20:
			d.fail("control character in a string")
			return ""
		}
		if out != nil {
			out = append(out, c)
		}
		d.i++
	}
	d.fail("unterminated string")
	return ""
}

// List joins list values for a field (sorted, duplicates removed, so that
// the same set always encodes the same way).
func List(items ...string) string {
	s := slices.Clone(items)
	slices.Sort(s)
	return strings.Join(slices.Compact(s), ",")
}

// Count formats a count field.
func Count(n int) string { return strconv.Itoa(n) }
