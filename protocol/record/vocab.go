package record

// Closed vocabularies. Each is a string type whose Valid method lists the
// accepted values in a switch, so the lists cannot be altered at run time.
// Adding a value is a format change: nodes that do not know it reject the
// record, which is the safe failure for legal meaning.

// Type names a record type; it is the "type" field of every record.
type Type string

const (
	TypeAssertion  Type = "assertion"
	TypeRetraction Type = "retraction"
	TypeSighting   Type = "sighting"
	TypeManifest   Type = "manifest"
	TypeRoster     Type = "roster"
)

// ExprKind says which Safe Browsing expression an indicator is (DESIGN.md
// decision 1): a full URL, a path prefix ending in "/", or a whole host.
type ExprKind string

const (
	ExprExact  ExprKind = "exact"
	ExprPrefix ExprKind = "prefix"
	ExprHost   ExprKind = "host"
)

// Valid reports whether k is in the vocabulary.
func (k ExprKind) Valid() bool {
	switch k {
	case ExprExact, ExprPrefix, ExprHost:
		return true
	}
	return false
}

// Category is the kind of content an indicator points at, from the shared
// federation vocabulary (legal-rules §4.1). Several are national or
// third-country notions; which of them a country may act on is policy, not
// format.
type Category string

const (
	CatIncitement               Category = "incitement"                 // TCO 2(7)(a); Dir. 2017/541 Art. 5
	CatGlorification            Category = "glorification"              // indirect provocation causing a danger
	CatApologie                 Category = "apologie"                   // approval without a danger element (FR, ES, DK, AT)
	CatSolicitation             Category = "solicitation"               // TCO 2(7)(b)
	CatRecruitment              Category = "recruitment"                // TCO 2(7)(c); Dir. Art. 6
	CatInstruction              Category = "instruction"                // TCO 2(7)(d); Dir. Art. 7
	CatInstructionGeneric       Category = "instruction_generic"        // purpose not shown (UK TA 2000 s. 58)
	CatThreat                   Category = "threat"                     // TCO 2(7)(e)
	CatFTOPropaganda            Category = "fto_propaganda"             // official media of a listed group
	CatSymbols                  Category = "symbols"                    // symbols of banned organisations
	CatIncitementImminent       Category = "incitement_imminent"        // US Brandenburg standard
	CatTrueThreat               Category = "true_threat"                // US
	CatFTOSupport               Category = "fto_support"                // US 18 U.S.C. § 2339B
	CatInstructionWithIntent    Category = "instruction_with_intent"    // US 18 U.S.C. § 842(p)
	CatAbhorrentViolentMaterial Category = "abhorrent_violent_material" // AU Criminal Code 474.31
)

// Categories returns the whole category vocabulary, in canonical order.
func Categories() []Category {
	return []Category{
		CatAbhorrentViolentMaterial, CatApologie, CatFTOPropaganda, CatFTOSupport, CatGlorification,
		CatIncitement, CatIncitementImminent, CatInstruction, CatInstructionGeneric,
		CatInstructionWithIntent, CatRecruitment, CatSolicitation, CatSymbols, CatThreat, CatTrueThreat,
	}
}

// Valid reports whether c is in the vocabulary.
func (c Category) Valid() bool {
	switch c {
	case CatIncitement, CatGlorification, CatApologie, CatSolicitation, CatRecruitment,
		CatInstruction, CatInstructionGeneric, CatThreat, CatFTOPropaganda, CatSymbols,
		CatIncitementImminent, CatTrueThreat, CatFTOSupport, CatInstructionWithIntent,
		CatAbhorrentViolentMaterial:
		return true
	}
	return false
}

// Flag marks a property of an assertion that is not a category but changes
// what recipients may do (legal-rules §4.1).
type Flag string

const (
	// FlagSpecialCategory: the indicator may reveal religious or political
	// beliefs (LED Art. 10); forces human review.
	FlagSpecialCategory Flag = "special_category"
	// FlagImminentThreatToLife enables urgent paths (TCO Art. 14(5);
	// LED Art. 35(2)).
	FlagImminentThreatToLife Flag = "imminent_threat_to_life"
)

