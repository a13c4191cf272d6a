package witness

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigie-project/vigie/crypto/checkpoint"
	"github.com/vigie-project/vigie/crypto/merkle"
)

// add runs a request through the wire format and the witness, as the
// stream handler does.
func add(t *testing.T, w *Witness, req *Request) *Response {
	t.Helper()
	b, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := ParseRequest(b)
	if err != nil {
		t.Fatal(err)
	}
	resp := w.Add(parsed)
	out, err := resp.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseResponse(out)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

func wantStatus(t *testing.T, resp *Response, status int) {
	t.Helper()
	if resp.Status != status {
		t.Fatalf("status %d (%s), want %d", resp.Status, resp.Reason, status)
	}
}

// wantCosigned checks a 200 answer carries the witness's valid cosignature
// on the log's current checkpoint.
func wantCosigned(t *testing.T, w *testWitness, l *testLog, resp *Response) {
	t.Helper()
	wantStatus(t, resp, StatusOK)
	body, err := checkpoint.Checkpoint{Origin: l.name, Size: l.tree.Size(), Root: l.root()}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Cosignatures) != 1 {
		t.Fatalf("%d cosignatures", len(resp.Cosignatures))
	}
	if _, err := checkpoint.VerifyCosignature(body, resp.Cosignatures[0], w.verifier); err != nil {
		t.Fatal(err)
	}
}

func wantLatest(t *testing.T, w *Witness, l *testLog, size uint64) {
	t.Helper()
	s, ok := w.Latest(l.name)
	if !ok || s.Size != size {
		t.Fatalf("latest %v %d, want size %d", ok, s.Size, size)
	}
}

func TestAcceptFirstCheckpoint(t *testing.T) {
	l := newTestLog(t, "vigie.test/FR/audit")
	w := newTestWitness(t, "witness-DE", origins(l))
	l.grow(5)
	wantCosigned(t, w, l, add(t, w.Witness, l.request(t, 0)))
	wantLatest(t, w.Witness, l, 5)
	// The answer merged into the note verifies with both kinds of keys.
	resp := add(t, w.Witness, l.request(t, 5)) // a retry after a lost answer
	wantCosigned(t, w, l, resp)
	merged, err := checkpoint.AddSignatures(l.note(t), resp.Cosignatures...)
	if err != nil {
		t.Fatal(err)
	}
	n, err := checkpoint.Open(merged, append(l.verifiers, w.verifier)...)
	if err != nil || len(n.Missing(append(l.verifiers, w.verifier)...)) != 0 {
		t.Fatalf("merged note: %v", err)
	}
}

func TestConsistentGrowth(t *testing.T) {
	l := newTestLog(t, "vigie.test/FR/audit")
	var cosigned []Cosigned
	w := newTestWitness(t, "witness-DE", origins(l), func(c *Config) { c.OnCosign = func(x Cosigned) { cosigned = append(cosigned, x) } })
	old := uint64(0)
	for _, n := range []int{1, 4, 3, 8, 1, 100, 27} {
		l.grow(n)
		wantCosigned(t, w, l, add(t, w.Witness, l.request(t, old)))
		old = l.tree.Size()
		wantLatest(t, w.Witness, l, old)
	}
	if len(cosigned) != 7 || cosigned[6].Size != old || cosigned[6].OldSize != 117 {
		t.Fatalf("OnCosign saw %+v", cosigned)
	}
	if len(w.Equivocations()) != 0 {
		t.Fatal("equivocation recorded for a consistent log")
	}
}

func TestRefuseRollback(t *testing.T) {
	l := newTestLog(t, "vigie.test/FR/audit")
	w := newTestWitness(t, "witness-DE", origins(l))
	l.grow(5)
	early := l.note(t)
	wantCosigned(t, w, l, add(t, w.Witness, l.request(t, 0)))
	l.grow(4)
	wantCosigned(t, w, l, add(t, w.Witness, l.request(t, 5)))
	for _, old := range []uint64{0, 5} {
		resp := add(t, w.Witness, &Request{OldSize: old, Note: early})
		wantStatus(t, resp, StatusConflict)
		if resp.Size != 9 || !strings.Contains(resp.Reason, "rollback") {
			t.Fatalf("answer %+v", resp)
		}
	}
	wantLatest(t, w.Witness, l, 9)
}

