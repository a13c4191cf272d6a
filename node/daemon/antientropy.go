package daemon

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/multiformats/go-varint"
	"github.com/sirupsen/logrus"

	"github.com/vigie-project/vigie/node"
	"github.com/vigie-project/vigie/node/p2p"
	"github.com/vigie-project/vigie/node/reconcile"
	"github.com/vigie-project/vigie/node/syncengine"
	"github.com/vigie-project/vigie/node/syncnet"
	"github.com/vigie-project/vigie/protocol/record"
	"github.com/vigie-project/vigie/protocol/riblt"
)

// Anti-entropy (layer c of DESIGN.md decision 7) in the running daemon.
//
// When a peer's log changes epoch (its store was rebuilt, or restored from
// a backup behind our cursor), the engine stops feeding from it and asks
// for a Reconcile. The daemon then:
//
//  1. opens a reconcile.ProtocolID stream to the peer and Initiates a
//     session with the ids (reconcile.SymbolOf) of node.SyncSet for the
//     peer's agency; the peer Responds with its own SyncSet for ours. Both
//     sets are the pair's symmetric domain (Node.InSyncDomain: what the
//     baseline and the Cedar bundle, which every member runs, let travel
//     between the two), so only real differences show, in bytes
//     proportional to them: a record the bundle forbids one of them to
//     hold is in neither set, rather than a difference in every session;
//  2. fetches the records only the peer holds (Result.Theirs) over a
//     FetchProtocol stream, at most maxFetchIDs ids per request, and stores
//     each bundle with node.StoreFetched, which verifies it like any
//     delivery and announces it to the engine for relaying;
//  3. reports through = Next−1 (see Reconcile).
//
// The records only we hold (Result.Ours) are not pushed: the peer gets
// them by its own feed from us. A rebuilt store has no cursors, so the
// peer feeds from every member from the start of our log; a peer restored
// from a backup has cursors into our log from before its backup, which our
// epoch still honours, so its feed resumes from there. Either way what we
// may send it reaches it without this layer.

// FetchProtocol serves records by reconciliation id, to a member that has
// just found by reconciliation that it lacks them.
const FetchProtocol protocol.ID = "/vigie/fetch/1.0.0"

// Limits of the fetch protocol and of sessions.
const (
	// maxFetchIDs bounds the ids of one fetch request.
	maxFetchIDs = 512
	// maxFetchRequest bounds a request frame: its count and its ids.
	maxFetchRequest = varint.MaxLenUvarint63 + maxFetchIDs*riblt.SymbolSize
	// fetchBudget is the payload (record, proof and manifest bytes) past
	// which a server stops adding records to a response: "a few MB".
	fetchBudget = 2 << 20
	// fetchStep is how many ids a server resolves at a time. A step may
	// overshoot fetchBudget by at most fetchStep records of MaxRecordSize
	// with their proofs and manifests (about 2.1 MB), so a response stays
	// within the sync wire's message limit.
	fetchStep = 16
	// maxFetchResponse bounds a response frame: its answered count and a
	// syncnet message.
	maxFetchResponse = varint.MaxLenUvarint63 + syncnet.MaxMessageBytes
	// sessionTimeout bounds one reconciliation, fetches included, on
	// either side.
	sessionTimeout = 10 * time.Minute
	// roundTimeout bounds one fetch request and its response.
	roundTimeout = time.Minute
	// maxServing bounds the sessions (reconcile or fetch) served at once:
	// each holds a set of the node's size in memory.
	maxServing = 4
	// maxInitiating bounds the reconciliations this node runs at once.
	maxInitiating = 2
)

// AntiEntropyStats are the anti-entropy counters since Start.
type AntiEntropyStats struct {
	Sessions      uint64 // reconciliations this node started (the engine's Reconcile)
	Failed        uint64 // ... that failed: the engine then feeds the peer's new epoch from its start
	Fallbacks     uint64 // ... that needed the range-based fallback
	Theirs        uint64 // ids only the peer held, over all sessions
	Ours          uint64 // ids only we held (the peer's feed from us covers them)
	BytesSent     uint64 // reconciliation frame bytes, initiator side
	BytesReceived uint64
	Fetched       uint64 // records stored from fetches
	Rejected      uint64 // fetched bundles the node refused as invalid
	Served        uint64 // reconciliations answered for peers
	ServedRecords uint64 // records sent in fetch responses
}