// Valid reports whether f is in the vocabulary.
func (f Flag) Valid() bool {
	switch f {
	case FlagSpecialCategory, FlagImminentThreatToLife:
		return true
	}
	return false
}

// LegalStatus is the legal standing of the originator's assessment; each
// status runs its own clocks in policy.
type LegalStatus string

const (
	StatusIntel         LegalStatus = "intel"          // intelligence only, no measure taken
	StatusReferral      LegalStatus = "referral"       // referred to the host for voluntary ToS review
	StatusNationalOrder LegalStatus = "national_order" // a national removal or blocking order
	StatusTCOOrder      LegalStatus = "tco_order"      // a removal order under Reg. 2021/784 Art. 3
	StatusUnderScrutiny LegalStatus = "under_scrutiny" // a TCO order under Art. 4 scrutiny
	StatusAnnulled      LegalStatus = "annulled"       // an order annulled by a court or on scrutiny
)

// Valid reports whether s is in the vocabulary.
func (s LegalStatus) Valid() bool {
	switch s {
	case StatusIntel, StatusReferral, StatusNationalOrder, StatusTCOOrder, StatusUnderScrutiny, StatusAnnulled:
		return true
	}
	return false
}

// isOrder reports whether the status rests on an order, which must then be
// referenced (TCO Art. 3(4) lists the order's reference among its contents).
func (s LegalStatus) isOrder() bool {
	return s == StatusNationalOrder || s == StatusTCOOrder || s == StatusUnderScrutiny
}

// TLP is a Traffic Light Protocol 2.0 label.
type TLP string

const (
	TLPClear       TLP = "clear"
	TLPGreen       TLP = "green"
	TLPAmber       TLP = "amber"
	TLPAmberStrict TLP = "amber+strict"
	TLPRed         TLP = "red"
)

// Valid reports whether t is in the vocabulary. TLP 1.0 "white" is not:
// imports of older data map it to "clear".
func (t TLP) Valid() bool {
	switch t {
	case TLPClear, TLPGreen, TLPAmber, TLPAmberStrict, TLPRed:
		return true
	}
	return false
}

// PAP is a Permissible Actions Protocol label.
type PAP string

const (
	PAPClear PAP = "clear"
	PAPGreen PAP = "green"
	PAPAmber PAP = "amber"
	PAPRed   PAP = "red"
)

// Valid reports whether p is in the vocabulary.
func (p PAP) Valid() bool {
	switch p {
	case PAPClear, PAPGreen, PAPAmber, PAPRed:
		return true
	}
	return false
}

// Handling is a Europol handling code. H3 ("other restrictions") carries its
// restriction as free text in the assertion's HandlingNote.
type Handling string

const (
	HandlingH0 Handling = "H0" // use only to prevent and combat crime
	HandlingH1 Handling = "H1" // not to be disclosed in judicial proceedings without permission
	HandlingH2 Handling = "H2" // not to be disseminated without permission
	HandlingH3 Handling = "H3" // other restrictions, stated in the note
)

// Valid reports whether h is in the vocabulary.
func (h Handling) Valid() bool {
	switch h {
	case HandlingH0, HandlingH1, HandlingH2, HandlingH3:
		return true
	}
	return false
}

// SourceEval is the Europol 4x4 reliability of the source.
type SourceEval string

const (
	SourceA SourceEval = "A" // no doubt about authenticity, trustworthiness, competence
	SourceB SourceEval = "B" // mostly reliable
	SourceC SourceEval = "C" // mostly not reliable
	SourceX SourceEval = "X" // cannot be assessed
)

// Valid reports whether s is in the vocabulary.
func (s SourceEval) Valid() bool {
	switch s {
	case SourceA, SourceB, SourceC, SourceX:
		return true
	}
	return false
}

// InfoEval is the Europol 4x4 accuracy of the information.
type InfoEval string

const (
	Info1 InfoEval = "1" // known to be true without reservation
	Info2 InfoEval = "2" // known personally to the source
	Info3 InfoEval = "3" // not known personally to the source, corroborated
	Info4 InfoEval = "4" // cannot be assessed
)

