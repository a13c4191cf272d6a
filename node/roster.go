package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/crypto/hybrid"
	"github.com/vigie-project/vigie/protocol/record"
)

// Roster changes: adding or removing a member is a new roster version,
// signed by a strict majority of the current version's members
// (record.Roster.VerifyWith). AmendRoster drafts the next version, members
// sign it one by one, and each node adopts it with AdoptRoster.
//
// Decisions:
//   - Versions are adopted one at a time, in order. A roster that skips a
//     version is refused with ErrRosterGap rather than checked against a
//     quorum of the members we know: who may sign version N+2 is decided by
//     version N+1, which we have not seen. Adopt the missing versions first
//     (vigie federation adopt takes several files and orders them).
//   - A valid roster that drops this node, or changes its own keys (signing
//     key, peer id, issuer share), is refused and nothing changes on disk:
//     the node could not open with it (its agency.key would no longer be
//     the roster's key for it). The error says so; the node is out of the
//     federation once the others adopt it.
//   - Every adopted version is kept in rosters/roster-<version>.cbor (the
//     version held before the first adoption is archived too), and
//     roster.cbor is the newest; each file is written atomically.

// Errors of roster adoption.
var (
	// ErrStaleRoster means the roster is not newer than the one the node holds.
	ErrStaleRoster = errors.New("node: roster is not newer than the current one")
	// ErrRosterQuorum means the roster lacks a quorum of valid signatures of
	// the current version's members; it wraps the record package's error.
	ErrRosterQuorum = errors.New("node: roster lacks a quorum of the current members' signatures")
	// ErrRosterGap means the roster skips versions the node has not adopted.
	ErrRosterGap = errors.New("node: roster skips a version")
	// ErrWrongFederation means the roster is another federation's.
	ErrWrongFederation = errors.New("node: roster is for another federation")
	// ErrRemovedFromFederation means a valid roster no longer lists this node.
	ErrRemovedFromFederation = errors.New("node: the new roster removes this node from the federation")
)

// rosterArchive is the folder, inside a node folder, of every roster version adopted.
const rosterArchive = "rosters"

// maxMemberFile bounds a member.json file.
const maxMemberFile = 64 << 10

// MemberRef names a member in a RosterChange.
type MemberRef struct {
	Agency record.Agency
	PeerID string
}

// RosterChange says what a roster version changes relative to its predecessor.
type RosterChange struct {
	Federation string
	From       uint64  // the previous version
	Version    uint64  // the new version
	CID        cid.Cid // the new version's record CID
	Added      []MemberRef
	Removed    []MemberRef
	// Changed lists members present in both whose entry differs
	// (addresses, name, roles, keys).
	Changed []MemberRef
	// Policy is the policy bundle the new version names, when it names
	// another one than its predecessor (undefined otherwise).
	Policy cid.Cid
}

// DiffRosters reports the members next adds, removes and changes relative
// to prev. CID is left undefined when next cannot be encoded (unsigned
// drafts encode fine).
func DiffRosters(prev, next *record.Roster) *RosterChange {
	c := &RosterChange{Federation: next.Federation, From: prev.Version, Version: next.Version}
	c.CID, _ = next.CID()
	if next.Policy.Defined() && !next.Policy.Equals(prev.Policy) {
		c.Policy = next.Policy
	}
	for _, m := range next.Members {
		old, ok := prev.Member(m.Agency)
		switch {
		case !ok:
			c.Added = append(c.Added, MemberRef{Agency: m.Agency, PeerID: m.PeerID})
		case !sameMember(old, &m):
			c.Changed = append(c.Changed, MemberRef{Agency: m.Agency, PeerID: m.PeerID})
		}
	}
	for _, m := range prev.Members {
		if _, ok := next.Member(m.Agency); !ok {
			c.Removed = append(c.Removed, MemberRef{Agency: m.Agency, PeerID: m.PeerID})
		}
	}
	return c
}

func sameMember(a, b *record.Member) bool {
	return a.Agency == b.Agency && a.Name == b.Name && a.OrgType == b.OrgType && a.PeerID == b.PeerID &&
		bytes.Equal(a.SigningKey, b.SigningKey) && slices.Equal(a.Roles, b.Roles) && a.ShareIndex == b.ShareIndex &&
		bytes.Equal(a.SharePublicKey, b.SharePublicKey) && slices.Equal(a.Addrs, b.Addrs)
}