// AntiEntropyStats returns the anti-entropy counters.
func (d *Daemon) AntiEntropyStats() AntiEntropyStats { return d.ae.stats() }

// antiEntropy is the daemon's syncnet.Reconciler and the server of both
// protocols.
type antiEntropy struct {
	n   *node.Node
	pol *node.BaselinePolicy
	log *logrus.Entry
	h   *p2p.Host // set by serve, before the runner runs

	serving    chan struct{}
	initiating chan struct{}

	sessions, failed, fallbacks, theirs, ours atomic.Uint64
	sent, received, fetched, rejected         atomic.Uint64
	served, servedRecords                     atomic.Uint64
}

func newAntiEntropy(n *node.Node, pol *node.BaselinePolicy, log *logrus.Entry) *antiEntropy {
	return &antiEntropy{n: n, pol: pol, log: log.WithField("component", "antientropy"),
		serving: make(chan struct{}, maxServing), initiating: make(chan struct{}, maxInitiating)}
}

// serve registers both protocols' handlers on h, which Reconcile then
// uses to reach peers. Call it before the runner runs.
func (a *antiEntropy) serve(h *p2p.Host) {
	a.h = h
	h.Handle(reconcile.ProtocolID, a.serveReconcile)
	h.Handle(FetchProtocol, a.serveFetch)
}

func (a *antiEntropy) stats() AntiEntropyStats {
	return AntiEntropyStats{
		Sessions: a.sessions.Load(), Failed: a.failed.Load(), Fallbacks: a.fallbacks.Load(),
		Theirs: a.theirs.Load(), Ours: a.ours.Load(), BytesSent: a.sent.Load(), BytesReceived: a.received.Load(),
		Fetched: a.fetched.Load(), Rejected: a.rejected.Load(), Served: a.served.Load(), ServedRecords: a.servedRecords.Load(),
	}
}

// Reconcile implements syncnet.Reconciler.
//
// Through: the engine's Reconciled{Through} means "the node holds every
// record of the peer's log, in that epoch, up to and including Through,
// that it may hold", and the engine then feeds from Through+1. The peer
// reported Next, the index its next entry will get, when it answered our
// feed request with EpochReset; the set it answers our session with is
// read after that, so it holds every entry below Next that it may share
// with us, and after the session and the fetches we hold all of them.
// Hence Through = Next−1 (not Next: a cursor at Next would be past the
// peer's head until it appends again, which it answers with another
// EpochReset). Records the peer appends meanwhile come by feed from there.
//
// A failure returns an error: the runner then reports Through 0 and the
// engine feeds the new epoch from its start, which is slower but loses
// nothing. A fetched bundle the node refuses as invalid does not fail the
// session: fetching it again by feed cannot make it valid, as in the
// engine's own deliveries.
func (a *antiEntropy) Reconcile(ctx context.Context, p syncengine.PeerID, _ syncengine.Epoch, next uint64) (uint64, error) {
	a.sessions.Add(1)
	err := a.reconcile(ctx, p)
	if err != nil {
		a.failed.Add(1)
		return 0, err
	}
	return max(next, 1) - 1, nil
}

