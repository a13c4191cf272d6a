package node

import (
	"context"
	"time"

	"github.com/sirupsen/logrus"
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

// AuditSink receives consultations. The tamper-evident audit log will be
// one; until then the node logs them.
type AuditSink interface {
	Consulted(ctx context.Context, c Consultation) error
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
