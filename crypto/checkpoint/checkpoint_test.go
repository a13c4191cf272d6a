package checkpoint

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloudflare/circl/sign/mldsa/mldsa44"
	"golang.org/x/mod/sumdb/note"

	"github.com/vigie-project/vigie/crypto/merkle"
)

func mustSigner(t testing.TB, typ byte, name string) (Signer, Verifier) {
	t.Helper()
	skey, vkey, err := GenerateKey(rand.Reader, typ, name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(skey, func() time.Time { return time.Unix(1700000000, 0) })
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	if s.KeyHash() != v.KeyHash() || s.Name() != v.Name() {
		t.Fatal("signer and verifier disagree")
	}
	return s, v
}

func sampleCheckpoint() Checkpoint {
	return Checkpoint{Origin: "vigie.example/FR-pharos/audit", Size: 20852163, Root: merkle.Hash(sha256.Sum256([]byte("x")))}
}

func TestCheckpointRoundTrip(t *testing.T) {
	for _, c := range []Checkpoint{
		sampleCheckpoint(),
		{Origin: "a", Size: 0, Root: merkle.EmptyRoot()},
		{Origin: "o", Size: 1<<64 - 1, Extensions: []string{"ext one", "ext two"}},
	} {
		b, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseCheckpoint(b)
		if err != nil {
			t.Fatal(err)
		}
		if got.Origin != c.Origin || got.Size != c.Size || got.Root != c.Root || strings.Join(got.Extensions, "|") != strings.Join(c.Extensions, "|") {
			t.Fatalf("round trip %+v -> %+v", c, got)
		}
	}
	// The spec's example parses.
	ex := "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
	c, err := ParseCheckpoint([]byte(ex))
	if err != nil || c.Size != 20852163 {
		t.Fatal(c, err)
	}
}

func TestParseCheckpointRejects(t *testing.T) {
	root := base64.StdEncoding.EncodeToString(make([]byte, 32))
	for _, bad := range []string{
		"", "o\n1\n", "o\n1\n" + root, "\n1\n" + root + "\n", "o\n01\n" + root + "\n", "o\n-1\n" + root + "\n",
		"o\n18446744073709551616\n" + root + "\n", "o\n1\nAAAA\n", "o\n1\n" + root + "\n\n", "o\n1\n" + root + "\n\next\n",
		"o\x01\n1\n" + root + "\n", "o\n 1\n" + root + "\n", "o\n1\n" + root[:len(root)-1] + "\n", "\xff\n1\n" + root + "\n",
	} {
		if _, err := ParseCheckpoint([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
	if _, err := (Checkpoint{Origin: "a\nb"}).Marshal(); err == nil {
		t.Error("origin with a newline marshalled")
	}
	if _, err := (Checkpoint{Origin: "a", Extensions: []string{""}}).Marshal(); err == nil {
		t.Error("empty extension marshalled")
	}
}

func TestSignOpenAllTypes(t *testing.T) {
	ed, edV := mustSigner(t, TypeEd25519, "vigie.example/FR-pharos/audit")
	ml, mlV := mustSigner(t, TypeMLDSA44, "vigie.example/FR-pharos/audit")
	co, coV := mustSigner(t, TypeEd25519Cosignature, "witness.example/DE")
	body, _ := sampleCheckpoint().Marshal()
	signed, err := Sign(body, ed, ml, co)
	if err != nil {
		t.Fatal(err)
	}
	c, n, err := OpenCheckpoint(signed, edV, mlV, coV)
	if err != nil {
		t.Fatal(err)
	}
	if c.Size != 20852163 || len(n.Verified) != 3 || len(n.Unknown) != 0 || len(n.Missing(edV, mlV, coV)) != 0 {
		t.Fatalf("%+v %+v", c, n)
	}
	if n.Verified[1].Timestamp != 1700000000 || n.Verified[2].Timestamp != 1700000000 || n.Verified[0].Timestamp != 0 {
		t.Fatalf("timestamps %+v", n.Verified)
	}
	// Only one verifier known: the others are unknown.
	n, err = Open(signed, mlV)
	if err != nil || len(n.Verified) != 1 || len(n.Unknown) != 2 || len(n.Missing(edV)) != 1 {
		t.Fatalf("%v %+v", err, n)
	}
	// No known verifier.
	_, other := mustSigner(t, TypeEd25519, "other.example")
	if _, err := Open(signed, other); !errors.Is(err, ErrUnverified) {
		t.Fatal(err)
	}
	// A tampered body fails every known signature.
	bad := bytes.Replace(signed, []byte("20852163"), []byte("20852164"), 1)
	for _, v := range []Verifier{edV, mlV, coV} {
		if _, err := Open(bad, v); !errors.Is(err, ErrInvalidSignature) {
			t.Fatalf("%s: %v", v.Name(), err)
		}
	}
	// Same name, other key: ignored as unknown, not an error.
	_, edV2 := mustSigner(t, TypeEd25519, "vigie.example/FR-pharos/audit")
	if _, err := Open(signed, edV2); !errors.Is(err, ErrUnverified) {
		t.Fatal(err)
	}
	// ML-DSA refuses non-checkpoint text.
	if _, err := Sign([]byte("hello\n"), ml); err == nil {
		t.Fatal("ML-DSA-44 signed a non-checkpoint")
	}
	if len(signed) > 8<<10 {
		t.Fatalf("note of %d bytes", len(signed))
	}
}

func TestCosign(t *testing.T) {
	node, nodeV := mustSigner(t, TypeEd25519, "vigie.example/FR/audit")
	body, _ := sampleCheckpoint().Marshal()
	signed, err := Sign(body, node)
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []byte{TypeEd25519Cosignature, TypeMLDSA44} {
		w, wV := mustSigner(t, typ, "witness.example/DE")
		sig, err := Cosign(body, w, 1712345678)
		if err != nil {
			t.Fatal(err)
		}
		ts, err := VerifyCosignature(body, sig, wV)
		if err != nil || ts != 1712345678 {
			t.Fatal(ts, err)
		}
		// Timestamp is signed.
		sig2 := sig
		sig2.Sig = bytes.Clone(sig.Sig)
		sig2.Sig[7]++
		if _, err := VerifyCosignature(body, sig2, wV); !errors.Is(err, ErrInvalidSignature) {
			t.Fatal(err)
		}
		// Merged into the note, the cosignature is found by Open.
		merged, err := AddSignatures(signed, sig, sig)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Count(merged, []byte("\n— ")) != 2 {
			t.Fatalf("merged note:\n%s", merged)
		}
		n, err := Open(merged, nodeV, wV)
		if err != nil || len(n.Verified) != 2 || n.Verified[1].Timestamp != 1712345678 {
			t.Fatal(err, n)
		}
		// A plain signer cannot cosign; a plain verifier cannot check one.
		if _, err := Cosign(body, node, 1); err == nil {
			t.Fatal("Ed25519 0x01 cosigned")
		}
		if _, err := VerifyCosignature(body, sig, nodeV); err == nil {
			t.Fatal("0x01 verifier accepted for a cosignature")
		}
		line, err := ParseSignatureLine([]byte(sig.Line()))
		if err != nil || line.Name != sig.Name || !bytes.Equal(line.Sig, sig.Sig) {
			t.Fatal(err)
		}
	}
}

// The C2SP example cosignature verifies with the documented message layout
// (the key is not published, so check the layout with our own key) and the
// Ed25519 cosignature message matches the spec's example text.
func TestCosignatureV1Message(t *testing.T) {
	body := "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
	want := "cosignature/v1\ntime 1679315147\n" + body
	if got := string(cosignatureV1Message([]byte(body), 1679315147)); got != want {
		t.Fatalf("%q", got)
	}
}

// Interoperability with golang.org/x/mod/sumdb/note for type 0x01: notes
// and keys made by either package open with the other.
func TestXModNoteInterop(t *testing.T) {
	body, _ := sampleCheckpoint().Marshal()

	// Theirs -> ours.
	skey, vkey, err := note.GenerateKey(rand.Reader, "vigie.example/FR/audit")
	if err != nil {
		t.Fatal(err)
	}
	theirSigner, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := note.Sign(&note.Note{Text: string(body)}, theirSigner)
	if err != nil {
		t.Fatal(err)
	}
	ourV, err := NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(msg, ourV); err != nil {
		t.Fatal(err)
	}
	ourS, err := NewSigner(skey, nil)
	if err != nil {
		t.Fatal(err)
	}
	ours, err := Sign(body, ourS)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ours, msg) { // Ed25519 is deterministic
		t.Fatalf("our note differs:\n%s\ntheirs:\n%s", ours, msg)
	}

	// Ours -> theirs.
	skey2, vkey2, err := GenerateKey(rand.Reader, TypeEd25519, "vigie.example/DE/audit")
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := NewSigner(skey2, nil)
	msg2, err := Sign(body, s2)
	if err != nil {
		t.Fatal(err)
	}
	theirV, err := note.NewVerifier(vkey2)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(msg2, note.VerifierList(theirV))
	if err != nil || n.Text != string(body) {
		t.Fatal(err)
	}
	theirS2, err := note.NewSigner(skey2)
	if err != nil {
		t.Fatal(err)
	}
	if theirS2.KeyHash() != s2.KeyHash() {
		t.Fatal("key hash differs")
	}
	// Our signer and verifier values satisfy their interfaces.
	var _ note.Signer = s2
	var _ note.Verifier = ourV
	if vk, _ := VerifierKey(ourV); vk != vkey {
		t.Fatalf("vkey %s != %s", vk, vkey)
	}
	if sk, _ := SignerKey(ourS); sk != skey {
		t.Fatalf("skey re-encoding differs")
	}
}

// Known answer: a fixed Ed25519 seed gives a fixed note, byte for byte
// (checked against x/mod above, frozen here).
func TestEd25519KnownAnswer(t *testing.T) {
	seed := sha256.Sum256([]byte("vigie checkpoint known answer"))
	s, err := NewEd25519Signer("vigie.example/kat", ed25519.NewKeyFromSeed(seed[:]))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := Checkpoint{Origin: "vigie.example/kat", Size: 7, Root: merkle.EmptyRoot()}.Marshal()
	got, err := Sign(body, s)
	if err != nil {
		t.Fatal(err)
	}
	xs, err := note.NewSigner(mustSignerKey(t, s))
	if err != nil {
		t.Fatal(err)
	}
	want, err := note.Sign(&note.Note{Text: string(body)}, xs)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func mustSignerKey(t *testing.T, s Signer) string {
	k, err := SignerKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestMLDSAVerifiesWithCircl(t *testing.T) {
	pub, priv, err := mldsa44.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewMLDSA44Signer("w.example", priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := sampleCheckpoint()
	body, _ := c.Marshal()
	sig, err := Cosign(body, s, 42)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := subtreeV1Message("w.example", 42, c)
	if !bytes.HasPrefix(m, []byte("subtree/v1\n\x00\x09w.example")) || len(m) != 12+1+9+8+1+len(c.Origin)+8+8+32 {
		t.Fatalf("message layout %q", m)
	}
	if !mldsa44.Verify(pub, m, nil, sig.Sig[8:]) {
		t.Fatal("circl does not verify")
	}
}

func TestLimits(t *testing.T) {
	s, v := mustSigner(t, TypeEd25519, "k")
	body, _ := sampleCheckpoint().Marshal()
	signed, _ := Sign(body, s)
	// 101 signature lines.
	var extra []Signature
	for i := range 101 {
		extra = append(extra, Signature{Name: "x", KeyHash: uint32(i), Sig: []byte{1}})
	}
	if _, err := AddSignatures(signed, extra...); !errors.Is(err, ErrMalformed) {
		t.Fatal(err)
	}
	many := append(bytes.Clone(signed), strings.Repeat("— x AAAAAAA=\n", 100)...)
	if _, err := Open(many, v); !errors.Is(err, ErrMalformed) {
		t.Fatal(err)
	}
	big := append([]byte(strings.Repeat("a\n", MaxNoteSize/2)), signed...)
	if _, err := Open(big, v); !errors.Is(err, ErrMalformed) {
		t.Fatal(err)
	}
	// 16 ML-DSA-44 signatures fit, as the spec requires.
	var signers []Signer
	for i := range 16 {
		ml, _ := mustSigner(t, TypeMLDSA44, "w"+string(rune('a'+i)))
		signers = append(signers, ml)
	}
	sixteen, err := Sign(body, append(signers, s)...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(sixteen, v); err != nil {
		t.Fatal(err)
	}
}

func TestMalformedNotes(t *testing.T) {
	s, v := mustSigner(t, TypeEd25519, "k")
	body, _ := sampleCheckpoint().Marshal()
	signed, _ := Sign(body, s)
	for _, bad := range [][]byte{
		nil, body, append(bytes.Clone(signed), 0), bytes.TrimSuffix(signed, []byte("\n")),
		append(bytes.Clone(signed), "— k !!!\n"...), append(bytes.Clone(signed), "- k AAAAAAA=\n"...),
		append(bytes.Clone(signed), "— k+1 AAAAAAA=\n"...), append(bytes.Clone(signed), "— k AAAA\n"...),
		append(bytes.Clone(signed), 0xff, '\n'),
	} {
		if _, err := Open(bad, v); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	for _, bad := range []string{"", "k", "k+1+AQ==", "k+0000000g+AQAA", "k+00000000+AQ==", "k+00000000+" + base64.StdEncoding.EncodeToString(append([]byte{9}, make([]byte, 32)...))} {
		if _, err := NewVerifier(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("vkey %q: %v", bad, err)
		}
	}
	if _, err := NewSigner("PRIVATE+KEY+k+00000000+"+base64.StdEncoding.EncodeToString(append([]byte{1}, make([]byte, 32)...)), nil); !errors.Is(err, ErrMalformed) {
		t.Error("wrong key hash accepted")
	}
}

func TestVerifyConsistency(t *testing.T) {
	leaves := make([][]byte, 9)
	for i := range leaves {
		leaves[i] = []byte{byte(i)}
	}
	// Edge cases; node/auditlog runs the published vectors through it.
	a := Checkpoint{Origin: "o", Size: 0, Root: merkle.EmptyRoot()}
	b := Checkpoint{Origin: "o", Size: 9, Root: merkle.Root(leaves)}
	if err := VerifyConsistency(a, b, nil); err == nil {
		t.Fatal("proof from size 0 accepted")
	}
	if err := VerifyConsistency(b, b, nil); err != nil {
		t.Fatal(err)
	}
	c := b
	c.Root[0]++
	if err := VerifyConsistency(b, c, nil); err == nil {
		t.Fatal("different roots at the same size accepted")
	}
	if err := VerifyConsistency(b, a, nil); err == nil {
		t.Fatal("shrinking accepted")
	}
	c.Origin = "p"
	if err := VerifyConsistency(b, c, nil); err == nil {
		t.Fatal("origin change accepted")
	}
}
