package node

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing/fstest"

	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/crypto/hybrid"
	"github.com/vigie-project/vigie/internal/atomicfile"
	"github.com/vigie-project/vigie/policy"
	"github.com/vigie-project/vigie/protocol/record"
)

// Signed policy bundles (DESIGN.md decision 9, legal-rules.md §3.6): the
// federation adopts a bundle by naming its CID in a roster version, which a
// majority of members signs; each country's packs, and each instrument
// with a party outside the Union, must also carry that party's signature
// over the policies it owns. A node keeps the archives it has checked in
// D/policy/<cid>.cbor and decides with the one its roster names; a roster
// that names none leaves the node on the bundle it was started with.

// policyDir is the folder of installed policy archives.
const policyDir = "policy"

// Errors of policy bundles.
var (
	// ErrPolicyMissing: the roster names a bundle this node does not hold.
	ErrPolicyMissing = errors.New("node: the roster's policy bundle is not installed")
	// ErrPolicyUnsigned: an owner's policies lack a valid signature by a
	// member of the owner's country.
	ErrPolicyUnsigned = errors.New("node: policy bundle lacks an owner's signature")
)

// PackPolicy builds the archive of the bundle in fsys (its pack files
// only), without signatures. The bundle must load (lint clean).
func PackPolicy(fsys fs.FS) (*record.PolicyArchive, *policy.Bundle, error) {
	b, err := policy.Load(fsys)
	if err != nil {
		return nil, nil, err
	}
	var pb record.PolicyBundle
	for _, name := range b.Files() {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, nil, err
		}
		pb.Files = append(pb.Files, record.PolicyFile{Path: name, Data: data})
	}
	encoded, err := pb.Encode()
	if err != nil {
		return nil, nil, err
	}
	return &record.PolicyArchive{Bundle: encoded}, b, nil
}

// LoadPolicyArchive loads the bundle an archive carries, without checking
// its signatures.
func LoadPolicyArchive(a *record.PolicyArchive) (*policy.Bundle, error) {
	fsys, err := PolicyArchiveFS(a)
	if err != nil {
		return nil, err
	}
	b, err := policy.Load(fsys)
	if err != nil {
		return nil, fmt.Errorf("policy bundle %s: %w", a.CID(), err)
	}
	return b, nil
}

// PolicyArchiveFS returns the files of the archive's bundle, read-only.
func PolicyArchiveFS(a *record.PolicyArchive) (fs.FS, error) {
	pb, err := record.DecodePolicyBundle(a.Bundle)
	if err != nil {
		return nil, err
	}
	fsys := fstest.MapFS{}
	for _, f := range pb.Files {
		fsys[f.Path] = &fstest.MapFile{Data: f.Data, Mode: 0o444}
	}
	return fsys, nil
}

// SignPolicyArchive adds signer's signature for every owner of the bundle
// that the signer's country signs for (policy.OwnerSigners), and returns
// those owners. It is an error if there is none: the signer owns nothing in
// this bundle.
func SignPolicyArchive(a *record.PolicyArchive, key *hybrid.PrivateKey, signer record.Agency) ([]string, error) {
	b, err := LoadPolicyArchive(a)
	if err != nil {
		return nil, err
	}
	var signed []string
	for _, owner := range b.Owners() {
		if !slices.Contains(policy.OwnerSigners(owner), signer.Country) {
			continue
		}
		digest, err := b.OwnerDigest(owner)
		if err != nil {
			return nil, err
		}
		if err := a.Sign(key, signer, owner, digest); err != nil {
			return nil, err
		}
		signed = append(signed, owner)
	}
	if len(signed) == 0 {
		return nil, fmt.Errorf("node: %s owns no policy in bundle %s (owners: %s)", signer, a.CID(), strings.Join(b.Owners(), ", "))
	}
	return signed, nil
}

