package p2p

import (
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// DefaultDailyLimit is how many evaluations an issuer grants one member per
// UTC day unless configured otherwise: 100 000 evaluations is 3 125 padded
// batches, ample for look-ups and imports of a national service, and small
// against the hundreds of millions of guesses a dictionary attack needs.
const DefaultDailyLimit = 100_000

// dailyLimiter counts evaluations per peer per UTC calendar day. A calendar
// day, not a sliding window, because an audit reads "FR used 3 200 of
// 100 000 on 2026-11-03"; the price is that a peer can spend two days'
// budget around midnight, which does not change the order of magnitude.
// Only members reach the issuer, so the map holds at most one entry per
// member and is cleared each day.
type dailyLimiter struct {
	limit int

	mu   sync.Mutex
	day  int64 // days since the Unix epoch, UTC
	used map[peer.ID]int
}

func newDailyLimiter(limit int) *dailyLimiter {
	return &dailyLimiter{limit: limit, used: make(map[peer.ID]int)}
}

// take charges n evaluations to p on the day of now, unless that would
// exceed the limit; it returns what p had used before.
func (l *dailyLimiter) take(p peer.ID, n int, now time.Time) (ok bool, used int) {
	day := now.UTC().Unix() / 86400
	l.mu.Lock()
	defer l.mu.Unlock()
	if day != l.day {
		l.day = day
		clear(l.used)
	}
	used = l.used[p]
	if used+n > l.limit {
		return false, used
	}
	l.used[p] = used + n
	return true, used
}
