package fedtoken

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/cloudflare/circl/group"
	"github.com/cloudflare/circl/zk/dleq"
)

// Client turns inputs into federation tokens by asking issuers for blinded
// evaluations. It holds only public data and is safe for concurrent use;
// build it once per federation and group key, since NewClient validates the
// group key, which costs a few milliseconds.
type Client struct {
	federationID string
	group        *parsedGroup
}

// NewClient validates g (see GroupKey.Validate) and returns a client for the
// federation named federationID.
func NewClient(federationID string, g GroupKey) (*Client, error) {
	if err := checkFederationID(federationID); err != nil {
		return nil, err
	}
	pg, err := g.parse()
	if err != nil {
		return nil, err
	}
	return &Client{federationID: federationID, group: pg}, nil
}

// Threshold returns how many valid issuer responses Finalize needs.
func (c *Client) Threshold() int { return c.group.threshold }

// Pending is a blinded request waiting for issuer responses. It holds the
// secret blinds, so it must stay with the client. Not safe for concurrent use.
type Pending struct {
	group   *parsedGroup
	inputs  [][]byte        // encoded real inputs
	blinds  []group.Scalar  // one per element; the first len(inputs) are real
	blinded []group.Element // every element sent, padding included
}

// Blind encodes and blinds 1..BatchSize inputs and pads the request with
// random dummy inputs to exactly BatchSize elements. Send the returned
// elements to at least Threshold issuers and pass their answers to
// Pending.Finalize.
func (c *Client) Blind(rand io.Reader, inputs []Input) (*Pending, [][]byte, error) {
	if len(inputs) == 0 || len(inputs) > BatchSize {
		return nil, nil, fmt.Errorf("%w: %d inputs, want 1..%d", ErrBatchSize, len(inputs), BatchSize)
	}
	all := make([][]byte, BatchSize)
	for j, in := range inputs {
		enc, err := EncodeInput(c.federationID, in)
		if err != nil {
			return nil, nil, fmt.Errorf("input %d: %w", j, err)
		}
		all[j] = enc
	}
	for j := len(inputs); j < BatchSize; j++ {
		pad, err := paddingInput(rand)
		if err != nil {
			return nil, nil, err
		}
		all[j] = pad
	}
	blinds := make([]group.Scalar, BatchSize)
	for j := range blinds {
		r, err := randomScalar(rand, blindDST)
		if err != nil {
			return nil, nil, err
		}
		blinds[j] = r
	}
	return c.blind(all, len(inputs), blinds)
}

// blind is the batch-size-agnostic core of Blind: it hashes the first real
// entries of inputs as real inputs, blinds every entry with the given blind,
// and keeps the real inputs for Finalize.
func (c *Client) blind(inputs [][]byte, real int, blinds []group.Scalar) (*Pending, [][]byte, error) {
	p := &Pending{
		group:   c.group,
		inputs:  inputs[:real:real],
		blinds:  blinds,
		blinded: make([]group.Element, len(inputs)),
	}
	out := make([][]byte, len(inputs))
	for j, in := range inputs {
		h := grp.HashToElement(in, hashToGroupDST)
		p.blinded[j] = grp.NewElement().Mul(h, blinds[j])
		if p.blinded[j].IsIdentity() {
			// Only possible if the hash hit the identity, which RFC 9497
			// treats as an invalid input.
			return nil, nil, fmt.Errorf("%w: input %d hashes to the identity", ErrInvalidInput, j)
		}
		out[j] = encodeElement(p.blinded[j])
	}
	return p, out, nil
}

// Response is one issuer's answer to a blinded request, as received.
type Response struct {
	Index     ShareIndex
	Evaluated [][]byte
	Proof     []byte
}

// IssuerError says which issuer's response was rejected and why.
type IssuerError struct {
	Index ShareIndex
	Err   error
}

func (e IssuerError) Error() string { return fmt.Sprintf("issuer %d: %v", e.Index, e.Err) }
func (e IssuerError) Unwrap() error { return e.Err }

// Report tells the caller what Finalize did with each issuer. It is returned
// on success and on failure.
type Report struct {
	// Used are the issuers whose evaluations were combined (the Threshold
	// valid responses with the lowest indices), ascending.
	Used []ShareIndex
	// Valid are all issuers whose responses verified, ascending.
	Valid []ShareIndex
	// Rejected are the responses that were rejected, in response order.
	Rejected []IssuerError
	// Missing are the issuers in the group key that sent no response at all,
	// ascending: down, not asked, or not answering in time.
	Missing []ShareIndex
}

