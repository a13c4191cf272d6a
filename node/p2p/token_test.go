package p2p

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/vigie-project/vigie/crypto/fedtoken"
	"github.com/vigie-project/vigie/protocol/issuance"
)

// batchLog collects what issuers report for the audit log.
type batchLog struct {
	mu      sync.Mutex
	batches []Batch
}

func (l *batchLog) add(b Batch) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.batches = append(l.batches, b)
}

func (l *batchLog) all() []Batch {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Batch(nil), l.batches...)
}

// serveTokens makes member i of f an issuer on h with its own share.
func serveTokens(t testing.TB, f *federation, h *Host, i int, cfg IssuerConfig) {
	t.Helper()
	if cfg.Issuer == nil {
		is, err := fedtoken.NewIssuer(f.shares[i])
		if err != nil {
			t.Fatal(err)
		}
		cfg.Issuer = is
	}
	if cfg.Federation == "" {
		cfg.Federation = testFederation
	}
	srv, err := NewTokenServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.Handle(TokenProtocol, srv.ServeStream)
}

// inProcess computes the tokens with no network, as a standalone node does.
func (f *federation) inProcess(t testing.TB, exprs []string) []fedtoken.Token {
	t.Helper()
	in, err := testInputs(exprs)
	if err != nil {
		t.Fatal(err)
	}
	eval, err := fedtoken.NewEvaluator(testFederation, f.group, f.shares)
	if err != nil {
		t.Fatal(err)
	}
	var out []fedtoken.Token
	for len(in) > 0 {
		n := min(len(in), fedtoken.BatchSize)
		got, err := eval.Tokenize(in[:n])
		if err != nil {
			t.Fatal(err)
		}
		out, in = append(out, got...), in[n:]
	}
	return out
}

// tokenFederation starts issuers 0..issuers-1 and one plain member (the
// client, last), all connected.
func tokenFederation(t testing.TB, threshold, issuers int, cfg IssuerConfig, clientOpts ...Option) (*federation, []*Host, *Host) {
	t.Helper()
	f := newFederation(t, issuers+1, threshold, issuers)
	hosts := make([]*Host, issuers+1)
	for i := range hosts {
		opts := []Option{tcpOnly}
		if i == issuers {
			opts = append(opts, clientOpts...)
		}
		hosts[i] = startHost(t, f.keys[i], f.roster, opts...)
	}
	for i := range issuers {
		serveTokens(t, f, hosts[i], i, cfg)
	}
	client := hosts[issuers]
	if err := client.SetPeerAddrs(addrsOf(hosts[:issuers]...)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "issuers up", func() bool {
		for _, h := range hosts[:issuers] {
			if !client.IsUp(h.ID()) {
				return false
			}
		}
		return true
	})
	return f, hosts[:issuers], client
}

