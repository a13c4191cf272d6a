package p2p

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/sirupsen/logrus"

	"github.com/vigie-project/vigie/crypto/fedtoken"
	"github.com/vigie-project/vigie/protocol/issuance"
	"github.com/vigie-project/vigie/protocol/record"
)

// InputFunc turns lookup expressions into token inputs (the node assigns
// each expression's kind byte).
type InputFunc func(exprs []string) ([]fedtoken.Input, error)

// Tokenizer obtains federation tokens from the roster's issuers over
// TokenProtocol. It implements the node's Tokenizer interface. Build a new
// one when a new roster is adopted. It is safe for concurrent use.
type Tokenizer struct {
	host       *Host
	federation string
	client     *fedtoken.Client
	issuers    []issuerPeer // by share index
	inputs     InputFunc
	cfg        tokenizerConfig
}

// issuerPeer is one issuer of the roster.
type issuerPeer struct {
	index  fedtoken.ShareIndex
	peer   peer.ID
	agency record.Agency
}

// TokenizerOption configures NewTokenizer.
type TokenizerOption func(*tokenizerConfig)

type tokenizerConfig struct {
	spare   int
	timeout time.Duration
	local   *fedtoken.Issuer
	rand    io.Reader
	log     *logrus.Entry
}

// WithSpareIssuers asks n issuers beyond the threshold in the first round
// (default 1), so that one issuer down or misbehaving costs no second
// round trip. Each extra issuer asked spends its budget and sees one more
// (blinded) batch, so keep it small.
func WithSpareIssuers(n int) TokenizerOption {
	return func(c *tokenizerConfig) { c.spare = max(n, 0) }
}

// WithRequestTimeout bounds one issuer's answer (default
// DefaultTokenTimeout), dial included.
func WithRequestTimeout(d time.Duration) TokenizerOption {
	return func(c *tokenizerConfig) { c.timeout = d }
}

// WithLocalIssuer evaluates with this node's own share in-process: an
// issuer cannot dial itself, and need not.
func WithLocalIssuer(is *fedtoken.Issuer) TokenizerOption {
	return func(c *tokenizerConfig) { c.local = is }
}

// WithRandom sets the blinding randomness and batch ids (default
// crypto/rand). The reader must be safe for concurrent use if Tokenize is
// called concurrently.
func WithRandom(r io.Reader) TokenizerOption {
	return func(c *tokenizerConfig) { c.rand = r }
}

// WithTokenizerLogger sends the tokenizer's logs (issuers that failed but
// were tolerated) to l.
func WithTokenizerLogger(l *logrus.Entry) TokenizerOption {
	return func(c *tokenizerConfig) { c.log = l }
}

// NewTokenizer reads the issuers and the OPRF group key from roster (which
// the node has verified) and returns a tokenizer that asks them through h.
func NewTokenizer(h *Host, roster *record.Roster, inputs InputFunc, opts ...TokenizerOption) (*Tokenizer, error) {
	if inputs == nil {
		return nil, errors.New("p2p: tokenizer needs an input function")
	}
	cfg := tokenizerConfig{spare: 1, timeout: DefaultTokenTimeout, rand: rand.Reader}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.log == nil {
		cfg.log = h.log
	}
	issuers, group, err := issuersOf(roster)
	if err != nil {
		return nil, err
	}
	client, err := fedtoken.NewClient(roster.Federation, group)
	if err != nil {
		return nil, fmt.Errorf("p2p: roster's OPRF key: %w", err)
	}
	if err := checkLocal(cfg.local, group); err != nil {
		return nil, err
	}
	return &Tokenizer{host: h, federation: roster.Federation, client: client, issuers: issuers, inputs: inputs, cfg: cfg}, nil
}

// checkLocal makes sure a local share is the one the roster publishes, so
// a wrong issuer.share file fails here rather than as a bad proof on every
// look-up.
func checkLocal(local *fedtoken.Issuer, g fedtoken.GroupKey) error {
	if local == nil {
		return nil
	}
	i := int(local.Index()) - 1
	if i < 0 || i >= len(g.Shares) || !bytes.Equal(local.PublicKey(), g.Shares[i].Public) {
		return fmt.Errorf("p2p: local issuer share %d does not match the roster", local.Index())
	}
	return nil
}

