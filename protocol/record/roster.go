package record

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/crypto/checkpoint"
	"github.com/vigie-project/vigie/crypto/fedtoken"
	"github.com/vigie-project/vigie/crypto/hybrid"
	"github.com/vigie-project/vigie/protocol/dagcbor"
)

// RosterContext is the hybrid-signature context of roster signatures.
const RosterContext = "vigie/roster/v1"

// Sizes of the roster's key material.
const (
	SharePublicKeySize = 32 // a ristretto255 element: an issuer's OPRF key-share public key
	OPRFPublicKeySize  = 32 // the federation's OPRF group public key
)

// Roster is the signed list of a federation's members: who they are, which
// libp2p peer and which signing key speak for them, and who holds shares of
// the OPRF key (DESIGN.md decisions 2, 5, 6). Each version names its
// predecessor and is signed by a majority of the predecessor's members;
// version 1, the genesis roster, is signed by its own founding members and
// trusted by pinning its CID out of band.
//
// Members and Signatures are kept sorted by agency with no repeats, so one
// roster has one encoding.
type Roster struct {
	Federation string  // "federation": the federation's id, e.g. "eu-tco"
	Version    uint64  // "version": 1 for genesis, then +1 per change
	Prev       cid.Cid // "prev": CID of the previous version; absent for genesis
	ValidFrom  uint64  // "valid_from": Unix seconds
	Members    []Member
	// OPRFKey is the federation's OPRF group public key ("oprf_key").
	OPRFKey []byte
	// Threshold is t, the number of issuers needed to tokenise
	// ("threshold"); Shares is n, the number of issuers ("shares").
	Threshold uint64
	Shares    uint64
	// Policy optionally names the federation policy bundle ("policy").
	Policy cid.Cid
	// WitnessQuorum is how many witnesses must cosign each member's audit
	// checkpoints ("witness_quorum", optional; 0: no witnessing). At most
	// the number of members with the witness role.
	WitnessQuorum uint64
	Signatures    []RosterSignature // "sigs": not part of SigningBytes
}

// Member is one agency in the roster.
type Member struct {
	Agency  Agency  // "agency"
	Name    string  // "name": the organisation's name, for people
	OrgType OrgType // "org_type"
	// PeerID is the libp2p peer id of the agency's node ("peer_id"); the
	// connection gater admits only these peers.
	PeerID string
	// SigningKey is the agency's hybrid public key ("signing_key"),
	// separate from its libp2p peer key.
	SigningKey []byte
	Roles      []Role // "roles": non-empty set
	// ShareIndex (1..Shares) and SharePublicKey are present exactly for
	// issuers ("share_index", "share_key").
	ShareIndex     uint64
	SharePublicKey []byte
	// Addrs are the libp2p multiaddrs other members dial ("addrs",
	// optional, at most MaxAddrs of at most MaxAddrLen bytes), e.g.
	// "/dns4/vigie.example.gouv.fr/udp/4001/quic-v1".
	Addrs []string
	// AuditKeys are the C2SP verifier keys of the member's audit-log
	// checkpoints, Ed25519 and ML-DSA-44 ("audit_keys", optional):
	// witnesses and auditors check checkpoints against them.
	AuditKeys []string
	// WitnessKey is the C2SP verifier key of the member's witness
	// cosignatures ("witness_key", optional; witnesses only).
	WitnessKey string
}

// Bounds of the audit key fields (an ML-DSA-44 verifier key is about
// 1.8 kB in its text form).
const (
	MaxAuditKeys   = 4
	MaxAuditKeyLen = 4096
)

// RosterSignature is one agency's hybrid signature over a roster's
// SigningBytes under RosterContext.
type RosterSignature struct {
	Agency    Agency // "agency"
	Signature []byte // "sig"
}

// Errors of roster verification.
var (
	ErrQuorum      = errors.New("record: roster lacks a quorum of valid signatures")
	ErrRosterChain = errors.New("record: roster does not follow its predecessor")
)

// Type returns TypeRoster.
func (r *Roster) Type() Type { return TypeRoster }

// Encode validates r and returns its canonical bytes.
func (r *Roster) Encode() ([]byte, error) { return encode(r) }

// CID returns the roster's record CID, which its successor names as Prev.
func (r *Roster) CID() (cid.Cid, error) { return recordCID(r) }

