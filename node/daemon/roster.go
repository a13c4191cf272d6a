package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/sirupsen/logrus"

	"github.com/vigie-project/vigie/crypto/fedtoken"
	"github.com/vigie-project/vigie/node"
	"github.com/vigie-project/vigie/node/p2p"
	"github.com/vigie-project/vigie/protocol/dagcbor"
	"github.com/vigie-project/vigie/protocol/record"
)

// Roster propagation: a running member adopts a newer roster version
// (Daemon.AdoptRoster) and applies it at once: the host's gate swaps, so a
// removed member's connections close and it cannot reconnect, and the
// tokenizer is rebuilt for the new issuers. The members that lag behind
// learn the new versions over RosterProtocol.
//
// RosterProtocol: one request frame per stream, DAG-CBOR,
//
//	{"roster": N, "type": "get" | "have", "v": 1}
//
//   - "get": the asker holds version N; the peer answers with the encoded
//     rosters of versions N+1, N+2, ... it holds, in order, one frame each
//     (at most maxRosterChain, each at most record.MaxRosterSize), then
//     closes the stream. The asker adopts them in order and asks again if
//     it is still behind.
//   - "have": the asker announces that it holds version N; no answer. A
//     peer that holds less then asks the announcer with "get".
//
// A member asks with "get" when a peer's hello says it follows a newer
// version (PeerUp's RosterVersion), and announces with "have" to every
// member up right after adopting a version (connections already up do not
// say hello again). Every roster received goes through node.AdoptRoster,
// so a peer can make us adopt only the next version of our current
// roster, signed by a strict majority of our current roster's members.
// Failures are logged at warn level with the peer's agency and counted
// (RosterStats); none stops the daemon.

// RosterProtocol is the stream protocol members exchange roster versions on.
const RosterProtocol protocol.ID = "/vigie/roster/1.0.0"

const (
	rosterMsgVersion = 1
	// maxRosterRequest bounds a request frame (about 30 bytes).
	maxRosterRequest = 128
	// maxRosterChain bounds the versions sent in one answer; an asker
	// still behind asks again.
	maxRosterChain = 8
	// rosterTimeout bounds one exchange, dial included.
	rosterTimeout = 30 * time.Second
)

// RosterStats count roster propagation.
type RosterStats struct {
	Adopted uint64 // versions adopted by AdoptRoster, whatever their source
	Failed  uint64 // fetches from a peer that failed or brought a roster that was refused
}

// rosterSync is the daemon's roster propagation state.
type rosterSync struct {
	// adoptMu serialises AdoptRoster, so that the host and the tokenizer
	// follow the node's versions in order; it also guards local.
	adoptMu sync.Mutex
	local   *fedtoken.Issuer // this node's issuer share, for the tokenizer

	// fetchMu serialises fetches: one version chain at a time.
	fetchMu sync.Mutex

	mu       sync.Mutex
	started  bool
	stopped  bool
	ctx      context.Context // of fetches and announcements started outside a handler
	cancel   context.CancelFunc
	pending  map[peer.ID]uint64 // newer versions seen before startRosterSync
	fetching map[peer.ID]bool
	wg       sync.WaitGroup

	adopted, failed atomic.Uint64
}

// RosterStats returns the roster propagation counters.
func (d *Daemon) RosterStats() RosterStats {
	return RosterStats{Adopted: d.roster.adopted.Load(), Failed: d.roster.failed.Load()}
}