// AdoptRoster makes data, an encoded roster, the roster the node follows,
// if it is the next version of the current one for the same federation and
// carries valid signatures from a strict majority of the current members
// (record.Roster.VerifyWith). It is written to roster.cbor and kept in
// rosters/roster-<version>.cbor before it replaces the roster in memory.
// A refused roster changes nothing. See the decisions at the top of this
// file for version gaps and for a roster that removes this node.
//
// This is the node's part only: a running member adopts through
// daemon.Daemon.AdoptRoster, which also swaps the host's gate (cutting
// removed members off) and rebuilds the tokenizer, and running members
// learn a newer roster from any peer that holds it.
func (n *Node) AdoptRoster(ctx context.Context, data []byte) (*RosterChange, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(data) > record.MaxRosterSize {
		return nil, fmt.Errorf("%w: roster is %d bytes, at most %d", ErrInvalidInput, len(data), record.MaxRosterSize)
	}
	next, err := record.DecodeAs[*record.Roster](data)
	if err != nil {
		return nil, fmt.Errorf("%w: roster: %v", ErrInvalidInput, err)
	}
	n.adoptMu.Lock()
	defer n.adoptMu.Unlock()
	cur := n.Roster()
	switch {
	case next.Federation != cur.Federation:
		return nil, fmt.Errorf("%w: roster of %q, this node is in %q", ErrWrongFederation, next.Federation, cur.Federation)
	case next.Version <= cur.Version:
		return nil, fmt.Errorf("%w: roster version %d, the node holds version %d", ErrStaleRoster, next.Version, cur.Version)
	case next.Version > cur.Version+1:
		return nil, fmt.Errorf("%w: roster version %d, the node holds version %d; adopt versions %d to %d first",
			ErrRosterGap, next.Version, cur.Version, cur.Version+1, next.Version-1)
	}
	if err := next.VerifyWith(cur); err != nil {
		switch {
		case errors.Is(err, record.ErrQuorum), errors.Is(err, record.ErrSignature):
			return nil, fmt.Errorf("%w: version %d: %w", ErrRosterQuorum, next.Version, err)
		case errors.Is(err, record.ErrRosterChain):
			return nil, fmt.Errorf("node: roster version %d does not follow version %d held here: %w", next.Version, cur.Version, err)
		}
		return nil, fmt.Errorf("%w: roster version %d: %w", ErrInvalidInput, next.Version, err)
	}
	if err := n.checkOwnEntry(cur, next); err != nil {
		return nil, err
	}
	bundle, err := rosterPolicy(n.dir, next)
	if err != nil {
		return nil, fmt.Errorf("node: roster version %d: %w", next.Version, err)
	}
	if err := n.persistRoster(cur, next, data); err != nil {
		return nil, fmt.Errorf("node: saving roster version %d: %w", next.Version, err)
	}
	n.rosterMu.Lock()
	n.roster = next
	n.rosterMu.Unlock()
	change := DiffRosters(cur, next)
	if bundle != nil && (n.Policy() == nil || n.Policy().Hash() != bundle.Hash()) {
		n.setPolicy(bundle)
		n.log.WithField("bundle", next.Policy.String()).WithField("hash", bundle.Hash()).Info("deciding with the policy bundle the new roster names")
	}
	n.log.WithField("version", next.Version).WithField("added", len(change.Added)).WithField("removed", len(change.Removed)).Info("adopted a new roster")
	return change, nil
}

// checkOwnEntry refuses a roster the node could not run with: one that
// drops it or changes the keys its folder holds.
func (n *Node) checkOwnEntry(cur, next *record.Roster) error {
	me, ok := next.Member(n.agency)
	if !ok {
		return fmt.Errorf("%w: roster version %d of %q no longer lists %s; nothing was changed", ErrRemovedFromFederation, next.Version, next.Federation, n.agency)
	}
	old, _ := cur.Member(n.agency)
	if me.PeerID != old.PeerID || !bytes.Equal(me.SigningKey, old.SigningKey) || me.ShareIndex != old.ShareIndex || !bytes.Equal(me.SharePublicKey, old.SharePublicKey) {
		return fmt.Errorf("%w: roster version %d changes %s's own signing key, peer id or issuer share, which this node's folder does not hold; nothing was changed",
			ErrInvalidInput, next.Version, n.agency)
	}
	return nil
}