func newTestTokenizer(t testing.TB, f *federation, h *Host, opts ...TokenizerOption) *Tokenizer {
	t.Helper()
	// Generous: no test waits for this timeout, and a loaded machine under
	// the race detector can take seconds to evaluate a batch.
	tok, err := NewTokenizer(h, f.roster, testInputs, append([]TokenizerOption{WithRequestTimeout(10 * time.Second)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Tokens obtained from 2 of 3 issuers over the network are the tokens the
// whole key computes in process, for one batch and for several.
func TestTokensOverNetworkMatchInProcess(t *testing.T) {
	var audit batchLog
	f, _, client := tokenFederation(t, 2, 3, IssuerConfig{OnBatch: audit.add})
	tok := newTestTokenizer(t, f, client, WithSpareIssuers(0))
	for _, n := range []int{1, 30, 70} {
		exprs := sampleExprs(n)
		got, rep, err := tok.TokenizeReport(context.Background(), issuance.UseLookup, exprs)
		if err != nil {
			t.Fatalf("%d expressions: %v", n, err)
		}
		if len(rep.Failed) != 0 || len(rep.Unanswered) != 0 || (n <= fedtoken.BatchSize && len(rep.Used) != 2) {
			t.Errorf("%d expressions: report %+v, want 2 used and no failure", n, rep)
		}
		want := f.inProcess(t, exprs)
		if len(got) != len(want) {
			t.Fatalf("%d tokens, want %d", len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%d expressions: token %d differs from the in-process token", n, i)
			}
		}
	}
	// 1 + 1 + 3 padded batches, each asked of two issuers.
	batches := audit.all()
	if len(batches) != 5*2 {
		t.Errorf("issuers reported %d batches, want 10", len(batches))
	}
	for _, b := range batches {
		if b.Peer != client.ID() || b.Use != issuance.UseLookup || b.Count != fedtoken.BatchSize || b.Refused != "" || b.Time.IsZero() {
			t.Errorf("batch report %+v", b)
		}
	}
}

// With 2 of 4 issuers needed, one down and one whose proof is corrupted in
// transit, tokens still come, and the report names both. Issuer 4 answers
// only well after the corrupted answer is sent, so that it is seen before
// enough valid answers are in (the client stops listening then).
func TestToleratesDownAndCorruptIssuers(t *testing.T) {
	f, issuers, client := tokenFederation(t, 2, 4, IssuerConfig{})
	sent := make(chan struct{})
	corruptProofs(t, f, issuers[1], 1, func() { close(sent) })
	serveTokens(t, f, issuers[3], 3, IssuerConfig{OnBatch: func(Batch) {
		<-sent
		time.Sleep(200 * time.Millisecond)
	}})
	issuers[0].Close()
	waitFor(t, 5*time.Second, "issuer 1 down", func() bool { return !client.IsUp(issuers[0].ID()) })

	tok := newTestTokenizer(t, f, client, WithSpareIssuers(2)) // ask all four
	exprs := sampleExprs(5)
	got, rep, err := tok.TokenizeReport(context.Background(), issuance.UseAssert, exprs)
	if err != nil {
		t.Fatal(err)
	}
	want := f.inProcess(t, exprs)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("token %d differs", i)
		}
	}
	if len(rep.Used) != 2 || rep.Used[0] != 3 || rep.Used[1] != 4 {
		t.Errorf("used %v, want [3 4]", rep.Used)
	}
	checkFailures(t, rep, map[fedtoken.ShareIndex]error{1: nil, 2: fedtoken.ErrBadProof})
	if rep.Failed[0].Peer != issuers[0].ID() || rep.Failed[1].Peer != issuers[1].ID() {
		t.Errorf("failures name peers %s and %s", rep.Failed[0].Peer, rep.Failed[1].Peer)
	}
	t.Logf("tolerated: %v", rep.Err())
}

// corruptProofs serves tokens on h with member i's true share but flips a
// bit of every proof, as a faulty issuer or a broken middlebox would, then
// calls sent.
func corruptProofs(t testing.TB, f *federation, h *Host, i int, sent func()) {
	t.Helper()
	is, err := fedtoken.NewIssuer(f.shares[i])
	if err != nil {
		t.Fatal(err)
	}
	h.Handle(TokenProtocol, func(_ context.Context, s network.Stream) {
		defer s.Close()
		req, err := readRequest(s)
		if err != nil {
			t.Error(err)
			return
		}
		evals, proof, err := is.Evaluate(req.Blinded)
		if err != nil {
			t.Error(err)
			return
		}
		proof[0] ^= 1
		resp := &issuance.Response{BatchID: req.BatchID, Index: is.Index(), Evaluated: evals, Proof: proof}
		if err := WriteFrame(s, encode(t, resp), issuance.MaxMessageSize); err != nil {
			t.Error(err)
		}
		sent()
	})
}

// The client returns as soon as the threshold of valid answers is in; a
// slow spare is cancelled and listed as unanswered. The slow issuer is
// held until the client has returned, so a client that waited for it
// would time out on it and list it as failed instead.
func TestDoesNotWaitForSlowSpare(t *testing.T) {
	f, issuers, client := tokenFederation(t, 2, 3, IssuerConfig{})
	release := make(chan struct{})
	serveTokens(t, f, issuers[2], 2, IssuerConfig{OnBatch: func(Batch) { <-release }})
	tok := newTestTokenizer(t, f, client) // asks all three: threshold plus one spare
	_, rep, err := tok.TokenizeReport(context.Background(), issuance.UseLookup, sampleExprs(3))
	close(release)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Unanswered) != 1 || rep.Unanswered[0] != 3 || len(rep.Failed) != 0 {
		t.Errorf("report: used %v, unanswered %v, failed %v", rep.Used, rep.Unanswered, rep.Err())
	}
}

// When the first issuer asked lies, the client asks the next ones: 1 of 3
// needed, two liars, no spare; whichever is asked first, tokens come from
// the honest issuer.
func TestAsksMoreIssuersAfterBadAnswers(t *testing.T) {
	f, issuers, client := tokenFederation(t, 1, 3, IssuerConfig{})
	lie(t, issuers[0], 1)
	lie(t, issuers[1], 2)
	tok := newTestTokenizer(t, f, client, WithSpareIssuers(0))
	exprs := sampleExprs(2)
	want := f.inProcess(t, exprs)
	for range 4 {
		got, rep, err := tok.TokenizeReport(context.Background(), issuance.UseLookup, exprs)
		if err != nil {
			t.Fatal(err)
		}
		if got[0] != want[0] || got[1] != want[1] || len(rep.Used) != 1 || rep.Used[0] != 3 {
			t.Fatalf("used %v, tokens match %v", rep.Used, got[0] == want[0])
		}
		for _, fl := range rep.Failed {
			if !errors.Is(fl, fedtoken.ErrBadProof) {
				t.Errorf("failure %v", fl)
			}
		}
	}
}

// With 2 of 3, one down and one lying leave one valid answer: the error
// says so and names both culprits.
func TestNotEnoughIssuersNamesThem(t *testing.T) {
	f, issuers, client := tokenFederation(t, 2, 3, IssuerConfig{})
	lie(t, issuers[1], 2)
	issuers[0].Close()
	tok := newTestTokenizer(t, f, client)
	_, rep, err := tok.TokenizeReport(context.Background(), issuance.UseLookup, sampleExprs(3))
	if !errors.Is(err, fedtoken.ErrNotEnoughIssuers) || !errors.Is(err, fedtoken.ErrBadProof) {
		t.Fatalf("error %v, want ErrNotEnoughIssuers and ErrBadProof", err)
	}
	for _, who := range []string{"issuer 1 (AT/svc", "issuer 2 (AU/svc"} {
		if !strings.Contains(err.Error(), who) {
			t.Errorf("error does not name %q:\n%v", who, err)
		}
	}
	checkFailures(t, rep, map[fedtoken.ShareIndex]error{1: nil, 2: fedtoken.ErrBadProof})
	t.Logf("error: %v", err)
}

// lie replaces h's token service with one that evaluates under a random
// key while claiming share index idx: a misconfigured or malicious issuer.
func lie(t testing.TB, h *Host, idx fedtoken.ShareIndex) {
	t.Helper()
	_, shares, err := fedtoken.Deal(rand.Reader, 1, int(idx))
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := fedtoken.NewIssuer(shares[idx-1])
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewTokenServer(IssuerConfig{Federation: testFederation, Issuer: wrong})
	if err != nil {
		t.Fatal(err)
	}
	h.Handle(TokenProtocol, srv.ServeStream)
}

// checkFailures wants exactly the listed issuers failed, each wrapping the
// given error (nil: any error).
func checkFailures(t *testing.T, rep *Report, want map[fedtoken.ShareIndex]error) {
	t.Helper()
	if len(rep.Failed) != len(want) {
		t.Fatalf("failures %v (used %v, unanswered %v), want issuers %v", rep.Err(), rep.Used, rep.Unanswered, want)
	}
	for _, f := range rep.Failed {
		w, ok := want[f.Index]
		if !ok || (w != nil && !errors.Is(f, w)) {
			t.Errorf("issuer %d failed with %v, want %v", f.Index, f.Err, w)
		}
	}
}

// A member past its daily budget is refused with rate_limited, reported to
// the audit log, and served again the next UTC day.
func TestRateLimitRefusal(t *testing.T) {
	var audit batchLog
	day := time.Date(2026, 11, 3, 23, 0, 0, 0, time.UTC)
	var clock sync.Mutex
	now := func() time.Time { clock.Lock(); defer clock.Unlock(); return day }
	f, _, client := tokenFederation(t, 1, 1, IssuerConfig{DailyLimit: 2 * fedtoken.BatchSize, OnBatch: audit.add, Now: now})
	tok := newTestTokenizer(t, f, client)
	ctx := context.Background()
	for i := range 2 {
		if _, err := tok.Tokenize(ctx, issuance.UseLookup, sampleExprs(1)); err != nil {
			t.Fatalf("batch %d within budget: %v", i, err)
		}
	}
	_, rep, err := tok.TokenizeReport(ctx, issuance.UseLookup, sampleExprs(1))
	var refusal *issuance.Refusal
	if !errors.As(err, &refusal) || refusal.Code != issuance.CodeRateLimited {
		t.Fatalf("third batch: %v, want a rate_limited refusal", err)
	}
	if len(rep.Failed) != 1 || rep.Failed[0].Index != 1 {
		t.Errorf("report %v", rep.Err())
	}
	last := audit.all()[2]
	if last.Refused != issuance.CodeRateLimited || last.Count != 0 || last.Peer != client.ID() {
		t.Errorf("audit of the refused batch: %+v", last)
	}
	clock.Lock()
	day = day.Add(2 * time.Hour) // 01:00 the next day
	clock.Unlock()
	if _, err := tok.Tokenize(ctx, issuance.UseLookup, sampleExprs(1)); err != nil {
		t.Errorf("next day: %v", err)
	}
}

// Hostile or broken requests get a refusal (or a reset) and never stop the
// issuer from serving the next member.
func TestGarbageRequestsDoNotHarmServer(t *testing.T) {
	var audit batchLog
	f, issuers, client := tokenFederation(t, 1, 1, IssuerConfig{OnBatch: audit.add})
	srv := issuers[0].ID()
	valid := validRequest(t, f)
	otherFed := *valid
	otherFed.FederationID = "another-federation"
	badPoints := *valid
	badPoints.Blinded = append([][]byte(nil), valid.Blinded...)
	badPoints.Blinded[7] = bytes.Repeat([]byte{0xff}, issuance.ElementSize) // not a ristretto255 encoding
	resp := &issuance.Response{Index: 1, Evaluated: valid.Blinded, Proof: make([]byte, issuance.ProofSize)}

	cases := []struct {
		name string
		send []byte
		want issuance.ErrorCode // "" means a reset or plain close is fine too
	}{
		{"oversized frame", varintOf(issuance.MaxMessageSize + 1), issuance.CodeBadRequest},
		{"huge declared length", varintOf(1 << 40), issuance.CodeBadRequest},
		{"overlong varint", bytes.Repeat([]byte{0xff}, 12), issuance.CodeBadRequest},
		{"not minimal varint", []byte{0x80, 0x00}, issuance.CodeBadRequest},
		{"garbage payload", frame(bytes.Repeat([]byte{0xa5}, 300)), issuance.CodeBadRequest},
		{"truncated frame", varintOf(100), issuance.CodeBadRequest},
		{"empty stream", nil, issuance.CodeBadRequest},
		{"a response, not a request", frame(encode(t, resp)), issuance.CodeBadRequest},
		{"another federation", frame(encode(t, &otherFed)), issuance.CodeNotIssuer},
		{"invalid points", frame(rawEncodeRequest(t, &badPoints)), issuance.CodeBadRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code := rawExchange(t, client, srv, c.send, true)
			if code != c.want {
				t.Errorf("answer %q, want %q", code, c.want)
			}
		})
	}
	tok := newTestTokenizer(t, f, client)
	got, err := tok.Tokenize(context.Background(), issuance.UseLookup, sampleExprs(2))
	if err != nil {
		t.Fatalf("the issuer stopped serving: %v", err)
	}
	if want := f.inProcess(t, sampleExprs(2)); got[0] != want[0] || got[1] != want[1] {
		t.Error("wrong tokens after the garbage")
	}
	for _, b := range audit.all() {
		if b.Refused == "" && b.Count != fedtoken.BatchSize {
			t.Errorf("audit %+v", b)
		}
	}
}

