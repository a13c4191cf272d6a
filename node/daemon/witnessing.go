package daemon

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/sirupsen/logrus"

	"github.com/vigie-project/vigie/crypto/checkpoint"
	"github.com/vigie-project/vigie/crypto/merkle"
	"github.com/vigie-project/vigie/node"
	"github.com/vigie-project/vigie/node/auditlog"
	"github.com/vigie-project/vigie/node/witness"
	"github.com/vigie-project/vigie/protocol/record"
)

// Witnessing says how a member's audit checkpoints are witnessed by peers,
// and whose checkpoints it witnesses in turn (DESIGN.md decision 10).
type Witnessing struct {
	// Witnesses lists the members asked to cosign each checkpoint.
	Witnesses func() []peer.ID
	// Quorum is how many cosignatures a checkpoint needs.
	Quorum int
	// OriginKeys gives the checkpoint keys of the members this one
	// witnesses (their audit logs' verifier keys).
	OriginKeys witness.OriginKeys
	// WitnessKeys, if set, gives each witness's cosigning keys, so that
	// cosignatures are checked before they are stored.
	WitnessKeys func(peer.ID) []checkpoint.Verifier
}

// WithWitnessing turns witnessing on.
func WithWitnessing(w Witnessing) Option { return func(o *options) { o.witnessing = &w } }

// WitnessStats are the member's witnessing counters.
type WitnessStats struct {
	Cosigned     uint64        // checkpoints that reached the quorum
	Failed       uint64        // checkpoints that did not
	CosignedSize uint64        // size of the latest checkpoint with a quorum
	LastLatency  time.Duration // from publication to quorum, latest checkpoint
}

// witnessDir holds this member's state as a witness, in its audit folder.
const witnessDir = "witness"

// witnessing is the running state.
type witnessing struct {
	cfg    Witnessing
	log    *auditlog.Log
	client *witness.Client
	w      *witness.Witness
	logger *logrus.Entry

	pending chan checkpointNote // the latest checkpoint to get cosigned
	done    chan struct{}

	mu    sync.Mutex
	stats WitnessStats
}

type checkpointNote struct {
	c    checkpoint.Checkpoint
	note []byte
	at   time.Time
}

// onCheckpoint queues a newly published checkpoint, replacing one not yet
// sent: a later checkpoint covers an earlier one.
func (ws *witnessing) onCheckpoint(c checkpoint.Checkpoint, note []byte) {
	cn := checkpointNote{c: c, note: note, at: time.Now()}
	for {
		select {
		case ws.pending <- cn:
			return
		default:
		}
		select {
		case <-ws.pending:
		default:
		}
	}
}

// startWitnessing opens this member's witness (it cosigns the others'
// checkpoints) and the loop that has its own checkpoints cosigned.
func (d *Daemon) startWitnessing(ctx context.Context, dir string, ws *witnessing) error {
	cosigner, err := witnessSigner(dir, d.n)
	if err != nil {
		return err
	}
	ws.w, err = witness.Open(witness.Config{
		Dir: filepath.Join(dir, auditlog.NodeDir, witnessDir), Cosigners: []checkpoint.Signer{cosigner},
		Origins: ws.cfg.OriginKeys, Logger: ws.logger,
	})
	if err != nil {
		return err
	}
	ws.w.Register(d.h)
	var opts []witness.ClientOption
	if ws.cfg.WitnessKeys != nil {
		opts = append(opts, witness.WithWitnessKeys(ws.cfg.WitnessKeys))
	}
	ws.client = witness.NewClient(d.h, opts...)
	go ws.run(ctx)
	return nil
}

func (ws *witnessing) run(ctx context.Context) {
	defer close(ws.done)
	for {
		select {
		case <-ctx.Done():
			return
		case cn := <-ws.pending:
			ws.cosign(ctx, cn)
		}
	}
}

// cosign asks the witnesses for a quorum on one checkpoint and stores the
// cosignatures with the log.
func (ws *witnessing) cosign(ctx context.Context, cn checkpointNote) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	proof := func(old uint64) ([]merkle.Hash, error) { return ws.log.ConsistencyProof(old, cn.c.Size) }
	sigs, err := ws.client.Collect(ctx, ws.cfg.Witnesses(), cn.note, proof, ws.cfg.Quorum)
	if err == nil {
		for _, s := range sigs {
			if err = ws.log.AddCosignatures(ctx, cn.c.Size, s.Signatures...); err != nil {
				break
			}
		}
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if err != nil {
		ws.stats.Failed++
		if ctx.Err() == nil {
			ws.logger.WithError(err).WithField("size", cn.c.Size).Warn("audit checkpoint not cosigned by a quorum")
		}
		return
	}
	ws.stats.Cosigned++
	ws.stats.CosignedSize = max(ws.stats.CosignedSize, cn.c.Size)
	ws.stats.LastLatency = time.Since(cn.at)
}

// WitnessStats returns the witnessing counters (zero without witnessing).
func (d *Daemon) WitnessStats() WitnessStats {
	if d.wit == nil {
		return WitnessStats{}
	}
	d.wit.mu.Lock()
	defer d.wit.mu.Unlock()
	return d.wit.stats
}

// rosterWitnessing is the witnessing the roster configures: every other
// member with the witness role and a witness key is asked; the quorum is
// the roster's; the origins this member witnesses, and the keys it checks
// their checkpoints and cosignatures with, are the roster's too. It reads
// the roster in force at each call, so an adopted version applies at once.
func rosterWitnessing(n *node.Node) Witnessing {
	return Witnessing{
		Witnesses: func() []peer.ID {
			var out []peer.ID
			for _, m := range n.Roster().Members {
				if m.Agency == n.Agency() || m.WitnessKey == "" || !slices.Contains(m.Roles, record.RoleWitness) {
					continue
				}
				if id, err := peer.Decode(m.PeerID); err == nil {
					out = append(out, id)
				}
			}
			return out
		},
		Quorum: int(n.Roster().WitnessQuorum),
		OriginKeys: func(origin string) ([]checkpoint.Verifier, error) {
			r := n.Roster()
			for _, m := range r.Members {
				if node.AuditOrigin(r.Federation, m.Agency) == origin && len(m.AuditKeys) > 0 {
					return checkpoint.NewVerifiers(m.AuditKeys...)
				}
			}
			return nil, fmt.Errorf("daemon: %q is no member's audit log", origin)
		},
		WitnessKeys: func(p peer.ID) []checkpoint.Verifier {
			for _, m := range n.Roster().Members {
				if m.PeerID == p.String() && m.WitnessKey != "" {
					vs, _ := checkpoint.NewVerifiers(m.WitnessKey)
					return vs
				}
			}
			return nil
		},
	}
}

// witnessSigner is this member's cosigning key.
func witnessSigner(dir string, n *node.Node) (checkpoint.Signer, error) {
	keys, err := node.EnsureAuditKeys(dir, n.Federation(), n.Agency())
	if err != nil {
		return nil, fmt.Errorf("daemon: witness key: %w", err)
	}
	return checkpoint.NewSigner(keys.Witness, nil)
}
