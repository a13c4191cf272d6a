package policy

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// Table is the finite decision table that Diff enumerates: every
// combination of its dimensions, with originator = sender and one category
// per request.
type Table struct {
	Date          string
	Actions       []string
	Countries     []string // senders and recipients
	Categories    []string
	TLPs          []string
	PAPs          []string
	LegalStatuses []string
	Scopes        []string
	// Expires is the assertions' expiry date ("" for none).
	Expires string
	// Flags lists flag combinations, each a "+"-joined subset of
	// human_reviewed, oversight_notified, urgent, special_category,
	// excluded_purpose, order_ref ("" for none).
	Flags []string
}

// FlagNames are the flags a Table's Flags combine.
var FlagNames = []string{"human_reviewed", "oversight_notified", "urgent", "special_category", "excluded_purpose", "order_ref"}

// DefaultCategories is the category vocabulary of legal-rules.md §4.1.
var DefaultCategories = strings.Fields("incitement glorification apologie solicitation recruitment instruction " +
	"instruction_generic threat fto_propaganda symbols incitement_imminent true_threat fto_support " +
	"instruction_with_intent abhorrent_violent_material")

// DefaultTable is the table over the bundles' countries and categories
// (plus the §4.1 vocabulary), every action, TLP and PAP, legal status
// "referral", scope "url", an expiry one year after date, and two flag combinations: none, and human review
// with the oversight person notified and an order reference.
func DefaultTable(date string, bundles ...*Bundle) Table {
	t := Table{Date: date, Actions: slices.Clone(Actions), TLPs: slices.Clone(TLPLevels), PAPs: slices.Clone(PAPLevels),
		LegalStatuses: []string{"referral"}, Scopes: []string{"url"},
		Flags: []string{"", "human_reviewed+oversight_notified+order_ref"}, Categories: slices.Clone(DefaultCategories)}
	if day, err := ParseDay(date); err == nil {
		t.Expires = time.Unix(int64(day+365)*86400, 0).UTC().Format(time.DateOnly)
	}
	for _, b := range bundles {
		t.Countries = append(t.Countries, b.Countries()...)
		t.Categories = append(t.Categories, b.Categories()...)
	}
	slices.Sort(t.Countries)
	t.Countries = slices.Compact(t.Countries)
	slices.Sort(t.Categories)
	t.Categories = slices.Compact(t.Categories)
	return t
}

// Size is the number of requests in the table.
func (t Table) Size() int {
	return len(t.Actions) * len(t.Countries) * len(t.Countries) * len(t.Categories) * len(t.TLPs) * len(t.PAPs) *
		len(t.LegalStatuses) * len(t.Scopes) * len(t.Flags)
}

// Check validates the table's dimensions.
func (t Table) Check() error {
	if _, err := ParseDay(t.Date); err != nil {
		return fmt.Errorf("date: %w", err)
	}
	for _, a := range t.Actions {
		if !slices.Contains(Actions, a) {
			return fmt.Errorf("unknown action %q", a)
		}
	}
	for _, f := range t.Flags {
		if f == "" {
			continue
		}
		for _, n := range strings.Split(f, "+") {
			if !slices.Contains(FlagNames, n) {
				return fmt.Errorf("unknown flag %q (want %s)", n, strings.Join(FlagNames, ", "))
			}
		}
	}
	if t.Expires != "" {
		if _, err := ParseDay(t.Expires); err != nil {
			return fmt.Errorf("expires: %w", err)
		}
	}
	if t.Size() == 0 {
		return fmt.Errorf("the table is empty (no countries?)")
	}
	return nil
}