func (a *antiEntropy) reconcile(ctx context.Context, p syncengine.PeerID) error {
	ctx, cancel := context.WithTimeout(ctx, sessionTimeout)
	defer cancel()
	agency, ok := a.pol.AgencyOf(p)
	if !ok {
		return fmt.Errorf("antientropy: peer %s is not a member", p)
	}
	id, err := peer.Decode(string(p))
	if err != nil {
		return fmt.Errorf("antientropy: peer %s: %w", p, err)
	}
	if !acquire(ctx, a.initiating) {
		return ctx.Err()
	}
	defer release(a.initiating)
	start := time.Now()
	set, err := a.n.SyncSet(ctx, agency)
	if err != nil {
		return err
	}
	ids := make(reconcile.Slice, len(set))
	for i, c := range set {
		ids[i] = reconcile.SymbolOf(c)
	}
	s, err := a.h.NewStream(ctx, id, reconcile.ProtocolID)
	if err != nil {
		return fmt.Errorf("antientropy: opening a reconciliation with %s: %w", agency, err)
	}
	res, err := reconcile.Initiate(ctx, s, ids)
	if err != nil {
		s.Reset()
		return fmt.Errorf("antientropy: reconciling with %s: %w", agency, err)
	}
	s.Close()
	a.theirs.Add(uint64(len(res.Theirs)))
	a.ours.Add(uint64(len(res.Ours)))
	a.sent.Add(uint64(res.BytesSent))
	a.received.Add(uint64(res.BytesReceived))
	if res.Fallback {
		a.fallbacks.Add(1)
	}
	var fetched, rejected int
	if len(res.Theirs) > 0 {
		if fetched, rejected, err = a.fetch(ctx, id, agency, res.Theirs); err != nil {
			return err
		}
	}
	a.log.WithFields(logrus.Fields{"event": "reconciled", "peer": string(p), "agency": agency.String(), "set": len(ids),
		"theirs": len(res.Theirs), "ours": len(res.Ours), "rounds": res.Rounds, "fallback": res.Fallback,
		"bytes_sent": res.BytesSent, "bytes_received": res.BytesReceived, "fetched": fetched, "rejected": rejected,
		"ms": time.Since(start).Milliseconds()}).Info("anti-entropy session")
	return nil
}

// fetch gets the records with ids from the member agency (peer id) and
// stores them; it returns how many records it stored and how many bundles
// the node refused.
func (a *antiEntropy) fetch(ctx context.Context, id peer.ID, agency record.Agency, ids []riblt.Symbol) (fetched, rejected int, err error) {
	s, err := a.h.NewStream(ctx, id, FetchProtocol)
	if err != nil {
		return 0, 0, fmt.Errorf("antientropy: opening a fetch from %s: %w", agency, err)
	}
	stop := context.AfterFunc(ctx, func() { s.Reset() })
	defer stop()
	defer func() {
		if err != nil {
			s.Reset()
		} else {
			s.Close()
		}
	}()
	for len(ids) > 0 {
		req := ids[:min(len(ids), maxFetchIDs)]
		_ = s.SetDeadline(time.Now().Add(roundTimeout))
		if err := p2p.WriteFrame(s, encodeFetchRequest(req), maxFetchRequest); err != nil {
			return fetched, rejected, fmt.Errorf("antientropy: fetching from %s: %w", agency, err)
		}
		frame, err := p2p.ReadFrame(s, maxFetchResponse)
		if err != nil {
			return fetched, rejected, fmt.Errorf("antientropy: fetching from %s: %w", agency, err)
		}
		answered, bundles, err := decodeFetchResponse(frame, len(req))
		if err != nil {
			return fetched, rejected, fmt.Errorf("antientropy: fetching from %s: %w", agency, err)
		}
		if err := onlyAsked(bundles, req[:answered]); err != nil {
			return fetched, rejected, fmt.Errorf("antientropy: fetching from %s: %w", agency, err)
		}
		for _, b := range bundles {
			refs, err := a.n.StoreFetched(ctx, agency, b)
			if errors.Is(err, node.ErrRejected) {
				rejected++
				a.rejected.Add(1)
				a.log.WithFields(logrus.Fields{"agency": agency.String(), "error": err.Error()}).Warn("antientropy: fetched bundle refused")
				continue
			}
			if err != nil {
				return fetched, rejected, err
			}
			for _, r := range refs {
				if r.Kind != syncengine.KindManifest {
					fetched++
					a.fetched.Add(1)
				}
			}
		}
		ids = ids[answered:]
	}
	return fetched, rejected, nil
}

// onlyAsked checks that a response carries only records we asked for: a
// server may leave some out, never add others.
func onlyAsked(bundles []syncengine.Bundle, asked []riblt.Symbol) error {
	want := make(map[riblt.Symbol]struct{}, len(asked))
	for _, id := range asked {
		want[id] = struct{}{}
	}
	for _, b := range bundles {
		for _, r := range b.Records {
			if _, ok := want[reconcile.SymbolOf(record.CIDOf(r.Bytes))]; !ok {
				return fmt.Errorf("%w: a record that was not asked for", syncnet.ErrMalformed)
			}
		}
	}
	return nil
}

