package daemon

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/vigie-project/vigie/crypto/hybrid"
	"github.com/vigie-project/vigie/node"
	"github.com/vigie-project/vigie/policy"
	"github.com/vigie-project/vigie/protocol/record"
)

// withholdFromDE is a bar FR adds to its own pack: FR withholds its
// assertions from DE. Any bundle change would do; this one is visible on
// the wire.
const withholdFromDE = `
@id("FR-test-withhold-from-DE")
@cite("test fixture: FR withholds its assertions from DE")
@owner("FR")
forbid (principal, action == Vigie::Action::"share", resource)
when { context.sender == "FR" && context.recipient == "DE" };
`

// editedPacks is the built-in bundle with extra appended to FR's pack.
func editedPacks(t *testing.T, extra string) fstest.MapFS {
	t.Helper()
	fsys := policy.EmbeddedCopy()
	fsys["countries/FR.cedar"].Data = append(fsys["countries/FR.cedar"].Data, extra...)
	return fsys
}

func genesisKey(t *testing.T, l *Local, country string) *hybrid.PrivateKey {
	t.Helper()
	key, err := hybrid.ReadKeyFile(filepath.Join(l.Dir, "genesis", country+"-ctu", "agency.key"))
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// signedPolicy packs fsys and has the members of countries sign their parts.
func signedPolicy(t *testing.T, l *Local, fsys fs.FS, countries ...string) *record.PolicyArchive {
	t.Helper()
	a, _, err := node.PackPolicy(fsys)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range countries {
		if _, err := node.SignPolicyArchive(a, genesisKey(t, l, c), record.Agency{Country: c, Org: "ctu"}); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

// rosterNaming drafts the next roster naming bundle a, signed by signers.
func rosterNaming(t *testing.T, l *Local, a *record.PolicyArchive, signers ...string) (*record.Roster, []byte) {
	t.Helper()
	next, err := node.AmendRosterWith(l.Members[iFR].Node().Roster(), node.RosterAmendment{Policy: a.CID()})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range signers {
		if err := next.Sign(genesisKey(t, l, c), record.Agency{Country: c, Org: "ctu"}); err != nil {
			t.Fatal(err)
		}
	}
	data, err := next.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return next, data
}

// The federation moves to a new policy bundle by roster version 2, adopted
// at FR only: DE, IT and ES learn the roster from FR, fetch the bundle
// from it over PolicyProtocol, check the owners' signatures and decide
// with it from then on. The new bundle withholds FR's assertions from DE,
// so a record FR asserts afterwards reaches IT and ES and never DE.
func TestRosterPolicyBundleReachesEveryMember(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four libp2p hosts; skipped with -short")
	}
	l := startRosterLocal(t, nil)
	ctx := context.Background()
	a := signedPolicy(t, l, editedPacks(t, withholdFromDE), "FR", "DE", "IT", "ES")
	archive, err := a.Encode()
	if err != nil {
		t.Fatal(err)
	}
	next, data := rosterNaming(t, l, a, "FR", "DE", "ES")
	fr := l.Members[iFR]
	before := fr.Node().Policy().Hash()

	// Adopting before the bundle is installed is refused and changes nothing.
	if _, err := fr.AdoptRoster(ctx, data); !errors.Is(err, node.ErrPolicyMissing) {
		t.Fatalf("adopted without the bundle: %v", err)
	}
	if fr.Node().Roster().Version != 1 || fr.Node().Policy().Hash() != before {
		t.Fatal("a refused roster changed the node")
	}
	if _, err := fr.Node().InstallPolicy(archive, next); err != nil {
		t.Fatal(err)
	}
	change, err := fr.AdoptRoster(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	if !change.Policy.Equals(a.CID()) {
		t.Fatalf("change names policy %v, want %v", change.Policy, a.CID())
	}
	want := fr.Node().Policy().Hash()
	if want == before {
		t.Fatal("FR still decides with the old bundle")
	}
	for _, i := range []int{iDE, iIT, iES} {
		m := l.Members[i]
		eventually(t, 20*time.Second, m.Node().Agency().String()+" on the new bundle", func() bool {
			return m.Node().Roster().Version == 2 && m.Node().Policy().Hash() == want
		})
		if !m.Node().HasPolicy(a.CID()) {
			t.Fatalf("%s decides with a bundle it did not install", m.Node().Agency())
		}
	}

	res, err := fr.Node().Assert(ctx, request("http://withheld.example/video.html"))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "IT and ES hold FR's record", func() bool {
		return holds(l.Members[iIT], res) && holds(l.Members[iES], res)
	})
	// DE is up and syncing: give it the time the others needed, and more.
	time.Sleep(2 * time.Second)
	if holds(l.Members[iDE], res) {
		t.Fatal("DE holds a record the new bundle withholds from it")
	}
}

func holds(d *Daemon, r node.AssertResult) bool {
	ok, err := d.Node().Store().Has(r.Assertion)
	return err == nil && ok
}

// A bundle lacking an owner's signature is refused at install, and a
// running member will not adopt a roster naming it even from a peer that
// holds it.
func TestRosterPolicyBundleWithoutOwnerSignatureRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four libp2p hosts; skipped with -short")
	}
	l := startRosterLocal(t, nil)
	ctx := context.Background()
	// IT does not sign its pack.
	a := signedPolicy(t, l, editedPacks(t, withholdFromDE), "FR", "DE", "ES")
	archive, err := a.Encode()
	if err != nil {
		t.Fatal(err)
	}
	next, data := rosterNaming(t, l, a, "FR", "DE", "ES")
	fr := l.Members[iFR]
	if _, err := fr.Node().InstallPolicy(archive, next); !errors.Is(err, node.ErrPolicyUnsigned) {
		t.Fatalf("install: %v", err)
	}
	// Planted behind the check's back, FR serves it; DE must still refuse.
	if err := writePlanted(fr, a, archive); err != nil {
		t.Fatal(err)
	}
	if _, err := fr.AdoptRoster(ctx, data); !errors.Is(err, node.ErrPolicyUnsigned) {
		t.Fatalf("FR adopted a roster naming an unsigned bundle: %v", err)
	}
	// DE, given the roster by FR, fetches the bundle from FR and refuses it.
	de := l.Members[iDE]
	if _, err := de.adoptFetched(ctx, fr.Host().ID(), data); !errors.Is(err, node.ErrPolicyUnsigned) {
		t.Fatalf("DE: %v", err)
	}
	if de.Node().Roster().Version != 1 || de.Node().HasPolicy(a.CID()) {
		t.Fatal("DE adopted or installed an unsigned bundle")
	}
}

// writePlanted puts an archive in d's node folder without any check, as a
// compromised or careless operator could.
func writePlanted(d *Daemon, a *record.PolicyArchive, data []byte) error {
	dir := filepath.Join(filepath.Dir(d.Node().PeerKeyPath()), "policy")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, a.CID().String()+".cbor"), data, 0o600)
}
