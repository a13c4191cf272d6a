package auditlog

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/cloudflare/circl/sign/mldsa/mldsa44"

	"github.com/vigie-project/vigie/crypto/checkpoint"
)

const testOrigin = "vigie.example/FR-test/audit"

func testSigners(t testing.TB, tag string) []checkpoint.Signer {
	t.Helper()
	seed := sha256.Sum256([]byte("auditlog test key " + tag))
	ed, err := checkpoint.NewEd25519Signer(testOrigin, ed25519.NewKeyFromSeed(seed[:]))
	if err != nil {
		t.Fatal(err)
	}
	_, priv := mldsa44.NewKeyFromSeed(&seed)
	ml, err := checkpoint.NewMLDSA44Signer(testOrigin, priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	return []checkpoint.Signer{ed, ml}
}

func testVKeys(t testing.TB, signers []checkpoint.Signer) []string {
	var out []string
	for _, s := range signers {
		v, err := checkpoint.SignerVerifier(s)
		if err != nil {
			t.Fatal(err)
		}
		k, err := checkpoint.VerifierKey(v)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, k)
	}
	return out
}

func openTest(t testing.TB, dir string, opts ...Option) *Log {
	t.Helper()
	l, err := Open(dir, testSigners(t, "node"), append([]Option{WithOrigin(testOrigin)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// sampleEntry returns a valid entry of a kind chosen by i.
func sampleEntry(i int) Entry {
	tm := t0.Add(time.Duration(i) * time.Minute)
	countries := []string{"FR", "DE", "BE"}
	switch i % 5 {
	case 0:
		return Entry{Kind: KindConsultation, Time: tm, Actor: "officer-7", Fields: map[string]string{
			"purpose": fmt.Sprintf("case 2026/%d", i), "expressions": "4", "live_matches": "1",
			"indicators": "bafkreiaaaa,bafkreibbbb"}}
	case 1:
		return Entry{Kind: KindDisclosure, Time: tm, Actor: "node", Fields: map[string]string{
			"recipient": countries[i%3] + "-bka", "legal_ground": "TCO:Art.14", "records": "bafyreixx", "count": "1",
			"category": "incitement", "country": countries[i%3], "transfer": "true"}}
	case 2:
		return Entry{Kind: KindPolicyDecision, Time: tm, Actor: "node", Fields: map[string]string{
			"inputs_digest": "sha256:abcd", "bundle_hash": "sha256:ef01", "action": "send", "decision": "allow",
			"grounds": List("LED:Art.9", "TCO:Art.14"), "country": countries[i%3], "category": "fto_propaganda"}}
	case 3:
		return Entry{Kind: KindTokenBatch, Time: tm, Actor: "DE-bka", Fields: map[string]string{
			"peer": "DE-bka", "count": "128", "epoch": "7", "legal_ground": "Council Decision 2008/615"}}
	default:
		return Entry{Kind: KindCollection, Time: tm, Actor: "BE-ccb", Fields: map[string]string{
			"record": fmt.Sprintf("bafyrei%06d", i), "indicator": "bafkreicccc", "origin": "BE-ccb",
			"category": "incitement", "country": "BE", "legal_ground": "TCO:Art.5"}}
	}
}

func fill(t testing.TB, l *Log, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		idx, err := l.Append(context.Background(), sampleEntry(i))
		if err != nil {
			t.Fatal(err)
		}
		if idx != uint64(i) {
			t.Fatalf("index %d, want %d", idx, i)
		}
	}
}

func export(t testing.TB, l *Log, witnessKeys ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := l.Export(context.Background(), &b, witnessKeys...); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type bundleRec struct {
	typ     byte
	payload []byte
}

func splitBundle(t testing.TB, b []byte) []bundleRec {
	t.Helper()
	br := NewBundleReader(bytes.NewReader(b))
	var out []bundleRec
	for {
		typ, p, err := br.Next()
		if err != nil && err.Error() == "EOF" {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, bundleRec{typ, bytes.Clone(p)})
		if typ == BundleEnd {
			break
		}
	}
	return out
}

func joinBundle(recs []bundleRec) []byte {
	b := []byte(bundleMagic)
	for _, r := range recs {
		b = append(b, r.typ)
		b = appendUvarint(b, uint64(len(r.payload)))
		b = append(b, r.payload...)
	}
	return b
}

func appendUvarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// entryPos is the position in recs of entry i.
func entryPos(t testing.TB, recs []bundleRec, i uint64) int {
	for j, r := range recs {
		if r.typ == BundleEntry {
			s, err := BundleEntryRecord(r.payload)
			if err != nil {
				t.Fatal(err)
			}
			if s.Index == i {
				return j
			}
		}
	}
	t.Fatalf("entry %d not in bundle", i)
	return -1
}
