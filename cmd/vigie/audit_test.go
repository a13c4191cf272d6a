package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigie-project/vigie/crypto/checkpoint"
	"github.com/vigie-project/vigie/node"
	"github.com/vigie-project/vigie/node/auditlog"
	"github.com/vigie-project/vigie/protocol/record"
)

// auditActivity opens the node in dir with its audit log as the sink, runs
// fn, and closes both (a stopped node, as the audit commands need).
func auditActivity(t *testing.T, dir string, fn func(ctx context.Context, n *node.Node)) {
	t.Helper()
	ctx := context.Background()
	n0, err := node.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	fed, agency := n0.Federation(), n0.Agency()
	if err := n0.Close(); err != nil {
		t.Fatal(err)
	}
	l, err := auditlog.OpenForNode(dir, fed, agency)
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.Open(ctx, dir, node.WithAuditSink(auditlog.Sink{Log: l}))
	if err != nil {
		l.Close()
		t.Fatal(err)
	}
	fn(ctx, n)
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

func auditAssertRequest(url string) node.AssertRequest {
	return node.AssertRequest{
		URL:         url,
		Categories:  []record.Category{record.CatIncitement},
		LegalStatus: record.StatusReferral,
		LegalBasis:  []string{"TCO:Art.5"},
		TLP:         record.TLPAmber,
		PAP:         record.PAPGreen,
		SourceEval:  record.SourceEval("B"),
		InfoEval:    record.InfoEval("2"),
		Onward:      record.OnwardAsk,
	}
}

func lookUp(t *testing.T, ctx context.Context, n *node.Node, url, purpose string) {
	t.Helper()
	if _, err := n.Lookup(ctx, node.LookupRequest{URL: url, Purpose: purpose, Requester: "officer-7"}); err != nil {
		t.Fatal(err)
	}
}

// auditTestNode is a standalone node with two assertions and three
// look-ups in its audit log.
func auditTestNode(t *testing.T) string {
	t.Helper()
	dir := initNode(t)
	auditActivity(t, dir, func(ctx context.Context, n *node.Node) {
		for _, u := range []string{"http://propaganda.example/a.html", "http://recruit.example/"} {
			if _, err := n.Assert(ctx, auditAssertRequest(u)); err != nil {
				t.Fatal(err)
			}
		}
		lookUp(t, ctx, n, "http://propaganda.example/a.html", "case 1")
		lookUp(t, ctx, n, "http://innocent.example/", "case 2")
		lookUp(t, ctx, n, "http://recruit.example/join", "case 3")
	})
	return dir
}

// bundleEntries decodes every entry of a bundle.
func bundleEntries(t *testing.T, path string) []auditlog.Entry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	br := auditlog.NewBundleReader(f)
	var out []auditlog.Entry
	for {
		typ, p, err := br.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if typ != auditlog.BundleEntry {
			continue
		}
		s, err := auditlog.BundleEntryRecord(p)
		if err != nil {
			t.Fatal(err)
		}
		e, err := s.Entry()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
}

func exportBundle(t *testing.T, dir, out string) {
	t.Helper()
	code, stdout, stderr := runCLI(t, "audit", "export", "--dir", dir, "--out", out)
	if code != exitOK {
		t.Fatalf("export: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "vigie audit verify "+out) {
		t.Errorf("export output does not say how to verify:\n%s", stdout)
	}
}

func verifyJSONOut(t *testing.T, args ...string) (int, auditVerifyOut) {
	t.Helper()
	code, stdout, stderr := runCLI(t, append([]string{"audit", "verify", "--json"}, args...)...)
	var v auditVerifyOut
	if err := json.Unmarshal([]byte(stdout), &v); err != nil {
		t.Fatalf("verify %v: exit %d, stdout %q, stderr %q: %v", args, code, stdout, stderr, err)
	}
	return code, v
}

func TestAuditExportVerifyProveReport(t *testing.T) {
	dir := auditTestNode(t)
	work := t.TempDir()
	bundle := filepath.Join(work, "fr.bundle")

	// Export, with JSON figures.
	code, stdout, stderr := runCLI(t, "audit", "export", "--dir", dir, "--out", bundle, "--json")
	if code != exitOK {
		t.Fatalf("export: exit %d: %s", code, stderr)
	}
	var exp struct {
		KeysFile    string `json:"keys_file"`
		Entries     uint64 `json:"entries"`
		Checkpoints uint64 `json:"checkpoints"`
		Bytes       int64  `json:"bytes"`
	}
	if err := json.Unmarshal([]byte(stdout), &exp); err != nil {
		t.Fatal(err)
	}
	entries := bundleEntries(t, bundle)
	st, _ := os.Stat(bundle)
	if exp.Entries != uint64(len(entries)) || exp.Entries < 5 || exp.Checkpoints == 0 || exp.KeysFile != bundle+".keys" || st == nil || exp.Bytes != st.Size() {
		t.Fatalf("export printed %s (bundle has %d entries)", stdout, len(entries))
	}
	vkeys, err := auditlog.NodeVerifierKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(bundle + ".keys"); strings.Join(strings.Fields(string(b)), " ") != strings.Join(vkeys, " ") {
		t.Fatalf("keys file holds %q, want the node's verifier keys", b)
	}

	// Export refuses to overwrite.
	before, _ := os.ReadFile(bundle)
	code, _, stderr = runCLI(t, "audit", "export", "--dir", dir, "--out", bundle)
	if code != exitUsage || !strings.Contains(stderr, "already exists") {
		t.Fatalf("second export: exit %d, stderr %q", code, stderr)
	}
	if after, _ := os.ReadFile(bundle); !bytes.Equal(before, after) {
		t.Fatal("export overwrote the bundle")
	}

	// Verify: OK against BUNDLE.keys, found next to the bundle.
	code, v := verifyJSONOut(t, bundle)
	if code != exitOK || !v.OK || v.FirstFailure != nil || v.Entries != exp.Entries || v.Checkpoints != int(exp.Checkpoints) ||
		v.LastSize != exp.Entries || v.LastRoot == "" || v.KeysFromBundle || v.KeysFile != bundle+".keys" || len(v.NodeKeys) != 2 {
		t.Fatalf("verify: exit %d, %+v", code, v)
	}
	code, stdout, _ = runCLI(t, "audit", "verify", bundle)
	if code != exitOK || !strings.HasPrefix(stdout, "OK:") || !strings.Contains(stdout, "from "+bundle+".keys") {
		t.Fatalf("verify (text): exit %d\n%s", code, stdout)
	}

	// Without trusted keys: OK, but the output says what that proves.
	alone := filepath.Join(work, "alone.bundle")
	if err := os.WriteFile(alone, before, 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = runCLI(t, "audit", "verify", alone)
	if code != exitOK || !strings.Contains(stdout, "taken from the bundle itself") || !strings.Contains(stdout, "internally consistent") {
		t.Fatalf("verify without keys: exit %d\n%s", code, stdout)
	}
	if _, v := verifyJSONOut(t, alone); !v.OK || !v.KeysFromBundle {
		t.Fatalf("verify without keys: %+v", v)
	}

	// Against another node's keys: the first checkpoint fails.
	_, otherKey, err := checkpoint.GenerateKey(rand.Reader, checkpoint.TypeEd25519, "someone-else")
	if err != nil {
		t.Fatal(err)
	}
	otherKeys := filepath.Join(work, "other.keys")
	if err := os.WriteFile(otherKeys, []byte(otherKey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, v = verifyJSONOut(t, bundle, "--keys", otherKeys)
	if code != exitNegative || v.OK || v.FirstFailure == nil || v.FirstFailure.What != "checkpoint" || v.FirstFailure.Index != 0 {
		t.Fatalf("verify with another node's keys: exit %d, %+v", code, v)
	}

	// One byte of an entry flipped in a copy: exit 1, naming the entry.
	target := -1
	for i, e := range entries {
		if e.Kind == auditlog.KindConsultation && e.Fields["purpose"] == "case 2" {
			target = i
		}
	}
	if target < 0 {
		t.Fatal("the consultation for case 2 is not in the bundle")
	}
	at := bytes.Index(before, []byte(`"purpose":"case 2"`))
	if at < 0 || bytes.Count(before, []byte(`"case 2"`)) != 1 {
		t.Fatal("cannot locate the entry's bytes in the bundle")
	}
	tampered := bytes.Clone(before)
	tampered[at+len(`"purpose":"case `)] ^= 0x01 // "case 2" -> "case 3"
	bad := filepath.Join(work, "tampered.bundle")
	if err := os.WriteFile(bad, tampered, 0o600); err != nil {
		t.Fatal(err)
	}
	code, v = verifyJSONOut(t, bad, "--keys", bundle+".keys")
	if code != exitNegative || v.OK || v.FirstFailure == nil || v.FirstFailure.What != "entry" || v.FirstFailure.Index != uint64(target) ||
		!strings.Contains(v.FirstFailure.Reason, "altered") || v.Entries != uint64(target) {
		t.Fatalf("verify of a tampered bundle: exit %d, %+v (want entry %d)", code, v, target)
	}
	code, stdout, _ = runCLI(t, "audit", "verify", bad, "--keys", bundle+".keys")
	if code != exitNegative || !strings.Contains(stdout, "FAILED") || !strings.Contains(stdout, "entry "+strconv.Itoa(target)+":") {
		t.Fatalf("verify (text) of a tampered bundle: exit %d\n%s", code, stdout)
	}

	// Prove entry 0 (a collection) and the case 1 consultation; verify both.
	proof := filepath.Join(work, "entry0.proof")
	code, stdout, stderr = runCLI(t, "audit", "prove", "--dir", dir, "0", "--out", proof)
	if code != exitOK || !strings.Contains(stdout, proof) {
		t.Fatalf("prove: exit %d: %s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "audit", "verify-proof", proof, "--keys", bundle+".keys")
	if code != exitOK || !strings.HasPrefix(stdout, "OK: entry 0 ") || !strings.Contains(stdout, "kind    "+string(entries[0].Kind)) {
		t.Fatalf("verify-proof: exit %d\n%s%s", code, stdout, stderr)
	}
	case1 := -1
	for i, e := range entries {
		if e.Fields["purpose"] == "case 1" {
			case1 = i
		}
	}
	code, stdout, stderr = runCLI(t, "audit", "prove", "--dir", dir, strconv.Itoa(case1))
	if code != exitOK {
		t.Fatalf("prove to stdout: exit %d: %s", code, stderr)
	}
	proof1 := filepath.Join(work, "case1.proof")
	if err := os.WriteFile(proof1, []byte(stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = runCLI(t, "audit", "verify-proof", proof1, "--keys", bundle+".keys", "--json")
	var po auditProofOut
	if err := json.Unmarshal([]byte(stdout), &po); err != nil {
		t.Fatal(err)
	}
	if code != exitOK || !po.OK || po.Failure != nil || po.Entry == nil || po.Entry.Kind != "consultation" || po.Entry.Actor != "officer-7" ||
		po.Entry.Fields["purpose"] != "case 1" || po.Index != uint64(case1) || po.Size != exp.Entries || len(po.NodeKeys) != 2 {
		t.Fatalf("verify-proof --json: exit %d, %+v", code, po)
	}

	// A proof whose entry was changed fails, naming the entry.
	var pf inclusionProofFile
	raw, _ := os.ReadFile(proof1)
	if err := json.Unmarshal(raw, &pf); err != nil {
		t.Fatal(err)
	}
	pf.Entry = strings.Replace(pf.Entry, "case 1", "case 9", 1)
	raw, _ = json.Marshal(pf)
	badProof := filepath.Join(work, "bad.proof")
	if err := os.WriteFile(badProof, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = runCLI(t, "audit", "verify-proof", badProof, "--keys", bundle+".keys", "--json")
	po = auditProofOut{}
	if err := json.Unmarshal([]byte(stdout), &po); err != nil {
		t.Fatal(err)
	}
	if code != exitNegative || po.OK || po.Failure == nil || po.Failure.What != "entry" || po.Entry != nil {
		t.Fatalf("verify-proof of a tampered proof: exit %d, %+v", code, po)
	}
	code, stdout, _ = runCLI(t, "audit", "verify-proof", badProof, "--keys", bundle+".keys")
	if code != exitNegative || !strings.Contains(stdout, "FAILED") || !strings.Contains(stdout, "altered") {
		t.Fatalf("verify-proof (text) of a tampered proof: exit %d\n%s", code, stdout)
	}
	// ... and so does one checked against another node's keys.
	code, stdout, _ = runCLI(t, "audit", "verify-proof", proof1, "--keys", otherKeys, "--json")
	if code != exitNegative || !strings.Contains(stdout, `"what":"checkpoint"`) {
		t.Fatalf("verify-proof with another node's keys: exit %d\n%s", code, stdout)
	}
	// Entries beyond the log are refused.
	if code, _, stderr := runCLI(t, "audit", "prove", "--dir", dir, "1000"); code != exitUsage || !strings.Contains(stderr, "not covered") {
		t.Fatalf("prove 1000: exit %d, %s", code, stderr)
	}

	// Report: from the node and from the bundle, the same counts.
	today := time.Now().UTC().Format(time.DateOnly)
	type report struct {
		Entries       int            `json:"entries"`
		ByAction      map[string]int `json:"by_action"`
		ByCategory    map[string]int `json:"by_category"`
		ByCountry     map[string]int `json:"by_country"`
		ByLegalGround map[string]int `json:"by_legal_ground"`
	}
	var collections int
	for _, e := range entries {
		if e.Kind == auditlog.KindCollection {
			collections++
		}
	}
	for _, src := range [][]string{{"--dir", dir}, {"--bundle", bundle}} {
		code, stdout, stderr := runCLI(t, append([]string{"audit", "report", "--from", today, "--to", today, "--json"}, src...)...)
		if code != exitOK {
			t.Fatalf("report %v: exit %d: %s", src, code, stderr)
		}
		var r report
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatal(err)
		}
		if r.ByAction["consultation"] != 3 || collections < 2 || r.ByAction["collection"] != collections || r.Entries != len(entries) ||
			r.ByCountry["FR"] != collections || r.ByCategory["incitement"] != collections {
			t.Fatalf("report %v: %s", src, stdout)
		}
	}
	code, stdout, _ = runCLI(t, "audit", "report", "--dir", dir, "--from", "2001-01-01", "--to", "2001-12-31")
	if code != exitOK || !strings.Contains(stdout, "Entries in the period: 0") {
		t.Fatalf("report of an empty period: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = runCLI(t, "audit", "report", "--bundle", bundle, "--from", today, "--to", today)
	if code != exitOK || !strings.Contains(stdout, "consultation") || !strings.Contains(stdout, "verified") {
		t.Fatalf("report (text): exit %d\n%s", code, stdout)
	}
	// A tampered bundle gives no report.
	code, stdout, _ = runCLI(t, "audit", "report", "--bundle", bad, "--keys", bundle+".keys", "--from", today, "--to", today)
	if code != exitNegative || !strings.Contains(stdout, "does not verify") {
		t.Fatalf("report from a tampered bundle: exit %d\n%s", code, stdout)
	}

	// A checkpoint seen earlier: consistent with a later export; the old
	// export, given the newer checkpoint, is a rollback.
	var older inclusionProofFile
	raw, _ = os.ReadFile(proof)
	if err := json.Unmarshal(raw, &older); err != nil {
		t.Fatal(err)
	}
	knownOld := filepath.Join(work, "old.checkpoint")
	if err := os.WriteFile(knownOld, []byte(older.Checkpoint), 0o600); err != nil {
		t.Fatal(err)
	}
	auditActivity(t, dir, func(ctx context.Context, n *node.Node) { lookUp(t, ctx, n, "http://other.example/", "case 4") })
	bundle2 := filepath.Join(work, "fr2.bundle")
	exportBundle(t, dir, bundle2)
	if code, v := verifyJSONOut(t, bundle2, "--known", knownOld); code != exitOK || !v.OK || v.Entries != exp.Entries+1 {
		t.Fatalf("newer bundle with an older known checkpoint: exit %d, %+v", code, v)
	}
	newProof := filepath.Join(work, "new.proof")
	if code, _, stderr := runCLI(t, "audit", "prove", "--dir", dir, "0", "--out", newProof); code != exitOK {
		t.Fatalf("prove: %s", stderr)
	}
	var newer inclusionProofFile
	raw, _ = os.ReadFile(newProof)
	if err := json.Unmarshal(raw, &newer); err != nil {
		t.Fatal(err)
	}
	knownNew := filepath.Join(work, "new.checkpoint")
	if err := os.WriteFile(knownNew, []byte(newer.Checkpoint), 0o600); err != nil {
		t.Fatal(err)
	}
	code, v = verifyJSONOut(t, bundle, "--known", knownNew)
	if code != exitNegative || v.FirstFailure == nil || v.FirstFailure.What != "known checkpoint" || !strings.Contains(v.FirstFailure.Reason, "rollback") {
		t.Fatalf("old bundle with a newer known checkpoint: exit %d, %+v", code, v)
	}
	// No cosignatures in a standalone node: --cosigned says so.
	if code, _, stderr := runCLI(t, "audit", "prove", "--dir", dir, "--cosigned", "0"); code != exitUsage || !strings.Contains(stderr, "cosignature") {
		t.Fatalf("prove --cosigned: exit %d, %s", code, stderr)
	}
}

// A running node holds its store and its audit log: the commands say to
// stop it.
func TestAuditCommandsOnARunningNode(t *testing.T) {
	dir := auditTestNode(t)
	out := filepath.Join(t.TempDir(), "b")

	holder, err := node.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"audit", "export", "--dir", dir, "--out", out},
		{"audit", "prove", "--dir", dir, "0"},
		{"audit", "report", "--dir", dir, "--from", "2020-01-01", "--to", "2100-01-01"},
	} {
		code, _, stderr := runCLI(t, args...)
		if code != exitUsage || !strings.Contains(stderr, "is running") || !strings.Contains(stderr, "stop it to") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
	holder.Close()

	// The audit log alone held (by another process, say): same message.
	vkeys, err := auditlog.NodeVerifierKeys(dir)
	if err != nil || len(vkeys) == 0 {
		t.Fatal(err)
	}
	n0, err := node.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	fed, agency := n0.Federation(), n0.Agency()
	n0.Close()
	l, err := auditlog.OpenForNode(dir, fed, agency)
	if err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "audit", "export", "--dir", dir, "--out", out)
	l.Close()
	if code != exitUsage || !strings.Contains(stderr, "is running") {
		t.Fatalf("export with the audit log held: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("a failed export left a bundle behind")
	}
	if _, err := os.Stat(out + ".keys"); err == nil {
		t.Fatal("a failed export left a keys file behind")
	}
}

func TestAuditUsageErrors(t *testing.T) {
	fresh := initNode(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"audit", "export", "--dir", fresh}, "--out is required"},
		{[]string{"audit", "verify"}, "exactly one BUNDLE"},
		{[]string{"audit", "verify", filepath.Join(t.TempDir(), "missing")}, "no such file"},
		{[]string{"audit", "verify-proof", "p"}, "--keys is required"},
		{[]string{"audit", "prove", "--dir", fresh, "first"}, "not an entry number"},
		{[]string{"audit", "report", "--dir", fresh, "--from", "2026-01-01"}, "--from and --to are required"},
		{[]string{"audit", "report", "--dir", fresh, "--bundle", "b", "--from", "2026-01-01", "--to", "2026-02-01"}, "not both"},
		{[]string{"audit", "report", "--dir", fresh, "--from", "2026-02-01", "--to", "2026-01-01"}, "period is empty"},
		{[]string{"audit", "report", "--dir", fresh, "--from", "last year", "--to", "2026-01-01"}, "neither a date"},
	}
	for _, tc := range cases {
		code, _, stderr := runCLI(t, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 mentioning %q", tc.args, code, stderr, tc.want)
		}
	}
}

func TestAuditHelp(t *testing.T) {
	code, out, _ := runCLI(t, "audit", "--help")
	if code != exitOK || !strings.Contains(out, "verify-proof") {
		t.Fatalf("audit --help: exit %d\n%s", code, out)
	}
	for _, sub := range []string{"export", "verify", "prove", "verify-proof", "report"} {
		code, out, stderr := runCLI(t, "audit", sub, "--help")
		if code != exitOK || !strings.Contains(out, "Usage:\n  vigie audit "+sub+" ") || stderr != "" {
			t.Errorf("audit %s --help: exit %d, stdout %q, stderr %q", sub, code, out, stderr)
		}
	}
}

// Witness cosignatures travel in the bundle and in proofs: verify counts
// them and enforces a quorum; prove --cosigned uses the cosigned checkpoint.
func TestAuditWitnessCosignatures(t *testing.T) {
	dir := auditTestNode(t)
	work := t.TempDir()
	ctx := context.Background()

	// Two witnesses cosign the node's latest checkpoint.
	n0, err := node.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	fed, agency := n0.Federation(), n0.Agency()
	n0.Close()
	l, err := auditlog.OpenForNode(dir, fed, agency)
	if err != nil {
		t.Fatal(err)
	}
	note, err := l.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := checkpoint.ParseNote(note)
	if err != nil {
		t.Fatal(err)
	}
	c, err := checkpoint.ParseCheckpoint(parsed.Text)
	if err != nil {
		t.Fatal(err)
	}
	var wkeys []string
	for _, name := range []string{"witness-de", "witness-it"} {
		skey, vkey, err := checkpoint.GenerateKey(rand.Reader, checkpoint.TypeEd25519Cosignature, name)
		if err != nil {
			t.Fatal(err)
		}
		signer, err := checkpoint.NewSigner(skey, nil)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := checkpoint.Cosign(parsed.Text, signer, uint64(time.Now().Unix()))
		if err != nil {
			t.Fatal(err)
		}
		if err := l.AddCosignatures(ctx, c.Size, sig); err != nil {
			t.Fatal(err)
		}
		wkeys = append(wkeys, vkey)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	witnessFile := filepath.Join(work, "witnesses.keys")
	if err := os.WriteFile(witnessFile, []byte("# the federation's witnesses\n"+strings.Join(wkeys, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	bundle := filepath.Join(work, "fr.bundle")
	if code, _, stderr := runCLI(t, "audit", "export", "--dir", dir, "--out", bundle, "--witness-keys", witnessFile); code != exitOK {
		t.Fatalf("export: exit %d: %s", code, stderr)
	}
	code, v := verifyJSONOut(t, bundle, "--witness-quorum", "2")
	if code != exitOK || v.CosignedCheckpoints != 1 || len(v.LastCosigners) != 2 || v.LastSize != c.Size {
		t.Fatalf("verify with quorum 2: exit %d, %+v", code, v)
	}
	code, v = verifyJSONOut(t, bundle, "--witness-keys", witnessFile, "--witness-quorum", "3")
	if code != exitNegative || v.FirstFailure == nil || v.FirstFailure.What != "checkpoint" || !strings.Contains(v.FirstFailure.Reason, "quorum is 3") {
		t.Fatalf("verify with quorum 3: exit %d, %+v", code, v)
	}

	proof := filepath.Join(work, "p")
	if code, _, stderr := runCLI(t, "audit", "prove", "--dir", dir, "--cosigned", "--out", proof, "2"); code != exitOK {
		t.Fatalf("prove --cosigned: exit %d: %s", code, stderr)
	}
	code, stdout, _ := runCLI(t, "audit", "verify-proof", proof, "--keys", bundle+".keys", "--witness-keys", witnessFile, "--witness-quorum", "2", "--json")
	var po auditProofOut
	if err := json.Unmarshal([]byte(stdout), &po); err != nil {
		t.Fatal(err)
	}
	if code != exitOK || !po.OK || len(po.Cosigners) != 2 || po.Unverified != 0 {
		t.Fatalf("verify-proof with witnesses: exit %d, %+v", code, po)
	}
	code, stdout, _ = runCLI(t, "audit", "verify-proof", proof, "--keys", bundle+".keys")
	if code != exitOK || !strings.Contains(stdout, "2 other signatures not checked") {
		t.Fatalf("verify-proof without witness keys: exit %d\n%s", code, stdout)
	}
	// A cosignature that does not verify is named.
	var pf inclusionProofFile
	raw, _ := os.ReadFile(proof)
	if err := json.Unmarshal(raw, &pf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(pf.Checkpoint, "\n"), "\n")
	last := lines[len(lines)-1]
	cut := strings.LastIndexByte(last, ' ')
	sigBytes, err := base64.StdEncoding.DecodeString(last[cut+1:])
	if err != nil {
		t.Fatal(err)
	}
	sigBytes[len(sigBytes)-1] ^= 0x01
	lines[len(lines)-1] = last[:cut+1] + base64.StdEncoding.EncodeToString(sigBytes)
	pf.Checkpoint = strings.Join(lines, "\n") + "\n"
	raw, _ = json.Marshal(pf)
	badProof := filepath.Join(work, "bad")
	if err := os.WriteFile(badProof, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = runCLI(t, "audit", "verify-proof", badProof, "--keys", bundle+".keys", "--witness-keys", witnessFile, "--json")
	if code != exitNegative || !strings.Contains(stdout, `"what":"witnesses"`) {
		t.Fatalf("verify-proof with a bad cosignature: exit %d\n%s", code, stdout)
	}
}
