package fedtoken

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/cloudflare/circl/group"
	"github.com/cloudflare/circl/oprf"
	"github.com/cloudflare/circl/secretsharing"
)

const testFederation = "eu-tco-2026"

// seeded returns a deterministic reader; tests and fuzzers must reproduce.
func seeded(seed uint64) io.Reader {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	return rand.NewChaCha8(s)
}

// federation is a dealt t-of-n sharing with one Issuer per share.
type federation struct {
	group   GroupKey
	shares  []Share
	issuers []*Issuer
	client  *Client
}

func newFederation(tb testing.TB, seed uint64, t, n int) *federation {
	tb.Helper()
	g, shares, err := Deal(seeded(seed), t, n)
	if err != nil {
		tb.Fatal(err)
	}
	f := &federation{group: g, shares: shares}
	for _, s := range shares {
		is, err := NewIssuer(s)
		if err != nil {
			tb.Fatal(err)
		}
		f.issuers = append(f.issuers, is)
	}
	if f.client, err = NewClient(testFederation, g); err != nil {
		tb.Fatal(err)
	}
	return f
}

// respond has the issuers with the given 1-based indices answer blinded.
func (f *federation) respond(tb testing.TB, blinded [][]byte, idxs ...ShareIndex) []Response {
	tb.Helper()
	var out []Response
	for _, idx := range idxs {
		evals, proof, err := f.issuers[idx-1].Evaluate(blinded)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, Response{Index: idx, Evaluated: evals, Proof: proof})
	}
	return out
}

// recoverKey rebuilds the federation key from the first t shares with circl's
// secretsharing (whose threshold parameter is the polynomial degree, t-1).
func recoverKey(tb testing.TB, t int, shares []Share) *oprf.PrivateKey {
	tb.Helper()
	ss := make([]secretsharing.Share, len(shares))
	for i, s := range shares {
		v := group.Ristretto255.NewScalar()
		if err := v.UnmarshalBinary(s.Key); err != nil {
			tb.Fatal(err)
		}
		ss[i] = secretsharing.Share{ID: s.Index.scalar(), Value: v}
	}
	k, err := secretsharing.Recover(uint(t-1), ss)
	if err != nil {
		tb.Fatal(err)
	}
	kb, err := k.MarshalBinary()
	if err != nil {
		tb.Fatal(err)
	}
	sk := new(oprf.PrivateKey)
	if err := sk.UnmarshalBinary(oprf.SuiteRistretto255, kb); err != nil {
		tb.Fatal(err)
	}
	return sk
}

// referenceTokens computes tokens directly with circl's single-key VOPRF
// server under key k, the reference the threshold protocol must match.
func referenceTokens(tb testing.TB, k *oprf.PrivateKey, federationID string, inputs []Input) []Token {
	tb.Helper()
	srv := oprf.NewVerifiableServer(oprf.SuiteRistretto255, k)
	out := make([]Token, len(inputs))
	for i, in := range inputs {
		enc, err := EncodeInput(federationID, in)
		if err != nil {
			tb.Fatal(err)
		}
		b, err := srv.FullEvaluate(enc)
		if err != nil {
			tb.Fatal(err)
		}
		if len(b) != TokenSize {
			tb.Fatalf("circl output is %d bytes", len(b))
		}
		out[i] = Token(b)
	}
	return out
}

// sampleInputs returns n distinct inputs shaped like look-up expressions.
func sampleInputs(n int) []Input {
	out := make([]Input, n)
	for i := range out {
		out[i] = Input{Kind: byte(1 + i%3), Expression: fmt.Sprintf("h%d.evil.example/a/%d/", i/6, i)}
	}
	return out
}

func tokensEqual(a, b []Token) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