// VerifyPolicyArchive loads the archive's bundle and checks that every
// owner that needs signatures has them: for each country that must sign
// for an owner and has a member in roster, a valid signature by such a
// member over the owner's current digest. Owners whose countries are not
// members need none — the lint proves their policies only govern flows
// involving them, and every flow is between members. Stale signatures
// (over an older digest) do not count.
func VerifyPolicyArchive(a *record.PolicyArchive, roster *record.Roster) (*policy.Bundle, error) {
	b, err := LoadPolicyArchive(a)
	if err != nil {
		return nil, err
	}
	countries := map[string]bool{}
	for _, m := range roster.Members {
		countries[m.Agency.Country] = true
	}
	var missing []string
	for _, owner := range b.Owners() {
		digest, err := b.OwnerDigest(owner)
		if err != nil {
			return nil, err
		}
		for _, cc := range policy.OwnerSigners(owner) {
			if !countries[cc] {
				continue
			}
			ok, err := ownerSigned(a, roster, owner, cc, digest)
			if err != nil {
				return nil, err
			}
			if !ok {
				missing = append(missing, owner+" (by "+cc+")")
			}
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: bundle %s: no valid signature for %s", ErrPolicyUnsigned, a.CID(), strings.Join(missing, ", "))
	}
	return b, nil
}

// ownerSigned reports whether a member of country cc signed owner's digest.
// A signature by a non-member, or one that fails to verify, is an error: it
// is not stale, it is wrong.
func ownerSigned(a *record.PolicyArchive, roster *record.Roster, owner, cc string, digest []byte) (bool, error) {
	for _, s := range a.Signatures {
		if s.Owner != owner || s.Agency.Country != cc || string(s.Digest) != string(digest) {
			continue
		}
		m, ok := roster.Member(s.Agency)
		if !ok {
			return false, fmt.Errorf("%w: bundle %s: %s signed for %s but is not a member of roster version %d",
				ErrPolicyUnsigned, a.CID(), s.Agency, owner, roster.Version)
		}
		pub, err := m.PublicKey()
		if err != nil {
			return false, err
		}
		if err := s.Verify(pub); err != nil {
			return false, fmt.Errorf("bundle %s: %w", a.CID(), err)
		}
		return true, nil
	}
	return false, nil
}

// policyArchivePath is where an installed archive lives.
func policyArchivePath(dir string, c cid.Cid) string {
	return filepath.Join(dir, policyDir, c.String()+".cbor")
}

// InstallPolicy checks an encoded archive against roster (signatures,
// lint) and stores it in the node folder dir, where the node looks for the
// bundle its roster names. Installing an archive already present replaces
// it (signatures may have been added). It returns the bundle's CID.
// A nil roster means the roster of the node in dir.
func InstallPolicy(dir string, data []byte, roster *record.Roster) (cid.Cid, *policy.Bundle, error) {
	if roster == nil {
		var err error
		if roster, err = ReadRosterFile(filepath.Join(dir, rosterFile)); err != nil {
			return cid.Undef, nil, err
		}
	}
	a, err := record.DecodePolicyArchive(data)
	if err != nil {
		return cid.Undef, nil, err
	}
	b, err := VerifyPolicyArchive(a, roster)
	if err != nil {
		return cid.Undef, nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, policyDir), 0o700); err != nil {
		return cid.Undef, nil, err
	}
	if err := atomicfile.Write(policyArchivePath(dir, a.CID()), data, 0o600); err != nil {
		return cid.Undef, nil, fmt.Errorf("node: installing policy bundle: %w", err)
	}
	return a.CID(), b, nil
}

// ReadPolicyArchive returns the installed archive c, encoded, or an error
// wrapping ErrPolicyMissing.
func ReadPolicyArchive(dir string, c cid.Cid) ([]byte, error) {
	data, err := readBounded(policyArchivePath(dir, c), record.MaxPolicyArchiveSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s (install it with 'vigie policy install --dir %s FILE')", ErrPolicyMissing, c, dir)
	}
	return data, err
}

// rosterPolicy loads and checks the bundle roster names from dir; nil when
// the roster names none.
func rosterPolicy(dir string, roster *record.Roster) (*policy.Bundle, error) {
	if !roster.Policy.Defined() {
		return nil, nil
	}
	data, err := ReadPolicyArchive(dir, roster.Policy)
	if err != nil {
		return nil, err
	}
	a, err := record.DecodePolicyArchive(data)
	if err != nil {
		return nil, fmt.Errorf("%w: policy archive %s: %v", ErrCorruptNode, roster.Policy, err)
	}
	if !a.CID().Equals(roster.Policy) {
		return nil, fmt.Errorf("%w: policy archive %s holds bundle %s", ErrCorruptNode, roster.Policy, a.CID())
	}
	return VerifyPolicyArchive(a, roster)
}

// HasPolicy reports whether the archive c is installed.
func (n *Node) HasPolicy(c cid.Cid) bool {
	_, err := os.Stat(policyArchivePath(n.dir, c))
	return err == nil
}

// PolicyArchive returns the installed archive c, encoded, for a peer that
// needs it.
func (n *Node) PolicyArchive(c cid.Cid) ([]byte, error) { return ReadPolicyArchive(n.dir, c) }

// InstallPolicy installs an archive into this node's folder, checked
// against roster: the node's own, or the newer one it is about to adopt.
func (n *Node) InstallPolicy(data []byte, roster *record.Roster) (cid.Cid, error) {
	if roster == nil {
		roster = n.Roster()
	}
	c, _, err := InstallPolicy(n.dir, data, roster)
	return c, err
}

// setPolicy replaces the bundle the node decides with.
func (n *Node) setPolicy(b *policy.Bundle) { n.policy.Store(b) }
