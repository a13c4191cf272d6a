package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/vigie-project/vigie/crypto/fedtoken"
	"github.com/vigie-project/vigie/protocol/issuance"
	"github.com/vigie-project/vigie/protocol/record"
	"github.com/vigie-project/vigie/protocol/urlcanon"
)

// Tokenizer turns lookup expressions into federation tokens. The standalone
// node tokenises in-process with the shares it holds; a federated node asks
// t issuers over the network.
type Tokenizer interface {
	Tokenize(ctx context.Context, use issuance.Use, exprs []string) ([]fedtoken.Token, error)
}

// tokenKind is the domain-separation byte of an expression's kind in the
// token input. It is part of the federation's shared language: never
// renumber.
func tokenKind(expr string) (byte, error) {
	switch urlcanon.KindOf(expr) {
	case urlcanon.KindExact:
		return 1, nil
	case urlcanon.KindPathPrefix:
		return 2, nil
	case urlcanon.KindHost:
		return 3, nil
	}
	return 0, fmt.Errorf("%w: not a lookup expression", ErrInvalidInput)
}

func tokenInputs(exprs []string) ([]fedtoken.Input, error) {
	in := make([]fedtoken.Input, len(exprs))
	for i, x := range exprs {
		k, err := tokenKind(x)
		if err != nil {
			return nil, err
		}
		in[i] = fedtoken.Input{Kind: k, Expression: x}
	}
	return in, nil
}

// groupKeyOf reads the federation's OPRF group key out of the roster.
func groupKeyOf(r *record.Roster) (fedtoken.GroupKey, error) {
	g, err := r.GroupKey()
	if err != nil {
		return fedtoken.GroupKey{}, fmt.Errorf("%w: %v", ErrCorruptNode, err)
	}
	return g, nil
}

// localTokenizer computes tokens with the federation key recombined from
// the shares this node holds (standalone mode: the only share). It is the
// same function the threshold protocol computes, without blinding, since
// nothing leaves the process.
type localTokenizer struct {
	eval *fedtoken.Evaluator
}

// errTooFewShares means this node cannot tokenise on its own.
var errTooFewShares = errors.New("node: this node holds too few issuer shares to tokenise alone; tokens come from the federation's issuers over the network")

func newLocalTokenizer(federation string, g fedtoken.GroupKey, shares []fedtoken.Share) (*localTokenizer, error) {
	if len(shares) < g.Threshold {
		return nil, fmt.Errorf("%w (holds %d, needs %d)", errTooFewShares, len(shares), g.Threshold)
	}
	eval, err := fedtoken.NewEvaluator(federation, g, shares)
	if err != nil {
		return nil, fmt.Errorf("%w: issuer share: %v", ErrCorruptNode, err)
	}
	return &localTokenizer{eval: eval}, nil
}

// Tokenize returns one token per expression.
func (t *localTokenizer) Tokenize(ctx context.Context, _ issuance.Use, exprs []string) ([]fedtoken.Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	inputs, err := tokenInputs(exprs)
	if err != nil {
		return nil, err
	}
	return t.eval.Tokenize(inputs)
}

// unavailableTokenizer answers every request with the reason the node
// cannot tokenise.
type unavailableTokenizer struct{ err error }

func (u unavailableTokenizer) Tokenize(context.Context, issuance.Use, []string) ([]fedtoken.Token, error) {
	return nil, u.err
}

// TokenInputs turns lookup expressions into the federation's token inputs
// (each with its kind byte): what a network tokenizer sends to issuers.
func TokenInputs(exprs []string) ([]fedtoken.Input, error) { return tokenInputs(exprs) }
