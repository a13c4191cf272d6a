package auditlog

import (
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/transparency-dev/merkle/compact"

	"github.com/vigie-project/vigie/crypto/checkpoint"
	"github.com/vigie-project/vigie/crypto/merkle"
)

// ErrVerify means a bundle failed verification; the error is a
// *VerifyError naming the first failing entry or checkpoint.
var ErrVerify = errors.New("auditlog: bundle verification failed")

// Failure names what failed first.
type Failure struct {
	// What is "entry", "checkpoint" (the n-th in the bundle, from 0),
	// "known checkpoint" (one given with WithKnownCheckpoints, from 0) or
	// "bundle" (the format itself).
	What string `json:"what"`
	// Index is the entry index or the checkpoint's position.
	Index uint64 `json:"index"`
	// Size is the checkpoint's tree size (checkpoints only).
	Size uint64 `json:"size,omitempty"`
	// From is, for a checkpoint whose root does not match, the size of
	// the previous checkpoint that did: the altered entries are in
	// [From, Size).
	From   uint64 `json:"from,omitempty"`
	Reason string `json:"reason"`
}

func (f Failure) String() string {
	switch f.What {
	case "entry":
		return fmt.Sprintf("entry %d: %s", f.Index, f.Reason)
	case "checkpoint", "known checkpoint":
		return fmt.Sprintf("%s %d (size %d): %s", f.What, f.Index, f.Size, f.Reason)
	}
	return f.What + ": " + f.Reason
}

// VerifyError is the error VerifyBundle returns when verification fails.
type VerifyError struct{ Failure Failure }

func (e *VerifyError) Error() string {
	return "auditlog: bundle verification failed at " + e.Failure.String()
}
func (e *VerifyError) Unwrap() error { return ErrVerify }

// CheckpointResult is one verified checkpoint.
type CheckpointResult struct {
	Size uint64      `json:"size"`
	Root merkle.Hash `json:"root"`
	// Cosigners are the witnesses whose cosignatures verified.
	Cosigners []string `json:"cosigners,omitempty"`
}

// VerifyResult is what VerifyBundle found.
type VerifyResult struct {
	Origin      string             `json:"origin"`
	Entries     uint64             `json:"entries"`
	Checkpoints []CheckpointResult `json:"checkpoints"`
	// NodeKeys are the keys every checkpoint was required to carry;
	// KeysFromBundle says they came from the bundle itself rather than
	// from WithTrustedKeys (so they prove only internal consistency).
	NodeKeys       []string `json:"node_keys"`
	KeysFromBundle bool     `json:"keys_from_bundle"`
	// Failure is set when verification failed.
	Failure *Failure `json:"failure,omitempty"`
}

type verifyOptions struct {
	trusted   []string
	witnesses []string
	quorum    int
	known     [][]byte
}

// VerifyOption configures VerifyBundle.
type VerifyOption func(*verifyOptions)

// WithTrustedKeys pins the node's checkpoint keys (vkeys) instead of
// trusting the ones the bundle carries.
func WithTrustedKeys(vkeys ...string) VerifyOption {
	return func(o *verifyOptions) { o.trusted = append(o.trusted, vkeys...) }
}

// WithWitnessQuorum requires the newest checkpoint to carry at least k
// verified cosignatures from the given witness vkeys (or, if none are
// given, from the witness keys in the bundle).
func WithWitnessQuorum(k int, vkeys ...string) VerifyOption {
	return func(o *verifyOptions) { o.quorum, o.witnesses = k, append(o.witnesses, vkeys...) }
}

// WithKnownCheckpoints gives checkpoints of this log the auditor saw
// before (an earlier audit, a witness, a court record). Each must be
// signed by the node keys and be consistent with the bundle: a bundle that
// ends before one of them, or disagrees with its root, is a rollback or a
// fork, and the known checkpoint is named.
func WithKnownCheckpoints(notes ...[]byte) VerifyOption {
	return func(o *verifyOptions) { o.known = append(o.known, notes...) }
}

type knownCP struct {
	i int
	c checkpoint.Checkpoint
}

