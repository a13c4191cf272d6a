package node

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/vigie-project/vigie/crypto/hybrid"
	"github.com/vigie-project/vigie/protocol/record"
)

// fourMembers founds eu-test with DE-b, FR-a, IT-c as issuers (shares 1, 2,
// 3 in agency order; 2 of 3 needed) and US-d as a plain member.
func fourMembers(t *testing.T) (string, *record.Roster) {
	t.Helper()
	return genesis(t, 2, 3, MemberSpec{Country: "FR", Org: "a"}, MemberSpec{Country: "DE", Org: "b"},
		MemberSpec{Country: "IT", Org: "c"}, MemberSpec{Country: "US", Org: "d"})
}

func agencyOf(name string) record.Agency { return record.Agency{Country: name[:2], Org: name[3:]} }

// signAs signs r with the agency key in keysDir/name.
func signAs(t *testing.T, r *record.Roster, keysDir string, names ...string) {
	t.Helper()
	for _, name := range names {
		key, err := hybrid.ReadKeyFile(filepath.Join(keysDir, name, agencyKey))
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Sign(key, agencyOf(name)); err != nil {
			t.Fatal(err)
		}
	}
}

func encodeRoster(t *testing.T, r *record.Roster) []byte {
	t.Helper()
	b, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newMember creates a joining member's key folder and its roster entry.
func newMember(t *testing.T, name string) (string, record.Member) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "new", name)
	f, err := CreateMember(dir, "eu-test", MemberSpec{Country: name[:2], Org: name[3:], Addrs: []string{"/ip4/192.0.2.7/udp/4001/quic-v1"}})
	if err != nil {
		t.Fatal(err)
	}
	read, err := ReadMemberFile(filepath.Join(dir, memberFile))
	if err != nil {
		t.Fatal(err)
	}
	if read.PeerID != f.PeerID || !bytes.Equal(read.SigningKey, f.SigningKey) {
		t.Fatal("member.json does not hold the keys CreateMember returned")
	}
	m, err := read.RosterMember()
	if err != nil {
		t.Fatal(err)
	}
	return dir, m
}

func TestAmendSignAdopt(t *testing.T) {
	out, v1 := fourMembers(t)
	fr := join(t, out, "FR-a")
	esDir, es := newMember(t, "ES-e")
	v2, err := AmendRoster(v1, []record.Member{es}, []record.Agency{agencyOf("US-d")})
	if err != nil {
		t.Fatal(err)
	}
	if v2.Version != 2 || len(v2.Signatures) != 0 || len(v2.Members) != 4 || v2.ValidFrom <= v1.ValidFrom {
		t.Fatalf("draft: version %d, %d sigs, %d members, valid from %d", v2.Version, len(v2.Signatures), len(v2.Members), v2.ValidFrom)
	}
	signAs(t, v2, out, "DE-b", "IT-c", "US-d") // 3 of 4: a strict majority, and a removed member may sign its removal
	change, err := fr.AdoptRoster(context.Background(), encodeRoster(t, v2))
	if err != nil {
		t.Fatal(err)
	}
	if change.From != 1 || change.Version != 2 || len(change.Added) != 1 || change.Added[0].Agency != agencyOf("ES-e") ||
		change.Added[0].PeerID != es.PeerID || len(change.Removed) != 1 || change.Removed[0].Agency != agencyOf("US-d") || len(change.Changed) != 0 {
		t.Fatalf("change = %+v", change)
	}
	if got := fr.Roster(); got.Version != 2 {
		t.Fatalf("roster version %d after adoption", got.Version)
	} else if _, ok := got.Member(agencyOf("US-d")); ok {
		t.Fatal("removed member still in the roster")
	}
	for _, f := range []string{rosterFile, filepath.Join(rosterArchive, "roster-1.cbor"), filepath.Join(rosterArchive, "roster-2.cbor")} {
		r, err := ReadRosterFile(filepath.Join(fr.dir, f))
		if err != nil {
			t.Fatal(err)
		}
		want := uint64(2)
		if f == filepath.Join(rosterArchive, "roster-1.cbor") {
			want = 1
		}
		if r.Version != want {
			t.Errorf("%s holds version %d, want %d", f, r.Version, want)
		}
	}

	// The node reopens on version 2, and the new member joins with it.
	dir := fr.dir
	fr.Close()
	again, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if again.Roster().Version != 2 {
		t.Fatalf("reopened on version %d", again.Roster().Version)
	}
	v2Path := filepath.Join(t.TempDir(), "v2.cbor")
	if err := WriteRosterFile(v2Path, v2); err != nil {
		t.Fatal(err)
	}
	esNode := filepath.Join(t.TempDir(), "es")
	if err := Join(context.Background(), esNode, v2Path, esDir); err != nil {
		t.Fatalf("new member joining with version 2: %v", err)
	}
	n, err := Open(context.Background(), esNode)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if n.Agency() != agencyOf("ES-e") || n.Roster().Version != 2 {
		t.Fatalf("joined as %s on version %d", n.Agency(), n.Roster().Version)
	}
}