// issuersOf lists the roster's issuers by share index and builds the group
// key from their share keys.
func issuersOf(r *record.Roster) ([]issuerPeer, fedtoken.GroupKey, error) {
	g, err := r.GroupKey()
	if err != nil {
		return nil, g, fmt.Errorf("p2p: %w", err)
	}
	var issuers []issuerPeer
	for _, m := range r.Members {
		if !slices.Contains(m.Roles, record.RoleIssuer) {
			continue
		}
		id, err := peer.Decode(m.PeerID)
		if err != nil {
			return nil, g, fmt.Errorf("p2p: roster issuer %s: peer id: %w", m.Agency, err)
		}
		idx := fedtoken.ShareIndex(m.ShareIndex)
		issuers = append(issuers, issuerPeer{index: idx, peer: id, agency: m.Agency})
	}
	// Ask issuers in share-index order, as the group key lists them.
	slices.SortFunc(issuers, func(a, b issuerPeer) int { return cmp.Compare(a.index, b.index) })
	return issuers, g, nil
}

// Report says how a Tokenize call went with each issuer.
type Report struct {
	// Used are the issuers whose evaluations were combined.
	Used []fedtoken.ShareIndex
	// Failed are the issuers asked that contributed nothing: down,
	// refused, too slow, or answered with a bad proof.
	Failed []IssuerFailure
	// Unanswered are issuers still working on the batch when enough
	// others had answered; their requests were cancelled.
	Unanswered []fedtoken.ShareIndex
}

// Err joins the failures, or is nil if every issuer asked answered well.
func (r *Report) Err() error {
	errs := make([]error, len(r.Failed))
	for i, f := range r.Failed {
		errs[i] = f
	}
	return errors.Join(errs...)
}

// IssuerFailure names an issuer that failed and why.
type IssuerFailure struct {
	Index  fedtoken.ShareIndex
	Peer   peer.ID
	Agency record.Agency
	Err    error
}

func (f IssuerFailure) Error() string {
	return fmt.Sprintf("issuer %d (%s, %s): %v", f.Index, f.Agency, f.Peer, f.Err)
}

func (f IssuerFailure) Unwrap() error { return f.Err }

// Tokenize returns one token per expression, in order. Issuers that failed
// while enough others answered are logged, not returned; use
// TokenizeReport to see them.
func (t *Tokenizer) Tokenize(ctx context.Context, use issuance.Use, exprs []string) ([]fedtoken.Token, error) {
	tokens, rep, err := t.TokenizeReport(ctx, use, exprs)
	if err == nil && len(rep.Failed) > 0 {
		t.cfg.log.WithError(rep.Err()).Warn("p2p: some token issuers failed; enough others answered")
	}
	return tokens, err
}

// TokenizeReport is Tokenize with the per-issuer report. Expressions go in
// padded batches of fedtoken.BatchSize, one after another. When too few
// issuers answer, the error wraps fedtoken.ErrNotEnoughIssuers and every
// IssuerFailure.
func (t *Tokenizer) TokenizeReport(ctx context.Context, use issuance.Use, exprs []string) ([]fedtoken.Token, *Report, error) {
	if len(exprs) == 0 {
		return nil, &Report{}, nil
	}
	inputs, err := t.inputs(exprs)
	if err != nil {
		return nil, &Report{}, err
	}
	tokens := make([]fedtoken.Token, 0, len(inputs))
	rep := &Report{}
	for chunk := range slices.Chunk(inputs, fedtoken.BatchSize) {
		got, r, err := t.batch(ctx, use, chunk)
		rep.merge(r)
		if err != nil {
			return nil, rep, err
		}
		tokens = append(tokens, got...)
	}
	return tokens, rep, nil
}

// merge adds one batch's report: the issuers used or unanswered in any
// batch, and every failure.
func (r *Report) merge(o *Report) {
	r.Used = union(r.Used, o.Used)
	r.Unanswered = union(r.Unanswered, o.Unanswered)
	r.Failed = append(r.Failed, o.Failed...)
}