// AdoptRoster makes data, an encoded roster, the roster this member
// follows (node.Node.AdoptRoster: the next version, signed by a strict
// majority of the current members) and applies it at once: the host's
// gate admits only the new members, the connections of removed members
// are closed, and tokens are asked of the new roster's issuers. Every
// member up is then told of the new version. Adopt through the daemon, not
// through Node, while it runs.
func (d *Daemon) AdoptRoster(ctx context.Context, data []byte) (*node.RosterChange, error) {
	rs := &d.roster
	rs.adoptMu.Lock()
	defer rs.adoptMu.Unlock()
	change, err := d.n.AdoptRoster(ctx, data)
	if err != nil {
		return nil, err
	}
	rs.adopted.Add(1)
	r := d.n.Roster()
	if err := d.h.SetRoster(r); err != nil {
		return change, fmt.Errorf("daemon: roster version %d adopted, but the host kept the previous one: %w", r.Version, err)
	}
	if err := d.setTokenizer(r, rs.local); err != nil {
		return change, fmt.Errorf("daemon: roster version %d adopted, but its issuers cannot be used: %w", r.Version, err)
	}
	d.log.WithFields(logrus.Fields{"event": "roster_adopted", "from": change.From, "version": change.Version,
		"added": agencies(change.Added), "removed": agencies(change.Removed)}).Info("adopted a new roster")
	rosterEvent(d.n, change)
	d.announceRoster(r)
	return change, nil
}

func agencies(refs []node.MemberRef) []string {
	out := make([]string, len(refs))
	for i, m := range refs {
		out[i] = m.Agency.String()
	}
	return out
}

// setTokenizer points the node's tokenizer at r's issuers, local being
// this node's own share if it holds one.
func (d *Daemon) setTokenizer(r *record.Roster, local *fedtoken.Issuer) error {
	tk, err := p2p.NewTokenizer(d.h, r, node.TokenInputs, p2p.WithLocalIssuer(local), p2p.WithTokenizerLogger(d.log))
	if err != nil {
		return err
	}
	d.tokens.set(tk)
	return nil
}

// withRosterHooks adds to h a PeerUp that fetches newer roster versions a
// peer's hello announces.
func (d *Daemon) withRosterHooks(h p2p.Hooks) p2p.Hooks {
	inner := h.PeerUp
	h.PeerUp = func(info p2p.PeerInfo) {
		if inner != nil {
			inner(info)
		}
		if info.RosterVersion > d.n.Roster().Version {
			d.roster.seen(d, info.ID, info.RosterVersion)
		}
	}
	return h
}

// seen schedules a fetch of version from p, or remembers it until
// startRosterSync if the daemon is still starting.
func (rs *rosterSync) seen(d *Daemon, p peer.ID, version uint64) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	switch {
	case rs.stopped:
	case !rs.started:
		if rs.pending == nil {
			rs.pending = map[peer.ID]uint64{}
		}
		rs.pending[p] = max(rs.pending[p], version)
	default:
		rs.goLocked(func() { d.fetchLogged(rs.ctx, p, version) })
	}
}

// goLocked runs f in a goroutine stopRosterSync waits for; rs.mu is held.
func (rs *rosterSync) goLocked(f func()) {
	rs.wg.Add(1)
	go func() {
		defer rs.wg.Done()
		f()
	}()
}

// startRosterSync serves RosterProtocol and fetches the versions peers
// announced while the daemon was starting.
func (d *Daemon) startRosterSync() error {
	rs := &d.roster
	d.h.Handle(RosterProtocol, d.serveRoster)
	d.h.Handle(PolicyProtocol, d.servePolicy)
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.ctx, rs.cancel = context.WithCancel(context.Background())
	rs.started = true
	for p, v := range rs.pending {
		rs.goLocked(func() { d.fetchLogged(rs.ctx, p, v) })
	}
	rs.pending = nil
	return nil
}

// stopRosterSync stops the fetches and announcements started outside a
// stream handler and waits for them; call it before closing the host.
func (d *Daemon) stopRosterSync() {
	rs := &d.roster
	rs.mu.Lock()
	rs.stopped = true
	if rs.cancel != nil {
		rs.cancel()
	}
	rs.mu.Unlock()
	rs.wg.Wait()
}

// announceRoster tells every member up that this node now holds r.
func (d *Daemon) announceRoster(r *record.Roster) {
	rs := &d.roster
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if !rs.started || rs.stopped {
		return
	}
	for _, m := range r.Members {
		p, err := peer.Decode(m.PeerID)
		if err != nil || p == d.h.ID() || !d.h.IsUp(p) {
			continue
		}
		agency := m.Agency.String()
		rs.goLocked(func() {
			if err := d.sendRosterRequest(rs.ctx, p, "have", r.Version, nil); err != nil {
				d.log.WithError(err).WithFields(logrus.Fields{"event": "roster_announce", "agency": agency, "version": r.Version}).
					Info("could not announce the new roster version")
			}
		})
	}
}

