package witness

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/vigie-project/vigie/crypto/checkpoint"
	"github.com/vigie-project/vigie/crypto/merkle"
	"github.com/vigie-project/vigie/node/p2p"
)

// ProofFunc returns the consistency proof from the requester's tree of
// oldSize leaves to the checkpoint being witnessed (never called for
// oldSize 0 or the checkpoint's own size, whose proofs are empty).
type ProofFunc func(oldSize uint64) ([]merkle.Hash, error)

// Cosignature is one witness's answer: its signature lines on the
// checkpoint, verified against its keys if the client knows them.
type Cosignature struct {
	Witness    peer.ID
	Signatures []checkpoint.Signature
	// Verified reports whether Signatures were checked against the
	// witness's keys (WithWitnessKeys).
	Verified bool
}

// Refusal is a witness's answer other than 200.
type Refusal struct {
	Status int
	Reason string
	Size   uint64 // the witness's latest size (409)
}

func (r *Refusal) Error() string {
	if r.Status == StatusConflict {
		return fmt.Sprintf("witness refused (%d, holds size %d): %s", r.Status, r.Size, r.Reason)
	}
	return fmt.Sprintf("witness refused (%d): %s", r.Status, r.Reason)
}

// Failure names a witness that did not cosign, and why.
type Failure struct {
	Witness peer.ID
	Err     error
}

func (f Failure) Error() string { return f.Witness.String() + ": " + f.Err.Error() }
func (f Failure) Unwrap() error { return f.Err }

// Report says what each witness asked did.
type Report struct {
	Cosigned []peer.ID
	// Failed are the witnesses that refused or could not be reached.
	Failed []Failure
	// Cancelled were still being asked when the quorum was reached.
	Cancelled []peer.ID
}

// ErrNoQuorum means too few witnesses cosigned.
var ErrNoQuorum = errors.New("witness: no quorum")

// QuorumError is Collect's error when the quorum is not reached: it names
// every witness that failed and why.
type QuorumError struct {
	Need, Got int
	Failed    []Failure
}

func (e *QuorumError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "witness: no quorum: %d of %d cosignatures", e.Got, e.Need)
	for i, f := range e.Failed {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(f.Error())
	}
	return b.String()
}

func (e *QuorumError) Unwrap() error { return ErrNoQuorum }

// Client asks witnesses to cosign. It remembers, per witness and origin,
// the size the witness last cosigned, so that the next request carries
// the right old size and proof at the first attempt; without that (a new
// client, a witness that cosigned a request we gave up on) the witness's
// 409 answer tells the size and the client asks once more.
type Client struct {
	host    *p2p.Host
	keys    func(peer.ID) []checkpoint.Verifier
	timeout time.Duration

	mu    sync.Mutex
	sizes map[sizeKey]uint64
}

type sizeKey struct {
	witness peer.ID
	origin  string
}

// ClientOption configures a Client.
type ClientOption func(*Client)

// WithWitnessKeys gives each witness's cosignature keys: an answer counts
// only if it carries a valid cosignature by one of them and no invalid one.
// Without it, answers are checked for form only and Cosignature.Verified is
// false: the caller must verify them.
func WithWitnessKeys(f func(peer.ID) []checkpoint.Verifier) ClientOption {
	return func(c *Client) { c.keys = f }
}