// persistRoster archives the current and the new version, then replaces
// roster.cbor. A crash in between leaves the old roster.cbor in force and
// at worst an extra archive file, which a new adoption overwrites.
func (n *Node) persistRoster(cur, next *record.Roster, data []byte) error {
	dir := filepath.Join(n.dir, rosterArchive)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	curPath := filepath.Join(dir, archiveName(cur.Version))
	if _, err := os.Stat(curPath); errors.Is(err, os.ErrNotExist) {
		b, err := cur.Encode()
		if err != nil {
			return err
		}
		if err := writeFileAtomic(curPath, b, 0o644); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, archiveName(next.Version)), data, 0o644); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(n.dir, rosterFile), data, 0o644)
}

func archiveName(version uint64) string { return fmt.Sprintf("roster-%d.cbor", version) }

// AmendRoster drafts the version after current: the same federation, OPRF
// key and threshold, with the members of add added and the agencies of
// remove removed, Prev naming current, a later ValidFrom and no
// signatures. The draft must then be signed by a strict majority of
// current's members.
//
// New members cannot be issuers: an issuer needs a share of the OPRF key,
// which only a resharing ceremony could deal. An issuer can be removed
// only if at least Threshold issuers remain and the remaining shares are
// still numbered 1..n (the roster and the token client require it), that
// is, if the removed issuers hold the highest share indices; anything else
// needs a resharing ceremony, which is not supported yet.
func AmendRoster(current *record.Roster, add []record.Member, remove []record.Agency) (*record.Roster, error) {
	return AmendRosterWith(current, RosterAmendment{Add: add, Remove: remove})
}

// RosterAmendment is what a new roster version changes: members added and
// removed, and the policy bundle it names (undefined: unchanged).
type RosterAmendment struct {
	Add    []record.Member
	Remove []record.Agency
	Policy cid.Cid
}

// AmendRosterWith drafts the version after current with the changes of a;
// see AmendRoster.
func AmendRosterWith(current *record.Roster, a RosterAmendment) (*record.Roster, error) {
	add, remove := a.Add, a.Remove
	prev, err := current.CID()
	if err != nil {
		return nil, fmt.Errorf("%w: current roster: %v", ErrInvalidInput, err)
	}
	newPolicy := a.Policy.Defined() && !a.Policy.Equals(current.Policy)
	if len(add) == 0 && len(remove) == 0 && !newPolicy {
		return nil, fmt.Errorf("%w: nothing to add or remove, and no new policy bundle", ErrInvalidInput)
	}
	next := &record.Roster{
		Federation: current.Federation,
		Version:    current.Version + 1,
		Prev:       prev,
		ValidFrom:  max(uint64(time.Now().Unix()), current.ValidFrom+1),
		OPRFKey:    slices.Clone(current.OPRFKey),
		Threshold:  current.Threshold,
		Shares:     current.Shares,
		Policy:     current.Policy,
	}
	if newPolicy {
		next.Policy = a.Policy
	}
	gone := make(map[record.Agency]bool, len(remove))
	for _, a := range remove {
		m, ok := current.Member(a)
		switch {
		case !ok:
			return nil, fmt.Errorf("%w: %s is not a member of roster version %d", ErrInvalidInput, a, current.Version)
		case gone[a]:
			return nil, fmt.Errorf("%w: %s is removed twice", ErrInvalidInput, a)
		}
		gone[a] = true
		if m.ShareIndex != 0 {
			next.Shares--
		}
	}
	if len(gone) == len(current.Members) {
		return nil, fmt.Errorf("%w: removing every member leaves no federation", ErrInvalidInput)
	}
	if next.Shares < next.Threshold {
		return nil, fmt.Errorf("%w: removing those issuers leaves %d of the %d needed to tokenise (threshold); add issuers by a resharing ceremony first",
			ErrInvalidInput, next.Shares, next.Threshold)
	}
	for _, m := range current.Members {
		if gone[m.Agency] {
			continue
		}
		if m.ShareIndex > next.Shares {
			return nil, fmt.Errorf("%w: %s holds issuer share %d, so the removed issuers' shares would leave a gap in 1..%d; only the issuers with the highest share indices can be removed without a resharing ceremony",
				ErrInvalidInput, m.Agency, m.ShareIndex, next.Shares)
		}
		next.Members = append(next.Members, cloneMember(m))
	}
	for _, m := range add {
		if err := checkNewMember(next, &m); err != nil {
			return nil, err
		}
		next.Members = append(next.Members, cloneMember(m))
		slices.SortFunc(next.Members, func(a, b record.Member) int { return a.Agency.Compare(b.Agency) })
	}
	if err := next.Validate(); err != nil {
		return nil, fmt.Errorf("%w: amended roster: %v", ErrInvalidInput, err)
	}
	return next, nil
}

