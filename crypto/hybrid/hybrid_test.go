package hybrid

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func mustKey(t testing.TB) *PrivateKey {
	t.Helper()
	k, err := GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSignVerify(t *testing.T) {
	k := mustKey(t)
	msg := []byte("batch manifest bytes")
	sig, err := k.Sign("vigie/manifest/v1", msg)
	if err != nil {
		t.Fatal(err)
	}
	if len(sig) != SignatureSize {
		t.Fatalf("signature is %d bytes, want %d", len(sig), SignatureSize)
	}
	if err := Verify(k.Public(), "vigie/manifest/v1", msg, sig); err != nil {
		t.Fatalf("valid signature rejected: %v", err)
	}
}

func TestVerifyNamesTheFailingHalf(t *testing.T) {
	k := mustKey(t)
	msg := []byte("m")
	sig, err := k.Sign("ctx", msg)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		s := bytes.Clone(sig)
		s[i] ^= 1
		return s
	}
	tests := []struct {
		name       string
		sig        []byte
		wantEd     bool
		wantML     bool
		wantFormat bool
	}{
		{name: "ed25519 half", sig: flip(3), wantEd: true},
		{name: "ml-dsa half", sig: flip(ed25519.SignatureSize + 10), wantML: true},
		{name: "both halves", sig: flip(3)[:0:0], wantFormat: true},
		{name: "truncated", sig: sig[:len(sig)-1], wantFormat: true},
	}
	both := flip(3)
	both[ed25519.SignatureSize+10] ^= 1
	tests = append(tests, struct {
		name       string
		sig        []byte
		wantEd     bool
		wantML     bool
		wantFormat bool
	}{name: "both halves corrupted", sig: both, wantEd: true, wantML: true})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(k.Public(), "ctx", msg, tc.sig)
			if err == nil {
				t.Fatal("corrupted signature accepted")
			}
			if got := errors.Is(err, ErrEd25519Invalid); got != tc.wantEd {
				t.Errorf("ErrEd25519Invalid = %v, want %v (%v)", got, tc.wantEd, err)
			}
			if got := errors.Is(err, ErrMLDSAInvalid); got != tc.wantML {
				t.Errorf("ErrMLDSAInvalid = %v, want %v (%v)", got, tc.wantML, err)
			}
			if got := errors.Is(err, ErrMalformed); got != tc.wantFormat {
				t.Errorf("ErrMalformed = %v, want %v (%v)", got, tc.wantFormat, err)
			}
		})
	}
}

func TestContextSeparatesPurposes(t *testing.T) {
	k := mustKey(t)
	msg := []byte("same bytes")
	sig, err := k.Sign("vigie/manifest/v1", msg)
	if err != nil {
		t.Fatal(err)
	}
	err = Verify(k.Public(), "vigie/roster/v1", msg, sig)
	if !errors.Is(err, ErrEd25519Invalid) || !errors.Is(err, ErrMLDSAInvalid) {
		t.Fatalf("signature for one context verified under another: %v", err)
	}
}

func TestHalfIsNotAPlainSignature(t *testing.T) {
	k := mustKey(t)
	msg := []byte("m")
	sig, err := k.Sign("", msg)
	if err != nil {
		t.Fatal(err)
	}
	if ed25519.Verify(k.Public().ed, msg, sig[:ed25519.SignatureSize]) {
		t.Fatal("the Ed25519 half verifies as a plain Ed25519 signature over msg")
	}
}

func TestWrongKeyRejected(t *testing.T) {
	a, b := mustKey(t), mustKey(t)
	sig, err := a.Sign("c", []byte("m"))
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(b.Public(), "c", []byte("m"), sig); err == nil {
		t.Fatal("signature verified under another agency's key")
	}
}

