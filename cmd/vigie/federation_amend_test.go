package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigie-project/vigie/node/localapi"
)

// A member joins and another leaves: a new agency makes its keys, a member
// drafts the next roster, a majority signs it, a node adopts it and the new
// agency joins with it.
func TestFederationAmendTour(t *testing.T) {
	dir := t.TempDir()
	members := filepath.Join(dir, "members.json")
	if err := os.WriteFile(members, []byte(`[{"country":"FR","org":"pharos"},{"country":"DE","org":"bka"},{"country":"US","org":"fbi"},{"country":"AU","org":"afp"}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "genesis")
	cur := filepath.Join(out, "roster.cbor")
	mustRunCLI(t, exitOK, "federation", "init", "--members", members, "--issuers", "2-of-3", "--out", out, "--federation", "eu-test")
	frDir := filepath.Join(dir, "fr")
	mustRunCLI(t, exitOK, "init", "--dir", frDir, "--roster", cur, "--keys", filepath.Join(out, "FR-pharos"))

	esKeys := filepath.Join(dir, "new", "ES-gc")
	stdout, _ := mustRunCLI(t, exitOK, "federation", "member", "--federation", "eu-test", "--country", "es", "--org", "GC", "--addr", "/ip4/192.0.2.9/udp/4001/quic-v1", "--out", esKeys, "--json")
	var member struct {
		Country, Org string
		PeerID       string `json:"peer_id"`
	}
	if err := json.Unmarshal([]byte(stdout), &member); err != nil || member.Country != "ES" || member.Org != "gc" || member.PeerID == "" {
		t.Fatalf("federation member printed %q (%v)", stdout, err)
	}
	for _, f := range []string{"agency.key", "peer.key", "member.json"} {
		if _, err := os.Stat(filepath.Join(esKeys, f)); err != nil {
			t.Fatal(err)
		}
	}

	next := filepath.Join(dir, "v2.cbor")
	stdout, _ = mustRunCLI(t, exitOK, "federation", "amend", "--roster", cur, "--add", filepath.Join(esKeys, "member.json"), "--remove", "AU-afp", "--out", next, "--json")
	var amended struct {
		Version, From, Signatures, Needed int
		Added, Removed                    []map[string]string
	}
	if err := json.Unmarshal([]byte(stdout), &amended); err != nil || amended.Version != 2 || amended.From != 1 || amended.Signatures != 0 || amended.Needed != 3 ||
		len(amended.Added) != 1 || amended.Added[0]["agency"] != "ES/gc" || amended.Added[0]["peer_id"] != member.PeerID ||
		len(amended.Removed) != 1 || amended.Removed[0]["agency"] != "AU/afp" {
		t.Fatalf("amend printed %q (%v)", stdout, err)
	}
	mustRunCLI(t, exitUsage, "federation", "amend", "--roster", cur, "--remove", "AU-afp", "--out", next) // never overwrites a draft

	sign := func(member string, extra ...string) string {
		t.Helper()
		args := append([]string{"federation", "sign", "--roster", next, "--prev", cur, "--key", filepath.Join(out, member, "agency.key")}, extra...)
		stdout, _ := mustRunCLI(t, exitOK, args...)
		return stdout
	}
	if got := sign("DE-bka", "--as", "DE-bka"); !strings.Contains(got, "1 of the 3 signatures needed") || !strings.Contains(got, "+ ES/gc") {
		t.Fatalf("first signature: %q", got)
	}
	// A key signing as another member is refused, and the draft is untouched.
	before, _ := os.ReadFile(next)
	if _, stderr := mustRunCLI(t, exitUsage, "federation", "sign", "--roster", next, "--prev", cur, "--key", filepath.Join(out, "DE-bka", "agency.key"), "--as", "US-fbi"); !strings.Contains(stderr, "not the signing key") {
		t.Fatalf("wrong --as: %q", stderr)
	}
	if after, _ := os.ReadFile(next); !bytes.Equal(before, after) {
		t.Fatal("a refused signature changed the draft")
	}

	// One signature is not enough: the node refuses and keeps version 1.
	rosterBefore, _ := os.ReadFile(filepath.Join(frDir, "roster.cbor"))
	if _, stderr := mustRunCLI(t, exitNegative, "federation", "adopt", "--dir", frDir, next); !strings.Contains(stderr, "quorum") {
		t.Fatalf("adopting with one signature: %q", stderr)
	}
	if after, _ := os.ReadFile(filepath.Join(frDir, "roster.cbor")); !bytes.Equal(rosterBefore, after) {
		t.Fatal("a refused roster changed the node")
	}

	sign("US-fbi") // --as inferred from the key
	stdout, _ = mustRunCLI(t, exitOK, "federation", "sign", "--roster", next, "--prev", cur, "--key", filepath.Join(out, "AU-afp", "agency.key"), "--json")
	var signed struct {
		Signer     string
		Signatures int
		Needed     int
		Complete   bool
		CID        string
	}
	if err := json.Unmarshal([]byte(stdout), &signed); err != nil || signed.Signer != "AU/afp" || signed.Signatures != 3 || signed.Needed != 3 || !signed.Complete || signed.CID == "" {
		t.Fatalf("third signature printed %q (%v)", stdout, err)
	}

	stdout, _ = mustRunCLI(t, exitOK, "federation", "adopt", "--dir", frDir, next)
	for _, want := range []string{"Adopted roster version 2", "+ ES/gc", "- AU/afp", "now follows roster version 2"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("adopt output lacks %q:\n%s", want, stdout)
		}
	}
	if _, stderr := mustRunCLI(t, exitNegative, "federation", "adopt", "--dir", frDir, next); !strings.Contains(stderr, "not newer") {
		t.Fatalf("adopting again: %q", stderr)
	}
	// Several files, in any order: the ones held are skipped.
	if _, stderr := mustRunCLI(t, exitNegative, "federation", "adopt", "--dir", frDir, next, cur); !strings.Contains(stderr, "already holds roster version 2") {
		t.Fatalf("adopting held versions: %q", stderr)
	}
	if _, err := os.Stat(filepath.Join(frDir, "rosters", "roster-2.cbor")); err != nil {
		t.Fatal(err)
	}

	// The new member joins with version 2, and prints its CID to compare.
	stdout, _ = mustRunCLI(t, exitOK, "init", "--dir", filepath.Join(dir, "es"), "--roster", next, "--keys", esKeys)
	if !strings.Contains(stdout, "Roster version 2, CID "+signed.CID) {
		t.Fatalf("joining with version 2: %q", stdout)
	}
}

func TestFederationAmendBadInput(t *testing.T) {
	dir := t.TempDir()
	members := filepath.Join(dir, "members.json")
	if err := os.WriteFile(members, []byte(`[{"country":"FR","org":"a"},{"country":"DE","org":"b"}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "g")
	if code, _, stderr := runCLI(t, "federation", "init", "--members", members, "--issuers", "1-of-2", "--out", out); code != exitOK {
		t.Fatal(stderr)
	}
	cur := filepath.Join(out, "roster.cbor")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"federation", "amend", "--roster", cur, "--remove", "DE-b"}, "are required"},
		{[]string{"federation", "amend", "--roster", cur, "--out", filepath.Join(dir, "n")}, "nothing to do"},
		{[]string{"federation", "amend", "--roster", cur, "--remove", "Germany", "--out", filepath.Join(dir, "n")}, "not an agency"},
		{[]string{"federation", "amend", "--roster", cur, "--remove", "IT-c", "--out", filepath.Join(dir, "n")}, "not a member"},
		{[]string{"federation", "amend", "--roster", cur, "--remove", "DE-b", "--out", filepath.Join(dir, "n")}, "issuer share"},
		{[]string{"federation", "amend", "--roster", cur, "--add", filepath.Join(out, "FR-a", "member.json"), "--out", filepath.Join(dir, "n")}, "issuer"},
		{[]string{"federation", "sign", "--roster", cur, "--key", filepath.Join(out, "FR-a", "agency.key")}, "are required"},
		{[]string{"federation", "sign", "--roster", cur, "--prev", cur, "--key", filepath.Join(out, "FR-a", "agency.key")}, "does not follow"},
		{[]string{"federation", "member", "--country", "FR", "--out", filepath.Join(dir, "m")}, "are required"},
		{[]string{"federation", "member", "--federation", "eu-test", "--country", "France", "--org", "x", "--out", filepath.Join(dir, "m")}, "ISO 3166-1"},
		{[]string{"federation", "adopt", "--dir", filepath.Join(dir, "none")}, "roster file"},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(t, c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, stderr, c.want)
		}
	}
	for _, sub := range []string{"member", "amend", "sign", "adopt"} {
		code, stdout, _ := runCLI(t, "federation", sub, "--help")
		if code != exitOK || !strings.Contains(stdout, "Usage:\n  vigie federation "+sub) {
			t.Errorf("federation %s --help: exit %d, %q", sub, code, stdout)
		}
	}
}

