package p2p

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/sirupsen/logrus"

	"github.com/vigie-project/vigie/crypto/fedtoken"
	"github.com/vigie-project/vigie/protocol/issuance"
)

// TokenProtocol carries federation-token issuance: one stream per batch,
// the client writes one issuance.Request frame and half-closes, the issuer
// answers one issuance.Response or issuance.Refusal frame and closes.
// Frames are at most issuance.MaxMessageSize bytes.
const TokenProtocol protocol.ID = "/vigie/token/1.0.0"

// DefaultTokenTimeout bounds one issuance exchange on either side. An
// evaluation takes about 10 ms; the rest is for slow links.
const DefaultTokenTimeout = 10 * time.Second

// Batch is what an issuer reports about each batch it was asked for, for
// the audit log. It never holds the blinded elements (they are random to
// the issuer, and logging them would only help an attacker who later
// obtains a client's blinds).
type Batch struct {
	Peer    peer.ID
	BatchID [issuance.BatchIDSize]byte // zero if the request did not decode
	Use     issuance.Use               // empty if the request did not decode
	// Count is the evaluations performed and charged: fedtoken.BatchSize
	// for an answered batch, 0 for a refused one.
	Count int
	Time  time.Time
	// Refused is why the batch was refused; empty if it was answered.
	Refused issuance.ErrorCode
}

// IssuerConfig configures a TokenServer.
type IssuerConfig struct {
	// Federation is the federation whose key share Issuer holds; requests
	// for any other are refused as not_issuer.
	Federation string
	Issuer     *fedtoken.Issuer
	// DailyLimit is the evaluations one member may have per UTC day
	// (default DefaultDailyLimit).
	DailyLimit int
	// OnBatch receives every batch, answered or refused, for the audit
	// log. It is called on the handler's goroutine before the answer is
	// sent, so an audit log that must record before answering can; it
	// should not block for long.
	OnBatch func(Batch)
	// Authorize, if set, may refuse a member (for instance one whose role
	// does not allow tokenising); a non-nil error refuses as forbidden.
	Authorize func(p peer.ID, use issuance.Use) error
	// Now is the clock of the daily limit and of Batch.Time (default
	// time.Now). Stream deadlines always use the real clock.
	Now func() time.Time
	// Timeout bounds one exchange (default DefaultTokenTimeout).
	Timeout time.Duration
	Logger  *logrus.Entry
}

// TokenServer answers token requests with one key share. Register it with
// Host.Handle(TokenProtocol, server.ServeStream).
type TokenServer struct {
	cfg   IssuerConfig
	limit *dailyLimiter
}

// NewTokenServer checks cfg and returns the server.
func NewTokenServer(cfg IssuerConfig) (*TokenServer, error) {
	if cfg.Issuer == nil {
		return nil, errors.New("p2p: token server needs an issuer share")
	}
	if cfg.Federation == "" {
		return nil, errors.New("p2p: token server needs a federation id")
	}
	if cfg.DailyLimit <= 0 {
		cfg.DailyLimit = DefaultDailyLimit
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTokenTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	return &TokenServer{cfg: cfg, limit: newDailyLimiter(cfg.DailyLimit)}, nil
}

// ServeStream handles one request. Every outcome is reported to OnBatch;
// a request that cannot be read at all is refused as bad_request, and the
// stream is always closed or reset before returning.
func (t *TokenServer) ServeStream(_ context.Context, s network.Stream) {
	from := s.Conn().RemotePeer()
	if err := s.SetDeadline(time.Now().Add(t.cfg.Timeout)); err != nil {
		s.Reset()
		return
	}
	req, err := readRequest(s)
	if err != nil {
		t.refuse(s, Batch{Peer: from}, issuance.CodeBadRequest, err)
		return
	}
	b := Batch{Peer: from, BatchID: req.BatchID, Use: req.Use}
	resp, code, err := t.answer(from, req)
	if err != nil {
		t.refuse(s, b, code, err)
		return
	}
	b.Count, b.Time = fedtoken.BatchSize, t.cfg.Now()
	t.report(b)
	t.send(s, resp)
}

// readRequest reads the one frame of a request; anything but a Request
// (another message type, trailing garbage, an oversized frame) is an error.
func readRequest(s network.Stream) (*issuance.Request, error) {
	msg, err := ReadFrame(s, issuance.MaxMessageSize)
	if err != nil {
		return nil, err
	}
	m, err := issuance.Decode(msg)
	if err != nil {
		return nil, err
	}
	req, ok := m.(*issuance.Request)
	if !ok {
		return nil, fmt.Errorf("p2p: expected a token request, got %T", m)
	}
	return req, nil
}

// answer decides and evaluates; on refusal it returns the code to send.
func (t *TokenServer) answer(from peer.ID, req *issuance.Request) (*issuance.Response, issuance.ErrorCode, error) {
	if req.FederationID != t.cfg.Federation {
		return nil, issuance.CodeNotIssuer, fmt.Errorf("this node issues for %q only", t.cfg.Federation)
	}
	if t.cfg.Authorize != nil {
		if err := t.cfg.Authorize(from, req.Use); err != nil {
			return nil, issuance.CodeForbidden, err
		}
	}
	if ok, used := t.limit.take(from, fedtoken.BatchSize, t.cfg.Now()); !ok {
		return nil, issuance.CodeRateLimited, fmt.Errorf("daily budget of %d evaluations spent (%d used today, UTC)", t.cfg.DailyLimit, used)
	}
	evals, proof, err := t.cfg.Issuer.Evaluate(req.Blinded)
	if err != nil {
		// Charged anyway: decoding the elements is most of the work a
		// malformed batch costs.
		return nil, issuance.CodeBadRequest, err
	}
	return &issuance.Response{BatchID: req.BatchID, Index: t.cfg.Issuer.Index(), Evaluated: evals, Proof: proof}, "", nil
}

func (t *TokenServer) report(b Batch) {
	if t.cfg.OnBatch != nil {
		t.cfg.OnBatch(b)
	}
}

// refuse reports the batch, then tells the client why and closes. The
// message names the rule, never the request's content.
func (t *TokenServer) refuse(s network.Stream, b Batch, code issuance.ErrorCode, cause error) {
	b.Time, b.Refused = t.cfg.Now(), code
	t.report(b)
	t.cfg.Logger.WithFields(logrus.Fields{"peer": b.Peer.String(), "code": string(code)}).WithError(cause).Info("p2p: token batch refused")
	t.send(s, &issuance.Refusal{BatchID: b.BatchID, Code: code, Message: truncate(cause.Error(), issuance.MaxErrorMessageLen)})
}

// send writes one message and closes; on any failure it resets, so the
// stream is released either way.
func (t *TokenServer) send(s network.Stream, m issuance.Message) {
	msg, err := m.Encode()
	if err == nil {
		err = WriteFrame(s, msg, issuance.MaxMessageSize)
	}
	if err != nil {
		s.Reset()
		return
	}
	s.Close()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary so the message stays valid UTF-8 text.
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