// Validate checks the roster's shape: fields, member order, issuer shares,
// the signature list's order and sizes. Whether the signatures verify is
// for Verify and VerifyWith.
func (r *Roster) Validate() error {
	return firstError(r.validateUnsigned(), r.checkSignatureList())
}

func (r *Roster) validateUnsigned() error {
	return firstError(
		checkID("federation", r.Federation, MaxNameLen),
		r.checkVersion(),
		checkTime("valid_from", r.ValidFrom),
		r.checkMembers(),
		checkSize("oprf_key", r.OPRFKey, OPRFPublicKeySize),
		r.checkIssuers(),
		checkOptLink("policy", r.Policy, cid.DagCBOR),
		r.checkWitnessQuorum(),
	)
}

func (r *Roster) checkWitnessQuorum() error {
	witnesses := 0
	for i := range r.Members {
		if slices.Contains(r.Members[i].Roles, RoleWitness) {
			witnesses++
		}
	}
	if r.WitnessQuorum > uint64(witnesses) {
		return invalid("witness_quorum", "%d, but %d members are witnesses", r.WitnessQuorum, witnesses)
	}
	return nil
}

func (r *Roster) checkVersion() error {
	switch {
	case r.Version == 0:
		return invalid("version", "versions start at 1")
	case r.Version == 1 && r.Prev.Defined():
		return invalid("prev", "the genesis roster has no predecessor")
	case r.Version > 1 && !r.Prev.Defined():
		return invalid("prev", "required for version %d", r.Version)
	}
	return checkOptLink("prev", r.Prev, cid.DagCBOR)
}

func (r *Roster) checkMembers() error {
	if len(r.Members) == 0 || len(r.Members) > MaxMembers {
		return fmt.Errorf("%w: field \"members\" has %d members, want 1 to %d", ErrTooLarge, len(r.Members), MaxMembers)
	}
	for i := range r.Members {
		m := &r.Members[i]
		if err := m.check(fmt.Sprintf("members[%d]", i)); err != nil {
			return err
		}
		if i > 0 && r.Members[i-1].Agency.Compare(m.Agency) >= 0 {
			return invalid(fmt.Sprintf("members[%d].agency", i), "%s after %s: members must be sorted by agency and unique", m.Agency, r.Members[i-1].Agency)
		}
	}
	return nil
}

func (m *Member) check(field string) error {
	return firstError(
		m.Agency.check(field+".agency"),
		checkText(field+".name", m.Name, MaxNameLen),
		checkEnum(field+".org_type", m.OrgType),
		checkPeerID(field+".peer_id", m.PeerID),
		checkSigningKey(field+".signing_key", m.SigningKey),
		checkSet(field+".roles", m.Roles, 1, 3),
		m.checkShare(field),
		checkAddrs(field+".addrs", m.Addrs),
		checkVerifierKeys(field+".audit_keys", m.AuditKeys, MaxAuditKeys),
		m.checkWitnessKey(field+".witness_key"),
	)
}

func (m *Member) checkWitnessKey(field string) error {
	if m.WitnessKey == "" {
		return nil
	}
	if !slices.Contains(m.Roles, RoleWitness) {
		return invalid(field, "only witnesses have a witness key")
	}
	return checkVerifierKeys(field, []string{m.WitnessKey}, 1)
}

// checkVerifierKeys checks C2SP verifier keys: name+hash+base64 key.
func checkVerifierKeys(field string, keys []string, most int) error {
	if err := checkTextList(field, keys, 0, most, MaxAuditKeyLen); err != nil {
		return err
	}
	for i, k := range keys {
		if _, err := checkpoint.NewVerifier(k); err != nil {
			return invalid(fmt.Sprintf("%s[%d]", field, i), "%v", err)
		}
	}
	return nil
}

// checkPeerID checks the shape of a libp2p peer id (base58btc or a
// multibase CID: letters and digits only); parsing it is the transport's job.
func checkPeerID(field, id string) error {
	if err := checkText(field, id, MaxPeerIDLen); err != nil {
		return err
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return invalid(field, "%q is not a libp2p peer id", id)
		}
	}
	return nil
}