func TestRefuseOldSizeMismatch(t *testing.T) {
	l := newTestLog(t, "vigie.test/FR/audit")
	w := newTestWitness(t, "witness-DE", origins(l))
	l.grow(6)
	wantCosigned(t, w, l, add(t, w.Witness, l.request(t, 0)))
	l.grow(6)
	resp := add(t, w.Witness, l.request(t, 0))
	wantStatus(t, resp, StatusConflict)
	if resp.Size != 6 {
		t.Fatalf("409 names size %d, want 6", resp.Size)
	}
	resp = add(t, w.Witness, l.request(t, 3)) // a valid proof from a size it never cosigned
	wantStatus(t, resp, StatusConflict)
	wantCosigned(t, w, l, add(t, w.Witness, l.request(t, 6)))
	// An old size beyond the checkpoint is malformed.
	wantStatus(t, add(t, w.Witness, &Request{OldSize: 13, Note: l.note(t)}), StatusBadRequest)
}

func TestRefuseSameSizeOtherRoot(t *testing.T) {
	l := newTestLog(t, "vigie.test/FR/audit")
	var reported []*Equivocation
	w := newTestWitness(t, "witness-DE", origins(l), func(c *Config) { c.OnEquivocation = func(e *Equivocation) { reported = append(reported, e) } })
	l.grow(7)
	wantCosigned(t, w, l, add(t, w.Witness, l.request(t, 0)))
	l.grow(2)
	wantCosigned(t, w, l, add(t, w.Witness, l.request(t, 7)))

	f := l.fork(7) // the node rewrites entries 7 and 8
	f.grow(2)
	if f.root() == l.root() {
		t.Fatal("fork has the same root")
	}
	resp := add(t, w.Witness, f.request(t, 9))
	wantStatus(t, resp, StatusConflict)
	if resp.Size != 9 || !strings.Contains(resp.Reason, "equivocation") {
		t.Fatalf("answer %+v", resp)
	}
	wantLatest(t, w.Witness, l, 9)
	if s, _ := w.Latest(l.name); s.Root != l.root() {
		t.Fatal("the witness adopted the fork's root")
	}
	eqs := w.Equivocations()
	if len(eqs) != 1 || len(reported) != 1 || eqs[0].Kind != KindSameSize {
		t.Fatalf("%d equivocations (%d reported)", len(eqs), len(reported))
	}
	checkEvidence(t, eqs[0], l)
	// Once is enough.
	add(t, w.Witness, f.request(t, 9))
	if len(w.Equivocations()) != 1 || len(reported) != 1 {
		t.Fatal("the same proof was recorded twice")
	}
	// It survives a restart.
	w2 := openWitness(t, w.dir, w.signer, origins(l))
	if eqs := w2.Equivocations(); len(eqs) != 1 || VerifyEquivocation(eqs[0], l.verifiers...) != nil {
		t.Fatal("equivocation lost on restart")
	}
}