// checkNewMember checks m can join r: a new agency, peer and key, not an issuer.
func checkNewMember(r *record.Roster, m *record.Member) error {
	if _, ok := r.Member(m.Agency); ok {
		return fmt.Errorf("%w: %s is already a member", ErrInvalidInput, m.Agency)
	}
	if m.ShareIndex != 0 || len(m.SharePublicKey) != 0 || slices.Contains(m.Roles, record.RoleIssuer) {
		return fmt.Errorf("%w: %s cannot join as an issuer: issuer shares come from a resharing ceremony, not a roster amendment", ErrInvalidInput, m.Agency)
	}
	for _, o := range r.Members {
		if o.PeerID == m.PeerID || bytes.Equal(o.SigningKey, m.SigningKey) {
			return fmt.Errorf("%w: %s has the peer id or signing key of %s", ErrInvalidInput, m.Agency, o.Agency)
		}
	}
	return nil
}

func cloneMember(m record.Member) record.Member {
	m.SigningKey = slices.Clone(m.SigningKey)
	m.SharePublicKey = slices.Clone(m.SharePublicKey)
	m.Roles = slices.Clone(m.Roles)
	m.Addrs = slices.Clone(m.Addrs)
	return m
}

// MemberFile is member.json in a member's key folder: the member's
// description and the public half of its keys, which is what a roster
// amendment needs to add it.
type MemberFile struct {
	MemberSpec
	PeerID     string   `json:"peer_id"`
	SigningKey []byte   `json:"signing_key"`           // the hybrid public key, base64
	AuditKeys  []string `json:"audit_keys,omitempty"`  // checkpoint verifier keys
	WitnessKey string   `json:"witness_key,omitempty"` // witnesses only
}

func memberFileOf(spec MemberSpec, m *record.Member) MemberFile {
	return MemberFile{MemberSpec: spec, PeerID: m.PeerID, SigningKey: m.SigningKey, AuditKeys: m.AuditKeys, WitnessKey: m.WitnessKey}
}

// RosterMember returns the roster entry for a new, non-issuer member.
func (f *MemberFile) RosterMember() (record.Member, error) {
	spec := f.MemberSpec
	if err := normaliseSpec(&spec); err != nil {
		return record.Member{}, err
	}
	if spec.Issuer {
		return record.Member{}, fmt.Errorf("%w: %s-%s is marked issuer, but issuer shares come from a resharing ceremony, not a roster amendment", ErrInvalidInput, spec.Country, spec.Org)
	}
	if f.PeerID == "" {
		return record.Member{}, fmt.Errorf("%w: %s-%s has no peer_id", ErrInvalidInput, spec.Country, spec.Org)
	}
	if _, err := hybrid.ParsePublicKey(f.SigningKey); err != nil {
		return record.Member{}, fmt.Errorf("%w: %s-%s signing_key: %v", ErrInvalidInput, spec.Country, spec.Org, err)
	}
	roles := []record.Role{record.RoleMember}
	if spec.Witness {
		roles = append(roles, record.RoleWitness)
	}
	slices.Sort(roles)
	return record.Member{Agency: record.Agency{Country: spec.Country, Org: spec.Org}, Name: spec.Name, OrgType: spec.OrgType,
		PeerID: f.PeerID, SigningKey: slices.Clone(f.SigningKey), Roles: roles, Addrs: slices.Clone(spec.Addrs),
		AuditKeys: slices.Clone(f.AuditKeys), WitnessKey: f.WitnessKey}, nil
}