// each calls fn for every request of action a with sender s, in table order.
func (t Table) each(a, s string, fn func(Request)) {
	for _, rc := range t.Countries {
		for _, cat := range t.Categories {
			for _, tlp := range t.TLPs {
				for _, pap := range t.PAPs {
					for _, st := range t.LegalStatuses {
						for _, sc := range t.Scopes {
							for _, f := range t.Flags {
								r := Request{Action: a, Sender: s, Recipient: rc, Originator: s, Date: t.Date,
									Categories: []string{cat}, TLP: tlp, PAP: pap, LegalStatus: st, Scope: sc, Expires: t.Expires}
								applyFlags(&r, f)
								fn(r)
							}
						}
					}
				}
			}
		}
	}
}

func applyFlags(r *Request, flags string) {
	for _, f := range strings.Split(flags, "+") {
		switch f {
		case "human_reviewed":
			r.HumanReviewed = true
		case "oversight_notified":
			r.OversightNotified = true
		case "urgent":
			r.Urgent = true
		case "special_category":
			r.SpecialCategory = true
		case "excluded_purpose":
			r.ExcludedPurpose = true
		case "order_ref":
			r.OrderRef = "ORDER-REF"
		}
	}
}

// Change is one request whose decision (or only its reasons) differs.
type Change struct {
	Request         Request  `json:"request"`
	Old             Decision `json:"old"`
	New             Decision `json:"new"`
	DecisionChanged bool     `json:"decision_changed"`
	Changes         []string `json:"changes"`
}

// DiffResult is the outcome of Diff.
type DiffResult struct {
	OldBundle      string         `json:"old_bundle"`
	NewBundle      string         `json:"new_bundle"`
	Date           string         `json:"date"`
	TableSize      int            `json:"table_size"`
	Evaluated      int            `json:"evaluated"`
	SkippedActions []string       `json:"skipped_actions"` // same policies in force: cannot change
	Changed        int            `json:"changed"`         // decisions that changed
	ReasonsOnly    int            `json:"reasons_only"`    // same decision, different reasons
	ByAction       map[string]int `json:"by_action"`       // changed decisions per action
	Changes        []Change       `json:"changes"`
}

// inForceFingerprint is the set of policies in force for action a on day.
func (b *Bundle) inForceFingerprint(a string, day int) string {
	var sb strings.Builder
	for _, r := range b.byAction[a] {
		if r.inForce(day) {
			sb.WriteString(r.fingerprint)
			sb.WriteByte(0)
		}
	}
	return sb.String()
}

// Diff evaluates the table under old and new and returns every request whose
// decision or reasons differ. An action whose in-force policies are the same
// text in both bundles cannot change and is skipped.
func Diff(old, new *Bundle, t Table) (DiffResult, error) {
	res := DiffResult{OldBundle: old.hash, NewBundle: new.hash, Date: t.Date, TableSize: t.Size(), ByAction: map[string]int{},
		SkippedActions: []string{}, Changes: []Change{}}
	if err := t.Check(); err != nil {
		return res, err
	}
	day, _ := ParseDay(t.Date)
	type job struct{ action, sender string }
	var jobs []job
	for _, a := range t.Actions {
		if old.inForceFingerprint(a, day) == new.inForceFingerprint(a, day) {
			res.SkippedActions = append(res.SkippedActions, a)
			continue
		}
		for _, s := range t.Countries {
			jobs = append(jobs, job{a, s})
		}
	}
	results := make([][]Change, len(jobs))
	counts := make([]int, len(jobs))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				t.each(jobs[i].action, jobs[i].sender, func(r Request) {
					counts[i]++
					o, n := old.Decide(r), new.Decide(r)
					if ch := Changes(o, n); len(ch) > 0 {
						results[i] = append(results[i], Change{Request: r, Old: o, New: n, DecisionChanged: o.Decision != n.Decision, Changes: ch})
					}
				})
			}
		})
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, chs := range results {
		res.Evaluated += counts[i]
		for _, c := range chs {
			if c.DecisionChanged {
				res.Changed++
				res.ByAction[c.Request.Action]++
			} else {
				res.ReasonsOnly++
			}
		}
		res.Changes = append(res.Changes, chs...)
	}
	return res, nil
}
