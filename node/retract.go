package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/node/store"
	"github.com/vigie-project/vigie/protocol/record"
)

// RetractRequest withdraws one of this agency's assertions.
type RetractRequest struct {
	Assertion    cid.Cid
	Reason       record.RetractionReason
	Note         string  // optional, for people; never a URL
	SupersededBy cid.Cid // with ReasonSuperseded
}

// Retract withdraws an assertion of this agency and returns the
// retraction's CID once it is durable. The indicator then shows the
// assertion as retracted with the reason; asserting the indicator again
// later makes a new assertion. With WithPolicy the Cedar "retract"
// decision must allow it too, or it fails with ErrNotPermitted.
func (n *Node) Retract(ctx context.Context, req RetractRequest) (cid.Cid, error) {
	a, err := n.loadAssertion(req.Assertion)
	if err != nil {
		return cid.Undef, err
	}
	if a.Origin != n.agency {
		return cid.Undef, fmt.Errorf("%w: assertion %s was made by %s", ErrNotOrigin, req.Assertion, a.Origin)
	}
	if err := n.policyRetract(ctx, req.Assertion, a); err != nil {
		return cid.Undef, err
	}
	r := &record.Retraction{
		Assertion:    req.Assertion,
		Reason:       req.Reason,
		Note:         req.Note,
		SupersededBy: req.SupersededBy,
		Created:      uint64(n.now().Unix()),
		Origin:       n.agency,
		Seq:          1, // placeholder for validation; commitOwn numbers it
	}
	if err := r.Validate(); err != nil {
		return cid.Undef, fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	n.seqMu.Lock()
	defer n.seqMu.Unlock()
	if prev, err := n.retractionOf(req.Assertion, n.agency); err != nil {
		return cid.Undef, err
	} else if prev != nil {
		return prev.CID, fmt.Errorf("%w: by %s (%s)", ErrAlreadyRetracted, prev.CID, prev.Reason)
	}
	var out cid.Cid
	if err := n.commitOwn(ctx, []ownRecord{{retraction: r, cid: &out}}); err != nil {
		return cid.Undef, err
	}
	n.log.WithField("assertion", req.Assertion.String()).WithField("retraction", out.String()).
		WithField("reason", string(req.Reason)).Info("retracted")
	n.auditEvent(ctx, AuditEvent{Kind: "alteration", Actor: "local", Fields: map[string]string{
		"record": out.String(), "previous": req.Assertion.String(), "reason": "retracted: " + string(req.Reason)}})
	return out, nil
}

// loadAssertion reads a stored assertion by CID.
func (n *Node) loadAssertion(id cid.Cid) (*record.Assertion, error) {
	b, kind, err := n.store.Get(id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: no assertion %s is stored", ErrUnknownRecord, id)
	}
	if err != nil {
		return nil, err
	}
	if kind != store.KindAssertion {
		return nil, fmt.Errorf("%w: %s is a %s, not an assertion", ErrInvalidInput, id, kind)
	}
	a, err := record.DecodeAs[*record.Assertion](b)
	if err != nil {
		return nil, fmt.Errorf("%w: stored assertion %s: %v", ErrCorruptNode, id, err)
	}
	return a, nil
}
