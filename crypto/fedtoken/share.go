package fedtoken

import (
	"bytes"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/cloudflare/circl/group"
	"github.com/cloudflare/circl/math/polynomial"
)

// ShareIndex is a share's x-coordinate on the sharing polynomial, 1..n. Zero
// is never a valid index: the polynomial's value at zero is the federation key.
type ShareIndex uint16

// scalar returns the index as a field element.
func (i ShareIndex) scalar() group.Scalar {
	return grp.NewScalar().SetUint64(uint64(i))
}

// Share is one issuer's secret share k_i = f(Index) of the federation key.
type Share struct {
	Index ShareIndex
	Key   []byte // canonical ristretto255 scalar, 32 bytes, non-zero
}

// shareVersion identifies the Share encoding. Version 1 implies the suite
// ristretto255-SHA512; a new suite gets a new version.
const shareVersion = 1

// shareEncodedLen is version (1) ‖ index (2, big endian) ‖ key (32).
const shareEncodedLen = 1 + 2 + scalarLen

// MarshalBinary encodes the share as version ‖ I2OSP(Index, 2) ‖ Key.
func (s Share) MarshalBinary() ([]byte, error) {
	if _, err := s.parse(); err != nil {
		return nil, err
	}
	out := make([]byte, 0, shareEncodedLen)
	out = append(out, shareVersion)
	out = binary.BigEndian.AppendUint16(out, uint16(s.Index))
	return append(out, s.Key...), nil
}

// UnmarshalBinary decodes a share, rejecting any other length, an unknown
// version, index 0 or above MaxIssuers, and a zero or non-canonical key. On
// error s is unchanged.
func (s *Share) UnmarshalBinary(b []byte) error {
	if len(b) != shareEncodedLen {
		return fmt.Errorf("%w: share is %d bytes, want %d", ErrMalformed, len(b), shareEncodedLen)
	}
	if b[0] != shareVersion {
		return fmt.Errorf("%w: share version %d, want %d", ErrMalformed, b[0], shareVersion)
	}
	dec := Share{
		Index: ShareIndex(binary.BigEndian.Uint16(b[1:3])),
		Key:   bytes.Clone(b[3:]),
	}
	if _, err := dec.parse(); err != nil {
		return err
	}
	*s = dec
	return nil
}

// parse checks the share and returns its key as a scalar.
func (s Share) parse() (group.Scalar, error) {
	if s.Index == 0 || s.Index > MaxIssuers {
		return nil, fmt.Errorf("%w: share index %d not in 1..%d", ErrMalformed, s.Index, MaxIssuers)
	}
	k, err := decodeScalar(s.Key)
	if err != nil {
		return nil, fmt.Errorf("share %d key: %w", s.Index, err)
	}
	return k, nil
}

// ShareKey is the public half of a share: k_i·G. It is published in the
// federation roster so clients can check each issuer's proofs.
type ShareKey struct {
	Index  ShareIndex
	Public []byte // compressed ristretto255 element, 32 bytes
}

// GroupKey describes a t-of-n sharing of the federation key, as recorded in
// the federation roster. Public is k·G; Shares[i] is the share key of index
// i+1.
type GroupKey struct {
	Threshold int
	Total     int
	Public    []byte
	Shares    []ShareKey
}

// parsedGroup is a validated GroupKey in group form.
type parsedGroup struct {
	threshold int
	public    group.Element
	shares    []group.Element // shares[i] has index i+1
}

// Validate checks that the group key is well formed and that its share public
// keys lie on one polynomial of degree Threshold-1 whose value at zero is
// Public (a Feldman-style check in the exponent). A dealer that handed out
// inconsistent shares, or a tampered roster entry, fails here.
func (g GroupKey) Validate() error {
	_, err := g.parse()
	return err
}

func (g GroupKey) parse() (*parsedGroup, error) {
	if err := checkParams(g.Threshold, g.Total); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidGroupKey, err)
	}
	if len(g.Shares) != g.Total {
		return nil, fmt.Errorf("%w: %d share keys for %d issuers", ErrInvalidGroupKey, len(g.Shares), g.Total)
	}
	pub, err := decodeElement(g.Public)
	if err != nil {
		return nil, fmt.Errorf("%w: public key: %w", ErrInvalidGroupKey, err)
	}
	p := &parsedGroup{threshold: g.Threshold, public: pub, shares: make([]group.Element, g.Total)}
	for i, sk := range g.Shares {
		if int(sk.Index) != i+1 {
			return nil, fmt.Errorf("%w: share key %d has index %d, want %d", ErrInvalidGroupKey, i, sk.Index, i+1)
		}
		if p.shares[i], err = decodeElement(sk.Public); err != nil {
			return nil, fmt.Errorf("%w: share key %d: %w", ErrInvalidGroupKey, sk.Index, err)
		}
	}
	if err := p.checkConsistent(g); err != nil {
		return nil, err
	}
	return p, nil
}