// While vigie run holds the node, federation adopt goes through its local
// API: the running daemon adopts the version (and applies it to its
// connections), with the same output and exit statuses as for a stopped
// node.
func TestFederationAdoptIntoRunningNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real libp2p node; skipped in -short mode")
	}
	dir := t.TempDir()
	members := fmt.Sprintf(`[{"country":"FR","org":"pharos","addrs":["/ip4/127.0.0.1/tcp/%d"]},{"country":"DE","org":"bka","addrs":["/ip4/127.0.0.1/tcp/%d"]},{"country":"US","org":"fbi","addrs":["/ip4/127.0.0.1/tcp/%d"]}]`,
		freeTCPPort(t), freeTCPPort(t), freeTCPPort(t))
	if err := os.WriteFile(filepath.Join(dir, "m.json"), []byte(members), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "g")
	cur := filepath.Join(out, "roster.cbor")
	mustRunCLI(t, exitOK, "federation", "init", "--members", filepath.Join(dir, "m.json"), "--issuers", "1-of-1", "--out", out)
	fr := filepath.Join(dir, "fr")
	mustRunCLI(t, exitOK, "init", "--dir", fr, "--roster", cur, "--keys", filepath.Join(out, "FR-pharos"))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, &env{stdin: strings.NewReader(""), stdout: &syncBuffer{}, stderr: logs}, []string{"run", "--dir", fr, "--log-format", "json"})
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case code := <-done:
			if code != exitOK {
				t.Errorf("run exited %d\n%s", code, logs)
			}
		case <-time.After(10 * time.Second):
			t.Error("run did not stop within 10 s of the interrupt")
		}
	}
	defer stop()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := localapi.Dial(ctx, fr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the running node's local API did not answer within 20 s: %v\n%s", err, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}

	next := filepath.Join(dir, "v2.cbor")
	mustRunCLI(t, exitOK, "federation", "amend", "--roster", cur, "--remove", "US-fbi", "--out", next)
	mustRunCLI(t, exitOK, "federation", "sign", "--roster", next, "--prev", cur, "--key", filepath.Join(out, "FR-pharos", "agency.key"))
	// One signature of the two needed: refused by the running node.
	if _, stderr := mustRunCLI(t, exitNegative, "federation", "adopt", "--dir", fr, next); !strings.Contains(stderr, "refused") || !strings.Contains(stderr, "quorum") {
		t.Fatalf("adopting with one signature: %q", stderr)
	}
	mustRunCLI(t, exitOK, "federation", "sign", "--roster", next, "--prev", cur, "--key", filepath.Join(out, "DE-bka", "agency.key"))

	stdout, _ := mustRunCLI(t, exitOK, "federation", "adopt", "--dir", fr, next)
	for _, want := range []string{"Adopted roster version 2", "(was 1)", "- US/fbi", "running node now follows roster version 2"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("adopt output lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(logs.String(), `"event":"roster_adopted"`) {
		t.Errorf("the daemon did not adopt the roster itself:\n%s", logs)
	}
	if _, err := os.Stat(filepath.Join(fr, "rosters", "roster-2.cbor")); err != nil {
		t.Fatal(err)
	}
	if _, stderr := mustRunCLI(t, exitNegative, "federation", "adopt", "--dir", fr, next); !strings.Contains(stderr, "not newer") {
		t.Fatalf("adopting again: %q", stderr)
	}
	if _, stderr := mustRunCLI(t, exitNegative, "federation", "adopt", "--dir", fr, "--json", next, cur); !strings.Contains(stderr, "nothing to adopt") ||
		!strings.Contains(stderr, "holds version 2") {
		t.Fatalf("adopting held versions: %q", stderr)
	}

	// Stopped, the node holds version 2.
	stop()
	if _, stderr := mustRunCLI(t, exitNegative, "federation", "adopt", "--dir", fr, next, cur); !strings.Contains(stderr, "already holds roster version 2") {
		t.Fatalf("adopting held versions into the stopped node: %q", stderr)
	}
}
