package daemon

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/sirupsen/logrus"

	"github.com/vigie-project/vigie/node/auditlog"

	"github.com/vigie-project/vigie/node"
	"github.com/vigie-project/vigie/node/p2p"
	"github.com/vigie-project/vigie/node/syncengine"
)

// What the daemon reports to the node's audit sink, besides what the node
// reports itself (look-ups, records stored, retractions, erasures): every
// disclosure to a peer, every token batch served, every roster adopted.

// baselineGround is the legal ground of a transfer under the federation's
// baseline policy, until the per-country policy names one per decision.
const baselineGround = "federation-baseline"

// eu2015 is the European Union of 2014–2015 (with GB): a disclosure to any
// other member is a transfer to a third country (LED Chapter V).
var eu2015 = []string{"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GB", "GR", "HR", "HU", "IE",
	"IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"}

// auditListMax bounds the CIDs one audit entry lists.
const auditListMax = 50

// disclosureHook records each bundle of records written to a peer.
func disclosureHook(n *node.Node, pol *node.BaselinePolicy) func(syncengine.PeerID, syncengine.Msg) {
	return func(peer syncengine.PeerID, m syncengine.Msg) {
		var bundles []syncengine.Bundle
		switch m := m.(type) {
		case *syncengine.Push:
			bundles = m.Bundles
		case *syncengine.FeedBatch:
			bundles = m.Bundles
		default:
			return
		}
		agency, _ := pol.AgencyOf(peer)
		var cids []string
		grounds := map[string]bool{}
		for _, b := range bundles {
			for _, r := range b.Records {
				cids = append(cids, r.Ref.CID.String())
				if f, ok := r.Ref.Facts.(*node.RecordFacts); ok {
					for _, g := range strings.Split(n.ShareGrounds(agency, f), ",") {
						grounds[g] = g != ""
					}
				}
			}
		}
		if len(cids) == 0 {
			return
		}
		ground := baselineGround
		if b := n.Policy(); b != nil {
			// The baseline, and the grounds of the Cedar share decisions.
			ids := []string{baselineGround, b.Hash()}
			for _, g := range slices.Sorted(maps.Keys(grounds)) {
				if grounds[g] {
					ids = append(ids, g)
				}
			}
			ground = strings.Join(ids, ",")
		}
		transfer := "eu"
		if !slices.Contains(eu2015, agency.Country) {
			transfer = "third_country"
		}
		for part := range slices.Chunk(cids, auditListMax) {
			n.Audit(context.Background(), node.AuditEvent{Kind: "disclosure", Actor: "local", Fields: map[string]string{
				"recipient": agency.String(), "country": agency.Country, "legal_ground": ground,
				"records": strings.Join(part, ","), "count": strconv.Itoa(len(part)), "transfer": transfer,
			}})
		}
	}
}

// tokenBatchEvent records a token batch evaluated for a peer: who and how
// many, never the blinded elements.
func tokenBatchEvent(n *node.Node, pol *node.BaselinePolicy, b p2p.Batch) {
	agency, _ := pol.AgencyOf(syncengine.PeerID(b.Peer.String()))
	f := map[string]string{"peer": agency.String(), "count": strconv.Itoa(b.Count), "country": agency.Country}
	if agency.Country == "" {
		f["peer"] = b.Peer.String()
		delete(f, "country")
	}
	n.Audit(context.Background(), node.AuditEvent{Kind: "token_batch", Time: b.Time, Actor: f["peer"], Fields: f})
}

// rosterEvent records a roster version adopted.
// rosterEvent logs an adopted roster version and, when it brings a new
// policy bundle into force, the bundle (the policy lifecycle's "active"
// step, legal-rules.md §3.6).
func rosterEvent(n *node.Node, change *node.RosterChange) {
	fields := map[string]string{"event": "adopted", "roster": change.CID.String(), "version": strconv.FormatUint(change.Version, 10)}
	if change.Policy.Defined() {
		fields["policy"] = change.Policy.String()
		if b := n.Policy(); b != nil {
			fields["bundle_hash"] = b.Hash()
		}
	}
	n.Audit(context.Background(), node.AuditEvent{Kind: "roster_event", Actor: "local", Fields: fields})
}

// AuditLog is the member's tamper-evident audit log.
func (d *Daemon) AuditLog() *auditlog.Log { return d.audit }

// openAuditLog opens the member's audit log in its node folder.
func openAuditLog(dir string, n *node.Node, log *logrus.Entry, opts ...auditlog.Option) (*auditlog.Log, error) {
	return auditlog.OpenForNode(dir, n.Federation(), n.Agency(), append([]auditlog.Option{auditlog.WithLogger(log)}, opts...)...)
}

// lazySink lets the node open before its audit log (whose origin names
// the node). Until the log is set, a look-up fails rather than go
// unrecorded.
type lazySink struct{ s atomic.Pointer[auditlog.Sink] }

func (l *lazySink) set(s auditlog.Sink) { l.s.Store(&s) }

var errAuditNotReady = errors.New("daemon: the audit log is not open yet")

func (l *lazySink) Consulted(ctx context.Context, c node.Consultation) error {
	s := l.s.Load()
	if s == nil {
		return errAuditNotReady
	}
	return s.Consulted(ctx, c)
}

func (l *lazySink) Record(ctx context.Context, ev node.AuditEvent) error {
	s := l.s.Load()
	if s == nil {
		return errAuditNotReady
	}
	return s.Record(ctx, ev)
}

// AuditedNode is a node opened outside a running member (by a command
// such as vigie lookup on a stopped node) with its audit log as its sink,
// so that its look-ups and records are logged exactly as a running
// member's are.
type AuditedNode struct {
	*node.Node
	log *auditlog.Log
}

// OpenNode opens the node in dir together with its audit log.
func OpenNode(ctx context.Context, dir string, opts ...node.Option) (*AuditedNode, error) {
	sink := &lazySink{}
	n, err := node.Open(ctx, dir, append(opts, node.WithAuditSink(sink))...)
	if err != nil {
		return nil, err
	}
	l, err := openAuditLog(dir, n, quietLogger())
	if err != nil {
		n.Close()
		return nil, err
	}
	sink.set(auditlog.Sink{Log: l})
	return &AuditedNode{Node: n, log: l}, nil
}

// AuditLog is the node's audit log.
func (a *AuditedNode) AuditLog() *auditlog.Log { return a.log }

// Close closes the node, then its audit log (making every entry durable).
func (a *AuditedNode) Close() error { return errors.Join(a.Node.Close(), a.log.Close()) }

func quietLogger() *logrus.Entry {
	l := logrus.New()
	l.SetLevel(logrus.WarnLevel)
	return logrus.NewEntry(l)
}
