package node

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/node/store"
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
//
// With WithPolicy it also erases stored assertions of other agencies that
// the Cedar "retain" decision no longer lets this agency keep today (see
// sweepRetention), and counts them in the total.
func (n *Node) Sweep(ctx context.Context) (int, error) {
	total := 0
	for {
		ids, err := n.store.ExpiredBefore(n.now().Unix(), sweepBatch)
		if err != nil {
			return total, err
		}
		if len(ids) == 0 {
			break
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
	if n.Policy() == nil {
		return total, nil
	}
	erased, err := n.sweepRetention(ctx)
	return total + erased, err
}

// retentionLimits bound the retention scan: it reads the local log in
// pages of page entries, at most scan entries per Sweep, and erases at
// most erase assertions per Sweep. It resumes where the previous Sweep
// stopped and starts over once it reaches the log's end, so every stored
// assertion is reconsidered in turn.
type retentionLimits struct{ page, scan, erase int }

func defaultRetentionLimits() retentionLimits {
	return retentionLimits{page: 256, scan: 8192, erase: 1024}
}

// withRetentionLimits sets the retention scan's bounds (tests use tiny ones).
func withRetentionLimits(l retentionLimits) Option { return func(o *options) { o.retention = &l } }

// sweepRetention erases the stored assertions of other agencies (the
// originator is the assertion's origin, the principal this agency) that
// the Cedar "retain" decision denies on the node's date, for example an
// assertion without a time limit, or one whose country gives this agency
// no legal basis to keep it. Each denial is a "policy_decision" audit
// entry; the erasures are "erasure" entries whose reason names the bars
// ("retention not permitted: fed-time-limit-required") or "no legal
// basis". An indeterminate decision erases nothing. This agency's own
// assertions are never erased here: their origin decides their fate.
func (n *Node) sweepRetention(ctx context.Context) (int, error) {
	from := n.decisions.retainCursor()
	var ids []cid.Cid
	var reasons []string
	lim := n.retention
	for scanned := 0; scanned < lim.scan && len(ids) < lim.erase; {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		want := min(lim.page, lim.scan-scanned)
		page, err := n.store.LogRange(from, want)
		if err != nil {
			return 0, err
		}
		read := 0
		for ; read < len(page) && len(ids) < lim.erase; read++ {
			e := page[read]
			from = e.Index + 1
			if e.Erased || e.Kind != store.KindAssertion {
				continue
			}
			_, f, ok, err := n.storedEntry(e.CID)
			if err != nil {
				return 0, err
			}
			if !ok || f == nil || f.Origin == n.agency {
				continue
			}
			if erase, reason := n.policyRetain(ctx, e.CID, f); erase {
				ids, reasons = append(ids, e.CID), append(reasons, reason)
			}
		}
		scanned += read
		if read == len(page) && len(page) < want {
			from = 0 // the end of the log: start over next time
			break
		}
	}
	n.decisions.setRetainCursor(from)
	if len(ids) == 0 {
		return 0, nil
	}
	if err := n.store.Erase(ctx, ids); err != nil {
		return 0, fmt.Errorf("node: erasing records the policy does not let this agency retain: %w", err)
	}
	n.log.WithField("erased", len(ids)).Info("retention sweep")
	byReason := map[string][]cid.Cid{}
	var order []string
	for i, r := range reasons {
		if _, ok := byReason[r]; !ok {
			order = append(order, r)
		}
		byReason[r] = append(byReason[r], ids[i])
	}
	for _, r := range order {
		for part := range slices.Chunk(byReason[r], auditListMax) {
			n.auditEvent(ctx, AuditEvent{Kind: "erasure", Actor: "local", Fields: map[string]string{
				"records": joinCIDs(part), "count": strconv.Itoa(len(part)), "reason": truncateList(r, 4096)}})
		}
	}
	return len(ids), nil
}