// WithTimeout bounds one exchange with one witness (default 10 s).
func WithTimeout(d time.Duration) ClientOption {
	return func(c *Client) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// NewClient returns a client that talks over h.
func NewClient(h *p2p.Host, opts ...ClientOption) *Client {
	c := &Client{host: h, timeout: 10 * time.Second, sizes: make(map[sizeKey]uint64)}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Collect asks a fresh Client (see NewClient) to collect cosignatures.
func Collect(ctx context.Context, h *p2p.Host, witnesses []peer.ID, note []byte, proofFor ProofFunc, quorum int, opts ...ClientOption) ([]Cosignature, error) {
	return NewClient(h, opts...).Collect(ctx, witnesses, note, proofFor, quorum)
}

// Collect asks every witness in parallel to cosign the signed checkpoint
// note and returns as soon as quorum of them have; the requests still
// running are then cancelled and waited for (proofFor is never called
// after Collect returns). If the quorum cannot be reached, the error
// is a *QuorumError naming each witness that failed and why.
func (c *Client) Collect(ctx context.Context, witnesses []peer.ID, note []byte, proofFor ProofFunc, quorum int) ([]Cosignature, error) {
	sigs, _, err := c.CollectReport(ctx, witnesses, note, proofFor, quorum)
	return sigs, err
}

// CollectReport is Collect that also says what each witness did.
func (c *Client) CollectReport(ctx context.Context, witnesses []peer.ID, note []byte, proofFor ProofFunc, quorum int) ([]Cosignature, *Report, error) {
	rep := &Report{}
	parsed, err := checkpoint.ParseNote(note)
	if err != nil {
		return nil, rep, err
	}
	cp, err := checkpoint.ParseCheckpoint(parsed.Text)
	if err != nil {
		return nil, rep, err
	}
	if quorum <= 0 {
		return nil, rep, fmt.Errorf("witness: quorum %d", quorum)
	}
	seen := make(map[peer.ID]bool, len(witnesses))
	var unique []peer.ID
	for _, w := range witnesses {
		if !seen[w] {
			seen[w] = true
			unique = append(unique, w)
		}
	}
	if quorum > len(unique) {
		return nil, rep, &QuorumError{Need: quorum, Got: 0}
	}
	// Requests still in flight at the quorum are cancelled, and waited
	// for: proofFor is never called once Collect has returned.
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	type answer struct {
		w   peer.ID
		sig Cosignature
		err error
	}
	out := make(chan answer, len(unique))
	for _, w := range unique {
		wg.Go(func() {
			sig, err := c.ask(ctx, w, note, parsed.Text, cp, proofFor)
			out <- answer{w, sig, err}
		})
	}
	var sigs []Cosignature
	pending := make(map[peer.ID]bool, len(unique))
	for _, w := range unique {
		pending[w] = true
	}
	for len(pending) > 0 {
		a := <-out
		delete(pending, a.w)
		if a.err != nil {
			rep.Failed = append(rep.Failed, Failure{Witness: a.w, Err: a.err})
		} else {
			sigs = append(sigs, a.sig)
			rep.Cosigned = append(rep.Cosigned, a.w)
		}
		if len(sigs) >= quorum {
			for _, w := range unique {
				if pending[w] {
					rep.Cancelled = append(rep.Cancelled, w)
				}
			}
			return sigs, rep, nil
		}
		if len(sigs)+len(pending) < quorum {
			break
		}
	}
	return nil, rep, &QuorumError{Need: quorum, Got: len(sigs), Failed: rep.Failed}
}

// maxAttempts bounds the exchanges with one witness for one checkpoint:
// one at the old size we believe, one at the size a 409 tells, one more
// in case the witness moved meanwhile or a stream failed.
const maxAttempts = 3

// transportRetryDelay is the pause before asking again a witness whose
// stream failed.
const transportRetryDelay = 50 * time.Millisecond

// ask gets one witness's cosignature.
func (c *Client) ask(ctx context.Context, w peer.ID, note, body []byte, cp checkpoint.Checkpoint, proofFor ProofFunc) (Cosignature, error) {
	key := sizeKey{w, cp.Origin}
	c.mu.Lock()
	old, ok := c.sizes[key]
	c.mu.Unlock()
	if !ok || old > cp.Size {
		old = 0
	}
	var last error
	transportRetried := false
	for range maxAttempts {
		req := &Request{OldSize: old, Note: note}
		if old != 0 && old != cp.Size {
			if proofFor == nil {
				return Cosignature{}, fmt.Errorf("witness holds size %d and no proof function was given", old)
			}
			p, err := proofFor(old)
			if err != nil {
				return Cosignature{}, fmt.Errorf("consistency proof from size %d: %w", old, err)
			}
			req.Proof = p
		}
		resp, err := c.exchange(ctx, w, req)
		if err != nil {
			// A stream lost to a connection being replaced (both
			// sides dialing at once, a reconnection) is worth one
			// more try; a refusal is not.
			if ctx.Err() != nil || transportRetried {
				return Cosignature{}, err
			}
			transportRetried, last = true, err
			select {
			case <-ctx.Done():
				return Cosignature{}, ctxErr(ctx, err)
			case <-time.After(transportRetryDelay):
			}
			continue
		}
		switch resp.Status {
		case StatusOK:
			sig, err := c.check(w, body, resp.Cosignatures)
			if err != nil {
				return Cosignature{}, err
			}
			c.remember(key, cp.Size)
			return sig, nil
		case StatusConflict:
			last = &Refusal{Status: resp.Status, Reason: resp.Reason, Size: resp.Size}
			if resp.Size > cp.Size || resp.Size == old {
				// A rollback, an equivocation (the witness holds
				// another root for our size), or a witness that
				// contradicts itself: asking again will not help.
				c.remember(key, resp.Size)
				return Cosignature{}, last
			}
			old = resp.Size
		default:
			return Cosignature{}, &Refusal{Status: resp.Status, Reason: resp.Reason}
		}
	}
	return Cosignature{}, fmt.Errorf("gave up after %d attempts: %w", maxAttempts, last)
}

func (c *Client) remember(k sizeKey, size uint64) {
	c.mu.Lock()
	c.sizes[k] = size
	c.mu.Unlock()
}

// check verifies the witness's signature lines if its keys are known.
func (c *Client) check(w peer.ID, body []byte, sigs []checkpoint.Signature) (Cosignature, error) {
	out := Cosignature{Witness: w}
	if c.keys == nil {
		out.Signatures = sigs
		return out, nil
	}
	keys := c.keys(w)
	for _, s := range sigs {
		for _, v := range keys {
			if s.Name != v.Name() || s.KeyHash != v.KeyHash() {
				continue
			}
			t, err := checkpoint.VerifyCosignature(body, s, v)
			if err != nil {
				return Cosignature{}, fmt.Errorf("bad cosignature: %w", err)
			}
			s.Timestamp = t
			out.Signatures = append(out.Signatures, s)
			break
		}
	}
	if len(out.Signatures) == 0 {
		return Cosignature{}, fmt.Errorf("no cosignature by the witness's keys (%d signature lines from other keys)", len(sigs))
	}
	out.Verified = true
	return out, nil
}

// exchange sends one request on a new stream and reads the answer. The
// stream is reset if ctx ends first.
func (c *Client) exchange(ctx context.Context, w peer.ID, req *Request) (*Response, error) {
	msg, err := req.Marshal()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	s, err := c.host.NewStream(ctx, w, Protocol)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { s.Reset() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		if err := s.SetDeadline(dl); err != nil {
			s.Reset()
			return nil, err
		}
	}
	if err := p2p.WriteFrame(s, msg, MaxRequestSize); err != nil {
		s.Reset()
		return nil, ctxErr(ctx, err)
	}
	// The witness may answer and close its side before our CloseWrite
	// lands, which cancels our write side: its answer is what counts.
	_ = s.CloseWrite()
	ans, err := p2p.ReadFrame(s, MaxResponseSize)
	if err != nil {
		s.Reset()
		return nil, ctxErr(ctx, err)
	}
	_ = s.Close()
	return ParseResponse(ans)
}

// ctxErr prefers the context's reason (cancelled, timed out) to the stream
// error it caused.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}