func union(a, b []fedtoken.ShareIndex) []fedtoken.ShareIndex {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

// batch tokenises one padded batch: blind once, ask the threshold plus
// the spares in parallel, return as soon as enough valid answers are in,
// and ask further issuers whenever failures leave too few in hand or in
// flight.
func (t *Tokenizer) batch(ctx context.Context, use issuance.Use, inputs []fedtoken.Input) ([]fedtoken.Token, *Report, error) {
	pending, blinded, err := t.client.Blind(t.cfg.rand, inputs)
	if err != nil {
		return nil, &Report{}, err
	}
	req := &issuance.Request{FederationID: t.federation, Use: use, Blinded: blinded}
	if _, err := io.ReadFull(t.cfg.rand, req.BatchID[:]); err != nil {
		return nil, &Report{}, fmt.Errorf("p2p: batch id: %w", err)
	}
	enc, err := req.Encode()
	if err != nil {
		return nil, &Report{}, err
	}
	c := &collector{t: t, pending: pending, req: req, enc: enc, order: t.order()}
	return c.run(ctx)
}

// firstRound is how many issuers the first round asks: the threshold, plus
// the spares when remote issuers are needed at all. Spares cover remote
// failures; a local share cannot fail that way, so a node holding a share
// of a 1-of-n key asks nobody else (and spends no peer's budget).
func (t *Tokenizer) firstRound() int {
	th := t.client.Threshold()
	if t.cfg.local != nil && th == 1 {
		return 1
	}
	return th + t.cfg.spare
}

// order lists issuers to ask: the local share first (free), then issuers
// that are up, then the rest; random within each group to spread the load.
func (t *Tokenizer) order() []issuerPeer {
	var local, up, rest []issuerPeer
	for _, is := range t.issuers {
		switch {
		case t.cfg.local != nil && is.index == t.cfg.local.Index():
			local = append(local, is)
		case t.host.IsUp(is.peer):
			up = append(up, is)
		default:
			rest = append(rest, is)
		}
	}
	mrand.Shuffle(len(up), func(i, j int) { up[i], up[j] = up[j], up[i] })
	mrand.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
	return slices.Concat(local, up, rest)
}

// collector gathers the answers to one batch.
type collector struct {
	t       *Tokenizer
	pending *fedtoken.Pending
	req     *issuance.Request
	enc     []byte
	order   []issuerPeer // issuers in the order to ask them

	next      int // order[next:] have not been asked
	inflight  map[fedtoken.ShareIndex]bool
	responses []fedtoken.Response
	valid     int // responses not known to be bad
	failed    []IssuerFailure
}

type answer struct {
	is   issuerPeer
	resp fedtoken.Response
	err  error
}

// run drives the batch to tokens or to the error naming every failure.
// Requests still in flight when enough valid answers are in are cancelled
// and listed as Unanswered.
func (c *collector) run(parent context.Context) ([]fedtoken.Token, *Report, error) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	out := make(chan answer, len(c.order)) // never blocks a cancelled asker
	c.inflight = make(map[fedtoken.ShareIndex]bool)
	c.launch(ctx, out, c.t.firstRound())
	var rep *fedtoken.Report
	for len(c.inflight) > 0 {
		c.take(<-out)
		if len(c.responses) < c.t.client.Threshold() {
			c.launch(ctx, out, c.t.client.Threshold()-c.valid-len(c.inflight))
			continue
		}
		var tokens []fedtoken.Token
		var err error
		tokens, rep, err = c.pending.Finalize(c.responses)
		if err == nil {
			return tokens, c.report(rep), nil
		}
		c.valid = len(rep.Valid)
		c.launch(ctx, out, c.t.client.Threshold()-c.valid-len(c.inflight))
	}
	if rep == nil {
		_, rep, _ = c.pending.Finalize(c.responses) // for the rejections
	}
	// The caller giving up explains everything else.
	return nil, c.report(rep), errors.Join(parent.Err(), c.notEnough(rep))
}

// launch asks up to n more issuers, in order.
func (c *collector) launch(ctx context.Context, out chan<- answer, n int) {
	for ; n > 0 && c.next < len(c.order) && ctx.Err() == nil; n-- {
		is := c.order[c.next]
		c.next++
		c.inflight[is.index] = true
		go func() {
			resp, err := c.t.ask(ctx, is, c.req, c.enc)
			out <- answer{is: is, resp: resp, err: err}
		}()
	}
}

func (c *collector) take(a answer) {
	delete(c.inflight, a.is.index)
	if a.err != nil {
		c.failed = append(c.failed, c.t.failure(a.is.index, a.err))
		return
	}
	c.responses = append(c.responses, a.resp)
	c.valid++
}

