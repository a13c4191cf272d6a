package daemon

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/node"
	"github.com/vigie-project/vigie/node/auditlog"
	"github.com/vigie-project/vigie/protocol/record"
)

// entries reads every durable entry of a member's audit log.
func entries(t *testing.T, d *Daemon) []auditlog.Entry {
	t.Helper()
	l := d.AuditLog()
	if err := l.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	var out []auditlog.Entry
	for i := range l.DurableSize() {
		se, err := l.ReadEntry(i)
		if err != nil {
			t.Fatal(err)
		}
		e, err := se.Entry()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// Every transfer appears in the log of the member that made it, every
// record stored in the log of the member that stored it, every look-up
// with its purpose in the log of the member asked; and the URL appears in
// none of them, nor in an export.
func TestEveryTransferIsInTheSendersAuditLog(t *testing.T) {
	l := startLocal(t, 1, 3, "FR", "DE", "US")
	fr := l.Members[0]
	ctx := context.Background()
	const url = "http://audited.example/recruitment.html"
	var made []cid.Cid
	for _, u := range []string{url, "http://second.example/", "http://third.example/x"} {
		r, err := fr.Node().Assert(ctx, request(u))
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, r.Assertion)
	}
	eventually(t, 10*time.Second, "records everywhere", holdsAll(l, made))
	if _, err := l.Members[1].Node().Lookup(ctx, node.LookupRequest{URL: url, Purpose: "case 77", Requester: "officer-3"}); err != nil {
		t.Fatal(err)
	}
	frLog := entries(t, fr)
	for _, recipient := range []string{"DE/ctu", "US/ctu"} {
		for _, c := range made {
			if !logged(frLog, "disclosure", func(e auditlog.Entry) bool {
				return e.Fields["recipient"] == recipient && strings.Contains(e.Fields["records"], c.String())
			}) {
				t.Errorf("FR's log has no disclosure of %s to %s", c, recipient)
			}
		}
	}
	if !logged(frLog, "disclosure", func(e auditlog.Entry) bool {
		return e.Fields["recipient"] == "US/ctu" && e.Fields["transfer"] == "third_country"
	}) {
		t.Error("the transfer to the US is not marked as a third-country transfer")
	}
	for _, c := range made {
		if !logged(frLog, "collection", func(e auditlog.Entry) bool { return e.Fields["record"] == c.String() && e.Fields["source"] == "local" }) {
			t.Errorf("FR's log has no collection of its own record %s", c)
		}
	}
	deLog := entries(t, l.Members[1])
	for _, c := range made {
		// From FR, or relayed by the US (onward transfer is granted and the
		// policy lets the US share it): the source is whoever sent it first.
		if !logged(deLog, "collection", func(e auditlog.Entry) bool {
			return e.Fields["record"] == c.String() && e.Fields["origin"] == "FR/ctu" && (e.Fields["source"] == "FR/ctu" || e.Fields["source"] == "US/ctu")
		}) {
			t.Errorf("DE's log has no collection of %s from FR", c)
		}
	}
	if !logged(deLog, "consultation", func(e auditlog.Entry) bool { return e.Actor == "officer-3" && e.Fields["purpose"] == "case 77" }) {
		t.Error("DE's log has no consultation by officer-3")
	}
	for _, d := range l.Members {
		var buf bytes.Buffer
		if err := d.AuditLog().Export(ctx, &buf); err != nil {
			t.Fatal(err)
		}
		for _, piece := range []string{"audited.example", "recruitment"} {
			if bytes.Contains(buf.Bytes(), []byte(piece)) {
				t.Fatalf("%s's audit export holds %q", d.Node().Agency(), piece)
			}
		}
		if _, err := auditlog.VerifyBundle(bytes.NewReader(buf.Bytes())); err != nil {
			t.Fatalf("%s's export does not verify: %v", d.Node().Agency(), err)
		}
	}
}

func logged(es []auditlog.Entry, kind string, match func(auditlog.Entry) bool) bool {
	for _, e := range es {
		if string(e.Kind) == kind && match(e) {
			return true
		}
	}
	return false
}

// witnessKeys reads the cosigning verifier keys of the members i.
func witnessKeys(t *testing.T, l *Local, members ...int) []string {
	t.Helper()
	var out []string
	for _, i := range members {
		b, err := os.ReadFile(filepath.Join(l.NodeDir(i), auditlog.NodeDir, node.WitnessVerifierFile))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.TrimSpace(string(b)))
	}
	return out
}

