package auditlog

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigie-project/vigie/node"
	"github.com/vigie-project/vigie/protocol/record"
)

// A real node with the log as its audit sink: after look-ups of a URL
// (matching and not), no stored byte and no exported byte holds the URL or
// any piece of it, while the consultation is logged with its purpose.
func TestNoURLEverStored(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	now := func() time.Time { return time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC) }
	ndir := filepath.Join(dir, "node")
	if err := node.Init(ctx, ndir, node.InitOptions{Country: "FR", Org: "test", Now: now()}); err != nil {
		t.Fatal(err)
	}
	// Fixed salts, so that the scan below cannot flake on random bytes.
	l := openTest(t, filepath.Join(dir, "audit"), withRand(bytes.NewReader(make([]byte, 32))))
	n, err := node.Open(ctx, ndir, node.WithClock(now), node.WithAuditSink(Sink{Log: l}))
	if err != nil {
		t.Fatal(err)
	}
	req := node.AssertRequest{
		Expression:  "secretsite.example/",
		Categories:  []record.Category{record.CatIncitement},
		LegalStatus: record.StatusReferral,
		LegalBasis:  []string{"TCO:Art.5"},
		TLP:         record.TLPAmber,
		PAP:         record.PAPGreen,
		SourceEval:  record.SourceEval("B"),
		InfoEval:    record.InfoEval("2"),
		Onward:      record.OnwardAsk,
	}
	if _, err := n.Assert(ctx, req); err != nil {
		t.Fatal(err)
	}
	const url = "https://www.SecretSite.example/hidden-forum/thread-4711.html?id=7#x"
	got, err := n.Lookup(ctx, node.LookupRequest{URL: url, Purpose: "case 2026/114", Requester: "officer-7"})
	if err != nil || !got.Live() {
		t.Fatalf("%v %+v", err, got)
	}
	if _, err := n.Lookup(ctx, node.LookupRequest{URL: "http://other-secret.example/x/y.html", Purpose: "case 2026/115", Requester: "officer-8"}); err != nil {
		t.Fatal(err)
	}
	// A look-up without a purpose cannot happen (the node refuses it; were
	// it to ask, the entry would be refused).
	if _, err := n.Lookup(ctx, node.LookupRequest{URL: url, Purpose: "  ", Requester: "officer-7"}); err == nil {
		t.Fatal("look-up without a purpose")
	}
	n.Close()
	var consultations []Entry
	for i := range l.DurableSize() {
		se, err := l.ReadEntry(i)
		if err != nil {
			t.Fatal(err)
		}
		d, err := se.Entry()
		if err != nil {
			t.Fatal(err)
		}
		if d.Kind == KindConsultation {
			consultations = append(consultations, d)
		}
	}
	if len(consultations) != 2 {
		t.Fatalf("%d consultations logged, want 2 (the look-up without a purpose is refused)", len(consultations))
	}
	if d := consultations[0]; d.Actor != "officer-7" || d.Fields["purpose"] != "case 2026/114" || d.Fields["indicators"] == "" {
		t.Fatalf("%+v", d)
	}
	var bundle bytes.Buffer
	if err := l.Export(ctx, &bundle); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	stored, err := os.ReadFile(filepath.Join(dir, "audit", fileName))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"log file": stored, "bundle": bundle.Bytes()} {
		lower := strings.ToLower(string(data))
		for _, piece := range []string{url, "secretsite", "hidden-forum", "thread-4711", "other-secret", "y.html", "://", "www."} {
			if strings.Contains(lower, strings.ToLower(piece)) {
				t.Errorf("%s holds %q", name, piece)
			}
		}
	}
	if _, err := VerifyBundle(bytes.NewReader(bundle.Bytes())); err != nil {
		t.Fatal(err)
	}
}