// VerifyBundle reads a bundle and checks, offline and in one pass with
// memory independent of the number of entries: every entry's encoding and
// leaf hash; entry indexes dense from 0 (a dropped or reordered entry is
// named); the tree recomputed from the entries against every checkpoint's
// root; every checkpoint's signatures by all node keys; the consistency
// proof between successive checkpoints; witness cosignatures (and a quorum,
// if asked); and known checkpoints. It stops at the first failure and
// returns a *VerifyError naming it, with the result so far.
func VerifyBundle(r io.Reader, opts ...VerifyOption) (*VerifyResult, error) {
	var o verifyOptions
	for _, opt := range opts {
		opt(&o)
	}
	res := &VerifyResult{}
	fail := func(f Failure) (*VerifyResult, error) {
		res.Failure = &f
		return res, &VerifyError{Failure: f}
	}
	var nodeVs, witnessVs []checkpoint.Verifier
	parseKeys := func(keys []string) ([]checkpoint.Verifier, error) {
		var out []checkpoint.Verifier
		for _, k := range keys {
			v, err := checkpoint.NewVerifier(k)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	if len(o.trusted) > 0 {
		var err error
		if nodeVs, err = parseKeys(o.trusted); err != nil {
			return nil, err
		}
		res.NodeKeys = o.trusted
	}
	if len(o.witnesses) > 0 {
		var err error
		if witnessVs, err = parseKeys(o.witnesses); err != nil {
			return nil, err
		}
	}
	var bundleNode, bundleWitness []string
	var known []knownCP // verified once the node keys are known

	br := NewBundleReader(r)
	rng := rangeFactory.NewEmptyRange(0)
	var count uint64
	var cpCount uint64
	var prev *checkpoint.Checkpoint
	var pendingProof []merkle.Hash
	var proofOld, proofNew uint64
	haveProof := false
	keysDone := false

	finishKeys := func() (*VerifyResult, error) {
		keysDone = true
		if len(nodeVs) == 0 {
			vs, err := parseKeys(bundleNode)
			if err != nil {
				return fail(Failure{What: "bundle", Reason: "node key: " + err.Error()})
			}
			nodeVs, res.NodeKeys, res.KeysFromBundle = vs, bundleNode, true
		}
		if len(nodeVs) == 0 {
			return fail(Failure{What: "bundle", Reason: "no node keys"})
		}
		if len(witnessVs) == 0 && len(bundleWitness) > 0 {
			vs, err := parseKeys(bundleWitness)
			if err != nil {
				return fail(Failure{What: "bundle", Reason: "witness key: " + err.Error()})
			}
			witnessVs = vs
		}
		for i, note := range o.known {
			c, n, err := checkpoint.OpenCheckpoint(note, nodeVs...)
			if err == nil && len(n.Missing(nodeVs...)) > 0 {
				err = fmt.Errorf("not signed by every node key")
			}
			if err != nil {
				return fail(Failure{What: "known checkpoint", Index: uint64(i), Reason: err.Error()})
			}
			known = append(known, knownCP{i: i, c: c})
		}
		slices.SortStableFunc(known, func(a, b knownCP) int {
			switch {
			case a.c.Size < b.c.Size:
				return -1
			case a.c.Size > b.c.Size:
				return 1
			}
			return 0
		})
		return nil, nil
	}
	// checkKnown compares known checkpoints of size count with the tree.
	checkKnown := func() (*VerifyResult, error) {
		for len(known) > 0 && known[0].c.Size == count {
			root := rootOf(rng)
			k := known[0]
			known = known[1:]
			if res.Origin != "" && k.c.Origin != res.Origin {
				return fail(Failure{What: "known checkpoint", Index: uint64(k.i), Size: k.c.Size, Reason: fmt.Sprintf("origin %q, the bundle's is %q", k.c.Origin, res.Origin)})
			}
			if root != k.c.Root {
				return fail(Failure{What: "known checkpoint", Index: uint64(k.i), Size: k.c.Size,
					Reason: "the bundle's entries give another root at this size: the log was rewritten (a fork)"})
			}
		}
		return nil, nil
	}

	for {
		typ, p, err := br.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail(Failure{What: "bundle", Reason: err.Error()})
		}
		if !keysDone && typ != BundleNodeKey && typ != BundleWitnessKey {
			if r, err := finishKeys(); r != nil || err != nil {
				return r, err
			}
			if r, err := checkKnown(); r != nil || err != nil {
				return r, err
			}
		}
		switch typ {
		case BundleNodeKey, BundleWitnessKey:
			if keysDone {
				return fail(Failure{What: "bundle", Reason: "key after entries"})
			}
			if len(p) > 4096 {
				return fail(Failure{What: "bundle", Reason: "key too long"})
			}
			if typ == BundleNodeKey {
				bundleNode = append(bundleNode, string(p))
			} else {
				bundleWitness = append(bundleWitness, string(p))
			}
		case BundleEntry:
			s, err := BundleEntryRecord(p)
			if err != nil {
				return fail(Failure{What: "entry", Index: count, Reason: err.Error()})
			}
			if s.Index != count {
				reason := fmt.Sprintf("found entry %d in its place", s.Index)
				if s.Index > count {
					reason += ": entries are missing"
				} else {
					reason += ": entries are out of order"
				}
				return fail(Failure{What: "entry", Index: count, Reason: reason})
			}
			if LeafHash(&s.Salt, s.Index, s.Encoded) != s.Leaf {
				return fail(Failure{What: "entry", Index: count, Reason: "its bytes do not match its leaf hash: altered"})
			}
			if _, err := DecodeEntry(s.Encoded); err != nil {
				return fail(Failure{What: "entry", Index: count, Reason: err.Error()})
			}
			_ = rng.Append(s.Leaf[:], nil)
			count++
			if r, err := checkKnown(); r != nil || err != nil {
				return r, err
			}
		case BundleProof:
			old, new, proof, err := BundleProofRecord(p)
			if err != nil {
				return fail(Failure{What: "checkpoint", Index: cpCount, Reason: err.Error()})
			}
			proofOld, proofNew, pendingProof, haveProof = old, new, proof, true
		case BundleCheckpoint:
			idx := cpCount
			cpCount++
			c, n, err := checkpoint.OpenCheckpoint(p, nodeVs...)
			if err != nil {
				return fail(Failure{What: "checkpoint", Index: idx, Reason: err.Error()})
			}
			if m := n.Missing(nodeVs...); len(m) > 0 {
				return fail(Failure{What: "checkpoint", Index: idx, Size: c.Size, Reason: "no signature by node key " + m[0].Name()})
			}
			if res.Origin == "" {
				res.Origin = c.Origin
			} else if c.Origin != res.Origin {
				return fail(Failure{What: "checkpoint", Index: idx, Size: c.Size, Reason: fmt.Sprintf("origin %q, earlier ones %q", c.Origin, res.Origin)})
			}
			if c.Size != count {
				return fail(Failure{What: "checkpoint", Index: idx, Size: c.Size, Reason: fmt.Sprintf("placed after %d entries", count)})
			}
			if prev != nil && prev.Size > 0 {
				if !haveProof || proofOld != prev.Size || proofNew != c.Size {
					return fail(Failure{What: "checkpoint", Index: idx, Size: c.Size, Reason: "no consistency proof from the previous checkpoint"})
				}
				if err := checkpoint.VerifyConsistency(*prev, c, pendingProof); err != nil {
					return fail(Failure{What: "checkpoint", Index: idx, Size: c.Size, Reason: "inconsistent with the previous checkpoint: " + err.Error()})
				}
			}
			haveProof = false
			if root := rootOf(rng); root != c.Root {
				var from uint64
				if prev != nil {
					from = prev.Size
				}
				return fail(Failure{What: "checkpoint", Index: idx, Size: c.Size, From: from,
					Reason: fmt.Sprintf("the entries give another root: an entry in [%d, %d) was altered together with its leaf hash", from, c.Size)})
			}
			cr := CheckpointResult{Size: c.Size, Root: c.Root}
			for _, s := range n.Unknown {
				for _, v := range witnessVs {
					if s.Name == v.Name() && s.KeyHash == v.KeyHash() {
						if _, err := checkpoint.VerifyCosignature(n.Text, s, v); err != nil {
							return fail(Failure{What: "checkpoint", Index: idx, Size: c.Size, Reason: "witness " + v.Name() + ": " + err.Error()})
						}
						if !slices.Contains(cr.Cosigners, v.Name()) {
							cr.Cosigners = append(cr.Cosigners, v.Name())
						}
					}
				}
			}
			res.Checkpoints = append(res.Checkpoints, cr)
			prev = &c
		case BundleEnd:
			if getU64(p) != count || getU64(p[8:]) != cpCount {
				return fail(Failure{What: "bundle", Reason: fmt.Sprintf("end record counts %d entries and %d checkpoints, found %d and %d", getU64(p), getU64(p[8:]), count, cpCount)})
			}
		default:
			return fail(Failure{What: "bundle", Reason: fmt.Sprintf("unknown record type %q", typ)})
		}
		res.Entries = count
	}
	if !keysDone {
		if r, err := finishKeys(); r != nil || err != nil {
			return r, err
		}
	}
	res.Entries = count
	if len(known) > 0 {
		k := known[0]
		return fail(Failure{What: "known checkpoint", Index: uint64(k.i), Size: k.c.Size,
			Reason: fmt.Sprintf("the bundle ends at %d entries, before this published checkpoint: a rollback", count)})
	}
	if prev == nil {
		return fail(Failure{What: "bundle", Reason: "no checkpoint"})
	}
	if prev.Size != count {
		return fail(Failure{What: "entry", Index: prev.Size, Reason: "not covered by any checkpoint"})
	}
	if o.quorum > 0 {
		last := res.Checkpoints[len(res.Checkpoints)-1]
		if len(last.Cosigners) < o.quorum {
			return fail(Failure{What: "checkpoint", Index: cpCount - 1, Size: last.Size,
				Reason: fmt.Sprintf("%d witness cosignatures, quorum is %d", len(last.Cosigners), o.quorum)})
		}
	}
	return res, nil
}

func rootOf(r *compact.Range) merkle.Hash {
	if r.End() == 0 {
		return merkle.EmptyRoot()
	}
	h, err := r.GetRootHash(nil)
	if err != nil {
		return merkle.Hash{}
	}
	return merkle.Hash(h)
}