// checkAddrs checks the shape of multiaddrs only; the transport parses them.
func checkAddrs(field string, addrs []string) error {
	if err := checkTextList(field, addrs, 0, MaxAddrs, MaxAddrLen); err != nil {
		return err
	}
	for i, a := range addrs {
		if !strings.HasPrefix(a, "/") || strings.ContainsFunc(a, func(r rune) bool { return r <= ' ' || r > '~' }) {
			return invalid(fmt.Sprintf("%s[%d]", field, i), "%q is not a multiaddr", a)
		}
	}
	return nil
}

func checkSigningKey(field string, key []byte) error {
	if _, err := hybrid.ParsePublicKey(key); err != nil {
		return invalid(field, "%v", err)
	}
	return nil
}

func (m *Member) isIssuer() bool { return slices.Contains(m.Roles, RoleIssuer) }

func (m *Member) checkShare(field string) error {
	if !m.isIssuer() {
		if m.ShareIndex != 0 || len(m.SharePublicKey) != 0 {
			return invalid(field+".share_index", "only issuers hold key shares")
		}
		return nil
	}
	if m.ShareIndex == 0 {
		return invalid(field+".share_index", "required for an issuer, from 1")
	}
	return checkSize(field+".share_key", m.SharePublicKey, SharePublicKeySize)
}

// checkIssuers: the issuers are exactly the Shares members holding indices
// 1..Shares, and 1 <= Threshold <= Shares.
func (r *Roster) checkIssuers() error {
	if r.Shares > MaxMembers {
		return fmt.Errorf("%w: field \"shares\" is %d, at most %d", ErrTooLarge, r.Shares, MaxMembers)
	}
	if r.Threshold == 0 || r.Threshold > r.Shares {
		return invalid("threshold", "%d of %d shares; want 1 <= t <= n", r.Threshold, r.Shares)
	}
	seen := make([]bool, r.Shares+1)
	var issuers uint64
	for i := range r.Members {
		m := &r.Members[i]
		if !m.isIssuer() {
			continue
		}
		issuers++
		if m.ShareIndex > r.Shares || seen[m.ShareIndex] {
			return invalid(fmt.Sprintf("members[%d].share_index", i), "%d is repeated or above shares (%d)", m.ShareIndex, r.Shares)
		}
		seen[m.ShareIndex] = true
	}
	if issuers != r.Shares {
		return invalid("shares", "%d, but %d members are issuers", r.Shares, issuers)
	}
	return nil
}

func (r *Roster) checkSignatureList() error {
	if len(r.Signatures) > MaxMembers {
		return fmt.Errorf("%w: field \"sigs\" has %d signatures, at most %d", ErrTooLarge, len(r.Signatures), MaxMembers)
	}
	for i, s := range r.Signatures {
		field := fmt.Sprintf("sigs[%d]", i)
		if err := firstError(s.Agency.check(field+".agency"), checkSignature(field+".sig", s.Signature, hybrid.SignatureSize)); err != nil {
			return err
		}
		if i > 0 && r.Signatures[i-1].Agency.Compare(s.Agency) >= 0 {
			return invalid(field+".agency", "%s after %s: signatures must be sorted by agency and unique", s.Agency, r.Signatures[i-1].Agency)
		}
	}
	return nil
}

// Member returns the member for agency a.
func (r *Roster) Member(a Agency) (*Member, bool) {
	i, found := slices.BinarySearchFunc(r.Members, a, func(m Member, a Agency) int { return m.Agency.Compare(a) })
	if !found {
		return nil, false
	}
	return &r.Members[i], true
}

// PublicKey parses the member's signing key.
func (m *Member) PublicKey() (*hybrid.PublicKey, error) {
	return hybrid.ParsePublicKey(m.SigningKey)
}

// SignerKey returns the key that origin's manifests signed under keyID must
// verify with, or an error if the roster has no such member or key.
func (r *Roster) SignerKey(origin Agency, keyID string) (*hybrid.PublicKey, error) {
	m, ok := r.Member(origin)
	if !ok {
		return nil, fmt.Errorf("%w: %s is not in roster version %d", ErrWrongKey, origin, r.Version)
	}
	pub, err := m.PublicKey()
	if err != nil {
		return nil, err
	}
	if pub.KeyID() != keyID {
		return nil, fmt.Errorf("%w: %s signs with %s, not %s", ErrWrongKey, origin, pub.KeyID(), keyID)
	}
	return pub, nil
}

