package node

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ipfs/go-cid"
)

// auditListMax bounds the CIDs one audit entry lists (an entry value holds
// at most 4 KiB; a CID string is about 60 bytes).
const auditListMax = 50

// joinCIDs lists CIDs comma-separated, as audit entries write lists.
func joinCIDs(ids []cid.Cid) string {
	s := make([]string, len(ids))
	for i, c := range ids {
		s[i] = c.String()
	}
	return strings.Join(s, ",")
}

// sweepBatch bounds how many expired records one store batch erases.
const sweepBatch = 1024

// Sweep erases every assertion whose expiry has passed and returns how
// many it erased. Expired assertions already stop matching at their expiry;
// the sweep is what removes the data (LED Art. 5 time limits).
func (n *Node) Sweep(ctx context.Context) (int, error) {
	total := 0
	for {
		ids, err := n.store.ExpiredBefore(n.now().Unix(), sweepBatch)
		if err != nil {
			return total, err
		}
		if len(ids) == 0 {
			return total, nil
		}
		if err := n.store.Erase(ctx, ids); err != nil {
			return total, fmt.Errorf("node: erasing expired records: %w", err)
		}
		total += len(ids)
		n.log.WithField("erased", len(ids)).Info("expiry sweep")
		for part := range slices.Chunk(ids, auditListMax) {
			n.auditEvent(ctx, AuditEvent{Kind: "erasure", Actor: "local", Fields: map[string]string{
				"records": joinCIDs(part), "count": strconv.Itoa(len(part)), "reason": "expired"}})
		}
	}
}
