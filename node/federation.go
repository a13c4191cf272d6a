package node

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vigie-project/vigie/crypto/fedtoken"
	"github.com/vigie-project/vigie/crypto/hybrid"
	"github.com/vigie-project/vigie/protocol/record"
)

// MemberSpec describes one founding member of a federation.
type MemberSpec struct {
	Country string         `json:"country"`
	Org     string         `json:"org"`
	Name    string         `json:"name"`
	OrgType record.OrgType `json:"org_type"`
	Issuer  bool           `json:"issuer,omitempty"`
	Witness bool           `json:"witness,omitempty"`
	Addrs   []string       `json:"addrs,omitempty"`
}

// GenesisOptions describe a new federation.
type GenesisOptions struct {
	Federation string
	Members    []MemberSpec
	Threshold  int // issuers needed for a token (t of n)
	Issuers    int // n; if no member is marked Issuer, the first n members are
	// WitnessQuorum is how many witnesses must cosign each member's audit
	// checkpoints (0: none); at most the members marked Witness.
	WitnessQuorum int
	Now           time.Time // zero: time.Now()
}

// memberFile is what a member's key folder says about whom the keys are for.
const memberFile = "member.json"

// Genesis runs the founding ceremony with a dealer: it creates every
// member's agency key, peer key and (for issuers) OPRF key share in
// outDir/<CC>-<org>/, and the genesis roster, signed by every founding
// member, in outDir/roster.cbor. Each member's folder is meant to be handed
// to that member only; the dealer must then destroy the shares (DESIGN.md
// decision 2: distributed key generation is a later goal).
func Genesis(ctx context.Context, outDir string, opts GenesisOptions) (*record.Roster, error) {
	if err := normaliseGenesis(&opts); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(outDir, 0o700); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(outDir, rosterFile)); err == nil {
		return nil, fmt.Errorf("%w: %s already holds a roster", ErrAlreadyInitialised, outDir)
	}
	group, shares, err := fedtoken.Deal(rand.Reader, opts.Threshold, opts.Issuers)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	r := &record.Roster{Federation: opts.Federation, Version: 1, ValidFrom: uint64(opts.Now.Unix()),
		OPRFKey: group.Public, Threshold: uint64(group.Threshold), Shares: uint64(group.Total), WitnessQuorum: uint64(opts.WitnessQuorum)}
	signers := make([]*hybrid.PrivateKey, len(opts.Members))
	next := 0
	for i, spec := range opts.Members {
		var share *fedtoken.Share
		if spec.Issuer {
			share = &shares[next]
			next++
		}
		m, key, err := createMemberKeys(filepath.Join(outDir, memberDirName(spec)), opts.Federation, spec, share)
		if err != nil {
			return nil, err
		}
		if share != nil {
			m.ShareIndex, m.SharePublicKey = uint64(share.Index), group.Shares[share.Index-1].Public
		}
		r.Members = append(r.Members, m)
		signers[i] = key
	}
	if err := signGenesis(r, signers); err != nil {
		return nil, err
	}
	b, err := r.Encode()
	if err != nil {
		return nil, err
	}
	return r, writeFileAtomic(filepath.Join(outDir, rosterFile), b, 0o644)
}

func normaliseGenesis(o *GenesisOptions) error {
	if o.WitnessQuorum < 0 {
		return fmt.Errorf("%w: witness quorum %d is negative", ErrInvalidInput, o.WitnessQuorum)
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if len(o.Members) == 0 {
		return fmt.Errorf("%w: a federation needs members", ErrInvalidInput)
	}
	marked := 0
	for i := range o.Members {
		m := &o.Members[i]
		m.Country, m.Org = strings.ToUpper(strings.TrimSpace(m.Country)), strings.ToLower(strings.TrimSpace(m.Org))
		if m.OrgType == "" {
			m.OrgType = record.OrgPolice
		}
		if m.Name == "" {
			m.Name = m.Country + " " + m.Org
		}
		if m.Issuer {
			marked++
		}
	}
	switch {
	case marked == 0:
		if o.Issuers < 1 || o.Issuers > len(o.Members) {
			return fmt.Errorf("%w: %d issuers asked of %d members", ErrInvalidInput, o.Issuers, len(o.Members))
		}
		for i := range o.Issuers {
			o.Members[i].Issuer = true
		}
	case o.Issuers != 0 && o.Issuers != marked:
		return fmt.Errorf("%w: the members file marks %d issuers but %d were asked for", ErrInvalidInput, marked, o.Issuers)
	default:
		o.Issuers = marked
	}
	if o.Threshold < 1 || o.Threshold > o.Issuers {
		return fmt.Errorf("%w: threshold %d must be between 1 and the %d issuers", ErrInvalidInput, o.Threshold, o.Issuers)
	}
	if o.Federation == "" {
		o.Federation = "vigie-federation"
	}
	// The roster lists members sorted by agency; sort the specs the same way
	// so share indices follow roster order.
	slices.SortFunc(o.Members, func(a, b MemberSpec) int {
		return record.Agency{Country: a.Country, Org: a.Org}.Compare(record.Agency{Country: b.Country, Org: b.Org})
	})
	return nil
}

func memberDirName(s MemberSpec) string { return s.Country + "-" + s.Org }

// createMemberKeys writes one member's key folder and returns its roster
// entry (without share fields) and signing key.
func createMemberKeys(dir, federation string, spec MemberSpec, share *fedtoken.Share) (record.Member, *hybrid.PrivateKey, error) {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return record.Member{}, nil, fmt.Errorf("node: member folder: %w", err)
	}
	key, err := hybrid.GenerateKey(rand.Reader)
	if err != nil {
		return record.Member{}, nil, err
	}
	if err := hybrid.WriteKeyFile(filepath.Join(dir, agencyKey), key); err != nil {
		return record.Member{}, nil, err
	}
	peerID, err := createPeerKey(filepath.Join(dir, peerKey))
	if err != nil {
		return record.Member{}, nil, err
	}
	if share != nil {
		b, err := share.MarshalBinary()
		if err != nil {
			return record.Member{}, nil, err
		}
		if err := writeFileAtomic(filepath.Join(dir, shareFile), b, 0o600); err != nil {
			return record.Member{}, nil, err
		}
	}
	roles := []record.Role{record.RoleMember}
	if share != nil {
		roles = append(roles, record.RoleIssuer)
	}
	if spec.Witness {
		roles = append(roles, record.RoleWitness)
	}
	slices.Sort(roles)
	m := record.Member{
		Agency: record.Agency{Country: spec.Country, Org: spec.Org}, Name: spec.Name, OrgType: spec.OrgType,
		PeerID: peerID.String(), SigningKey: key.Public().Bytes(), Roles: roles, Addrs: spec.Addrs,
	}
	ak, err := EnsureAuditKeys(dir, federation, m.Agency)
	if err != nil {
		return record.Member{}, nil, err
	}
	m.AuditKeys = ak.Verifiers
	if spec.Witness {
		m.WitnessKey = ak.WitnessVerifier
	}
	// member.json carries the public keys too, so a folder made for a new
	// member is all a roster amendment needs (MemberFile).
	desc, _ := json.MarshalIndent(memberFileOf(spec, &m), "", "  ")
	if err := writeFileAtomic(filepath.Join(dir, memberFile), append(desc, '\n'), 0o644); err != nil {
		return record.Member{}, nil, err
	}
	return m, key, nil
}

