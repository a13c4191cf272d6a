package fedtoken

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cloudflare/circl/oprf"
	"github.com/cloudflare/circl/zk/dleq"
)

// subsets returns every subset of 1..n with at least min members.
func subsets(n, min int) [][]ShareIndex {
	var out [][]ShareIndex
	for mask := 1; mask < 1<<n; mask++ {
		var s []ShareIndex
		for i := range n {
			if mask&(1<<i) != 0 {
				s = append(s, ShareIndex(i+1))
			}
		}
		if len(s) >= min {
			out = append(out, s)
		}
	}
	return out
}

func TestThresholdEqualsSingleKey(t *testing.T) {
	f := newFederation(t, 1, 3, 5)
	k := recoverKey(t, 3, f.shares[2:5]) // shares 3,4,5
	if pub, _ := k.Public().MarshalBinary(); !bytes.Equal(pub, f.group.Public) {
		t.Fatalf("recovered key's public %x != group public %x", pub, f.group.Public)
	}
	inputs := sampleInputs(30)
	want := referenceTokens(t, k, testFederation, inputs)

	pending, blinded, err := f.client.Blind(rand.Reader, inputs)
	if err != nil {
		t.Fatal(err)
	}
	all := f.respond(t, blinded, 1, 2, 3, 4, 5)
	subs := subsets(5, 3)
	if len(subs) != 16 { // C(5,3)+C(5,4)+C(5,5)
		t.Fatalf("%d subsets", len(subs))
	}
	for _, sub := range subs {
		var rs []Response
		for _, idx := range sub {
			rs = append(rs, all[idx-1])
		}
		got, rep, err := pending.Finalize(rs)
		if err != nil {
			t.Fatalf("subset %v: %v", sub, err)
		}
		if !slices.Equal(rep.Used, sub[:3]) || !slices.Equal(rep.Valid, sub) || len(rep.Rejected) != 0 {
			t.Fatalf("subset %v: report %+v", sub, rep)
		}
		if !tokensEqual(got, want) {
			t.Fatalf("subset %v: tokens differ from circl single-key FullEvaluate", sub)
		}
	}
}

func TestFewerThanThresholdSharesGiveAnotherKey(t *testing.T) {
	f := newFederation(t, 2, 3, 5)
	two := recoverKey(t, 2, f.shares[:2])
	if pub, _ := two.Public().MarshalBinary(); bytes.Equal(pub, f.group.Public) {
		t.Fatal("two shares of a 3-of-5 sharing recovered the key")
	}
}

func TestTokenizeLocalSingleNode(t *testing.T) {
	f := newFederation(t, 3, 1, 1)
	k := recoverKey(t, 1, f.shares)
	if !bytes.Equal(f.shares[0].Key, mustMarshal(t, k)) {
		t.Fatal("1-of-1 share is not the key itself")
	}
	inputs := sampleInputs(7)
	got, err := f.client.TokenizeLocal(seeded(30), inputs, f.issuers)
	if err != nil {
		t.Fatal(err)
	}
	if !tokensEqual(got, referenceTokens(t, k, testFederation, inputs)) {
		t.Fatal("1-of-1 tokens differ from circl FullEvaluate")
	}
}