func TestAdoptRosterRefuses(t *testing.T) {
	out, v1 := fourMembers(t)
	fr := join(t, out, "FR-a")
	ctx := context.Background()
	before, err := os.ReadFile(filepath.Join(fr.dir, rosterFile))
	if err != nil {
		t.Fatal(err)
	}
	unchanged := func(what string) {
		t.Helper()
		now, err := os.ReadFile(filepath.Join(fr.dir, rosterFile))
		if err != nil || !bytes.Equal(now, before) || fr.Roster().Version != 1 {
			t.Fatalf("%s: roster changed (version %d, %v)", what, fr.Roster().Version, err)
		}
		if _, err := os.Stat(filepath.Join(fr.dir, rosterArchive)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s: archive written: %v", what, err)
		}
	}
	_, es := newMember(t, "ES-e")
	v2, err := AmendRoster(v1, []record.Member{es}, nil)
	if err != nil {
		t.Fatal(err)
	}

	signAs(t, v2, out, "DE-b", "IT-c") // 2 of 4 is not a strict majority
	if _, err := fr.AdoptRoster(ctx, encodeRoster(t, v2)); !errors.Is(err, ErrRosterQuorum) || !errors.Is(err, record.ErrQuorum) {
		t.Fatalf("2 of 4 signatures: %v", err)
	}
	unchanged("too few signatures")

	forged := *v2
	forged.Signatures = nil
	signAs(t, &forged, out, "DE-b", "IT-c")
	key, err := hybrid.ReadKeyFile(filepath.Join(out, "US-d", agencyKey))
	if err != nil {
		t.Fatal(err)
	}
	if err := forged.Sign(key, agencyOf("FR-a")); err != nil { // US-d's key claiming to be FR-a
		t.Fatal(err)
	}
	if _, err := fr.AdoptRoster(ctx, encodeRoster(t, &forged)); !errors.Is(err, ErrRosterQuorum) || !errors.Is(err, record.ErrSignature) {
		t.Fatalf("a signature under the wrong key: %v", err)
	}
	unchanged("bad signature")

	if _, err := fr.AdoptRoster(ctx, before); !errors.Is(err, ErrStaleRoster) {
		t.Fatalf("the same version again: %v", err)
	}
	unchanged("stale")

	if _, err := fr.AdoptRoster(ctx, []byte("not a roster")); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("garbage: %v", err)
	}
	if _, err := fr.AdoptRoster(ctx, make([]byte, record.MaxRosterSize+1)); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("oversized: %v", err)
	}

	// Another federation's roster, and a version 2 of another genesis of
	// the same name (a fork: its prev is not our version 1).
	otherOut := filepath.Join(t.TempDir(), "other")
	other, err := Genesis(ctx, otherOut, GenesisOptions{Federation: "other", Members: []MemberSpec{{Country: "FR", Org: "a"}}, Threshold: 1, Issuers: 1})
	if err != nil {
		t.Fatal(err)
	}
	o2, err := AmendRoster(other, []record.Member{es}, nil)
	if err != nil {
		t.Fatal(err)
	}
	signAs(t, o2, otherOut, "FR-a")
	if _, err := fr.AdoptRoster(ctx, encodeRoster(t, o2)); !errors.Is(err, ErrWrongFederation) {
		t.Fatalf("another federation: %v", err)
	}
	forkOut, fork := fourMembers(t)
	f2, err := AmendRoster(fork, []record.Member{es}, nil)
	if err != nil {
		t.Fatal(err)
	}
	signAs(t, f2, forkOut, "DE-b", "IT-c", "US-d")
	if _, err := fr.AdoptRoster(ctx, encodeRoster(t, f2)); !errors.Is(err, record.ErrRosterChain) {
		t.Fatalf("a fork's version 2: %v", err)
	}
	unchanged("other federations")

	// A version 3 before version 2.
	signAs(t, v2, out, "US-d")
	_, de := newMember(t, "DE-z")
	v3, err := AmendRoster(v2, []record.Member{de}, nil)
	if err != nil {
		t.Fatal(err)
	}
	signAs(t, v3, out, "DE-b", "IT-c", "US-d")
	if _, err := fr.AdoptRoster(ctx, encodeRoster(t, v3)); !errors.Is(err, ErrRosterGap) {
		t.Fatalf("version 3 over version 1: %v", err)
	}
	unchanged("gap")

	// In order, both go through; version 2 again is then stale.
	for _, r := range []*record.Roster{v2, v3} {
		if _, err := fr.AdoptRoster(ctx, encodeRoster(t, r)); err != nil {
			t.Fatalf("version %d: %v", r.Version, err)
		}
	}
	if _, err := fr.AdoptRoster(ctx, encodeRoster(t, v2)); !errors.Is(err, ErrStaleRoster) {
		t.Fatalf("version 2 over version 3: %v", err)
	}
	if fr.Roster().Version != 3 {
		t.Fatalf("version %d", fr.Roster().Version)
	}
}