// SigningBytes returns what members sign: the roster's canonical encoding
// without the "sigs" field.
func (r *Roster) SigningBytes() ([]byte, error) {
	if err := r.validateUnsigned(); err != nil {
		return nil, err
	}
	e := r.unsignedEntries()
	return dagcbor.Encode(e.value())
}

// Sign adds (or replaces) signer's signature, keeping the list sorted.
func (r *Roster) Sign(key *hybrid.PrivateKey, signer Agency) error {
	msg, err := r.SigningBytes()
	if err != nil {
		return err
	}
	sig, err := key.Sign(RosterContext, msg)
	if err != nil {
		return fmt.Errorf("record: signing roster: %w", err)
	}
	i, found := slices.BinarySearchFunc(r.Signatures, signer, func(s RosterSignature, a Agency) int { return s.Agency.Compare(a) })
	if found {
		r.Signatures[i].Signature = sig
		return nil
	}
	r.Signatures = slices.Insert(r.Signatures, i, RosterSignature{Agency: signer, Signature: sig})
	return nil
}

// Verify checks a genesis roster: every signature must verify with the
// signer's key in this same roster, and at least quorum distinct members
// must have signed. The genesis ceremony decides quorum (typically every
// founding member); trust in the result comes from pinning its CID.
func (r *Roster) Verify(quorum int) error {
	if r.Version != 1 {
		return fmt.Errorf("%w: version %d is not a genesis roster; use VerifyWith", ErrRosterChain, r.Version)
	}
	if quorum < 1 || quorum > len(r.Members) {
		return fmt.Errorf("%w: quorum %d for %d members", ErrQuorum, quorum, len(r.Members))
	}
	return r.verifySignatures(r, quorum)
}

// VerifyWith checks r as the successor of prev, a roster the caller already
// trusts: same federation, next version, Prev naming prev's CID, a later
// ValidFrom, and valid signatures from a strict majority of prev's members
// (more than half, so two conflicting successors cannot both gather a
// quorum unless some member signs both, which is then provable misconduct).
// Every signature must verify with the signer's key in prev.
func (r *Roster) VerifyWith(prev *Roster) error {
	prevCID, err := prev.CID()
	if err != nil {
		return fmt.Errorf("%w: previous roster: %w", ErrRosterChain, err)
	}
	switch {
	case r.Federation != prev.Federation:
		return fmt.Errorf("%w: federation %q, previous %q", ErrRosterChain, r.Federation, prev.Federation)
	case r.Version != prev.Version+1:
		return fmt.Errorf("%w: version %d does not follow %d", ErrRosterChain, r.Version, prev.Version)
	case !r.Prev.Equals(prevCID):
		return fmt.Errorf("%w: prev is %s, previous roster is %s", ErrRosterChain, r.Prev, prevCID)
	case r.ValidFrom <= prev.ValidFrom:
		return fmt.Errorf("%w: valid_from %d is not after the previous roster's %d", ErrRosterChain, r.ValidFrom, prev.ValidFrom)
	}
	return r.verifySignatures(prev, len(prev.Members)/2+1)
}

// verifySignatures checks every signature on r against the signer's key in
// signers and requires at least quorum of them.
func (r *Roster) verifySignatures(signers *Roster, quorum int) error {
	if err := r.Validate(); err != nil {
		return err
	}
	msg, err := r.SigningBytes()
	if err != nil {
		return err
	}
	for _, s := range r.Signatures {
		m, ok := signers.Member(s.Agency)
		if !ok {
			return fmt.Errorf("%w: %s signed but is not a member of roster version %d", ErrQuorum, s.Agency, signers.Version)
		}
		pub, err := m.PublicKey()
		if err != nil {
			return err
		}
		if err := hybrid.Verify(pub, RosterContext, msg, s.Signature); err != nil {
			return fmt.Errorf("%w: roster version %d signed by %s: %w", ErrSignature, r.Version, s.Agency, err)
		}
	}
	if len(r.Signatures) < quorum {
		return fmt.Errorf("%w: %d signatures, %d required", ErrQuorum, len(r.Signatures), quorum)
	}
	return nil
}

