package p2p

import "time"

// backoff returns the delay before reconnection attempt number attempt
// (0 for the first retry): min·2^attempt capped at max, plus a jitter of up
// to half of that, drawn from jitter (a value in [0, 1)). Without jitter,
// every member cut off by the same partition would redial at the same
// instants when it heals.
func backoff(attempt int, min, max time.Duration, jitter float64) time.Duration {
	d := max
	if attempt < 32 { // beyond that the shift overflows, and max applies anyway
		if s := min << attempt; s > 0 && s < max {
			d = s
		}
	}
	return d + time.Duration(jitter*float64(d/2))
}