// Checkpoints are cosigned by a quorum of peer witnesses, and an auditor
// holding only the node's and the witnesses' public keys verifies the
// exported log offline with that quorum.
func TestAuditCheckpointsAreWitnessed(t *testing.T) {
	ctx := context.Background()
	l, err := StartLocal(ctx, t.TempDir(), LocalOptions{Countries: []string{"FR", "DE", "IT", "ES"}, Threshold: 1, Issuers: 4,
		PerMember: fast, WitnessQuorum: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	waitConnected(t, l)
	fr := l.Members[0]
	if _, err := fr.Node().Assert(ctx, request("http://witnessed.example/")); err != nil {
		t.Fatal(err)
	}
	if err := fr.AuditLog().Sync(ctx); err != nil {
		t.Fatal(err)
	}
	size := fr.AuditLog().DurableSize()
	eventually(t, 15*time.Second, "a cosigned checkpoint covering the assertion", func() bool {
		return fr.WitnessStats().CosignedSize >= size
	})
	var buf bytes.Buffer
	if err := fr.AuditLog().Export(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	nodeKeys, err := auditlog.NodeVerifierKeys(l.NodeDir(0))
	if err != nil {
		t.Fatal(err)
	}
	wk := witnessKeys(t, l, 1, 2, 3)
	if _, err := auditlog.VerifyBundle(bytes.NewReader(buf.Bytes()), auditlog.WithTrustedKeys(nodeKeys...), auditlog.WithWitnessQuorum(2, wk...)); err != nil {
		t.Fatalf("verify with a witness quorum of 2: %v", err)
	}
	if _, err := auditlog.VerifyBundle(bytes.NewReader(buf.Bytes()), auditlog.WithTrustedKeys(nodeKeys...), auditlog.WithWitnessQuorum(4, wk...)); err == nil {
		t.Fatal("a quorum of 4 passed with 3 possible witnesses")
	}
}

// The Cedar packs are enforced over the network: an assertion whose
// categories the US may not act on reaches DE but never the US, and FR's
// audit log records the denied share; the disclosure to DE names the
// bundle and the ground relied on.
func TestCedarWithholdsWhatTheRecipientMayNotReceive(t *testing.T) {
	l := startLocal(t, 1, 3, "FR", "DE", "US")
	fr, de, us := l.Members[0], l.Members[1], l.Members[2]
	ctx := context.Background()
	req := request("http://glorification.example/")
	req.Categories = []record.Category{record.CatIncitement} // not actionable in the US
	r, err := fr.Node().Assert(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	both, err := fr.Node().Assert(ctx, request("http://both.example/"))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "DE holds both, US the second", func() bool {
		return holdsAll(l, []cid.Cid{r.Assertion, both.Assertion}, 0, 2)() && holdsAll(l, []cid.Cid{both.Assertion}, 0, 1)()
	})
	time.Sleep(300 * time.Millisecond) // a push to the US would have arrived by now
	if ok, err := us.Node().Store().Has(r.Assertion); err != nil || ok {
		t.Fatalf("the US holds an assertion the policy withholds from it (%v)", err)
	}
	frLog := entries(t, fr)
	if !logged(frLog, "policy_decision", func(e auditlog.Entry) bool {
		return e.Fields["action"] == "share" && e.Fields["decision"] == "deny" && e.Fields["country"] == "US" &&
			e.Fields["record"] == r.Assertion.String() && strings.Contains(e.Fields["bars"], "US-minimisation") &&
			e.Fields["bundle_hash"] == fr.Node().Policy().Hash()
	}) {
		t.Error("FR's log has no denied share of the assertion with the US")
	}
	if !logged(frLog, "disclosure", func(e auditlog.Entry) bool {
		return e.Fields["recipient"] == "DE/ctu" && strings.Contains(e.Fields["legal_ground"], fr.Node().Policy().Hash()) &&
			strings.Contains(e.Fields["legal_ground"], "EU-Dir2023-977-exchange")
	}) {
		t.Error("FR's disclosure to DE names neither the bundle nor the ground")
	}
	if c := de.Node().SyncCounters(); c.PolicyViolations != 0 {
		t.Fatalf("DE counted %d policy violations", c.PolicyViolations)
	}
}