// serveReconcile answers a member's reconciliation with our set for its
// agency.
func (a *antiEntropy) serveReconcile(ctx context.Context, s network.Stream) {
	ctx, cancel := context.WithTimeout(ctx, sessionTimeout)
	defer cancel()
	agency, ok := a.peerAgency(s)
	if !ok || !acquire(ctx, a.serving) {
		s.Reset()
		return
	}
	defer release(a.serving)
	set, err := a.n.SyncSet(ctx, agency)
	if err != nil {
		a.log.WithError(err).Warn("antientropy: reading our sync set")
		s.Reset()
		return
	}
	ids := make(reconcile.Slice, len(set))
	for i, c := range set {
		ids[i] = reconcile.SymbolOf(c)
	}
	if err := reconcile.Respond(ctx, s, ids); err != nil {
		a.log.WithFields(logrus.Fields{"agency": agency.String(), "error": err.Error()}).Info("antientropy: reconciliation not served to the end")
		s.Reset()
		return
	}
	a.served.Add(1)
	s.Close()
}

// serveFetch answers fetch requests until the member closes the stream.
// The first request reads our set for the member's agency, to turn ids
// back into CIDs; the stream keeps it for the requests that follow.
func (a *antiEntropy) serveFetch(ctx context.Context, s network.Stream) {
	ctx, cancel := context.WithTimeout(ctx, sessionTimeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { s.Reset() })
	defer stop()
	agency, ok := a.peerAgency(s)
	if !ok || !acquire(ctx, a.serving) {
		s.Reset()
		return
	}
	defer release(a.serving)
	var index *cidIndex
	for {
		_ = s.SetDeadline(time.Now().Add(roundTimeout))
		frame, err := p2p.ReadFrame(s, maxFetchRequest)
		if errors.Is(err, io.EOF) {
			s.Close()
			return
		}
		var ids []riblt.Symbol
		if err == nil {
			ids, err = decodeFetchRequest(frame)
		}
		if err == nil && index == nil {
			index, err = a.index(ctx, agency)
		}
		var resp []byte
		if err == nil {
			resp, err = a.answer(agency, index, ids)
		}
		if err == nil {
			err = p2p.WriteFrame(s, resp, maxFetchResponse)
		}
		if err != nil {
			a.log.WithFields(logrus.Fields{"agency": agency.String(), "error": err.Error()}).Info("antientropy: fetch not served to the end")
			s.Reset()
			return
		}
	}
}

// answer builds the response to one request: the bundles SyncBundles
// allows for the ids it covers, fetchStep ids at a time until fetchBudget
// is reached, and how many of the ids it covers (at least one).
func (a *antiEntropy) answer(agency record.Agency, index *cidIndex, ids []riblt.Symbol) ([]byte, error) {
	var bundles []syncengine.Bundle
	answered, size := 0, 0
	for answered < len(ids) && size < fetchBudget {
		step := ids[answered:min(answered+fetchStep, len(ids))]
		cids := make([]cid.Cid, 0, len(step))
		for _, id := range step {
			if c, ok := index.lookup(id); ok {
				cids = append(cids, c)
			}
		}
		bs, err := a.n.SyncBundles(agency, cids)
		if err != nil {
			return nil, err
		}
		for _, b := range bs {
			size += len(b.Manifest.Bytes)
			for _, r := range b.Records {
				size += len(r.Bytes) + len(r.Proof)
			}
			a.servedRecords.Add(uint64(len(b.Records)))
		}
		bundles = append(bundles, bs...)
		answered += len(step)
	}
	return encodeFetchResponse(answered, bundles)
}

// peerAgency is the roster agency of the stream's remote peer (the host's
// gate admits only members, but the roster may have changed since).
func (a *antiEntropy) peerAgency(s network.Stream) (record.Agency, bool) {
	return a.pol.AgencyOf(syncengine.PeerID(s.Conn().RemotePeer().String()))
}

