package policy

import (
	"crypto/sha256"
	"fmt"
	"slices"
)

// Owners sign what they own. A roster's "policy" field makes a majority of
// the federation's members approve a bundle as a whole; on top of that each
// owner that is a party outside the Union signs the policies it owns, so
// that no majority can write a country's law for it. These helpers give the
// node what it needs to sign and check: the digest of an owner's policies
// and which countries must sign for an owner.

// ownerDigestDomain separates owner digests from any other hash.
const ownerDigestDomain = "vigie policy owner digest v1\n"

// OwnerDigest is the SHA-256 digest of the policies owner owns in b: their
// ids and canonical Cedar text, in id order. It changes exactly when one of
// those policies changes, appears or disappears, whatever happens to other
// owners' policies or to how files are laid out. It fails for an owner with
// no policy in b.
func (b *Bundle) OwnerDigest(owner string) ([]byte, error) {
	h := sha256.New()
	h.Write([]byte(ownerDigestDomain + owner + "\n"))
	n := 0
	for _, r := range b.rules {
		if r.Owner != owner {
			continue
		}
		fmt.Fprintf(h, "%s\n%d\n%s", r.ID, len(r.fingerprint), r.fingerprint)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("policy: the bundle has no policy owned by %q", owner)
	}
	return h.Sum(nil), nil
}

// OwnerSigners lists the countries whose signature an owner's policies
// need, sorted: the owner itself when it is a country, and the parties
// other than the Union to an instrument (e.g. "EU-US" needs US). Owners
// whose policies the federation as a whole adopts ("federation", and Union
// law owned by "EU") need none beyond the roster's majority.
func OwnerSigners(owner string) []string {
	if owner == "federation" || owner == "EU" {
		return nil
	}
	if isCountry(owner) {
		return []string{owner}
	}
	var out []string
	for _, party := range splitParties(owner) {
		if isCountry(party) {
			out = append(out, party)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
