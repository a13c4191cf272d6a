package syncnet

import (
	"maps"

	"github.com/vigie-project/vigie/node/syncengine"
)

// Stats are the runner's counters, for metrics and tests.
type Stats struct {
	Engine syncengine.Stats
	Peers  map[syncengine.PeerID]PeerStats
}

// PeerStats are the counters of one peer since New.
type PeerStats struct {
	Agency   string
	Up       bool   // a session is live: the engine counts the peer up
	Sessions uint64 // sessions started (host PeerUps and restarts after a failure)
	// Invalid counts bundles from the peer the node found invalid (the
	// engine's count: a bundle delivered twice counts once).
	Invalid uint64
	// Malformed counts sessions failed by a malformed message or frame;
	// StreamFailures counts every failed session, those included.
	Malformed      uint64
	StreamFailures uint64
	// SendsDropped counts engine sends not written because the session
	// had failed (the next session's feed covers them).
	SendsDropped     uint64
	MessagesSent     uint64
	MessagesReceived uint64
	BytesSent        uint64 // message bytes, without frame prefixes
	BytesReceived    uint64
	// Engine is the engine's view of the peer.
	Engine syncengine.PeerStats
}

// Stats returns a snapshot of the counters, as of the event loop's last
// pass.
func (r *Runner) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Stats{Engine: r.stats.Engine, Peers: maps.Clone(r.stats.Peers)}
}

// setPeer updates one peer's counters (loop only).
func (r *Runner) setPeer(p syncengine.PeerID, f func(*PeerStats)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.stats.Peers[p]
	f(&st)
	r.stats.Peers[p] = st
}

// publish copies the engine's counters into the snapshot (loop only, once
// per pass rather than per event).
func (r *Runner) publish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.Engine = r.eng.Stats()
	for _, p := range r.eng.Peers() {
		es, _ := r.eng.Peer(p)
		st := r.stats.Peers[p]
		st.Engine, st.Invalid = es, es.Invalid
		r.stats.Peers[p] = st
	}
}