// index reads our set for agency as ids sorted, each with its CID.
func (a *antiEntropy) index(ctx context.Context, agency record.Agency) (*cidIndex, error) {
	set, err := a.n.SyncSet(ctx, agency)
	if err != nil {
		return nil, err
	}
	x := &cidIndex{entries: make([]indexEntry, len(set))}
	for i, c := range set {
		x.entries[i] = indexEntry{id: reconcile.SymbolOf(c), cid: c}
	}
	sortIndex(x)
	return x, nil
}

func sortIndex(x *cidIndex) {
	slices.SortFunc(x.entries, func(p, q indexEntry) int { return bytes.Compare(p.id[:], q.id[:]) })
}

type indexEntry struct {
	id  riblt.Symbol
	cid cid.Cid
}

// cidIndex turns reconciliation ids back into CIDs.
type cidIndex struct{ entries []indexEntry }

func (x *cidIndex) lookup(id riblt.Symbol) (cid.Cid, bool) {
	i, ok := slices.BinarySearchFunc(x.entries, id, func(e indexEntry, id riblt.Symbol) int {
		return bytes.Compare(e.id[:], id[:])
	})
	if !ok {
		return cid.Undef, false
	}
	return x.entries[i].cid, true
}

func acquire(ctx context.Context, sem chan struct{}) bool {
	select {
	case sem <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func release(sem chan struct{}) { <-sem }

// Wire format of the fetch protocol. Each message is one p2p frame.
//
//	request  = count:uv (1..maxFetchIDs) id*count   (32 bytes each, as reconcile.SymbolOf)
//	response = answered:uv (1..count) message
//
// message is a syncnet Push (syncnet.Encode) with a zero epoch and
// through 0, carrying the bundles for the request's first answered ids:
// those the server holds and may send; the client asks again for the
// rest. uv is a minimal unsigned varint; every value has one encoding.

var errFetchWire = fmt.Errorf("%w: fetch protocol", syncnet.ErrMalformed)

func encodeFetchRequest(ids []riblt.Symbol) []byte {
	b := binary.AppendUvarint(make([]byte, 0, varint.MaxLenUvarint63+len(ids)*riblt.SymbolSize), uint64(len(ids)))
	for i := range ids {
		b = append(b, ids[i][:]...)
	}
	return b
}

func decodeFetchRequest(b []byte) ([]riblt.Symbol, error) {
	n, k, err := varint.FromUvarint(b)
	if err != nil {
		return nil, fmt.Errorf("%w: request count: %v", errFetchWire, err)
	}
	b = b[k:]
	if n == 0 || n > maxFetchIDs || uint64(len(b)) != n*riblt.SymbolSize {
		return nil, fmt.Errorf("%w: request of %d ids in %d bytes", errFetchWire, n, len(b))
	}
	ids := make([]riblt.Symbol, n)
	for i := range ids {
		copy(ids[i][:], b[i*riblt.SymbolSize:])
	}
	return ids, nil
}

func encodeFetchResponse(answered int, bundles []syncengine.Bundle) ([]byte, error) {
	b := binary.AppendUvarint(nil, uint64(answered))
	return syncnet.Encode(b, &syncengine.Push{Bundles: bundles})
}

// decodeFetchResponse parses the response to a request of asked ids. Byte
// fields of the bundles alias b.
func decodeFetchResponse(b []byte, asked int) (int, []syncengine.Bundle, error) {
	n, k, err := varint.FromUvarint(b)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: answered count: %v", errFetchWire, err)
	}
	if n == 0 || n > uint64(asked) {
		return 0, nil, fmt.Errorf("%w: %d ids answered of %d asked", errFetchWire, n, asked)
	}
	m, err := syncnet.Decode(b[k:])
	if err != nil {
		return 0, nil, err
	}
	p, ok := m.(*syncengine.Push)
	if !ok || !p.Epoch.IsZero() || p.Through != 0 {
		return 0, nil, fmt.Errorf("%w: the response is not a bare push", errFetchWire)
	}
	return int(n), p.Bundles, nil
}