// signGenesis has every founding member sign the genesis roster.
func signGenesis(r *record.Roster, keys []*hybrid.PrivateKey) error {
	for i, k := range keys {
		if err := r.Sign(k, r.Members[i].Agency); err != nil {
			return fmt.Errorf("node: %s signing the roster: %w", r.Members[i].Agency, err)
		}
	}
	return r.Verify(len(r.Members))
}

// Join creates a node in dir for a member of an existing federation, from
// the federation's roster and the member's key folder (as Genesis or
// CreateMember wrote it). The keys must be the ones the roster names for
// that member. A genesis roster's signatures are checked against its own
// members. A later version (a member joining after genesis) can only be
// checked against its predecessor, which the joiner does not hold: it is
// trusted as handed over by the operator, like the genesis roster's CID is
// pinned out of band (compare its CID with the one the signers publish),
// after checking its shape; the node then follows later versions with
// AdoptRoster, which checks each against its predecessor.
func Join(ctx context.Context, dir, rosterPath, keysDir string) error {
	if _, err := os.Stat(filepath.Join(dir, configFile)); err == nil {
		return fmt.Errorf("%w: %s", ErrAlreadyInitialised, dir)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	rosterBytes, err := readBounded(rosterPath, record.MaxRosterSize)
	if err != nil {
		return fmt.Errorf("node: reading the roster: %w", err)
	}
	r, err := record.DecodeAs[*record.Roster](rosterBytes)
	if err != nil {
		return fmt.Errorf("%w: roster: %v", ErrInvalidInput, err)
	}
	if err := verifyJoinRoster(r); err != nil {
		return err
	}
	signer, err := hybrid.ReadKeyFile(filepath.Join(keysDir, agencyKey))
	if err != nil {
		return err
	}
	me, err := memberWithKey(r, signer.Public())
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := copyFile(filepath.Join(keysDir, peerKey), filepath.Join(dir, peerKey), 0o600); err != nil {
		return err
	}
	if err := copyAuditKeys(keysDir, dir); err != nil {
		return err
	}
	var share *fedtoken.Share
	if me.ShareIndex != 0 {
		b, err := readBounded(filepath.Join(keysDir, shareFile), 1024)
		if err != nil {
			return fmt.Errorf("node: %s is an issuer but its key folder has no share: %w", me.Agency, err)
		}
		share = new(fedtoken.Share)
		if err := share.UnmarshalBinary(b); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrInvalidInput, shareFile, err)
		}
	}
	cfg := &config{Format: ConfigFormat, Federation: r.Federation, Country: me.Agency.Country, Org: me.Agency.Org,
		OrgName: me.Name, Created: time.Now().UTC().Truncate(time.Second)}
	return writeNodeFiles(ctx, dir, cfg, signer, share, r)
}

// verifyJoinRoster checks the roster a node joins with; see Join.
func verifyJoinRoster(r *record.Roster) error {
	if r.Version == 1 {
		if err := r.Verify(len(r.Members)/2 + 1); err != nil {
			return fmt.Errorf("%w: roster signatures: %v", ErrInvalidInput, err)
		}
		return nil
	}
	if err := r.Validate(); err != nil {
		return fmt.Errorf("%w: roster: %v", ErrInvalidInput, err)
	}
	return nil
}

func memberWithKey(r *record.Roster, pub *hybrid.PublicKey) (*record.Member, error) {
	for i := range r.Members {
		if k, err := r.Members[i].PublicKey(); err == nil && k.Equal(pub) {
			return &r.Members[i], nil
		}
	}
	return nil, fmt.Errorf("%w: the agency key is not a member's key in federation %q", ErrInvalidInput, r.Federation)
}

func copyFile(from, to string, mode os.FileMode) error {
	b, err := readBounded(from, 64<<10)
	if err != nil {
		return err
	}
	return writeFileAtomic(to, b, mode)
}