func TestPublicKeyRoundTrip(t *testing.T) {
	k := mustKey(t)
	b := k.Public().Bytes()
	if len(b) != PublicKeySize {
		t.Fatalf("public key is %d bytes, want %d", len(b), PublicKeySize)
	}
	p, err := ParsePublicKey(b)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Equal(k.Public()) || p.KeyID() != k.Public().KeyID() {
		t.Fatal("parsed public key differs")
	}
	if _, err := ParsePublicKey(b[1:]); !errors.Is(err, ErrMalformed) {
		t.Fatalf("short key: got %v, want ErrMalformed", err)
	}
	if mustKey(t).Public().Equal(p) {
		t.Fatal("two fresh keys compare equal")
	}
}

func TestSeedIsDeterministic(t *testing.T) {
	k := mustKey(t)
	again := NewKeyFromSeed(k.Seed())
	if !again.Public().Equal(k.Public()) {
		t.Fatal("same seed gave a different key")
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "agency.key")
	k := mustKey(t)
	if err := WriteKeyFile(path, k); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", info.Mode().Perm())
	}
	got, err := ReadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Public().Equal(k.Public()) {
		t.Fatal("key read back differs")
	}
	if err := WriteKeyFile(path, mustKey(t)); err == nil {
		t.Fatal("WriteKeyFile overwrote an existing key")
	}
	if again, _ := ReadKeyFile(path); again == nil || !again.Public().Equal(k.Public()) {
		t.Fatal("existing key changed by a refused write")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

func TestKeyFileRefusesOpenPermissions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agency.key")
	if err := WriteKeyFile(path, mustKey(t)); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadKeyFile(path); !errors.Is(err, ErrKeyFilePermissions) {
		t.Fatalf("got %v, want ErrKeyFilePermissions", err)
	}
}

func TestParseKeyFileRejects(t *testing.T) {
	k := mustKey(t)
	path := filepath.Join(t.TempDir(), "k")
	if err := WriteKeyFile(path, k); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"empty":          nil,
		"other pem type": bytes.Replace(good, []byte(pemType), []byte("PRIVATE KEY"), 2),
		"newer version":  bytes.Replace(good, []byte("Version: 1"), []byte("Version: 2"), 1),
		"wrong key id":   bytes.Replace(good, []byte("Key-Id: "), []byte("Key-Id: 00"), 1),
		"trailing data":  append(bytes.Clone(good), "junk"...),
	}
	for name, data := range cases {
		if _, err := ParseKeyFile(data); !errors.Is(err, ErrKeyFileFormat) {
			t.Errorf("%s: got %v, want ErrKeyFileFormat", name, err)
		}
	}
}

func FuzzParseKeyFile(f *testing.F) {
	k := NewKeyFromSeed([SeedSize]byte{1})
	path := filepath.Join(f.TempDir(), "k")
	if err := WriteKeyFile(path, k); err != nil {
		f.Fatal(err)
	}
	good, _ := os.ReadFile(path)
	f.Add(good)
	f.Add([]byte("-----BEGIN VIGIE AGENCY SIGNING KEY-----\n-----END VIGIE AGENCY SIGNING KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := ParseKeyFile(data)
		if err == nil && key.Public() == nil {
			t.Fatal("parsed key without a public half")
		}
	})
}

func FuzzVerify(f *testing.F) {
	k := NewKeyFromSeed([SeedSize]byte{2})
	sig, _ := k.Sign("c", []byte("m"))
	f.Add(k.Public().Bytes(), []byte("m"), sig)
	f.Fuzz(func(t *testing.T, pub, msg, sig []byte) {
		p, err := ParsePublicKey(pub)
		if err != nil {
			return
		}
		// Must not panic; a forged signature verifying is astronomically unlikely.
		if Verify(p, "c", msg, sig) == nil && !bytes.Equal(msg, []byte("m")) {
			t.Fatal("fuzzed signature verified")
		}
	})
}

func BenchmarkSign(b *testing.B) {
	k := mustKey(b)
	msg := make([]byte, 200)
	for b.Loop() {
		if _, err := k.Sign("bench", msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	k := mustKey(b)
	msg := make([]byte, 200)
	sig, _ := k.Sign("bench", msg)
	for b.Loop() {
		if err := Verify(k.Public(), "bench", msg, sig); err != nil {
			b.Fatal(err)
		}
	}
}
