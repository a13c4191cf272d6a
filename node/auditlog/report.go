package auditlog

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// Report counts entries in a period, the shape of a TCO Regulation Art. 8
// transparency report: per action (the entry kind, or for a policy decision
// its action and decision), and per category, country and legal ground (list
// fields count once per item).
type Report struct {
	From          time.Time      `json:"from"`
	To            time.Time      `json:"to"`
	Entries       int            `json:"entries"`
	ByAction      map[string]int `json:"by_action"`
	ByCategory    map[string]int `json:"by_category"`
	ByCountry     map[string]int `json:"by_country"`
	ByLegalGround map[string]int `json:"by_legal_ground"`
}

func newReport(from, to time.Time) *Report {
	return &Report{From: from.UTC(), To: to.UTC(), ByAction: map[string]int{}, ByCategory: map[string]int{},
		ByCountry: map[string]int{}, ByLegalGround: map[string]int{}}
}

// add counts e if its time is in [From, To).
func (r *Report) add(e Entry) {
	if e.Time.Before(r.From) || !e.Time.Before(r.To) {
		return
	}
	r.Entries++
	action := string(e.Kind)
	if e.Kind == KindPolicyDecision {
		action += ":" + e.Fields[FieldAction] + ":" + e.Fields["decision"]
	}
	r.ByAction[action]++
	count := func(m map[string]int, v string) {
		if v == "" {
			return
		}
		for _, item := range strings.Split(v, ",") {
			m[item]++
		}
	}
	count(r.ByCategory, e.Fields[FieldCategory])
	count(r.ByCountry, e.Fields[FieldCountry])
	count(r.ByLegalGround, e.Fields[FieldLegalGround])
}

// Report counts the durable entries whose time is in [from, to).
func (l *Log) Report(ctx context.Context, from, to time.Time) (*Report, error) {
	rep := newReport(from, to)
	n := l.durable.Load()
	l.mu.Lock()
	offsets := l.offsets[:n:n]
	l.mu.Unlock()
	if n == 0 {
		return rep, nil
	}
	end := l.written.Load()
	r := newOffsetReader(l.f, offsets[0], end)
	var buf []byte
	for i := range n {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if r.off != offsets[i] {
			r = newOffsetReader(l.f, offsets[i], end)
		}
		rec, ok, err := readRecord(r, end, buf[:0])
		if err != nil {
			return nil, err
		}
		if !ok || rec[0] != recEntry {
			return nil, fmt.Errorf("%w: entry %d damaged on disk", ErrCorrupt, i)
		}
		buf = rec
		s, err := storedFromPayload(rec[1:])
		if err != nil {
			return nil, err
		}
		e, err := DecodeEntry(s.Encoded)
		if err != nil {
			return nil, fmt.Errorf("%w: entry %d: %v", ErrCorrupt, i, err)
		}
		rep.add(e)
	}
	return rep, nil
}

// ReportBundle counts the entries of a bundle whose time is in [from, to),
// offline. It does not verify the bundle: run VerifyBundle first.
func ReportBundle(r io.Reader, from, to time.Time) (*Report, error) {
	rep := newReport(from, to)
	br := NewBundleReader(r)
	for {
		typ, p, err := br.Next()
		if err == io.EOF {
			return rep, nil
		}
		if err != nil {
			return nil, err
		}
		if typ != BundleEntry {
			continue
		}
		s, err := BundleEntryRecord(p)
		if err != nil {
			return nil, err
		}
		e, err := DecodeEntry(s.Encoded)
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", s.Index, err)
		}
		rep.add(e)
	}
}