// A client that opens a stream and says nothing is cut off when the
// issuer's deadline passes (well before the client's own), and the issuer
// goes on serving.
func TestSilentClientIsCutOff(t *testing.T) {
	f, issuers, client := tokenFederation(t, 1, 1, IssuerConfig{Timeout: 300 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	s, err := client.NewStream(ctx, issuers[0].ID(), TokenProtocol)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Reset()
	s.SetDeadline(time.Now().Add(30 * time.Second))
	s.Write([]byte{0x20}) // a length prefix, so that the issuer's handler runs
	// The issuer either resets the stream or, if its write still goes
	// through, says bad_request; either way before our own deadline.
	msg, err := ReadFrame(s, issuance.MaxMessageSize)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		t.Error("the issuer held the stream open")
	case err == nil:
		if m, err := issuance.Decode(msg); err != nil || m.(*issuance.Refusal).Code != issuance.CodeBadRequest {
			t.Errorf("the issuer answered %v, %v", m, err)
		}
	}
	// The short deadline applies to every request here, so on a loaded
	// machine one attempt may miss it; the issuer must serve again soon.
	tok := newTestTokenizer(t, f, client)
	waitFor(t, 10*time.Second, "the issuer to serve again", func() bool {
		_, err := tok.Tokenize(context.Background(), issuance.UseLookup, sampleExprs(1))
		return err == nil
	})
}

// rawExchange writes raw bytes on a token stream, optionally half-closes,
// and returns the refusal code read back ("" if none).
func rawExchange(t *testing.T, from *Host, to peer.ID, send []byte, closeWrite bool) issuance.ErrorCode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	s, err := from.NewStream(ctx, to, TokenProtocol)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.SetDeadline(time.Now().Add(3 * time.Second))
	if len(send) > 0 {
		if _, err := s.Write(send); err != nil {
			t.Fatal(err)
		}
	}
	if closeWrite {
		s.CloseWrite()
	}
	msg, err := ReadFrame(s, issuance.MaxMessageSize)
	if err != nil {
		return ""
	}
	m, err := issuance.Decode(msg)
	if err != nil {
		t.Fatalf("the issuer answered garbage: %v", err)
	}
	r, ok := m.(*issuance.Refusal)
	if !ok {
		t.Fatalf("the issuer answered %T", m)
	}
	return r.Code
}