func mustMarshal(t *testing.T, k *oprf.PrivateKey) []byte {
	t.Helper()
	b, err := k.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTokenizeLocalRejectsForeignIssuer(t *testing.T) {
	f := newFederation(t, 4, 2, 3)
	other := newFederation(t, 5, 2, 3)
	_, err := f.client.TokenizeLocal(rand.Reader, sampleInputs(2), []*Issuer{f.issuers[0], other.issuers[1]})
	if !errors.Is(err, ErrNotEnoughIssuers) || !errors.Is(err, ErrBadProof) {
		t.Fatalf("err = %v, want ErrNotEnoughIssuers and ErrBadProof", err)
	}
}

// rejectedIndices lists the issuers named by IssuerErrors in a joined error.
func rejectedIndices(err error) map[ShareIndex]error {
	out := map[ShareIndex]error{}
	var walk func(error)
	walk = func(e error) {
		if ie, ok := e.(IssuerError); ok {
			out[ie.Index] = ie.Err
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
		}
	}
	walk(err)
	return out
}

func TestToleratesBadIssuers(t *testing.T) {
	f := newFederation(t, 6, 3, 6)
	k := recoverKey(t, 3, f.shares[:3])
	inputs := sampleInputs(12)
	want := referenceTokens(t, k, testFederation, inputs)
	pending, blinded, err := f.client.Blind(rand.Reader, inputs)
	if err != nil {
		t.Fatal(err)
	}
	// Issuer 1 is down: no response. Issuer 2's proof is corrupted. Issuer 3
	// forwards issuer 4's evaluation and proof as its own.
	rs := f.respond(t, blinded, 2, 4, 5, 6)
	rs[0].Proof = bytes.Clone(rs[0].Proof)
	rs[0].Proof[40] ^= 0x01
	rs = append(rs, Response{Index: 3, Evaluated: rs[1].Evaluated, Proof: rs[1].Proof})

	got, rep, err := pending.Finalize(rs)
	if err != nil {
		t.Fatalf("with 3 good of 3 needed: %v", err)
	}
	if !tokensEqual(got, want) {
		t.Fatal("tokens differ from single-key reference")
	}
	if !slices.Equal(rep.Used, []ShareIndex{4, 5, 6}) || !slices.Equal(rep.Missing, []ShareIndex{1}) {
		t.Fatalf("report %+v", rep)
	}
	bad := rejectedIndices(rep.Err())
	if len(bad) != 2 || !isBadResponse(bad[2]) || !errors.Is(bad[3], ErrBadProof) {
		t.Fatalf("rejected = %v, want issuers 2 (corrupt proof) and 3 (ErrBadProof)", bad)
	}

	// Issuer 6 goes down too: two good of three needed.
	_, rep, err = pending.Finalize(slices.DeleteFunc(slices.Clone(rs), func(r Response) bool { return r.Index == 6 }))
	if !errors.Is(err, ErrNotEnoughIssuers) {
		t.Fatalf("err = %v, want ErrNotEnoughIssuers", err)
	}
	bad = rejectedIndices(err)
	if len(bad) != 2 || bad[2] == nil || bad[3] == nil {
		t.Fatalf("error names %v, want issuers 2 and 3", bad)
	}
	if !strings.Contains(err.Error(), "missing [1 6]") || !strings.Contains(err.Error(), "issuer 3:") {
		t.Fatalf("error text does not name the issuers: %v", err)
	}
	if !slices.Equal(rep.Valid, []ShareIndex{4, 5}) || rep.Used != nil {
		t.Fatalf("report %+v", rep)
	}
}

// isBadResponse accepts the two ways a corrupted proof can fail: as a
// non-canonical scalar or as a wrong one.
func isBadResponse(err error) bool {
	return errors.Is(err, ErrBadProof) || errors.Is(err, ErrMalformed)
}

func TestResponseRejections(t *testing.T) {
	f := newFederation(t, 7, 2, 4)
	inputs := sampleInputs(5)
	pending, blinded, err := f.client.Blind(rand.Reader, inputs)
	if err != nil {
		t.Fatal(err)
	}
	good := f.respond(t, blinded, 1, 2, 3, 4)
	_, otherBlinded, err := f.client.Blind(rand.Reader, inputs)
	if err != nil {
		t.Fatal(err)
	}
	replayed := f.respond(t, otherBlinded, 3)[0]
	identity := make([]byte, 32) // the ristretto255 identity encodes as zeros
	withElem := func(r Response, j int, b []byte) Response {
		r.Evaluated = slices.Clone(r.Evaluated)
		r.Evaluated[j] = b
		return r
	}
	cases := []struct {
		name string
		bad  Response
		want error
		text string
	}{
		{"index zero", Response{Index: 0, Evaluated: good[2].Evaluated, Proof: good[2].Proof}, ErrUnknownIssuer, ""},
		{"index beyond roster", Response{Index: 5, Evaluated: good[2].Evaluated, Proof: good[2].Proof}, ErrUnknownIssuer, ""},
		{"too few elements", Response{Index: 3, Evaluated: good[2].Evaluated[:31], Proof: good[2].Proof}, ErrBatchSize, ""},
		{"too many elements", Response{Index: 3, Evaluated: append(slices.Clone(good[2].Evaluated), good[2].Evaluated[0]), Proof: good[2].Proof}, ErrBatchSize, ""},
		{"identity element", withElem(good[2], 9, identity), ErrMalformed, "element 9"},
		{"undecodable element", withElem(good[2], 17, bytes.Repeat([]byte{0xff}, 32)), ErrMalformed, "element 17"},
		{"short element", withElem(good[2], 4, good[2].Evaluated[4][:31]), ErrMalformed, "element 4"},
		{"swapped elements", withElem(good[2], 0, good[2].Evaluated[1]), ErrBadProof, ""},
		{"short proof", Response{Index: 3, Evaluated: good[2].Evaluated, Proof: good[2].Proof[:63]}, ErrMalformed, ""},
		{"non-canonical proof scalar", Response{Index: 3, Evaluated: good[2].Evaluated, Proof: bytes.Repeat([]byte{0xff}, 64)}, ErrMalformed, ""},
		{"other issuer's proof", Response{Index: 3, Evaluated: good[2].Evaluated, Proof: good[3].Proof}, ErrBadProof, ""},
		{"replay of another request", replayed, ErrBadProof, ""},
		{"duplicate of a valid response", good[0], ErrDuplicateIssuer, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Issuers 1 and 2 are honest; the bad response comes last.
			rs := []Response{good[0], good[1], tc.bad}
			tokens, rep, err := pending.Finalize(rs)
			if err != nil {
				t.Fatalf("finalize failed despite 2 good of 2: %v", err)
			}
			if len(tokens) != len(inputs) {
				t.Fatalf("%d tokens", len(tokens))
			}
			if len(rep.Rejected) != 1 || rep.Rejected[0].Index != tc.bad.Index || !errors.Is(rep.Rejected[0], tc.want) {
				t.Fatalf("rejected %v, want issuer %d with %v", rep.Rejected, tc.bad.Index, tc.want)
			}
			if !strings.Contains(rep.Rejected[0].Error(), tc.text) {
				t.Fatalf("error %q does not mention %q", rep.Rejected[0].Error(), tc.text)
			}
			var ie IssuerError
			if !errors.As(rep.Err(), &ie) || ie.Index != tc.bad.Index {
				t.Fatalf("Report.Err() = %v", rep.Err())
			}
		})
	}
}

