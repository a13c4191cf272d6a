package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cedar-policy/cedar-go/types"
)

// Actions lists the actions of DESIGN.md decision 9, in a stable order.
var Actions = []string{"share", "accept", "disclose", "query", "act_refer", "act_remove", "act_block", "act_deref", "retain", "retract"}

// TLPLevels and PAPLevels are the canonical markings, lowest first.
var (
	TLPLevels = []string{"CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"}
	PAPLevels = []string{"CLEAR", "GREEN", "AMBER", "RED"}
)

// Scopes are the indicator scopes an assertion may have.
var Scopes = []string{"url", "prefix", "host"}

// Request is one question put to the engine. See the package documentation
// for the meaning of each field and who the principal is.
type Request struct {
	Action            string   `json:"action"`
	Sender            string   `json:"sender,omitempty"`
	Recipient         string   `json:"recipient,omitempty"`
	Originator        string   `json:"originator,omitempty"`
	Country           string   `json:"country,omitempty"`
	Org               string   `json:"org,omitempty"`
	OrgType           string   `json:"org_type,omitempty"`
	Date              string   `json:"date"`
	Categories        []string `json:"categories,omitempty"`
	TLP               string   `json:"tlp,omitempty"`
	PAP               string   `json:"pap,omitempty"`
	LegalStatus       string   `json:"legal_status,omitempty"`
	Scope             string   `json:"scope,omitempty"`
	Handling          string   `json:"handling,omitempty"`
	OnwardOK          []string `json:"onward_ok,omitempty"`
	HumanReviewed     bool     `json:"human_reviewed,omitempty"`
	OversightNotified bool     `json:"oversight_notified,omitempty"`
	SpecialCategory   bool     `json:"special_category,omitempty"`
	ExcludedPurpose   bool     `json:"excluded_purpose,omitempty"`
	OrderRef          string   `json:"order_ref,omitempty"`
	Urgent            bool     `json:"urgent,omitempty"`
	Expires           string   `json:"expires,omitempty"`
	Purpose           string   `json:"purpose,omitempty"`
}

// requestKeys maps every accepted spelling of a request key to its JSON name.
var requestKeys = map[string]string{"category": "categories"}

func init() {
	for _, k := range []string{"action", "sender", "recipient", "originator", "country", "org", "org_type", "date",
		"categories", "tlp", "pap", "legal_status", "scope", "handling", "onward_ok", "human_reviewed",
		"oversight_notified", "special_category", "excluded_purpose", "order_ref", "urgent", "expires", "purpose"} {
		requestKeys[k] = k
	}
}

// UnmarshalJSON accepts the explain flags' names with "-" or "_", "category"
// for "categories", and a single string where a list is expected. Unknown
// keys are an error.
func (r *Request) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if raw == nil {
		return fmt.Errorf("request: want a JSON object")
	}
	canon := make(map[string]json.RawMessage, len(raw))
	for k, v := range raw {
		name, ok := requestKeys[strings.ReplaceAll(strings.ToLower(k), "-", "_")]
		if !ok {
			return fmt.Errorf("request: unknown key %q", k)
		}
		if _, dup := canon[name]; dup {
			return fmt.Errorf("request: key %q given twice", name)
		}
		if (name == "categories" || name == "onward_ok") && len(bytes.TrimSpace(v)) > 0 && bytes.TrimSpace(v)[0] == '"' {
			v = append(append([]byte("["), v...), ']')
		}
		canon[name] = v
	}
	b, err := json.Marshal(canon)
	if err != nil {
		return err
	}
	type plain Request
	var p plain
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return fmt.Errorf("request: %w", err)
	}
	*r = Request(p)
	return nil
}

