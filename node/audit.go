package node

import (
	"context"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/vigie-project/vigie/node/store"
)

// Consultation is what the node reports about a look-up (LED Art. 25:
// who consulted, when, why, and what was found). It never holds the URL.
type Consultation struct {
	Time        time.Time
	Requester   string // who asked, as authenticated by the caller
	Purpose     string // the stated justification
	Expressions int    // how many expressions were tokenised
	Indicators  []string
	LiveMatches int
}

// AuditSink receives consultations. The tamper-evident audit log
// (node/auditlog) is one; without it the node logs them.
type AuditSink interface {
	Consulted(ctx context.Context, c Consultation) error
}

// AuditEvent is any other processing operation the node reports (LED Art.
// 25): Kind is one of node/auditlog's entry kinds ("collection",
// "alteration", "erasure", "disclosure", "token_batch", "roster_event",
// ...), Fields its fields. No field ever holds a URL: records and
// indicators are named by CID.
type AuditEvent struct {
	Kind   string
	Time   time.Time
	Actor  string // who acted: this node ("local"), a peer's agency, a requester
	Fields map[string]string
}

// EventRecorder is implemented by audit sinks that take every processing
// operation, not only consultations.
type EventRecorder interface {
	Record(ctx context.Context, ev AuditEvent) error
}

// audit reports ev to the sink if it takes events, and otherwise logs it
// at debug level. A sink that fails is logged, never fatal to the
// operation that is already durable.
func (n *Node) auditEvent(ctx context.Context, ev AuditEvent) {
	if ev.Time.IsZero() {
		ev.Time = n.now()
	}
	r, ok := n.audit.(EventRecorder)
	if !ok {
		n.log.WithFields(logrus.Fields{"event": ev.Kind, "actor": ev.Actor}).Debug("audit event")
		return
	}
	if err := r.Record(ctx, ev); err != nil {
		n.log.WithError(err).WithField("event", ev.Kind).Error("audit log refused an event")
	}
}

// Audit records an event that happened outside the node's own operations
// (sends to peers, token batches served, roster adoptions), so that the
// daemon reports to the same sink.
func (n *Node) Audit(ctx context.Context, ev AuditEvent) { n.auditEvent(ctx, ev) }

// collected reports the records one Append stored: asserted here (source
// "local") or received from a peer (source: its agency).
func (n *Node) collected(ctx context.Context, source string, entries []store.Entry, facts []*RecordFacts, indexes []uint64) {
	for i := range entries {
		if indexes[i] == 0 || entries[i].Kind == store.KindManifest {
			continue
		}
		f := map[string]string{"record": entries[i].CID.String(), "origin": entries[i].Origin, "source": source}
		if entries[i].Indicator.Defined() {
			f["indicator"] = entries[i].Indicator.String()
		}
		if facts[i] != nil && facts[i].TLP != "" {
			f["tlp"] = string(facts[i].TLP)
		}
		if facts[i] != nil {
			f["country"] = facts[i].Origin.Country
			if len(facts[i].Categories) > 0 {
				f["category"] = joinStrings(facts[i].Categories)
			}
		}
		n.auditEvent(ctx, AuditEvent{Kind: "collection", Actor: source, Fields: f})
	}
}

type logAuditSink struct{ log *logrus.Entry }

func (s logAuditSink) Consulted(_ context.Context, c Consultation) error {
	s.log.WithFields(logrus.Fields{
		"event":        "consultation",
		"requester":    c.Requester,
		"purpose":      c.Purpose,
		"expressions":  c.Expressions,
		"indicators":   c.Indicators,
		"live_matches": c.LiveMatches,
	}).Info("look-up")
	return nil
}

// joinStrings lists string-like values comma-separated.
func joinStrings[S ~string](xs []S) string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return strings.Join(out, ",")
}