// A forged response arriving first must not knock out the honest one.
func TestForgedFirstResponseDoesNotKnockOutIssuer(t *testing.T) {
	f := newFederation(t, 8, 2, 3)
	pending, blinded, err := f.client.Blind(rand.Reader, sampleInputs(3))
	if err != nil {
		t.Fatal(err)
	}
	good := f.respond(t, blinded, 1, 2)
	forged := Response{Index: 1, Evaluated: good[1].Evaluated, Proof: good[1].Proof}
	_, rep, err := pending.Finalize([]Response{forged, good[0], good[1]})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Used, []ShareIndex{1, 2}) {
		t.Fatalf("used %v", rep.Used)
	}
	if len(rep.Rejected) != 2 || !errors.Is(rep.Rejected[0], ErrBadProof) || !errors.Is(rep.Rejected[1], ErrDuplicateIssuer) {
		t.Fatalf("rejected %v", rep.Rejected)
	}
}

func TestPadding(t *testing.T) {
	f := newFederation(t, 9, 2, 3)
	inputs := sampleInputs(32)
	byExpr := map[Input]Token{}
	for _, n := range []int{1, 2, 30, 31, 32} {
		pending, blinded, err := f.client.Blind(rand.Reader, inputs[:n])
		if err != nil {
			t.Fatalf("%d inputs: %v", n, err)
		}
		if len(blinded) != BatchSize {
			t.Fatalf("%d inputs: request has %d elements", n, len(blinded))
		}
		seen := map[string]bool{}
		for j, b := range blinded {
			if _, err := decodeElement(b); err != nil || seen[string(b)] {
				t.Fatalf("%d inputs: element %d invalid or repeated (%v)", n, j, err)
			}
			seen[string(b)] = true
		}
		tokens, _, err := pending.Finalize(f.respond(t, blinded, 2, 3))
		if err != nil {
			t.Fatal(err)
		}
		if len(tokens) != n {
			t.Fatalf("%d inputs: %d tokens", n, len(tokens))
		}
		for j, tok := range tokens {
			if prev, ok := byExpr[inputs[j]]; ok && prev != tok {
				t.Fatalf("input %d token changed with batch fill %d", j, n)
			}
			byExpr[inputs[j]] = tok
		}
	}
	for _, n := range []int{0, 33} {
		if _, _, err := f.client.Blind(rand.Reader, sampleInputs(n)); !errors.Is(err, ErrBatchSize) {
			t.Fatalf("%d inputs: err = %v, want ErrBatchSize", n, err)
		}
	}
}

