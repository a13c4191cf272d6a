package witness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/sirupsen/logrus"

	"github.com/vigie-project/vigie/crypto/checkpoint"
	"github.com/vigie-project/vigie/crypto/merkle"
	"github.com/vigie-project/vigie/node/p2p"
)

// OriginKeys returns the keys an origin's checkpoints must all be signed
// with (a Vigie node's Ed25519 and ML-DSA-44 checkpoint keys, from the
// roster), or an error or no keys if this witness does not witness it.
type OriginKeys func(origin string) ([]checkpoint.Verifier, error)

// Cosigned describes one checkpoint a witness cosigned, for its audit log
// (a checkpoint_cosigned entry).
type Cosigned struct {
	Origin string
	Size   uint64
	Root   merkle.Hash
	// OldSize is the size cosigned before for this origin (0 if none).
	OldSize uint64
	Time    time.Time
}

// Config configures a Witness.
type Config struct {
	// Dir holds the witness's state (created if missing): one file per
	// origin and the equivocation proofs found.
	Dir string
	// Cosigners sign the cosignatures: timestamped types only
	// (checkpoint.NewEd25519Cosigner, NewMLDSA44Signer), at most
	// MaxCosignatures.
	Cosigners []checkpoint.Signer
	// Origins maps an origin to its checkpoint keys.
	Origins OriginKeys
	// Now is the clock of the cosignature timestamps (default time.Now).
	Now func() time.Time
	// Timeout bounds one request on a stream (default 10 s).
	Timeout time.Duration
	// Logger receives refusals and equivocations (default: discarded).
	Logger *logrus.Entry
	// OnCosign, if set, is called after each cosignature is persisted,
	// before the answer is sent, under the origin's lock: it must be
	// quick and must not call the witness.
	OnCosign func(Cosigned)
	// OnEquivocation, if set, is called once for each new proof of
	// misbehaviour, after it is persisted (under the origin's lock too).
	OnEquivocation func(*Equivocation)
}

// Witness cosigns the checkpoints of the origins it knows, each only if it
// is consistent with the last one it cosigned for that origin, and keeps
// the proof of any inconsistency it sees.
type Witness struct {
	cfg Config

	mu      sync.Mutex // guards origins and equivs
	origins map[string]*originState
	equivs  []*Equivocation
	seen    map[string]bool // IDs of equivs
}

// originState serialises the check-and-update of one origin.
type originState struct {
	mu    sync.Mutex
	state *State // nil until the first cosignature
}

// maxEquivocationsPerOrigin bounds the proofs kept per origin: one is
// enough to convict, a few show the pattern.
const maxEquivocationsPerOrigin = 16

