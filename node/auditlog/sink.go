package auditlog

import (
	"context"
	"slices"

	"github.com/vigie-project/vigie/node"
)

// Sink is the node's audit sink (node.AuditSink) on top of a Log: every
// consultation becomes a KindConsultation entry, durable before Consulted
// returns, so a look-up is never answered without its log entry.
type Sink struct{ Log *Log }

var _ node.AuditSink = Sink{}

// Consulted appends and syncs the consultation. It refuses one without a
// requester or a purpose (ErrInvalidEntry).
func (s Sink) Consulted(ctx context.Context, c node.Consultation) error {
	_, err := s.Log.Append(ctx, ConsultationEntry(c))
	if err != nil {
		return err
	}
	return s.Log.Sync(ctx)
}

// ConsultationEntry is the entry for a consultation: the requester as the
// actor, the purpose, how many expressions were tokenised, the indicator
// CIDs found and how many live matches. Never the URL: Consultation holds
// none.
func ConsultationEntry(c node.Consultation) Entry {
	f := map[string]string{
		"purpose":      c.Purpose,
		"expressions":  Count(c.Expressions),
		"live_matches": Count(c.LiveMatches),
	}
	if len(c.Indicators) > 0 {
		f["indicators"] = List(slices.Clone(c.Indicators)...)
	}
	return Entry{Kind: KindConsultation, Time: c.Time, Actor: c.Requester, Fields: f}
}