// serveRoster answers one RosterProtocol request.
func (d *Daemon) serveRoster(ctx context.Context, s network.Stream) {
	p := s.Conn().RemotePeer()
	_ = s.SetDeadline(time.Now().Add(rosterTimeout))
	b, err := p2p.ReadFrame(s, maxRosterRequest)
	if err != nil {
		s.Reset()
		return
	}
	kind, version, err := decodeRosterRequest(b)
	if err != nil {
		d.log.WithError(err).WithField("agency", d.agencyOf(p)).Warn("bad roster request")
		s.Reset()
		return
	}
	if kind == "have" {
		s.Close()
		// The fetch runs in this handler, so that closing the host waits
		// for it and the node outlives it.
		if version > d.n.Roster().Version {
			d.fetchLogged(ctx, p, version)
		}
		return
	}
	if err := d.sendChain(s, version); err != nil {
		d.log.WithError(err).WithField("agency", d.agencyOf(p)).Warn("could not send roster versions")
		s.Reset()
		return
	}
	s.Close()
}

// sendChain writes the versions after since this node holds, oldest
// first, at most maxRosterChain.
func (d *Daemon) sendChain(w io.Writer, since uint64) error {
	cur := d.n.Roster()
	for v, sent := since+1, 0; v <= cur.Version && sent < maxRosterChain; v, sent = v+1, sent+1 {
		data, err := d.rosterBytes(v, cur)
		if err != nil {
			return err
		}
		if err := p2p.WriteFrame(w, data, record.MaxRosterSize); err != nil {
			return err
		}
	}
	return nil
}

// rosterBytes returns the encoded roster of version v, which is at most
// cur's: cur itself, or the node's archive of adopted versions (written
// before the node switches to a version, so every version up to cur's is
// there once the node has adopted any).
func (d *Daemon) rosterBytes(v uint64, cur *record.Roster) ([]byte, error) {
	if v == cur.Version {
		return cur.Encode()
	}
	// The node folder: the node exposes no accessor for its archive.
	path := filepath.Join(filepath.Dir(d.n.PeerKeyPath()), "rosters", "roster-"+strconv.FormatUint(v, 10)+".cbor")
	data, err := readFileBounded(path, record.MaxRosterSize)
	if err != nil {
		return nil, fmt.Errorf("roster version %d: %w", v, err)
	}
	r, err := record.DecodeAs[*record.Roster](data)
	if err != nil || r.Version != v || r.Federation != cur.Federation {
		return nil, fmt.Errorf("roster version %d: the archived file is not that version (%v)", v, err)
	}
	return data, nil
}

func readFileBounded(path string, limit int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(data) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return data, nil
}

// fetchLogged fetches from p the versions up to target, logging and
// counting a failure. Only one fetch per peer runs at a time; a second
// one asked meanwhile is dropped (the first brings what it would).
func (d *Daemon) fetchLogged(ctx context.Context, p peer.ID, target uint64) {
	rs := &d.roster
	rs.mu.Lock()
	if rs.stopped || rs.fetching[p] {
		rs.mu.Unlock()
		return
	}
	if rs.fetching == nil {
		rs.fetching = map[peer.ID]bool{}
	}
	rs.fetching[p] = true
	stopping := rs.ctx
	rs.mu.Unlock()
	defer func() {
		rs.mu.Lock()
		delete(rs.fetching, p)
		rs.mu.Unlock()
	}()
	// A fetch run by a handler ends with the host; stopRosterSync ends it
	// too, so that it does not hold up another fetch past that.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if stopping != nil {
		defer context.AfterFunc(stopping, cancel)()
	}
	if err := d.fetchRosters(ctx, p, target); err != nil {
		if ctx.Err() != nil {
			return // stopping
		}
		rs.failed.Add(1)
		d.log.WithError(err).WithFields(logrus.Fields{"event": "roster_fetch", "agency": d.agencyOf(p), "version": target}).
			Warn("could not adopt the newer roster a peer announced")
	}
}

