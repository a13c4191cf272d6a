package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/sirupsen/logrus"

	"github.com/vigie-project/vigie/node"
	"github.com/vigie-project/vigie/node/p2p"
	"github.com/vigie-project/vigie/protocol/record"
)

// Policy bundle propagation. A roster version may name a new policy bundle
// by CID; a member that learns the roster from a peer fetches the bundle's
// archive from that same peer before adopting it, so that it never follows
// a roster whose law it cannot apply. node.AdoptRoster checks the archive
// (CID, lint, owners' signatures against the new roster), so the peer is
// trusted for nothing.
//
// PolicyProtocol: the asker writes one frame holding the bundle's CID
// (binary); the peer answers with one frame holding the encoded archive
// (at most record.MaxPolicyArchiveSize) and closes, or resets the stream if
// it does not hold that bundle.

// PolicyProtocol is the stream protocol members fetch policy archives on.
const PolicyProtocol protocol.ID = "/vigie/policy/1.0.0"

// maxPolicyRequest bounds a request frame: one CID.
const maxPolicyRequest = 128

// policyTimeout bounds one fetch; an archive is a few hundred kilobytes.
const policyTimeout = 60 * time.Second

// servePolicy answers one PolicyProtocol request.
func (d *Daemon) servePolicy(_ context.Context, s network.Stream) {
	_ = s.SetDeadline(time.Now().Add(policyTimeout))
	b, err := p2p.ReadFrame(s, maxPolicyRequest)
	if err != nil {
		s.Reset()
		return
	}
	c, err := cid.Cast(b)
	if err != nil {
		d.log.WithError(err).WithField("agency", d.agencyOf(s.Conn().RemotePeer())).Warn("bad policy request")
		s.Reset()
		return
	}
	data, err := d.n.PolicyArchive(c)
	if err != nil {
		s.Reset() // not held (or unreadable): the asker tries elsewhere
		return
	}
	if err := p2p.WriteFrame(s, data, record.MaxPolicyArchiveSize); err != nil {
		s.Reset()
		return
	}
	s.Close()
}

// ensurePolicy makes sure the bundle next names, if any, is installed,
// fetching it from p if not. The archive is checked against next.
func (d *Daemon) ensurePolicy(ctx context.Context, p peer.ID, next *record.Roster) error {
	if !next.Policy.Defined() || d.n.HasPolicy(next.Policy) {
		return nil
	}
	data, err := d.fetchPolicy(ctx, p, next.Policy)
	if err != nil {
		return fmt.Errorf("daemon: fetching policy bundle %s named by roster version %d: %w", next.Policy, next.Version, err)
	}
	c, err := d.n.InstallPolicy(data, next)
	if err != nil {
		return fmt.Errorf("daemon: policy bundle named by roster version %d: %w", next.Version, err)
	}
	if !c.Equals(next.Policy) {
		return fmt.Errorf("daemon: asked for policy bundle %s, got %s", next.Policy, c)
	}
	d.log.WithFields(logrus.Fields{"event": "policy_fetched", "bundle": c.String(), "agency": d.agencyOf(p)}).
		Info("fetched the policy bundle a new roster names")
	return nil
}

// fetchPolicy asks p for the archive of bundle c.
func (d *Daemon) fetchPolicy(ctx context.Context, p peer.ID, c cid.Cid) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, policyTimeout)
	defer cancel()
	s, err := d.h.NewStream(ctx, p, PolicyProtocol)
	if err != nil {
		return nil, err
	}
	defer s.Reset()
	deadline, _ := ctx.Deadline()
	if err := s.SetDeadline(deadline); err != nil {
		return nil, err
	}
	if err := p2p.WriteFrame(s, c.Bytes(), maxPolicyRequest); err != nil {
		return nil, err
	}
	// The peer may answer and close before our half-close lands: the
	// answer is what counts.
	_ = s.CloseWrite()
	data, err := p2p.ReadFrame(s, record.MaxPolicyArchiveSize)
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, network.ErrReset):
		return nil, fmt.Errorf("the peer does not hold it")
	case err != nil:
		return nil, err
	}
	return data, nil
}

// adoptFetched adopts a roster received from p, fetching first the policy
// bundle it names.
func (d *Daemon) adoptFetched(ctx context.Context, p peer.ID, data []byte) (*node.RosterChange, error) {
	// Decoded here only to learn which bundle it names; AdoptRoster checks
	// the roster in full (and refuses it if it does not decode).
	if next, err := record.DecodeAs[*record.Roster](data); err == nil && next.Version == d.n.Roster().Version+1 {
		if err := d.ensurePolicy(ctx, p, next); err != nil {
			return nil, err
		}
	}
	return d.AdoptRoster(ctx, data)
}