func validRequest(t testing.TB, f *federation) *issuance.Request {
	t.Helper()
	c, err := fedtoken.NewClient(testFederation, f.group)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := testInputs(sampleExprs(1))
	_, blinded, err := c.Blind(rand.Reader, in)
	if err != nil {
		t.Fatal(err)
	}
	return &issuance.Request{FederationID: testFederation, Use: issuance.UseLookup, Blinded: blinded}
}

func encode(t testing.TB, m issuance.Message) []byte {
	t.Helper()
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawEncodeRequest encodes a request whose elements are the right size but
// not valid points (Encode checks sizes only, which is the point).
func rawEncodeRequest(t testing.TB, r *issuance.Request) []byte { return encode(t, r) }

func frame(b []byte) []byte {
	var buf bytes.Buffer
	if err := WriteFrame(&buf, b, len(b)); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func varintOf(n uint64) []byte {
	var out []byte
	for n >= 0x80 {
		out = append(out, byte(n)|0x80)
		n >>= 7
	}
	return append(out, byte(n))
}

// One member cannot hold more than TokenStreamsPerMember issuer streams at
// once: the resource manager resets the next one, and the issuer serves
// again once the member lets go.
func TestTokenStreamsPerMemberAreBounded(t *testing.T) {
	// The client's own outbound limit would stop it first; raise it to
	// see the issuer's inbound limit at work.
	f, issuers, client := tokenFederation(t, 1, 1, IssuerConfig{}, WithLimits(Limits{TokenStreamsPerMember: 16}))
	srv := issuers[0].ID()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var held []network.Stream
	for range 4 { // the default limit
		s, err := client.NewStream(ctx, srv, TokenProtocol)
		if err != nil {
			t.Fatal(err)
		}
		s.Write([]byte{0x10}) // a length prefix, then nothing: the handler waits
		held = append(held, s)
	}
	waitFor(t, 3*time.Second, "the issuer to hold four token streams", func() bool {
		n := 0
		issuers[0].rm.ViewProtocol(TokenProtocol, func(s network.ProtocolScope) error {
			n = s.Stat().NumStreamsInbound
			return nil
		})
		return n == 4
	})
	s, err := client.NewStream(ctx, srv, TokenProtocol)
	if err != nil {
		t.Fatal(err)
	}
	s.SetDeadline(time.Now().Add(3 * time.Second))
	s.Write(frame(encode(t, validRequest(t, f))))
	s.CloseWrite()
	if _, err = ReadFrame(s, issuance.MaxMessageSize); err == nil {
		t.Error("a fifth concurrent token stream was served")
	}
	t.Logf("fifth stream: %v", err)
	s.Reset()
	for _, s := range held {
		s.Reset()
	}
	tok := newTestTokenizer(t, f, client)
	waitFor(t, 3*time.Second, "the issuer to serve again", func() bool {
		_, err := tok.Tokenize(ctx, issuance.UseLookup, sampleExprs(1))
		return err == nil
	})
}

// The node's policy hook can refuse a member; the refusal is audited.
func TestAuthorizeRefusal(t *testing.T) {
	var audit batchLog
	deny := errors.New("witness-only members do not tokenise")
	f, _, client := tokenFederation(t, 1, 1, IssuerConfig{
		OnBatch:   audit.add,
		Authorize: func(peer.ID, issuance.Use) error { return deny },
	})
	_, err := newTestTokenizer(t, f, client).Tokenize(context.Background(), issuance.UseLookup, sampleExprs(1))
	var refusal *issuance.Refusal
	if !errors.As(err, &refusal) || refusal.Code != issuance.CodeForbidden || !strings.Contains(refusal.Message, deny.Error()) {
		t.Fatalf("got %v, want a forbidden refusal", err)
	}
	if b := audit.all(); len(b) != 1 || b[0].Refused != issuance.CodeForbidden || b[0].Use != issuance.UseLookup {
		t.Errorf("audit %+v", b)
	}
}

// A caller that gives up gets its context's error.
func TestTokenizeHonoursContext(t *testing.T) {
	f, _, client := tokenFederation(t, 1, 1, IssuerConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := newTestTokenizer(t, f, client).Tokenize(ctx, issuance.UseLookup, sampleExprs(1))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

// An issuer's own node evaluates with its share in-process: with 2 of 3
// needed and only one other issuer reachable, it still gets tokens. A
// share that is not the roster's is refused when the tokenizer is built.
func TestLocalIssuer(t *testing.T) {
	f := newFederation(t, 3, 2, 3)
	hosts := f.startMembers(t, []int{0, 1}, tcpOnly) // issuer 3 never starts
	serveTokens(t, f, hosts[1], 1, IssuerConfig{})
	if err := hosts[0].SetPeerAddrs(addrsOf(hosts[1])); err != nil {
		t.Fatal(err)
	}
	own, err := fedtoken.NewIssuer(f.shares[0])
	if err != nil {
		t.Fatal(err)
	}
	tok := newTestTokenizer(t, f, hosts[0], WithLocalIssuer(own), WithSpareIssuers(0))
	exprs := sampleExprs(4)
	got, rep, err := tok.TokenizeReport(context.Background(), issuance.UseAssert, exprs)
	if err != nil {
		t.Fatal(err)
	}
	if want := f.inProcess(t, exprs); got[3] != want[3] || len(rep.Used) != 2 || rep.Used[0] != 1 {
		t.Errorf("used %v; tokens match: %v", rep.Used, got[3] == want[3])
	}
	other, _ := fedtoken.NewIssuer(f.shares[1])
	if _, err := NewTokenizer(hosts[0], f.roster, testInputs, WithLocalIssuer(other)); err != nil {
		t.Errorf("another issuer's true share: %v", err)
	}
	_, wrong, _ := fedtoken.Deal(rand.Reader, 1, 1)
	bad, _ := fedtoken.NewIssuer(wrong[0])
	if _, err := NewTokenizer(hosts[0], f.roster, testInputs, WithLocalIssuer(bad)); err == nil {
		t.Error("accepted a local share that is not in the roster")
	}
	hosts[1].Close()
	if _, err := hosts[1].NewStream(context.Background(), hosts[0].ID(), TokenProtocol); !errors.Is(err, ErrClosed) {
		t.Errorf("NewStream on a closed host: %v", err)
	}
}