// fetchRosters asks p for the versions after ours until we hold target,
// adopting each in order.
func (d *Daemon) fetchRosters(ctx context.Context, p peer.ID, target uint64) error {
	rs := &d.roster
	rs.fetchMu.Lock()
	defer rs.fetchMu.Unlock()
	for {
		have := d.n.Roster().Version
		if have >= target {
			return nil
		}
		var chain [][]byte
		if err := d.sendRosterRequest(ctx, p, "get", have, &chain); err != nil {
			return err
		}
		for _, data := range chain {
			if _, err := d.adoptFetched(ctx, p, data); err != nil && !errors.Is(err, node.ErrStaleRoster) {
				return err
			}
		}
		if d.n.Roster().Version == have {
			return fmt.Errorf("daemon: the peer announced roster version %d but sent nothing newer than version %d", target, have)
		}
	}
}

// sendRosterRequest sends one request to p; for "get" it reads the
// answer's rosters into chain.
func (d *Daemon) sendRosterRequest(ctx context.Context, p peer.ID, kind string, version uint64, chain *[][]byte) error {
	ctx, cancel := context.WithTimeout(ctx, rosterTimeout)
	defer cancel()
	s, err := d.h.NewStream(ctx, p, RosterProtocol)
	if err != nil {
		return err
	}
	if err := exchangeRoster(ctx, s, kind, version, chain); err != nil {
		s.Reset()
		return err
	}
	if chain == nil {
		// An announcement is delivered once written; the peer may reset
		// the stream as soon as it has read it.
		_ = s.Close()
		return nil
	}
	return s.Close()
}

func exchangeRoster(ctx context.Context, s network.Stream, kind string, version uint64, chain *[][]byte) error {
	deadline, _ := ctx.Deadline()
	if err := s.SetDeadline(deadline); err != nil {
		return err
	}
	req, err := encodeRosterRequest(kind, version)
	if err != nil {
		return err
	}
	if err := p2p.WriteFrame(s, req, maxRosterRequest); err != nil {
		return err
	}
	// The peer may have read the request and closed its side already,
	// which cancels our write side: what it sends back is what counts.
	_ = s.CloseWrite()
	if chain == nil {
		return nil // an announcement: nothing comes back
	}
	for n := 0; ; n++ {
		b, err := p2p.ReadFrame(s, record.MaxRosterSize)
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return fmt.Errorf("daemon: reading rosters: %w", err)
		case chain == nil || n >= maxRosterChain:
			return fmt.Errorf("daemon: the peer sent more than asked")
		}
		*chain = append(*chain, b)
	}
}

func encodeRosterRequest(kind string, version uint64) ([]byte, error) {
	return dagcbor.Encode(dagcbor.Map(
		dagcbor.Entry{Key: "v", Value: dagcbor.Uint(rosterMsgVersion)},
		dagcbor.Entry{Key: "type", Value: dagcbor.Text(kind)},
		dagcbor.Entry{Key: "roster", Value: dagcbor.Uint(version)},
	))
}

func decodeRosterRequest(b []byte) (kind string, version uint64, err error) {
	v, err := dagcbor.Decode(b, dagcbor.Limits{MaxBytes: maxRosterRequest, MaxDepth: 1, MaxString: 16, MaxItems: 4})
	if err != nil {
		return "", 0, fmt.Errorf("daemon: roster request: %w", err)
	}
	f := dagcbor.ReadFields(v)
	ver, kind, version := f.Uint("v"), f.Text("type"), f.Uint("roster")
	if err := f.Done(); err != nil {
		return "", 0, fmt.Errorf("daemon: roster request: %w", err)
	}
	if ver != rosterMsgVersion || (kind != "get" && kind != "have") {
		return "", 0, fmt.Errorf("daemon: roster request: version %d type %q", ver, kind)
	}
	return kind, version, nil
}

// agencyOf names p's agency under the current roster, for logs.
func (d *Daemon) agencyOf(p peer.ID) string {
	id := p.String()
	for _, m := range d.n.Roster().Members {
		if m.PeerID == id {
			return m.Agency.String()
		}
	}
	return "unknown"
}
