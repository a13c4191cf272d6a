package fedtoken

import (
	"errors"
	"fmt"

	"github.com/cloudflare/circl/group"
)

// ErrWrongShare means a share does not match the group key it is used with.
var ErrWrongShare = errors.New("fedtoken: share does not match the group key")

// Evaluator computes tokens directly from the federation key, for a party
// that holds at least Threshold shares itself — in practice a standalone
// node, the only issuer of a federation of one. Blinding would hide the
// inputs from nobody but the party itself, so the evaluator skips it: a
// token costs one hash-to-group and one scalar multiplication instead of a
// padded batch with proofs. The tokens are the very ones the threshold
// protocol yields (tested), so a node can move from one path to the other
// without any indicator changing identity.
type Evaluator struct {
	federationID string
	key          group.Scalar
}

// NewEvaluator recombines the federation key from shares, checking each
// share against its public key in g and the result against g's public key.
func NewEvaluator(federationID string, g GroupKey, shares []Share) (*Evaluator, error) {
	if err := checkFederationID(federationID); err != nil {
		return nil, err
	}
	pg, err := g.parse()
	if err != nil {
		return nil, err
	}
	if len(shares) < pg.threshold {
		return nil, fmt.Errorf("%w: %d shares held, %d needed", ErrNotEnoughIssuers, len(shares), pg.threshold)
	}
	shares = shares[:pg.threshold]
	idxs := make([]ShareIndex, len(shares))
	keys := make([]group.Scalar, len(shares))
	for i, s := range shares {
		if keys[i], err = checkShare(pg, s); err != nil {
			return nil, err
		}
		idxs[i] = s.Index
		for _, prev := range idxs[:i] {
			if prev == s.Index {
				return nil, fmt.Errorf("%w: share %d given twice", ErrDuplicateIssuer, s.Index)
			}
		}
	}
	key := grp.NewScalar()
	for i, l := range lagrangeAtZero(idxs) {
		key.Add(key, grp.NewScalar().Mul(l, keys[i]))
	}
	if !grp.NewElement().MulGen(key).IsEqual(pg.public) {
		return nil, fmt.Errorf("%w: the shares do not recombine to the group public key", ErrWrongShare)
	}
	return &Evaluator{federationID: federationID, key: key}, nil
}

// checkShare parses s and checks k_i·G against the group's share key.
func checkShare(pg *parsedGroup, s Share) (group.Scalar, error) {
	k, err := s.parse()
	if err != nil {
		return nil, err
	}
	if int(s.Index) > len(pg.shares) {
		return nil, fmt.Errorf("%w: share index %d beyond the group's %d issuers", ErrUnknownIssuer, s.Index, len(pg.shares))
	}
	if !grp.NewElement().MulGen(k).IsEqual(pg.shares[s.Index-1]) {
		return nil, fmt.Errorf("%w: share %d", ErrWrongShare, s.Index)
	}
	return k, nil
}

// Tokenize returns one token per input, in order. Any number of inputs is
// accepted; nothing is padded because nothing leaves the process.
func (e *Evaluator) Tokenize(inputs []Input) ([]Token, error) {
	out := make([]Token, len(inputs))
	for i, in := range inputs {
		x, err := EncodeInput(e.federationID, in)
		if err != nil {
			return nil, fmt.Errorf("input %d: %w", i, err)
		}
		h := grp.HashToElement(x, hashToGroupDST)
		out[i] = finalizeHash(x, encodeElement(grp.NewElement().Mul(h, e.key)))
	}
	return out, nil
}
