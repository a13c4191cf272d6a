package fedtoken

import (
	"crypto/rand"
	"fmt"
	"io"

	"github.com/cloudflare/circl/group"
	"github.com/cloudflare/circl/zk/dleq"
)

// Issuer evaluates blinded elements under one share of the federation key and
// proves, with a batched RFC 9497 DLEQ proof, that it used the share whose
// public key is in the roster. It is safe for concurrent use.
//
// Rate limiting and logging of every batch are the caller's job (node/): this
// type only does the arithmetic.
type Issuer struct {
	index  ShareIndex
	key    group.Scalar
	keyEnc []byte
	pub    group.Element
	pubEnc []byte
}

// NewIssuer loads a share. The share's key is copied.
func NewIssuer(s Share) (*Issuer, error) {
	k, err := s.parse()
	if err != nil {
		return nil, err
	}
	pub := grp.NewElement().MulGen(k)
	return &Issuer{
		index:  s.Index,
		key:    k,
		keyEnc: encodeScalar(k),
		pub:    pub,
		pubEnc: encodeElement(pub),
	}, nil
}

// Index returns the share index the issuer answers for.
func (i *Issuer) Index() ShareIndex { return i.index }

// PublicKey returns k_i·G, compressed; it must match the roster's ShareKey.
func (i *Issuer) PublicKey() []byte { return append([]byte(nil), i.pubEnc...) }

// Evaluate computes k_i·B for each of exactly BatchSize blinded elements and
// a proof covering the whole batch. Proof randomness comes from crypto/rand.
func (i *Issuer) Evaluate(blinded [][]byte) (evaluated [][]byte, proof []byte, err error) {
	return i.EvaluateWithRand(rand.Reader, blinded)
}

// EvaluateWithRand is Evaluate with the proof randomness drawn from rnd (for
// deterministic simulations). The proof nonce is hedged: it hashes rnd's bytes
// together with the key and the request, so a reader that repeats itself still
// never reuses a nonce across different requests (which would leak the key).
func (i *Issuer) EvaluateWithRand(rnd io.Reader, blinded [][]byte) (evaluated [][]byte, proof []byte, err error) {
	if len(blinded) != BatchSize {
		return nil, nil, fmt.Errorf("%w: request has %d elements, want %d", ErrBatchSize, len(blinded), BatchSize)
	}
	elems, err := decodeElements(blinded)
	if err != nil {
		return nil, nil, fmt.Errorf("fedtoken: request %w", err)
	}
	r, err := randomScalar(rnd, nonceDST, append([][]byte{i.keyEnc}, blinded...)...)
	if err != nil {
		return nil, nil, err
	}
	return i.evaluate(elems, r)
}

// evaluate is the batch-size-agnostic core, with the proof nonce r given so
// the RFC 9497 vectors can be reproduced.
func (i *Issuer) evaluate(elems []group.Element, r group.Scalar) ([][]byte, []byte, error) {
	evals := make([]group.Element, len(elems))
	out := make([][]byte, len(elems))
	for j, b := range elems {
		evals[j] = grp.NewElement().Mul(b, i.key)
		out[j] = encodeElement(evals[j])
	}
	prover := dleq.Prover{Params: dleqParams}
	p, err := prover.ProveBatchWithRandomnessRFC9497(i.key, i.pub, elems, evals, r)
	if err != nil {
		return nil, nil, fmt.Errorf("fedtoken: proving evaluation: %w", err)
	}
	proof, err := p.MarshalBinary()
	if err != nil {
		return nil, nil, fmt.Errorf("fedtoken: encoding proof: %w", err)
	}
	return out, proof, nil
}