// Open loads the witness's state from cfg.Dir.
func Open(cfg Config) (*Witness, error) {
	if cfg.Dir == "" {
		return nil, errors.New("witness: no state folder")
	}
	if cfg.Origins == nil {
		return nil, errors.New("witness: no origin keys")
	}
	if len(cfg.Cosigners) == 0 || len(cfg.Cosigners) > MaxCosignatures {
		return nil, fmt.Errorf("witness: %d cosigners, want 1 to %d", len(cfg.Cosigners), MaxCosignatures)
	}
	for _, s := range cfg.Cosigners {
		if _, ok := s.(interface {
			SignAt([]byte, uint64) ([]byte, error)
		}); !ok {
			return nil, fmt.Errorf("witness: %s is not a cosignature key (types 0x04, 0x06)", s.Name())
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		l := logrus.New()
		l.SetOutput(discard{})
		cfg.Logger = logrus.NewEntry(l)
	}
	if err := os.MkdirAll(filepath.Join(cfg.Dir, equivocationDir), 0o700); err != nil {
		return nil, fmt.Errorf("witness: %w", err)
	}
	states, err := loadStates(cfg.Dir)
	if err != nil {
		return nil, err
	}
	equivs, err := loadEquivocations(filepath.Join(cfg.Dir, equivocationDir))
	if err != nil {
		return nil, err
	}
	w := &Witness{cfg: cfg, origins: make(map[string]*originState, len(states)), seen: make(map[string]bool)}
	for o, s := range states {
		w.origins[o] = &originState{state: s}
	}
	for _, e := range equivs {
		id, err := e.ID()
		if err != nil {
			return nil, err
		}
		w.seen[id] = true
		w.equivs = append(w.equivs, e)
	}
	return w, nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// Register serves Protocol on h.
func (w *Witness) Register(h *p2p.Host) { h.Handle(Protocol, w.ServeStream) }

// Latest returns the latest checkpoint cosigned for origin.
func (w *Witness) Latest(origin string) (State, bool) {
	o := w.origin(origin, false)
	if o == nil {
		return State{}, false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.state == nil {
		return State{}, false
	}
	return *o.state, true
}

// Equivocations returns the proofs of misbehaviour this witness holds.
func (w *Witness) Equivocations() []*Equivocation {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]*Equivocation(nil), w.equivs...)
}

func (w *Witness) origin(name string, create bool) *originState {
	w.mu.Lock()
	defer w.mu.Unlock()
	o := w.origins[name]
	if o == nil && create {
		o = &originState{}
		w.origins[name] = o
	}
	return o
}

// ServeStream answers one add-checkpoint request on s and closes it.
func (w *Witness) ServeStream(_ context.Context, s network.Stream) {
	if err := s.SetDeadline(time.Now().Add(w.cfg.Timeout)); err != nil {
		s.Reset()
		return
	}
	var resp *Response
	msg, err := p2p.ReadFrame(s, MaxRequestSize)
	if err == nil {
		var req *Request
		if req, err = ParseRequest(msg); err == nil {
			resp = w.Add(req)
		}
	}
	if err != nil {
		resp = &Response{Status: StatusBadRequest, Reason: err.Error()}
	}
	if resp.Status != StatusOK {
		w.cfg.Logger.WithFields(logrus.Fields{"peer": s.Conn().RemotePeer().String(), "status": resp.Status}).
			Info("witness: checkpoint refused: " + resp.Reason)
	}
	out, err := resp.Marshal()
	if err == nil {
		err = p2p.WriteFrame(s, out, MaxResponseSize)
	}
	if err != nil {
		s.Reset()
		return
	}
	s.Close()
}

// Add decides on one request: the transport-free core of the protocol.
// The checks, in order: the origin is known (404); the note carries a
// valid signature by every key of the origin (403); the old size is not
// beyond the checkpoint (400); a checkpoint of the size already cosigned
// with another root is an equivocation (recorded; 409); a smaller
// checkpoint is a rollback (409); the old size must be the one last
// cosigned (409, answering that size); the proof must show consistency
// (422, recording an equivocation if the proof itself shows one). Then the
// new state is persisted, and only then cosigned (200). A checkpoint equal
// to the one held is cosigned again (a retry after a lost answer).
func (w *Witness) Add(req *Request) *Response {
	parsed, err := checkpoint.ParseNote(req.Note)
	if err != nil {
		return &Response{Status: StatusBadRequest, Reason: err.Error()}
	}
	unverified, err := checkpoint.ParseCheckpoint(parsed.Text)
	if err != nil {
		return &Response{Status: StatusBadRequest, Reason: err.Error()}
	}
	keys, err := w.cfg.Origins(unverified.Origin)
	if err != nil || len(keys) == 0 {
		reason := "unknown origin"
		if err != nil {
			reason += ": " + err.Error()
		}
		return &Response{Status: StatusUnknownOrigin, Reason: reason}
	}
	c, n, err := checkpoint.OpenCheckpoint(req.Note, keys...)
	if err != nil {
		return &Response{Status: StatusForbidden, Reason: err.Error()}
	}
	if missing := n.Missing(keys...); len(missing) > 0 {
		return &Response{Status: StatusForbidden, Reason: "not signed by the origin's key " + missing[0].Name()}
	}
	if req.OldSize > c.Size {
		return &Response{Status: StatusBadRequest, Reason: fmt.Sprintf("old size %d is beyond the checkpoint's size %d", req.OldSize, c.Size)}
	}

	o := w.origin(c.Origin, true)
	o.mu.Lock()
	defer o.mu.Unlock()
	held := State{Origin: c.Origin, Root: merkle.EmptyRoot()}
	if o.state != nil {
		held = *o.state
	}
	heldCP := checkpoint.Checkpoint{Origin: held.Origin, Size: held.Size, Root: held.Root}
	switch {
	case o.state != nil && c.Size == held.Size && c.Root != held.Root:
		w.record(&Equivocation{Kind: KindSameSize, Origin: c.Origin, First: held.Note, Second: canonicalNote(n)})
		return &Response{Status: StatusConflict, Size: held.Size, Reason: "equivocation: another root for the size already cosigned"}
	case c.Size < held.Size:
		return &Response{Status: StatusConflict, Size: held.Size, Reason: fmt.Sprintf("rollback: size %d is older than the %d already cosigned", c.Size, held.Size)}
	case req.OldSize != held.Size:
		return &Response{Status: StatusConflict, Size: held.Size, Reason: fmt.Sprintf("old size %d is not the %d last cosigned", req.OldSize, held.Size)}
	}
	if c.Size == held.Size && o.state != nil {
		// The checkpoint already cosigned (same size, same root).
		if len(req.Proof) != 0 {
			return &Response{Status: StatusBadRequest, Reason: "non-empty proof between equal sizes"}
		}
		return w.cosign(n.Text, c, held.Size)
	}
	if held.Size == 0 {
		// Every tree extends the empty one; there is nothing to prove.
		if len(req.Proof) != 0 {
			return &Response{Status: StatusBadRequest, Reason: "non-empty proof from size 0"}
		}
	} else if err := checkpoint.VerifyConsistency(heldCP, c, req.Proof); err != nil {
		if prefix, ok := inconsistencyEvidence(heldCP, c, req.Proof); ok {
			w.record(&Equivocation{Kind: KindInconsistent, Origin: c.Origin, First: held.Note, Second: canonicalNote(n),
				PrefixRoot: prefix, Proof: append([]merkle.Hash(nil), req.Proof...)})
			return &Response{Status: StatusBadProof, Reason: "equivocation: the checkpoint's tree does not extend the one cosigned"}
		}
		return &Response{Status: StatusBadProof, Reason: err.Error()}
	}
	next := &State{Origin: c.Origin, Size: c.Size, Root: c.Root, Note: canonicalNote(n)}
	data, err := next.marshal()
	if err == nil {
		err = writeFileAtomic(w.cfg.Dir, stateName(c.Origin), data)
	}
	if err != nil {
		w.cfg.Logger.WithError(err).Error("witness: persisting state")
		return &Response{Status: StatusInternal, Reason: "could not persist the witness state"}
	}
	o.state = next
	return w.cosign(n.Text, c, held.Size)
}

// canonicalNote rebuilds a note from its text and the origin's verified
// signatures, dropping the lines of other keys (witnesses' cosignatures
// among them), so that the state and any proof stay small.
func canonicalNote(n *checkpoint.Note) []byte {
	b := append([]byte(nil), n.Text...)
	b = append(b, '\n')
	for _, s := range n.Verified {
		b = append(b, s.Line()...)
	}
	return b
}

// cosign signs the checkpoint body with every cosigner (the state is
// already durable).
func (w *Witness) cosign(body []byte, c checkpoint.Checkpoint, oldSize uint64) *Response {
	now := w.cfg.Now()
	t := uint64(max(now.Unix(), 0))
	sigs := make([]checkpoint.Signature, 0, len(w.cfg.Cosigners))
	for _, s := range w.cfg.Cosigners {
		sig, err := checkpoint.Cosign(body, s, t)
		if err != nil {
			w.cfg.Logger.WithError(err).Error("witness: cosigning")
			return &Response{Status: StatusInternal, Reason: "could not cosign"}
		}
		sigs = append(sigs, sig)
	}
	if w.cfg.OnCosign != nil {
		w.cfg.OnCosign(Cosigned{Origin: c.Origin, Size: c.Size, Root: c.Root, OldSize: oldSize, Time: now})
	}
	return &Response{Status: StatusOK, Cosignatures: sigs}
}

// record persists a new equivocation proof and reports it.
func (w *Witness) record(e *Equivocation) {
	log := w.cfg.Logger.WithFields(logrus.Fields{"origin": e.Origin, "kind": e.Kind})
	id, err := e.ID()
	if err != nil {
		log.WithError(err).Error("witness: equivocation proof cannot be serialised")
		return
	}
	w.mu.Lock()
	if w.seen[id] {
		w.mu.Unlock()
		return
	}
	count := 0
	for _, x := range w.equivs {
		if x.Origin == e.Origin {
			count++
		}
	}
	if count >= maxEquivocationsPerOrigin {
		w.mu.Unlock()
		log.Warn("witness: equivocation seen again (enough proofs kept)")
		return
	}
	w.seen[id] = true
	w.equivs = append(w.equivs, e)
	w.mu.Unlock()
	data, _ := e.Marshal()
	if err := writeFileAtomic(filepath.Join(w.cfg.Dir, equivocationDir), id+".json", data); err != nil {
		log.WithError(err).Error("witness: persisting an equivocation proof")
	}
	log.Warn("witness: origin signed inconsistent checkpoints; proof kept")
	if w.cfg.OnEquivocation != nil {
		w.cfg.OnEquivocation(e)
	}
}