func TestIssuerRejectsBadRequests(t *testing.T) {
	f := newFederation(t, 10, 2, 3)
	_, blinded, err := f.client.Blind(rand.Reader, sampleInputs(4))
	if err != nil {
		t.Fatal(err)
	}
	is := f.issuers[0]
	for _, n := range []int{0, 1, 31, 33} {
		req := make([][]byte, n)
		for j := range req {
			req[j] = blinded[j%BatchSize]
		}
		if _, _, err := is.Evaluate(req); !errors.Is(err, ErrBatchSize) {
			t.Fatalf("%d elements: err = %v, want ErrBatchSize", n, err)
		}
	}
	bad := map[int][]byte{
		3:  make([]byte, 32),                    // identity
		7:  bytes.Repeat([]byte{0xff}, 32),      // not an encoding
		12: blinded[12][:31],                    // short
		20: append(bytes.Clone(blinded[20]), 0), // long
		31: nil,
	}
	for j, b := range bad {
		req := slices.Clone(blinded)
		req[j] = b
		_, _, err := is.Evaluate(req)
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "element "+strconv.Itoa(j)+":") {
			t.Fatalf("bad element %d: err = %v", j, err)
		}
	}
}

func TestDomainSeparationAndDeduplication(t *testing.T) {
	f := newFederation(t, 11, 2, 3)
	other, err := NewClient("another-federation", f.group)
	if err != nil {
		t.Fatal(err)
	}
	second, err := NewClient(testFederation, f.group) // an independent node
	if err != nil {
		t.Fatal(err)
	}
	in := Input{Kind: 1, Expression: "evil.example/"}
	tok := func(c *Client, in Input, seed uint64) Token {
		t.Helper()
		out, err := c.TokenizeLocal(seeded(seed), []Input{in}, f.issuers[1:])
		if err != nil {
			t.Fatal(err)
		}
		return out[0]
	}
	base := tok(f.client, in, 100)
	if tok(second, in, 200) != base {
		t.Fatal("same input gave different tokens on two clients")
	}
	if tok(other, in, 100) == base {
		t.Fatal("another federation ID gave the same token")
	}
	if tok(f.client, Input{Kind: 2, Expression: in.Expression}, 100) == base {
		t.Fatal("another Kind gave the same token")
	}
	if tok(f.client, Input{Kind: 1, Expression: "evil.example/a/"}, 100) == base {
		t.Fatal("another expression gave the same token")
	}
}

func TestEncodeInput(t *testing.T) {
	got, err := EncodeInput("fed", Input{Kind: 0x02, Expression: "a.example/"})
	if err != nil {
		t.Fatal(err)
	}
	want := []byte("vigie/token/v1\x00\x00\x03fed\x02\x00\x0aa.example/")
	if !bytes.Equal(got, want) {
		t.Fatalf("EncodeInput = %q, want %q", got, want)
	}
	// The same example, as printed in doc.go.
	documented := "76696769652f746f6b656e2f7631 00 0003 666564 02 000a 612e6578616d706c652f"
	if hex.EncodeToString(got) != strings.ReplaceAll(documented, " ", "") {
		t.Fatalf("EncodeInput = %x, doc.go says %s", got, documented)
	}
	long := strings.Repeat("x", MaxExpressionLen)
	if enc, err := EncodeInput(strings.Repeat("f", MaxFederationIDLen), Input{Expression: long}); err != nil || len(enc) > 0xffff {
		t.Fatalf("longest allowed input: len %d err %v", len(enc), err)
	}
	for name, c := range map[string]struct {
		fed string
		in  Input
	}{
		"empty federation":    {"", Input{Expression: "a/"}},
		"long federation":     {strings.Repeat("f", MaxFederationIDLen+1), Input{Expression: "a/"}},
		"empty expression":    {"fed", Input{}},
		"too long expression": {"fed", Input{Expression: long + "x"}},
	} {
		if _, err := EncodeInput(c.fed, c.in); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if _, err := NewClient("", GroupKey{}); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("NewClient with empty federation: %v", err)
	}
	f := newFederation(t, 12, 1, 1)
	if _, _, err := f.client.Blind(rand.Reader, []Input{{Expression: "a/"}, {}}); !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), "input 1") {
		t.Errorf("Blind with an empty expression: %v", err)
	}
}

func TestPaddingInputCannotCollide(t *testing.T) {
	pad, err := paddingInput(seeded(1))
	if err != nil {
		t.Fatal(err)
	}
	prefix := []byte(inputLabel + "\x00")
	if bytes.HasPrefix(pad, prefix) || len(pad) != len(paddingLabel)+33 {
		t.Fatalf("padding input %q shares the real-input prefix", pad)
	}
}