// checkEvidence checks p verifies with the origin's keys, survives
// serialisation, and fails with other keys or when tampered with.
func checkEvidence(t *testing.T, p *Equivocation, l *testLog) {
	t.Helper()
	if err := VerifyEquivocation(p, l.verifiers...); err != nil {
		t.Fatal(err)
	}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseEquivocation(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyEquivocation(back, l.verifiers...); err != nil {
		t.Fatalf("after a round trip: %v", err)
	}
	// Other keys of the same name: not the origin's evidence.
	other := newTestLog(t, l.name)
	if err := VerifyEquivocation(back, other.verifiers...); !errors.Is(err, ErrNotEvidence) {
		t.Fatalf("verified with other keys: %v", err)
	}
	// Only one of the two keys required must still sign both: removing
	// the ML-DSA-44 line from a note makes it no evidence.
	if err := VerifyEquivocation(back); !errors.Is(err, ErrNotEvidence) {
		t.Fatalf("verified with no keys: %v", err)
	}
	stripped := *back
	stripped.Second = dropLastSignature(t, back.Second)
	if err := VerifyEquivocation(&stripped, l.verifiers...); !errors.Is(err, ErrNotEvidence) {
		t.Fatalf("verified without the ML-DSA-44 signature: %v", err)
	}
	// Two copies of one checkpoint are no evidence.
	same := *back
	same.Second = back.First
	if err := VerifyEquivocation(&same, l.verifiers...); !errors.Is(err, ErrNotEvidence) {
		t.Fatalf("verified two equal checkpoints: %v", err)
	}
	if back.Kind == KindInconsistent {
		bad := *back
		bad.Proof = append([]merkle.Hash(nil), back.Proof...)
		bad.Proof[0][0] ^= 1
		if err := VerifyEquivocation(&bad, l.verifiers...); !errors.Is(err, ErrNotEvidence) {
			t.Fatalf("verified a tampered proof: %v", err)
		}
		bad = *back
		bad.PrefixRoot[0] ^= 1
		if err := VerifyEquivocation(&bad, l.verifiers...); !errors.Is(err, ErrNotEvidence) {
			t.Fatalf("verified a tampered prefix root: %v", err)
		}
	}
}

func dropLastSignature(t *testing.T, note []byte) []byte {
	t.Helper()
	s := strings.TrimSuffix(string(note), "\n")
	return []byte(s[:strings.LastIndex(s, "\n")+1])
}

func TestInconsistentGrowthYieldsEvidence(t *testing.T) {
	l := newTestLog(t, "vigie.test/FR/audit")
	w := newTestWitness(t, "witness-DE", origins(l))
	l.grow(6) // not a power of two: the proof carries the old subtree
	wantCosigned(t, w, l, add(t, w.Witness, l.request(t, 0)))

	f := l.fork(3) // entries 3.. rewritten, then the log grows
	f.grow(10)
	resp := add(t, w.Witness, f.request(t, 6))
	wantStatus(t, resp, StatusBadProof)
	wantLatest(t, w.Witness, l, 6)
	eqs := w.Equivocations()
	if len(eqs) != 1 || eqs[0].Kind != KindInconsistent {
		t.Fatalf("equivocations %+v", eqs)
	}
	checkEvidence(t, eqs[0], l)

	// The honest log still extends what was cosigned.
	l.grow(7)
	wantCosigned(t, w, l, add(t, w.Witness, l.request(t, 6)))
}

func TestBadProofWithoutEvidence(t *testing.T) {
	l := newTestLog(t, "vigie.test/FR/audit")
	w := newTestWitness(t, "witness-DE", origins(l))
	l.grow(4) // a power of two: a fork's proof proves nothing portable
	wantCosigned(t, w, l, add(t, w.Witness, l.request(t, 0)))
	f := l.fork(2)
	f.grow(5)
	wantStatus(t, add(t, w.Witness, f.request(t, 4)), StatusBadProof)

	// A garbage proof for an honest checkpoint is refused, not evidence.
	l.grow(5)
	req := l.request(t, 4)
	req.Proof[0][0] ^= 1
	wantStatus(t, add(t, w.Witness, req), StatusBadProof)
	req.Proof = req.Proof[1:]
	wantStatus(t, add(t, w.Witness, req), StatusBadProof)
	if len(w.Equivocations()) != 0 {
		t.Fatal("a failed proof was taken for evidence")
	}
	wantLatest(t, w.Witness, l, 4)
	wantCosigned(t, w, l, add(t, w.Witness, l.request(t, 4)))
}

func TestRefuseBadSignature(t *testing.T) {
	l := newTestLog(t, "vigie.test/FR/audit")
	w := newTestWitness(t, "witness-DE", origins(l))
	l.grow(3)

	// Signed by other keys under the same name: no known key signed.
	impostor := newTestLog(t, l.name)
	impostor.tree = l.tree
	wantStatus(t, add(t, w.Witness, impostor.request(t, 0)), StatusForbidden)

	// A valid signature line altered.
	note := l.note(t)
	i := strings.LastIndex(string(note), " ") + 100 // inside the ML-DSA-44 signature
	bad := append([]byte(nil), note...)
	if bad[i] = 'A'; note[i] == 'A' {
		bad[i] = 'B'
	}
	wantStatus(t, add(t, w.Witness, &Request{Note: bad}), StatusForbidden)

	// Only the Ed25519 signature: both of the origin's keys are required.
	wantStatus(t, add(t, w.Witness, &Request{Note: dropLastSignature(t, note)}), StatusForbidden)

	// An unknown origin.
	stranger := newTestLog(t, "vigie.test/XX/audit")
	stranger.grow(1)
	wantStatus(t, add(t, w.Witness, stranger.request(t, 0)), StatusUnknownOrigin)

	// Not a checkpoint at all.
	text, err := checkpoint.Sign([]byte("hello\n"), l.signers[0])
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, add(t, w.Witness, &Request{Note: text}), StatusBadRequest)

	if _, ok := w.Latest(l.name); ok {
		t.Fatal("state recorded for refused checkpoints")
	}
	wantCosigned(t, w, l, add(t, w.Witness, l.request(t, 0)))
}