// checkConsistent checks that Public (at x = 0) and every share key lie on
// one polynomial of degree t-1 "in the exponent". The polynomial is fixed by
// the basis points x = 0, 1, ..., t-1; the remaining share keys P_x must
// equal their interpolation I(x) = Σ_j L_j(x)·Y_j.
//
// Checking each remaining share costs t scalar multiplications of points, so
// (n-t+1)·t in all (seconds for t=128, n=255). Instead one random linear
// combination is checked, Σ_x ρ_x·P_x = Σ_j (Σ_x ρ_x·L_j(x))·Y_j, costing
// about n multiplications. If any share is off, it holds with probability
// 1/|group| over ρ. The ρ_x are derived by hashing the whole group key
// (Fiat-Shamir), so a dealer cannot choose keys after seeing them. Only on
// failure are shares checked one by one, to name the first that does not fit.
func (p *parsedGroup) checkConsistent(g GroupKey) error {
	t := p.threshold
	basis := make([]ShareIndex, t) // 0, 1, ..., t-1
	ys := make([]group.Element, t)
	ys[0] = p.public
	for j := 1; j < t; j++ {
		basis[j], ys[j] = ShareIndex(j), p.shares[j-1]
	}
	l := newLagrange(indexScalars(basis))
	rest := p.shares[t-1:] // indices t..n
	rho := consistencyWeights(g, len(rest))

	lhs := grp.Identity()
	coeffs := make([]group.Scalar, t)
	for j := range coeffs {
		coeffs[j] = grp.NewScalar()
	}
	term := grp.NewElement()
	tmp := grp.NewScalar()
	for i, pk := range rest {
		lhs.Add(lhs, term.Mul(pk, rho[i]))
		for j, lj := range l.at(ShareIndex(t + i).scalar()) {
			coeffs[j].Add(coeffs[j], tmp.Mul(rho[i], lj))
		}
	}
	if lhs.IsEqual(interpolateInExponent(coeffs, ys)) {
		return nil
	}
	return p.firstInconsistent(l, ys)
}

// firstInconsistent names the first share key, from index t on, that is not
// the interpolation of Public and share keys 1..t-1. (If one of those is the
// bad one, every later share is reported as not fitting them.)
func (p *parsedGroup) firstInconsistent(l *lagrange, ys []group.Element) error {
	t := p.threshold
	for i := t - 1; i < len(p.shares); i++ {
		idx := ShareIndex(i + 1)
		if !interpolateInExponent(l.at(idx.scalar()), ys).IsEqual(p.shares[i]) {
			return fmt.Errorf("%w: share key %d is not on the degree-%d polynomial through the public key and share keys 1..%d",
				ErrInvalidGroupKey, idx, t-1, t-1)
		}
	}
	return fmt.Errorf("%w: share keys are not on one degree-%d polynomial", ErrInvalidGroupKey, t-1)
}

// interpolateInExponent returns Σ_j coeffs[j]·ys[j].
func interpolateInExponent(coeffs []group.Scalar, ys []group.Element) group.Element {
	sum := grp.Identity()
	term := grp.NewElement()
	for j := range ys {
		sum.Add(sum, term.Mul(ys[j], coeffs[j]))
	}
	return sum
}

// consistencyWeights derives n pseudo-random scalars from the whole group key.
func consistencyWeights(g GroupKey, n int) []group.Scalar {
	h := sha512.New()
	h.Write([]byte(validateDST))
	h.Write(binary.BigEndian.AppendUint16(nil, uint16(g.Threshold)))
	h.Write(binary.BigEndian.AppendUint16(nil, uint16(g.Total)))
	h.Write(g.Public)
	for _, sk := range g.Shares {
		h.Write(sk.Public)
	}
	seed := h.Sum(nil)
	out := make([]group.Scalar, n)
	for i := range out {
		msg := binary.BigEndian.AppendUint16(bytes.Clone(seed), uint16(i))
		out[i] = grp.HashToScalar(msg, []byte(validateDST))
	}
	return out
}

func checkParams(t, n int) error {
	if t < 1 || t > n || n > MaxIssuers {
		return fmt.Errorf("%w: need 1 <= t <= n <= %d, got t=%d n=%d", ErrInvalidParams, MaxIssuers, t, n)
	}
	return nil
}

// Deal creates a fresh federation key and splits it t-of-n (Shamir, share
// indices 1..n, polynomial degree t-1). It is the genesis dealer: whoever runs
// it sees the whole key and must destroy everything but the shares it hands
// out. All randomness comes from rand, so a seeded reader reproduces the deal.
func Deal(rand io.Reader, t, n int) (GroupKey, []Share, error) {
	if err := checkParams(t, n); err != nil {
		return GroupKey{}, nil, err
	}
	for {
		poly, err := randomPolynomial(rand, t)
		if err != nil {
			return GroupKey{}, nil, err
		}
		if g, shares, ok := dealFrom(poly, t, n); ok {
			return g, shares, nil
		}
		// A share evaluated to zero (probability about n/2^252); such a
		// share would be rejected by NewIssuer, so deal again.
	}
}

// randomPolynomial draws t coefficients. The shares are the ones circl's
// secretsharing would produce for the same polynomial (tests recover the key
// with secretsharing.Recover); the polynomial is built here only because
// secretsharing.New ignores the reader for ristretto255.
func randomPolynomial(rand io.Reader, t int) (polynomial.Polynomial, error) {
	coeffs := make([]group.Scalar, t)
	for i := range coeffs {
		c, err := randomScalar(rand, dealDST)
		if err != nil {
			return polynomial.Polynomial{}, err
		}
		coeffs[i] = c
	}
	return polynomial.New(coeffs), nil
}

func dealFrom(poly polynomial.Polynomial, t, n int) (GroupKey, []Share, bool) {
	k := poly.Coefficient(0)
	g := GroupKey{
		Threshold: t,
		Total:     n,
		Public:    encodeElement(grp.NewElement().MulGen(k)),
		Shares:    make([]ShareKey, n),
	}
	shares := make([]Share, n)
	for i := range shares {
		idx := ShareIndex(i + 1)
		ki := poly.Evaluate(idx.scalar())
		if ki.IsZero() {
			return GroupKey{}, nil, false
		}
		shares[i] = Share{Index: idx, Key: encodeScalar(ki)}
		g.Shares[i] = ShareKey{Index: idx, Public: encodeElement(grp.NewElement().MulGen(ki))}
	}
	return g, shares, true
}