// notEnough is the error of a failed batch: the threshold, then every
// issuer asked that failed.
func (c *collector) notEnough(rep *fedtoken.Report) error {
	r := c.report(rep)
	head := fmt.Errorf("%w: %d valid of %d needed from %d issuers asked",
		fedtoken.ErrNotEnoughIssuers, len(rep.Valid), c.t.client.Threshold(), c.next)
	errs := []error{head}
	for _, f := range r.Failed {
		errs = append(errs, f)
	}
	return errors.Join(errs...)
}

// report merges transport failures with the rejections Finalize found.
func (c *collector) report(rep *fedtoken.Report) *Report {
	r := &Report{Failed: slices.Clone(c.failed)}
	for idx := range c.inflight {
		r.Unanswered = append(r.Unanswered, idx)
	}
	slices.Sort(r.Unanswered)
	if rep == nil {
		return r
	}
	r.Used = slices.Clone(rep.Used)
	for _, rej := range rep.Rejected {
		r.Failed = append(r.Failed, c.t.failure(rej.Index, rej.Err))
	}
	slices.SortStableFunc(r.Failed, func(a, b IssuerFailure) int { return cmp.Compare(a.Index, b.Index) })
	return r
}

func (t *Tokenizer) failure(idx fedtoken.ShareIndex, err error) IssuerFailure {
	f := IssuerFailure{Index: idx, Err: err}
	if i, ok := slices.BinarySearchFunc(t.issuers, idx, func(is issuerPeer, x fedtoken.ShareIndex) int { return cmp.Compare(is.index, x) }); ok {
		f.Peer, f.Agency = t.issuers[i].peer, t.issuers[i].agency
	}
	return f
}

// ask gets one issuer's evaluation of the batch.
func (t *Tokenizer) ask(ctx context.Context, is issuerPeer, req *issuance.Request, enc []byte) (fedtoken.Response, error) {
	if t.cfg.local != nil && is.index == t.cfg.local.Index() {
		evals, proof, err := t.cfg.local.Evaluate(req.Blinded)
		return fedtoken.Response{Index: is.index, Evaluated: evals, Proof: proof}, err
	}
	if is.peer == t.host.ID() {
		return fedtoken.Response{}, errors.New("this node's own share is not loaded (WithLocalIssuer)")
	}
	ctx, cancel := context.WithTimeout(ctx, t.cfg.timeout)
	defer cancel()
	m, err := t.exchange(ctx, is.peer, enc)
	if err != nil {
		return fedtoken.Response{}, err
	}
	switch m := m.(type) {
	case *issuance.Response:
		if m.BatchID != req.BatchID || m.Index != is.index {
			return fedtoken.Response{}, fmt.Errorf("answered batch %x as share %d, asked batch %x of share %d", m.BatchID, m.Index, req.BatchID, is.index)
		}
		return m.ForClient(), nil
	case *issuance.Refusal:
		return fedtoken.Response{}, m
	}
	return fedtoken.Response{}, fmt.Errorf("unexpected %T", m)
}

// exchange sends one request frame and reads one answer frame.
func (t *Tokenizer) exchange(ctx context.Context, p peer.ID, enc []byte) (issuance.Message, error) {
	s, err := t.host.NewStream(ctx, p, TokenProtocol)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		if err := s.SetDeadline(dl); err != nil {
			s.Reset()
			return nil, err
		}
	}
	m, err := requestReply(s, enc)
	if err != nil {
		s.Reset()
		return nil, err
	}
	// The answer is in; a failure to close now changes nothing for it.
	_ = s.Close()
	return m, nil
}

// requestReply writes the request, half-closes so the issuer sees the end
// of it, and reads the one answer.
func requestReply(s network.Stream, enc []byte) (issuance.Message, error) {
	if err := WriteFrame(s, enc, issuance.MaxMessageSize); err != nil {
		return nil, err
	}
	// The issuer may answer and close its side before our CloseWrite
	// lands, which cancels our write side: its answer is what counts.
	_ = s.CloseWrite()
	msg, err := ReadFrame(s, issuance.MaxMessageSize)
	if err != nil {
		return nil, err
	}
	return issuance.Decode(msg)
}