func TestStateSurvivesRestart(t *testing.T) {
	l := newTestLog(t, "vigie.test/FR/audit")
	other := newTestLog(t, "vigie.test/DE/audit")
	keys := origins(l, other)
	s, v := newKey(t, checkpoint.TypeEd25519Cosignature, "witness-NL")
	tw := &testWitness{dir: t.TempDir(), signer: s, verifier: v}
	// The state on disk is the new one by the time the witness cosigns:
	// OnCosign runs after persisting and before the answer.
	onDisk := func(c Cosigned) {
		b, err := os.ReadFile(filepath.Join(tw.dir, stateName(c.Origin)))
		if err != nil {
			t.Error(err)
			return
		}
		st, err := parseState(b)
		if err != nil || st.Size != c.Size || st.Root != c.Root {
			t.Errorf("on disk at cosigning: %v %+v, cosigning size %d", err, st, c.Size)
		}
	}
	tw.Witness = openWitness(t, tw.dir, s, keys, func(c *Config) { c.OnCosign = onDisk })
	l.grow(5)
	early := l.note(t)
	wantCosigned(t, tw, l, add(t, tw.Witness, l.request(t, 0)))
	l.grow(6)
	wantCosigned(t, tw, l, add(t, tw.Witness, l.request(t, 5)))
	other.grow(2)
	wantCosigned(t, tw, other, add(t, tw.Witness, other.request(t, 0)))

	// "Crash": drop the witness without closing anything, leave a torn
	// temporary file behind, and reopen the folder.
	if err := os.WriteFile(filepath.Join(tw.dir, tmpPrefix+"torn"), []byte(`{"origin":`), 0o600); err != nil {
		t.Fatal(err)
	}
	tw.Witness = openWitness(t, tw.dir, s, keys, func(c *Config) { c.OnCosign = onDisk })
	if _, err := os.Stat(filepath.Join(tw.dir, tmpPrefix+"torn")); !os.IsNotExist(err) {
		t.Fatal("temporary file left after restart")
	}
	wantLatest(t, tw.Witness, l, 11)
	wantLatest(t, tw.Witness, other, 2)
	resp := add(t, tw.Witness, &Request{OldSize: 0, Note: early})
	wantStatus(t, resp, StatusConflict)
	if resp.Size != 11 {
		t.Fatalf("after restart the witness holds %d", resp.Size)
	}
	l.grow(1)
	wantCosigned(t, tw, l, add(t, tw.Witness, l.request(t, 11)))

	// A corrupted state file stops the witness rather than letting it
	// forget (and the origin roll back).
	if err := os.WriteFile(filepath.Join(tw.dir, stateName(l.name)), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Config{Dir: tw.dir, Cosigners: []checkpoint.Signer{s}, Origins: keys}); err == nil {
		t.Fatal("opened with a corrupted state file")
	}
}

func TestNoCosignatureWithoutPersisting(t *testing.T) {
	l := newTestLog(t, "vigie.test/FR/audit")
	w := newTestWitness(t, "witness-DE", origins(l))
	// A folder where the state file should go makes the rename fail.
	if err := os.Mkdir(filepath.Join(w.dir, stateName(l.name)), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.dir, stateName(l.name), "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	l.grow(3)
	resp := add(t, w.Witness, l.request(t, 0))
	wantStatus(t, resp, StatusInternal)
	if len(resp.Cosignatures) != 0 {
		t.Fatal("cosigned without persisting")
	}
	if _, ok := w.Latest(l.name); ok {
		t.Fatal("state updated in memory without persisting")
	}
}

func TestOpenRefusesNonCosigners(t *testing.T) {
	l := newTestLog(t, "o")
	if _, err := Open(Config{Dir: t.TempDir(), Cosigners: []checkpoint.Signer{l.signers[0]}, Origins: origins(l)}); err == nil {
		t.Fatal("a plain Ed25519 key accepted as a cosigner")
	}
	s, _ := newKey(t, checkpoint.TypeMLDSA44, "w")
	if _, err := Open(Config{Dir: t.TempDir(), Cosigners: []checkpoint.Signer{s}, Origins: origins(l)}); err != nil {
		t.Fatalf("ML-DSA-44 cosigner refused: %v", err)
	}
}

func TestWireRoundTrip(t *testing.T) {
	l := newTestLog(t, "vigie.test/FR/audit")
	l.grow(21)
	req := l.request(t, 0)
	req.OldSize = 13
	req.Proof, _ = l.proof(13)
	b, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "old 13\n") {
		t.Fatalf("request starts %q", b[:10])
	}
	back, err := ParseRequest(b)
	if err != nil || back.OldSize != 13 || len(back.Proof) != len(req.Proof) || string(back.Note) != string(req.Note) {
		t.Fatalf("round trip: %v", err)
	}
	for _, bad := range []string{"", "old 1", "old 01\n\nx", "old 1\nAAAA\n\nx", "old 1\n\n", "new 1\n\nx"} {
		if _, err := ParseRequest([]byte(bad)); err == nil {
			t.Errorf("parsed %q", bad)
		}
	}
	for _, r := range []*Response{{Status: StatusConflict, Size: 42, Reason: "x\ny"}, {Status: StatusBadProof, Reason: strings.Repeat("é", 300)}} {
		b, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseResponse(b)
		if err != nil || back.Status != r.Status || back.Size != r.Size {
			t.Fatalf("round trip of %d: %v", r.Status, err)
		}
	}
	if string(mustMarshal(t, &Response{Status: StatusConflict, Size: 42})) != "409\n42\n" {
		t.Fatal("409 body is not the C2SP size body")
	}
}

func mustMarshal(t *testing.T, r *Response) []byte {
	t.Helper()
	b, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