// A valid roster that removes this node is refused with a clear error and
// leaves the node as it was, so it still opens.
func TestAdoptRosterRemovingSelf(t *testing.T) {
	out, v1 := fourMembers(t)
	us := join(t, out, "US-d")
	v2, err := AmendRoster(v1, nil, []record.Agency{agencyOf("US-d")})
	if err != nil {
		t.Fatal(err)
	}
	signAs(t, v2, out, "DE-b", "FR-a", "IT-c")
	if _, err := us.AdoptRoster(context.Background(), encodeRoster(t, v2)); !errors.Is(err, ErrRemovedFromFederation) {
		t.Fatalf("removing this node: %v", err)
	}
	if us.Roster().Version != 1 {
		t.Fatal("roster replaced")
	}
}

func TestAmendRosterRules(t *testing.T) {
	_, v1 := fourMembers(t)
	_, es := newMember(t, "ES-e")
	cases := []struct {
		name   string
		add    []record.Member
		remove []record.Agency
	}{
		{"nothing", nil, nil},
		{"unknown member", nil, []record.Agency{agencyOf("NL-x")}},
		{"removed twice", nil, []record.Agency{agencyOf("US-d"), agencyOf("US-d")}},
		{"below threshold", nil, []record.Agency{agencyOf("IT-c"), agencyOf("FR-a")}},
		{"share gap", nil, []record.Agency{agencyOf("DE-b")}}, // share 1 of 3
		{"existing member", []record.Member{v1.Members[0]}, nil},
		{"same keys twice", []record.Member{es, func() record.Member { m := cloneMember(es); m.Agency.Org = "f"; return m }()}, nil},
		{"new issuer", []record.Member{func() record.Member {
			m := cloneMember(es)
			m.Roles = []record.Role{record.RoleIssuer, record.RoleMember}
			return m
		}()}, nil},
	}
	for _, c := range cases {
		if _, err := AmendRoster(v1, c.add, c.remove); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	// The issuer with the highest share can go while t issuers remain.
	v2, err := AmendRoster(v1, nil, []record.Agency{agencyOf("IT-c")})
	if err != nil {
		t.Fatal(err)
	}
	if v2.Shares != 2 || v2.Threshold != 2 {
		t.Fatalf("shares %d, threshold %d", v2.Shares, v2.Threshold)
	}
	if _, err := v2.GroupKey(); err != nil {
		t.Fatalf("group key after removing an issuer: %v", err)
	}
	if _, err := (&MemberFile{MemberSpec: MemberSpec{Country: "FR", Org: "x", Issuer: true}}).RosterMember(); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("member file marked issuer: %v", err)
	}
	if _, err := CreateMember(filepath.Join(t.TempDir(), "x"), "eu-test", MemberSpec{Country: "France", Org: "x"}); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("bad country: %v", err)
	}
}

// Readers of the roster never race with an adoption.
func TestAdoptRosterConcurrentReaders(t *testing.T) {
	out, v1 := fourMembers(t)
	fr := join(t, out, "FR-a")
	_, es := newMember(t, "ES-e")
	v2, err := AmendRoster(v1, []record.Member{es}, nil)
	if err != nil {
		t.Fatal(err)
	}
	signAs(t, v2, out, "DE-b", "IT-c", "US-d")
	data := encodeRoster(t, v2)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					if v := fr.Roster().Version; v != 1 && v != 2 {
						t.Errorf("version %d", v)
					}
				}
			}
		})
	}
	adopted := 0
	var mu sync.Mutex
	var adopters sync.WaitGroup
	for range 3 {
		adopters.Go(func() {
			if _, err := fr.AdoptRoster(context.Background(), data); err == nil {
				mu.Lock()
				adopted++
				mu.Unlock()
			} else if !errors.Is(err, ErrStaleRoster) {
				t.Error(err)
			}
		})
	}
	adopters.Wait()
	close(stop)
	wg.Wait()
	if adopted != 1 {
		t.Fatalf("%d adoptions of one version", adopted)
	}
}