// circl's VerifiableClient, with a share key as its server key, accepts our
// issuer's answers, and our verifier accepts circl's server's answers: the
// DLEQ transcript and DSTs are RFC 9497's, not just self-consistent.
func TestInteropWithCirclVOPRF(t *testing.T) {
	f := newFederation(t, 13, 2, 3)
	share := f.shares[1]
	sk := new(oprf.PrivateKey)
	if err := sk.UnmarshalBinary(oprf.SuiteRistretto255, share.Key); err != nil {
		t.Fatal(err)
	}
	inputs := make([][]byte, BatchSize)
	for j := range inputs {
		inputs[j], _ = EncodeInput(testFederation, sampleInputs(BatchSize)[j])
	}

	cc := oprf.NewVerifiableClient(oprf.SuiteRistretto255, sk.Public())
	fin, req, err := cc.Blind(inputs)
	if err != nil {
		t.Fatal(err)
	}
	blinded := make([][]byte, BatchSize)
	for j, e := range req.Elements {
		blinded[j] = encodeElement(e)
	}
	evals, proofBytes, err := f.issuers[1].Evaluate(blinded)
	if err != nil {
		t.Fatal(err)
	}
	ev := &oprf.Evaluation{Proof: new(dleq.Proof)}
	if err := ev.Proof.UnmarshalBinary(grp, proofBytes); err != nil {
		t.Fatal(err)
	}
	if ev.Elements, err = decodeElements(evals); err != nil {
		t.Fatal(err)
	}
	outs, err := cc.Finalize(fin, ev)
	if err != nil {
		t.Fatalf("circl client rejects our issuer: %v", err)
	}
	srv := oprf.NewVerifiableServer(oprf.SuiteRistretto255, sk)
	for j := range outs {
		if !srv.VerifyFinalize(inputs[j], outs[j]) {
			t.Fatalf("output %d does not match circl FullEvaluate under the share key", j)
		}
	}

	// The other way round: circl's server answers our request.
	pending, ours, err := f.client.Blind(rand.Reader, sampleInputs(3))
	if err != nil {
		t.Fatal(err)
	}
	elems, _ := decodeElements(ours)
	cev, err := srv.Evaluate(&oprf.EvaluationRequest{Elements: elems})
	if err != nil {
		t.Fatal(err)
	}
	r := Response{Index: share.Index, Proof: mustProof(t, cev.Proof)}
	for _, e := range cev.Elements {
		r.Evaluated = append(r.Evaluated, encodeElement(e))
	}
	if _, err := pending.verify(r); err != nil {
		t.Fatalf("our verifier rejects circl's server: %v", err)
	}
}

func mustProof(t *testing.T, p *dleq.Proof) []byte {
	t.Helper()
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEvaluateWithRandIsReproducible(t *testing.T) {
	f := newFederation(t, 14, 2, 3)
	_, blinded, err := f.client.Blind(seeded(1), sampleInputs(3))
	if err != nil {
		t.Fatal(err)
	}
	_, blinded2, err := f.client.Blind(seeded(2), sampleInputs(3))
	if err != nil {
		t.Fatal(err)
	}
	is := f.issuers[0]
	e1, p1, err := is.EvaluateWithRand(seeded(5), blinded)
	if err != nil {
		t.Fatal(err)
	}
	e2, p2, err := is.EvaluateWithRand(seeded(5), blinded)
	if err != nil {
		t.Fatal(err)
	}
	if !equalLists(e1, e2) || !bytes.Equal(p1, p2) {
		t.Fatal("same reader and request gave different answers")
	}
	// Hedging: the same reader on another request must give another nonce.
	// Proof bytes differ anyway (the challenge covers the request), so
	// compare the nonces themselves.
	r1, _ := randomScalar(seeded(5), nonceDST, append([][]byte{is.keyEnc}, blinded...)...)
	r2, _ := randomScalar(seeded(5), nonceDST, append([][]byte{is.keyEnc}, blinded2...)...)
	if r1.IsEqual(r2) {
		t.Fatal("proof nonce does not depend on the request")
	}
}

// Client and Issuer are documented as safe for concurrent use; run with -race.
func TestConcurrentUse(t *testing.T) {
	f := newFederation(t, 15, 2, 3)
	inputs := sampleInputs(4)
	want, err := f.client.TokenizeLocal(rand.Reader, inputs, f.issuers[:2])
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 6)
	for w := range 6 {
		go func() {
			pair := [][]*Issuer{f.issuers[:2], f.issuers[1:], {f.issuers[0], f.issuers[2]}}[w%3]
			got, err := f.client.TokenizeLocal(rand.Reader, inputs, pair)
			if err == nil && !tokensEqual(got, want) {
				err = errors.New("tokens differ")
			}
			errs <- err
		}()
	}
	for range 6 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
