package fedtoken

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/cloudflare/circl/group"
	"github.com/cloudflare/circl/oprf"
)

// rfcSuite is one suite of testdata/oprf/rfc9497.json (RFC 9497 Appendix A,
// as shipped by circl). Batched fields are comma-separated hex.
type rfcSuite struct {
	Identifier string `json:"identifier"`
	Mode       int    `json:"mode"`
	SkSm       string `json:"skSm"`
	PkSm       string `json:"pkSm"`
	Seed       string `json:"seed"`
	KeyInfo    string `json:"keyInfo"`
	GroupDST   string `json:"groupDST"`
	Vectors    []struct {
		Batch             int    `json:"Batch"`
		Input             string `json:"Input"`
		Blind             string `json:"Blind"`
		BlindedElement    string `json:"BlindedElement"`
		EvaluationElement string `json:"EvaluationElement"`
		Output            string `json:"Output"`
		Proof             struct {
			Proof string `json:"proof"`
			R     string `json:"r"`
		} `json:"Proof"`
	} `json:"vectors"`
}

func loadVOPRFSuite(t *testing.T) rfcSuite {
	t.Helper()
	raw, err := os.ReadFile("../../testdata/oprf/rfc9497.json")
	if err != nil {
		t.Fatal(err)
	}
	var all []rfcSuite
	if err := json.Unmarshal(raw, &all); err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.Identifier == "ristretto255-SHA512" && s.Mode == int(oprf.VerifiableMode) {
			return s
		}
	}
	t.Fatal("no ristretto255-SHA512 mode 1 suite in rfc9497.json")
	return rfcSuite{}
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func unhexList(t *testing.T, s string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, part := range strings.Split(s, ",") {
		out = append(out, unhex(t, part))
	}
	return out
}

func unhexScalars(t *testing.T, s string) []group.Scalar {
	t.Helper()
	var out []group.Scalar
	for _, b := range unhexList(t, s) {
		sc, err := decodeScalar(b)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, sc)
	}
	return out
}

func equalLists(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// TestRFC9497Vectors runs every ristretto255-SHA512 VOPRF vector (single and
// batched) through this package's own blind, evaluate, verify and finalize
// code, with a 1-of-1 "sharing" whose only share key is skSm.
func TestRFC9497Vectors(t *testing.T) {
	s := loadVOPRFSuite(t)
	if got := string(unhex(t, s.GroupDST)); got != string(hashToGroupDST) {
		t.Fatalf("hash-to-group DST = %q, vectors say %q", hashToGroupDST, got)
	}

	// The vector key is DeriveKeyPair(seed, keyInfo); check the file against
	// circl before trusting it as a share.
	derived, err := oprf.DeriveKey(oprf.SuiteRistretto255, oprf.VerifiableMode, unhex(t, s.Seed), unhex(t, s.KeyInfo))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := derived.MarshalBinary(); !bytes.Equal(b, unhex(t, s.SkSm)) {
		t.Fatalf("DeriveKey = %x, vectors say skSm = %s", b, s.SkSm)
	}

	issuer, err := NewIssuer(Share{Index: 1, Key: unhex(t, s.SkSm)})
	if err != nil {
		t.Fatal(err)
	}
	pk := unhex(t, s.PkSm)
	if !bytes.Equal(issuer.PublicKey(), pk) {
		t.Fatalf("issuer public key = %x, want pkSm %x", issuer.PublicKey(), pk)
	}
	g := GroupKey{Threshold: 1, Total: 1, Public: pk, Shares: []ShareKey{{Index: 1, Public: pk}}}
	client, err := NewClient("rfc9497", g)
	if err != nil {
		t.Fatal(err)
	}

	if len(s.Vectors) < 3 {
		t.Fatalf("only %d vectors", len(s.Vectors))
	}
	batched := 0
	for vi, v := range s.Vectors {
		inputs := unhexList(t, v.Input)
		if len(inputs) != v.Batch {
			t.Fatalf("vector %d: %d inputs for Batch %d", vi, len(inputs), v.Batch)
		}
		if v.Batch > 1 {
			batched++
		}
		checkVector(t, vi, client, issuer, inputs, v.Blind, v.BlindedElement, v.EvaluationElement,
			v.Proof.R, v.Proof.Proof, v.Output)
	}
	if batched == 0 {
		t.Fatal("no batched vector exercised")
	}
}

func checkVector(t *testing.T, vi int, client *Client, issuer *Issuer, inputs [][]byte,
	blindHex, blindedHex, evalHex, rHex, proofHex, outputHex string) {
	t.Helper()
	pending, blinded, err := client.blind(inputs, len(inputs), unhexScalars(t, blindHex))
	if err != nil {
		t.Fatalf("vector %d: blind: %v", vi, err)
	}
	if want := unhexList(t, blindedHex); !equalLists(blinded, want) {
		t.Fatalf("vector %d: BlindedElement = %x, want %x", vi, blinded, want)
	}

	elems, err := decodeElements(blinded)
	if err != nil {
		t.Fatal(err)
	}
	r := unhexScalars(t, rHex)[0]
	evals, proof, err := issuer.evaluate(elems, r)
	if err != nil {
		t.Fatalf("vector %d: evaluate: %v", vi, err)
	}
	wantEvals := unhexList(t, evalHex)
	if !equalLists(evals, wantEvals) {
		t.Fatalf("vector %d: EvaluationElement = %x, want %x", vi, evals, wantEvals)
	}
	wantProof := unhex(t, proofHex)
	if !bytes.Equal(proof, wantProof) {
		t.Fatalf("vector %d: proof = %x, want %x", vi, proof, wantProof)
	}

	// Verify and finalize the vector's own response bytes.
	tokens, rep, err := pending.Finalize([]Response{{Index: 1, Evaluated: wantEvals, Proof: wantProof}})
	if err != nil {
		t.Fatalf("vector %d: finalize: %v", vi, err)
	}
	if len(rep.Used) != 1 || rep.Used[0] != 1 || len(rep.Rejected) != 0 {
		t.Fatalf("vector %d: report %+v", vi, rep)
	}
	wantOut := unhexList(t, outputHex)
	if len(tokens) != len(wantOut) {
		t.Fatalf("vector %d: %d tokens, want %d", vi, len(tokens), len(wantOut))
	}
	for j := range tokens {
		if !bytes.Equal(tokens[j][:], wantOut[j]) {
			t.Fatalf("vector %d output %d = %x, want %x", vi, j, tokens[j], wantOut[j])
		}
	}

	// A proof with one flipped bit must not verify.
	bad := bytes.Clone(wantProof)
	bad[0] ^= 1
	_, rep, err = pending.Finalize([]Response{{Index: 1, Evaluated: wantEvals, Proof: bad}})
	if !errors.Is(err, ErrNotEnoughIssuers) || len(rep.Rejected) != 1 {
		t.Fatalf("vector %d: flipped proof: err %v report %+v", vi, err, rep)
	}
	if re := rep.Rejected[0].Err; !errors.Is(re, ErrBadProof) && !errors.Is(re, ErrMalformed) {
		t.Fatalf("vector %d: flipped proof rejected with %v", vi, re)
	}
}