// Normalize checks r and returns it in canonical form: known action,
// well-formed dates, upper-case country codes, canonical TLP/PAP labels,
// lower-case sorted categories, scope defaulting to "url" and the acting
// country filled in.
func (r Request) Normalize() (Request, error) {
	for _, fs := range [][]string{{r.Action, r.Sender, r.Recipient, r.Originator, r.Country, r.Org, r.OrgType, r.TLP,
		r.PAP, r.LegalStatus, r.Scope, r.Handling, r.OrderRef, r.Purpose, r.Date, r.Expires}, r.Categories, r.OnwardOK} {
		for _, f := range fs {
			if hasControl(f) {
				return r, fmt.Errorf("control character in %q", f)
			}
		}
	}
	r.Action = strings.ToLower(strings.TrimSpace(r.Action))
	if !slices.Contains(Actions, r.Action) {
		if r.Action == "" {
			return r, fmt.Errorf("no action (want one of %s)", strings.Join(Actions, ", "))
		}
		return r, fmt.Errorf("unknown action %q (want one of %s)", r.Action, strings.Join(Actions, ", "))
	}
	if _, err := ParseDay(r.Date); err != nil {
		return r, fmt.Errorf("date: %w", err)
	}
	if r.Expires != "" {
		if _, err := ParseDay(r.Expires); err != nil {
			return r, fmt.Errorf("expires: %w", err)
		}
	}
	for _, cc := range []*string{&r.Sender, &r.Recipient, &r.Originator, &r.Country} {
		*cc = strings.ToUpper(strings.TrimSpace(*cc))
	}
	if r.Country == "" {
		switch r.Action {
		case "share", "retract":
			r.Country = r.Sender
		default:
			r.Country = r.Recipient
		}
	}
	var err error
	if r.TLP, err = canonLevel("tlp", r.TLP, TLPLevels, "TLP:"); err != nil {
		return r, err
	}
	if r.PAP, err = canonLevel("pap", r.PAP, PAPLevels, "PAP:"); err != nil {
		return r, err
	}
	r.Scope = strings.ToLower(strings.TrimSpace(r.Scope))
	if r.Scope == "" {
		r.Scope = "url"
	}
	if !slices.Contains(Scopes, r.Scope) {
		return r, fmt.Errorf("unknown scope %q (want url, prefix or host)", r.Scope)
	}
	r.Categories = canonSet(r.Categories, strings.ToLower)
	r.OnwardOK = canonSet(r.OnwardOK, strings.ToUpper)
	r.LegalStatus = strings.ToLower(strings.TrimSpace(r.LegalStatus))
	r.OrgType = strings.ToLower(strings.TrimSpace(r.OrgType))
	r.Handling = strings.ToUpper(strings.TrimSpace(r.Handling))
	return r, nil
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

func canonLevel(what, v string, levels []string, prefix string) (string, error) {
	v = strings.ToUpper(strings.TrimSpace(v))
	v = strings.TrimPrefix(v, prefix)
	if v == "WHITE" {
		v = "CLEAR"
	}
	if v == "" || slices.Contains(levels, v) {
		return v, nil
	}
	return "", fmt.Errorf("unknown %s %q (want one of %s)", what, v, strings.Join(levels, ", "))
}

func canonSet(in []string, f func(string) string) []string {
	var out []string
	for _, s := range in {
		for _, part := range strings.Split(s, ",") {
			if part = f(strings.TrimSpace(part)); part != "" {
				out = append(out, part)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// ParseDay parses a YYYY-MM-DD date into days since 1970-01-01.
func ParseDay(s string) (int, error) {
	if len(s) != 10 {
		return 0, fmt.Errorf("%q is not a YYYY-MM-DD date", s)
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a YYYY-MM-DD date", s)
	}
	return int(t.Unix() / 86400), nil
}

func level(v string, levels []string) int {
	return max(slices.Index(levels, v), 0)
}

// Cedar entity types and fixed UIDs.
const (
	typeAgency    = types.EntityType("Vigie::Agency")
	typeAction    = types.EntityType("Vigie::Action")
	typeAssertion = types.EntityType("Vigie::Assertion")
)

func stringSet(ss []string) types.Set {
	vs := make([]types.Value, len(ss))
	for i, s := range ss {
		vs[i] = types.String(s)
	}
	return types.NewSet(vs...)
}

// cedarRequest builds the Cedar request and entities for a normalized r.
func (r Request) cedarRequest() (types.Request, types.EntityMap) {
	day, _ := ParseDay(r.Date)
	expires := 0
	if r.Expires != "" {
		expires, _ = ParseDay(r.Expires)
	}
	principal := types.NewEntityUID(typeAgency, types.String(r.Country+"/"+r.Org))
	resource := types.NewEntityUID(typeAssertion, "request")
	pkey := r.Country + "\x00" + r.Org + "\x00" + r.OrgType
	rkey := strings.Join([]string{strings.Join(r.Categories, ","), r.TLP, r.PAP, r.LegalStatus, r.Scope, r.Handling,
		strings.Join(r.OnwardOK, ","), r.Originator, strconv.FormatBool(r.SpecialCategory),
		strconv.FormatBool(r.ExcludedPurpose), r.Expires}, "\x00")
	entities := types.EntityMap{
		principal: {UID: principal, Attributes: principalRecords.get(pkey, func() types.Record {
			return types.NewRecord(types.RecordMap{
				"country":  types.String(r.Country),
				"org":      types.String(r.Org),
				"org_type": types.String(r.OrgType),
			})
		})},
		resource: {UID: resource, Attributes: resourceRecords.get(rkey, func() types.Record {
			return types.NewRecord(types.RecordMap{
				"categories":       stringSet(r.Categories),
				"tlp":              types.String(r.TLP),
				"pap":              types.String(r.PAP),
				"tlp_level":        types.Long(level(r.TLP, TLPLevels)),
				"pap_level":        types.Long(level(r.PAP, PAPLevels)),
				"legal_status":     types.String(r.LegalStatus),
				"scope":            types.String(r.Scope),
				"handling":         types.String(r.Handling),
				"onward_ok":        stringSet(r.OnwardOK),
				"originator":       types.String(r.Originator),
				"special_category": types.Boolean(r.SpecialCategory),
				"excluded_purpose": types.Boolean(r.ExcludedPurpose),
				"has_expiry":       types.Boolean(r.Expires != ""),
				"expires_days":     types.Long(expires),
			})
		})},
	}
	ckey := strings.Join([]string{r.Sender, r.Recipient, r.Date, r.Purpose, strconv.FormatBool(r.HumanReviewed),
		strconv.FormatBool(r.OversightNotified), strconv.FormatBool(r.Urgent), r.OrderRef}, "\x00")
	context := contextRecords.get(ckey, func() types.Record {
		return types.NewRecord(types.RecordMap{
			"sender":             types.String(r.Sender),
			"recipient":          types.String(r.Recipient),
			"date":               types.String(r.Date),
			"days_since_epoch":   types.Long(day),
			"purpose":            types.String(r.Purpose),
			"human_reviewed":     types.Boolean(r.HumanReviewed),
			"oversight_notified": types.Boolean(r.OversightNotified),
			"urgent":             types.Boolean(r.Urgent),
			"order_ref":          types.String(r.OrderRef),
		})
	})
	return types.Request{
		Principal: principal,
		Action:    types.NewEntityUID(typeAction, types.String(r.Action)),
		Resource:  resource,
		Context:   context,
	}, entities
}

// recordCache keeps immutable Cedar records built for recent requests:
// building one (hashing, cloning) costs more than evaluating most policies.
// It forgets everything when full.
type recordCache struct {
	m sync.Map
	n atomic.Int64
}

const recordCacheSize = 4096

var principalRecords, resourceRecords, contextRecords recordCache

func (c *recordCache) get(key string, build func() types.Record) types.Record {
	if v, ok := c.m.Load(key); ok {
		return v.(types.Record)
	}
	rec := build()
	if c.n.Add(1) > recordCacheSize {
		c.m.Clear()
		c.n.Store(1)
	}
	c.m.Store(key, rec)
	return rec
}
