// Package policy is Vigie's legal-policy engine (DESIGN.md decision 9): Cedar
// policy packs owned by the federation, by each country and by bilateral or
// multilateral instruments, evaluated with github.com/cedar-policy/cedar-go
// into explained decisions (allow, deny or indeterminate, with the grounds
// relied on, the bars that fired, the grounds checked for a "no legal basis"
// denial, the obligations, the bundle hash and the engine version).
//
// # Bundle layout
//
// A bundle is a folder (the default one is embedded from policy/packs/):
//
//	schema.cedarschema          Cedar schema, human format (optional; when present every policy is type-checked)
//	baseline/*.cedar            owner "federation"
//	countries/<CC>.cedar        owner CC (two upper-case letters, e.g. FR, GB, US)
//	instruments/<name>.cedar    owner: the instrument's parties joined by "-", e.g. "EU", "EU-US", "EU-GB"
//
// "EU" as a party stands for the member states of 2014–2020 (including GB),
// the Schengen-associated states (NO, IS, CH, LI) and Europol, which takes
// part as country "EU".
//
// Other files (README, test vectors...) are ignored and are not hashed. The
// bundle hash is "sha256:" + hex SHA-256 over the pack files sorted by their
// slash path relative to the bundle root, each contributing
// path "\n" len(content) "\n" content.
//
// # Owners and signatures
//
// A bundle comes into force when a roster version names it (node package);
// owners sign what they own. OwnerDigest hashes the canonical text of one
// owner's policies, so an owner's signature stays valid while only other
// owners' packs change; OwnerSigners says which countries sign for an owner
// (a country for itself, the non-EU parties for an instrument; none for
// "federation" and "EU", which the roster's majority approves).
//
// # Annotations
//
// Every permit and forbid carries:
//
//	@id("FR-apologie-block")       unique in the bundle; it is also the Cedar policy id
//	@cite("…legal citation…")      required, non-empty
//	@owner("FR")                   required: "federation", a country code, or instrument parties ("EU-US")
//	@from("2015-02-07")            optional, YYYY-MM-DD, inclusive
//	@until("2020-12-31")           optional, YYYY-MM-DD, exclusive
//	@obligation("notify_originator,document_transfer")   optional, comma-separated
//	@kind("ground"|"bar")          optional; must agree with the effect (permit = ground, forbid = bar)
//
// A policy applies to a decision only if from ≤ date < until. No other
// annotation keys are allowed (a typo such as @cites is a lint error).
//
// # Entities (namespace Vigie)
//
// principal: Vigie::Agency::"<country>/<org>" with attributes
// country: String, org: String, org_type: String.
//
// action: Vigie::Action::"share" | "accept" | "disclose" | "query" |
// "act_refer" | "act_remove" | "act_block" | "act_deref" | "retain" | "retract".
//
// resource: Vigie::Assertion::"request" with attributes
//
//	categories: Set<String>       lower case, vocabulary of legal-rules.md §4.1
//	tlp: String                   "CLEAR" | "GREEN" | "AMBER" | "AMBER+STRICT" | "RED" (upper case, no "TLP:" prefix)
//	pap: String                   "CLEAR" | "GREEN" | "AMBER" | "RED"
//	legal_status: String          "intel" | "referral" | "national_order" | "tco_order" | "tco_order_under_scrutiny" | "annulled"
//	scope: String                 "url" | "prefix" | "host"
//	handling: String              "" if none, else e.g. "H0".."H3"
//	onward_ok: Set<String>        countries the originator pre-authorised
//	originator: String            country
//	special_category: Bool
//	excluded_purpose: Bool
//	has_expiry: Bool              an expiry date is set
//
// and, as conveniences beyond the shared format (use them or not):
//
//	tlp_level: Long               CLEAR 0, GREEN 1, AMBER 2, AMBER+STRICT 3, RED 4 ("" → 0)
//	pap_level: Long               CLEAR 0, GREEN 1, AMBER 2, RED 3 ("" → 0)
//	expires_days: Long            the expiry date in days since 1970-01-01 (0 when has_expiry is false),
//	                              so "expired" is resource.has_expiry && resource.expires_days <= context.days_since_epoch
//
// context:
//
//	sender: String, recipient: String (countries), date: String ("2026-11-23"),
//	days_since_epoch: Long, purpose: String, human_reviewed: Bool,
//	oversight_notified: Bool, urgent: Bool, order_ref: String ("" if none)
//
// Country codes are upper case. Who the principal is: for share the sender's
// agency; for accept the recipient's agency; for disclose, query, act_*,
// retain the acting agency, which defaults to the recipient (the holder of a
// received assertion); for retract the retracting agency, which defaults to
// the sender. A request may name the acting country explicitly ("country").
//
// # Decision rule
//
// Only policies in force on the request's date, whose action scope admits the
// action, and — for policies owned by a country or an instrument's parties —
// whose ownership constraint (see Lint) admits the flow are considered: a
// policy of owner FR is skipped unless the acting agency, the sender, the
// recipient or the originator is FR, since it provably cannot apply. The decision is allow iff at least one ground
// (permit) matched and no bar (forbid) matched; an evaluation error in any
// considered policy makes it indeterminate (never a silent deny). Grounds lists
// every ground that matched and Bars every bar that matched, whatever the
// decision. Checked is filled only for a deny without any matching ground or
// bar: the grounds considered (in force for that action and flow), none of
// which applied, or, when no ground is in force on the date, the grounds for
// the flow outside their validity period, each with a note giving it; Reason
// says in one sentence which case it is. Obligations are
// those of the matching grounds when allowed, and of the matching bars when
// denied.
//
// # Test vectors and records
//
// A vector file holds one vector, a JSON array of vectors, or {"vectors": [...]}:
//
//	{"name": "FR blocks apologie after review",
//	 "request": {"action": "act_block", "sender": "DE", "recipient": "FR", "originator": "DE",
//	             "date": "2024-03-01", "categories": ["apologie"], "tlp": "GREEN", "pap": "GREEN",
//	             "legal_status": "referral", "scope": "url", "human_reviewed": true,
//	             "oversight_notified": true},
//	 "expect": {"decision": "allow", "grounds": ["FR-apologie-block"], "bars": []}}
//
// Request keys are the explain flags with "-" or "_" (legal-status and
// legal_status are the same key); "category" is accepted for "categories".
// Keys: action, sender, recipient, originator, country, org, org_type, date,
// categories, tlp, pap, legal_status, scope, handling, onward_ok,
// human_reviewed, oversight_notified, special_category, excluded_purpose,
// order_ref, urgent, expires, purpose. Unknown keys are an error.
// In "expect", "grounds" and "bars" are compared as sets when present and not
// checked when absent.
//
// # Lint
//
// Lint (and Load, which refuses a bundle with lint errors) checks: parse
// errors; @id present and unique; @cite and @owner present; known annotation
// keys; @from/@until dates, from < until; @kind agreeing with the effect;
// every Vigie::Action named exists; pack folder agreeing with @owner; policies
// type-check against schema.cedarschema; and ownership: a policy owned by a
// country (or by instrument parties) must, in a when clause (or negated in an
// unless clause), imply principal.country, context.sender, context.recipient
// or resource.originator equals one of the owner's countries (== "CC",
// ["CC", ...].contains(x), through && and ||).
//
// A record (what `vigie policy replay` reads, and `vigie policy explain
// --record` prints) is {"request": {...}, "decision": {...as explain --json...}}.
package policy
