package fedtoken

import "github.com/cloudflare/circl/group"

// lagrange evaluates the Lagrange basis of a fixed set of distinct
// x-coordinates. It precomputes the inverted barycentric denominators once, so
// each evaluation point costs O(t) scalar multiplications instead of the
// O(t²) multiplications and t inversions of computing every L_j from scratch
// (which made GroupKey.Validate take seconds for large thresholds).
type lagrange struct {
	xs   []group.Scalar
	invW []group.Scalar // invW[j] = 1 / Π_{m≠j} (xs[j] − xs[m])
}

// newLagrange requires distinct xs; callers build them from distinct indices.
func newLagrange(xs []group.Scalar) *lagrange {
	l := &lagrange{xs: xs, invW: make([]group.Scalar, len(xs))}
	diff := grp.NewScalar()
	for j := range xs {
		w := grp.NewScalar().SetUint64(1)
		for m := range xs {
			if m != j {
				w.Mul(w, diff.Sub(xs[j], xs[m]))
			}
		}
		l.invW[j] = w.Inv(w)
	}
	return l
}

// at returns L_j(x) for every j: the product of (x − xs[m]) over m ≠ j, from
// prefix and suffix products, times invW[j]. It needs no inversion and is
// exact even when x is one of the xs.
func (l *lagrange) at(x group.Scalar) []group.Scalar {
	t := len(l.xs)
	d := make([]group.Scalar, t)
	for m := range l.xs {
		d[m] = grp.NewScalar().Sub(x, l.xs[m])
	}
	// suffix[j] = Π_{m≥j} d[m]; suffix[t] = 1.
	suffix := make([]group.Scalar, t+1)
	suffix[t] = grp.NewScalar().SetUint64(1)
	for m := t - 1; m >= 0; m-- {
		suffix[m] = grp.NewScalar().Mul(suffix[m+1], d[m])
	}
	out := make([]group.Scalar, t)
	prefix := grp.NewScalar().SetUint64(1) // Π_{m<j} d[m]
	for j := range out {
		out[j] = grp.NewScalar().Mul(prefix, suffix[j+1])
		out[j].Mul(out[j], l.invW[j])
		prefix.Mul(prefix, d[j])
	}
	return out
}

// indexScalars maps share indices to x-coordinates.
func indexScalars(idxs []ShareIndex) []group.Scalar {
	xs := make([]group.Scalar, len(idxs))
	for i, idx := range idxs {
		xs[i] = idx.scalar()
	}
	return xs
}