// ReadMemberFile reads a member.json, refusing unknown fields.
func ReadMemberFile(path string) (*MemberFile, error) {
	data, err := readBounded(path, maxMemberFile)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f MemberFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidInput, path, err)
	}
	return &f, nil
}

// normaliseSpec tidies a member description as Genesis does and checks
// the agency's shape.
func normaliseSpec(s *MemberSpec) error {
	s.Country, s.Org = strings.ToUpper(strings.TrimSpace(s.Country)), strings.ToLower(strings.TrimSpace(s.Org))
	if s.OrgType == "" {
		s.OrgType = record.OrgPolice
	}
	if s.Name == "" {
		s.Name = s.Country + " " + s.Org
	}
	if len(s.Country) != 2 || strings.Trim(s.Country, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return fmt.Errorf("%w: country %q is not an ISO 3166-1 alpha-2 code such as FR or DE", ErrInvalidInput, s.Country)
	}
	if s.Org == "" {
		return fmt.Errorf("%w: an organisation id is required", ErrInvalidInput)
	}
	if !s.OrgType.Valid() {
		return fmt.Errorf("%w: unknown organisation type %q", ErrInvalidInput, s.OrgType)
	}
	return nil
}

// CreateMember creates the key folder dir of an agency joining an existing
// federation: agency.key, peer.key and member.json, which 'vigie federation
// amend --add' reads. dir must not exist yet; its parent is created. The
// member cannot be an issuer (see AmendRoster).
func CreateMember(dir, federation string, spec MemberSpec) (*MemberFile, error) {
	if err := normaliseSpec(&spec); err != nil {
		return nil, err
	}
	if spec.Issuer {
		return nil, fmt.Errorf("%w: a new member cannot be an issuer: issuer shares come from a resharing ceremony", ErrInvalidInput)
	}
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(dir)), 0o700); err != nil {
		return nil, err
	}
	m, _, err := createMemberKeys(dir, federation, spec, nil)
	if err != nil {
		return nil, err
	}
	f := memberFileOf(spec, &m)
	return &f, nil
}

// ReadRosterFile reads and decodes a roster file, bounded to
// record.MaxRosterSize. It does not verify signatures.
func ReadRosterFile(path string) (*record.Roster, error) {
	data, err := readBounded(path, record.MaxRosterSize)
	if err != nil {
		return nil, err
	}
	r, err := record.DecodeAs[*record.Roster](data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidInput, path, err)
	}
	return r, nil
}

// WriteRosterFile encodes r and writes it to path atomically.
func WriteRosterFile(path string, r *record.Roster) error {
	b, err := r.Encode()
	if err != nil {
		return fmt.Errorf("%w: roster: %v", ErrInvalidInput, err)
	}
	return writeFileAtomic(path, b, 0o644)
}

// QuorumProgress reports how far next, a draft successor of prev, is from
// adoption: have valid signatures of prev's members, need of them (a strict
// majority, as record.Roster.VerifyWith requires). It fails if next does
// not follow prev, or carries a signature that is invalid or by an agency
// that is not one of prev's members, since such a roster can never verify.
func QuorumProgress(prev, next *record.Roster) (have, need int, err error) {
	need = len(prev.Members)/2 + 1
	for _, s := range next.Signatures {
		if _, ok := prev.Member(s.Agency); !ok {
			return 0, need, fmt.Errorf("%w: %s signed roster version %d but is not a member of version %d", ErrRosterQuorum, s.Agency, next.Version, prev.Version)
		}
	}
	switch err := next.VerifyWith(prev); {
	case err == nil:
	case errors.Is(err, record.ErrQuorum) && len(next.Signatures) < need:
	case errors.Is(err, record.ErrQuorum), errors.Is(err, record.ErrSignature):
		return 0, need, fmt.Errorf("%w: %w", ErrRosterQuorum, err)
	default:
		return 0, need, fmt.Errorf("%w: roster version %d after version %d: %w", ErrInvalidInput, next.Version, prev.Version, err)
	}
	return len(next.Signatures), need, nil
}