func (r *Roster) unsignedEntries() entries {
	e := entries(header(TypeRoster))
	e.text("federation", r.Federation)
	e.num("version", r.Version)
	e.optLink("prev", r.Prev)
	e.num("valid_from", r.ValidFrom)
	members := make([]dagcbor.Value, len(r.Members))
	for i := range r.Members {
		members[i] = r.Members[i].value()
	}
	e.add("members", dagcbor.Array(members...))
	e.add("oprf_key", dagcbor.Bytes(r.OPRFKey))
	e.num("threshold", r.Threshold)
	e.num("shares", r.Shares)
	e.optLink("policy", r.Policy)
	e.optUint("witness_quorum", r.WitnessQuorum)
	return e
}

func (r *Roster) value() dagcbor.Value {
	e := r.unsignedEntries()
	sigs := make([]dagcbor.Value, len(r.Signatures))
	for i, s := range r.Signatures {
		sigs[i] = dagcbor.Map(
			dagcbor.Entry{Key: "agency", Value: s.Agency.value()},
			dagcbor.Entry{Key: "sig", Value: dagcbor.Bytes(s.Signature)},
		)
	}
	e.add("sigs", dagcbor.Array(sigs...))
	return e.value()
}

func (m *Member) value() dagcbor.Value {
	var e entries
	e.add("agency", m.Agency.value())
	e.text("name", m.Name)
	e.text("org_type", string(m.OrgType))
	e.text("peer_id", m.PeerID)
	e.add("signing_key", dagcbor.Bytes(m.SigningKey))
	e.add("roles", dagcbor.TextList(m.Roles))
	e.optUint("share_index", m.ShareIndex)
	e.optBytes("share_key", m.SharePublicKey)
	optTextList(&e, "addrs", m.Addrs)
	optTextList(&e, "audit_keys", m.AuditKeys)
	if m.WitnessKey != "" {
		e.text("witness_key", m.WitnessKey)
	}
	return e.value()
}

func readRoster(f *dagcbor.Fields) *Roster {
	r := &Roster{
		Federation:    f.Text("federation"),
		Version:       f.Uint("version"),
		Prev:          optLink(f, "prev"),
		ValidFrom:     f.Uint("valid_from"),
		OPRFKey:       f.Bytes("oprf_key"),
		Threshold:     f.Uint("threshold"),
		Shares:        f.Uint("shares"),
		Policy:        optLink(f, "policy"),
		WitnessQuorum: optUint(f, "witness_quorum"),
	}
	for _, mf := range f.Maps("members") {
		r.Members = append(r.Members, Member{
			Agency:         readAgency(mf.Map("agency")),
			Name:           mf.Text("name"),
			OrgType:        OrgType(mf.Text("org_type")),
			PeerID:         mf.Text("peer_id"),
			SigningKey:     mf.Bytes("signing_key"),
			Roles:          typedList[Role](mf, "roles"),
			ShareIndex:     optUint(mf, "share_index"),
			SharePublicKey: optBytes(mf, "share_key"),
			Addrs:          optTypedList[string](mf, "addrs"),
			AuditKeys:      optTypedList[string](mf, "audit_keys"),
			WitnessKey:     optText(mf, "witness_key"),
		})
	}
	for _, sf := range f.Maps("sigs") {
		r.Signatures = append(r.Signatures, RosterSignature{Agency: readAgency(sf.Map("agency")), Signature: sf.Bytes("sig")})
	}
	return r
}

// GroupKey is the federation's OPRF group key as the token client needs it:
// the group public key and every issuer's share key, in share-index order
// (the roster lists members by agency, which need not be the same order).
// It is validated, so a roster whose share keys do not fit one polynomial
// is refused here.
func (r *Roster) GroupKey() (fedtoken.GroupKey, error) {
	g := fedtoken.GroupKey{Threshold: int(r.Threshold), Total: int(r.Shares), Public: r.OPRFKey}
	for _, m := range r.Members {
		if m.isIssuer() {
			g.Shares = append(g.Shares, fedtoken.ShareKey{Index: fedtoken.ShareIndex(m.ShareIndex), Public: m.SharePublicKey})
		}
	}
	slices.SortFunc(g.Shares, func(a, b fedtoken.ShareKey) int { return cmp.Compare(a.Index, b.Index) })
	if err := g.Validate(); err != nil {
		return fedtoken.GroupKey{}, fmt.Errorf("record: roster version %d: OPRF key: %w", r.Version, err)
	}
	return g, nil
}