// Valid reports whether i is in the vocabulary.
func (i InfoEval) Valid() bool {
	switch i {
	case Info1, Info2, Info3, Info4:
		return true
	}
	return false
}

// OnwardConsent is the originator's standing answer to onward transfer to a
// third country (LED Art. 35(1)(c),(e); EU-US Umbrella Agreement Art. 7).
type OnwardConsent string

const (
	OnwardDenied  OnwardConsent = "denied"         // never
	OnwardAsk     OnwardConsent = "ask_originator" // only with case-by-case authorisation
	OnwardGranted OnwardConsent = "granted"        // prior general authorisation given
)

// Valid reports whether o is in the vocabulary.
func (o OnwardConsent) Valid() bool {
	switch o {
	case OnwardDenied, OnwardAsk, OnwardGranted:
		return true
	}
	return false
}

// RetractionReason says why an assertion is withdrawn (LED Arts. 7(3),
// 16(6); TCO Art. 4(7)).
type RetractionReason string

const (
	ReasonFalsePositive         RetractionReason = "false_positive"         // the content is not what was asserted
	ReasonIncorrect             RetractionReason = "incorrect"              // LED Art. 7(3)
	ReasonUnlawfullyTransmitted RetractionReason = "unlawfully_transmitted" // LED Art. 7(3)
	ReasonAnnulledByCourt       RetractionReason = "annulled_by_court"      // e.g. TA Cergy-Pontoise 2019
	ReasonAnnulledOnScrutiny    RetractionReason = "annulled_on_scrutiny"   // TCO Art. 4(7), FR PQ recommendation
	ReasonSuperseded            RetractionReason = "superseded"             // replaced by a newer assertion
	ReasonExpired               RetractionReason = "expired"                // time limit or review failed (LED Art. 5)
	ReasonOriginatorWithdrawn   RetractionReason = "originator_withdrawn"   // any other withdrawal
)

// Valid reports whether r is in the vocabulary.
func (r RetractionReason) Valid() bool {
	switch r {
	case ReasonFalsePositive, ReasonIncorrect, ReasonUnlawfullyTransmitted, ReasonAnnulledByCourt,
		ReasonAnnulledOnScrutiny, ReasonSuperseded, ReasonExpired, ReasonOriginatorWithdrawn:
		return true
	}
	return false
}

// Opinion is what a sighting says about an indicator or assertion.
type Opinion string

const (
	OpinionAgree    Opinion = "agree"    // the sender's own assessment matches
	OpinionDisagree Opinion = "disagree" // the sender disputes it (makes the indicator DISPUTED)
	OpinionSeen     Opinion = "seen"     // observed, no assessment
	OpinionOffline  Opinion = "offline"  // the content is no longer reachable
)

// Valid reports whether o is in the vocabulary.
func (o Opinion) Valid() bool {
	switch o {
	case OpinionAgree, OpinionDisagree, OpinionSeen, OpinionOffline:
		return true
	}
	return false
}

// OrgType is the kind of organisation a roster member is. Intelligence
// services fall outside the LED (Art. 2(3)(a)), which policy must know.
type OrgType string

const (
	OrgPolice       OrgType = "police"
	OrgIntelligence OrgType = "intelligence"
	OrgMinistry     OrgType = "ministry"
	OrgRegulator    OrgType = "regulator"
	OrgEuropol      OrgType = "europol"
	OrgOther        OrgType = "other"
)

// Valid reports whether o is in the vocabulary.
func (o OrgType) Valid() bool {
	switch o {
	case OrgPolice, OrgIntelligence, OrgMinistry, OrgRegulator, OrgEuropol, OrgOther:
		return true
	}
	return false
}

// Role is what a roster member does in the federation.
type Role string

const (
	RoleIssuer  Role = "issuer"  // holds a share of the OPRF key (DESIGN.md decision 2)
	RoleWitness Role = "witness" // cosigns other nodes' audit-log checkpoints
	RoleMember  Role = "member"  // shares and receives records
)

// Valid reports whether r is in the vocabulary.
func (r Role) Valid() bool {
	switch r {
	case RoleIssuer, RoleWitness, RoleMember:
		return true
	}
	return false
}