// Err joins the rejections, or returns nil if every response was accepted.
func (r *Report) Err() error {
	errs := make([]error, len(r.Rejected))
	for i, e := range r.Rejected {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// Finalize verifies every response's proof against the roster, and if at
// least Threshold are valid, combines Threshold of them in the group and
// returns one token per real input, in input order. Rejected responses do
// not cause an error as long as enough valid ones remain; they are listed in
// the Report. When too few are valid the error wraps ErrNotEnoughIssuers and
// every rejection (as IssuerError), and names the missing issuers.
func (p *Pending) Finalize(responses []Response) ([]Token, *Report, error) {
	valid, rep := p.verifyAll(responses)
	if len(rep.Valid) < p.group.threshold {
		return nil, rep, p.notEnough(rep)
	}
	rep.Used = slices.Clone(rep.Valid[:p.group.threshold])
	used := make([][]group.Element, len(rep.Used))
	for i, idx := range rep.Used {
		used[i] = valid[idx]
	}
	tokens, err := p.combine(rep.Used, used)
	if err != nil {
		return nil, rep, err
	}
	return tokens, rep, nil
}

// verifyAll checks each response and returns the decoded evaluations of the
// valid ones by index. A later response for an index that already has a
// valid one is rejected as a duplicate without being verified; one that
// follows a rejected response for the same index is reported as a duplicate
// but still verified, so a forged first answer cannot knock out an honest
// issuer.
func (p *Pending) verifyAll(responses []Response) (map[ShareIndex][]group.Element, *Report) {
	valid := make(map[ShareIndex][]group.Element)
	seen := make(map[ShareIndex]bool)
	rep := &Report{}
	for _, r := range responses {
		if _, dup := valid[r.Index]; dup {
			rep.reject(r.Index, fmt.Errorf("%w: a valid response was already received", ErrDuplicateIssuer))
			continue
		}
		if seen[r.Index] {
			rep.reject(r.Index, fmt.Errorf("%w: more than one response", ErrDuplicateIssuer))
		}
		seen[r.Index] = true
		evals, err := p.verify(r)
		if err != nil {
			rep.reject(r.Index, err)
			continue
		}
		valid[r.Index] = evals
		rep.Valid = append(rep.Valid, r.Index)
	}
	slices.Sort(rep.Valid)
	for i := range p.group.shares {
		if idx := ShareIndex(i + 1); !seen[idx] {
			rep.Missing = append(rep.Missing, idx)
		}
	}
	return valid, rep
}

func (r *Report) reject(idx ShareIndex, err error) {
	r.Rejected = append(r.Rejected, IssuerError{Index: idx, Err: err})
}

// verify decodes one response and checks its batched DLEQ proof against the
// issuer's share key with RFC 9497's transcript for mode 0x01.
func (p *Pending) verify(r Response) ([]group.Element, error) {
	if r.Index == 0 || int(r.Index) > len(p.group.shares) {
		return nil, fmt.Errorf("%w: index %d not in 1..%d", ErrUnknownIssuer, r.Index, len(p.group.shares))
	}
	if len(r.Evaluated) != len(p.blinded) {
		return nil, fmt.Errorf("%w: response has %d elements, want %d", ErrBatchSize, len(r.Evaluated), len(p.blinded))
	}
	evals, err := decodeElements(r.Evaluated)
	if err != nil {
		return nil, fmt.Errorf("response %w", err)
	}
	if len(r.Proof) != proofLen {
		return nil, fmt.Errorf("%w: proof is %d bytes, want %d", ErrMalformed, len(r.Proof), proofLen)
	}
	proof := new(dleq.Proof)
	if err := proof.UnmarshalBinary(grp, r.Proof); err != nil {
		return nil, fmt.Errorf("%w: proof: %w", ErrMalformed, err)
	}
	verifier := dleq.Verifier{Params: dleqParams}
	if !verifier.VerifyBatchRFC9497(p.group.shares[r.Index-1], p.blinded, evals, proof) {
		return nil, ErrBadProof
	}
	return evals, nil
}

// combine interpolates the issuers' evaluations at zero and unblinds in one
// step: for real input j, N_j = Σ_i (λ_i / r_j)·Z_ij = k·H(x_j), then hashes
// per RFC 9497 Finalize. Folding 1/r_j into the Lagrange coefficient saves one
// scalar multiplication per element.
func (p *Pending) combine(idxs []ShareIndex, evals [][]group.Element) ([]Token, error) {
	lambdas := lagrangeAtZero(idxs)
	tokens := make([]Token, len(p.inputs))
	coeff := grp.NewScalar()
	term := grp.NewElement()
	for j, in := range p.inputs {
		inv := grp.NewScalar().Inv(p.blinds[j])
		n := grp.Identity()
		for i := range idxs {
			coeff.Mul(lambdas[i], inv)
			n.Add(n, term.Mul(evals[i][j], coeff))
		}
		if n.IsIdentity() {
			return nil, fmt.Errorf("%w: combined element %d is the identity", ErrMalformed, j)
		}
		tokens[j] = finalizeHash(in, encodeElement(n))
	}
	return tokens, nil
}

// lagrangeAtZero returns λ_i = L_i(0) for the given x-coordinates.
func lagrangeAtZero(idxs []ShareIndex) []group.Scalar {
	return newLagrange(indexScalars(idxs)).at(grp.NewScalar())
}

func (p *Pending) notEnough(rep *Report) error {
	missing := make([]string, len(rep.Missing))
	for i, m := range rep.Missing {
		missing[i] = fmt.Sprint(m)
	}
	head := fmt.Errorf("%w: %d valid of %d needed; rejected %d; missing [%s]",
		ErrNotEnoughIssuers, len(rep.Valid), p.group.threshold, len(rep.Rejected), strings.Join(missing, " "))
	return errors.Join(head, rep.Err())
}

// TokenizeLocal runs the whole protocol in-process: blind, evaluate with each
// issuer, finalize. A single node holding the only share (t=1, n=1) uses it
// to tokenise, and tests and benchmarks use it. Any rejected issuer makes it
// fail, since in-process issuers have no excuse.
func (c *Client) TokenizeLocal(rand io.Reader, inputs []Input, issuers []*Issuer) ([]Token, error) {
	pending, blinded, err := c.Blind(rand, inputs)
	if err != nil {
		return nil, err
	}
	responses := make([]Response, len(issuers))
	for i, is := range issuers {
		evals, proof, err := is.EvaluateWithRand(rand, blinded)
		if err != nil {
			return nil, IssuerError{Index: is.Index(), Err: err}
		}
		responses[i] = Response{Index: is.Index(), Evaluated: evals, Proof: proof}
	}
	tokens, rep, err := pending.Finalize(responses)
	if err != nil {
		return nil, err
	}
	if err := rep.Err(); err != nil {
		return nil, err
	}
	return tokens, nil
}
