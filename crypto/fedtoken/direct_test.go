package fedtoken

import (
	"crypto/rand"
	"errors"
	"testing"
)

// The direct path gives exactly the threshold protocol's tokens, for a
// standalone key and for any t shares of a larger sharing.
func TestEvaluatorMatchesThresholdProtocol(t *testing.T) {
	for _, tc := range []struct{ t, n int }{{1, 1}, {2, 3}, {3, 5}} {
		g, shares, err := Deal(rand.Reader, tc.t, tc.n)
		if err != nil {
			t.Fatal(err)
		}
		inputs := []Input{{Kind: 1, Expression: "evil.example/a.html"}, {Kind: 3, Expression: "evil.example/"}}
		client, err := NewClient("fed", g)
		if err != nil {
			t.Fatal(err)
		}
		issuers := make([]*Issuer, len(shares))
		for i, s := range shares {
			if issuers[i], err = NewIssuer(s); err != nil {
				t.Fatal(err)
			}
		}
		want, err := client.TokenizeLocal(rand.Reader, inputs, issuers)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := NewEvaluator("fed", g, shares[len(shares)-tc.t:])
		if err != nil {
			t.Fatal(err)
		}
		got, err := ev.Tokenize(inputs)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("t=%d n=%d input %d: direct token differs from the threshold protocol's", tc.t, tc.n, i)
			}
		}
	}
}

func TestEvaluatorRefusesWrongShares(t *testing.T) {
	g, shares, err := Deal(rand.Reader, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewEvaluator("fed", g, shares[:1]); !errors.Is(err, ErrNotEnoughIssuers) {
		t.Errorf("one share of 2-of-3: %v", err)
	}
	if _, err := NewEvaluator("fed", g, []Share{shares[0], shares[0]}); !errors.Is(err, ErrDuplicateIssuer) {
		t.Errorf("same share twice: %v", err)
	}
	_, foreign, err := Deal(rand.Reader, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewEvaluator("fed", g, []Share{shares[0], foreign[1]}); !errors.Is(err, ErrWrongShare) {
		t.Errorf("share of another sharing: %v", err)
	}
}

func BenchmarkEvaluatorPerExpression(b *testing.B) {
	g, shares, err := Deal(rand.Reader, 1, 1)
	if err != nil {
		b.Fatal(err)
	}
	ev, err := NewEvaluator("fed", g, shares)
	if err != nil {
		b.Fatal(err)
	}
	in := []Input{{Kind: 1, Expression: "www.evil.example/forum/thread/12345/page.html?id=7"}}
	for b.Loop() {
		if _, err := ev.Tokenize(in); err != nil {
			b.Fatal(err)
		}
	}
}
