package riblt

import "math"

// FirstChunk is the number of coded symbols a receiver asks for first. It
// settles an in-sync pair (d = 0) in one round trip of about 700 bytes, and
// most differences of up to 8 items too.
const FirstChunk = 16

// fractionAt returns the mean fraction of a large difference d that peeling
// has recovered after r·d coded symbols. The table, for r = 0.25, 0.30, …,
// 1.35, was measured for d = 20,000 balanced between the two sides;
// smaller differences follow it loosely. Decoding completes at about
// r = 1.36.
func fractionAt(r float64) float64 {
	table := [...]float64{
		0.0001, 0.0004, 0.0011, 0.0027, 0.0048, // 0.25–0.45
		0.0086, 0.0132, 0.0191, 0.0272, 0.0361, // 0.50–0.70
		0.0463, 0.0589, 0.0730, 0.0897, 0.1094, // 0.75–0.95
		0.1323, 0.1575, 0.1854, 0.2194, 0.2579, // 1.00–1.20
		0.3055, 0.3664, 0.4734, // 1.25–1.35
	}
	x := r*20 - 5
	if x <= 0 {
		return 0
	}
	i := int(x)
	if i >= len(table)-1 {
		return table[len(table)-1]
	}
	f := x - float64(i)
	return table[i]*(1-f) + table[i+1]*f
}

// estimateDifference returns the d for which d·fractionAt(k/d) = recovered,
// by bisection: more recovered items after the same k mean a smaller d.
func estimateDifference(k int, recovered float64) float64 {
	lo, hi := float64(k)/1.36, float64(k)*4
	for range 40 {
		mid := (lo + hi) / 2
		if mid*fractionAt(float64(k)/mid) > recovered {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// NextChunk suggests how many more coded symbols the receiver should ask
// the sender for: 0 once decoded or failed, FirstChunk at the start, then
// enough to reach about 1.37 times the difference estimated from how much
// peeling has recovered so far. A too-large request wastes bandwidth and a
// too-small one a round trip, so growth is capped: ×4 while nothing has
// been recovered (the difference is then several times what has arrived),
// ×2 while the estimate rests on fewer than 32 recovered items, ×3 after.
// The result never exceeds the budget.
//
// Measured (balanced differences; one-sided ones, where the set sizes give
// the difference away, take 2–3 round trips): d = 1,000 costs about 1.40
// symbols per difference in 5–6 round trips, d = 10,000 about 1.38 in 7–8.
func (d *Decoder) NextChunk() int {
	if d.Decoded() || d.err != nil {
		return 0
	}
	k, recovered := len(d.cells), float64(len(d.seen))
	var want int
	switch {
	case k == 0:
		want = FirstChunk
	case recovered == 0:
		want = 3 * k
	default:
		// Lean low by one standard deviation of the recovered count: an
		// extra small round is cheaper than a large overshoot.
		est := estimateDifference(k, recovered+math.Sqrt(recovered))
		want = int(math.Ceil(1.37*est)) + 4 - k
		want = max(want, 8, k/32)
		if recovered < 32 {
			want = min(want, k)
		} else {
			want = min(want, 3*k)
		}
	}
	// The set sizes bound the difference from below, exactly so when it is
	// one-sided (a peer that simply missed records).
	if d.remoteSize >= 0 {
		if lb := abs(d.remoteSize - d.localSize()); lb >= 8 {
			want = max(want, int(1.3*float64(lb))-k)
		}
	}
	return max(min(want, d.budget-k), 0)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
