package auditlog

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/vigie-project/vigie/crypto/checkpoint"
	"github.com/vigie-project/vigie/node"
)

// A node keeps its audit log in its folder:
//
//	audit/audit.log       entries, checkpoints and cosignatures
//	audit/signer.keys     the checkpoint signing keys, Ed25519 and ML-DSA-44 (0600)
//	audit/verifier.keys   their verifier keys, for auditors (0644)
//
// The keys are the log's own, separate from the agency's signing key:
// they sign checkpoints only, and an auditor holds the verifier keys.
const (
	NodeDir          = "audit"
	signerKeysFile   = "signer.keys"
	VerifierKeysFile = "verifier.keys"
)

// OriginFor is the checkpoint origin line of a member's audit log.
func OriginFor(federation string, agency string) string {
	return "vigie/" + federation + "/" + strings.ReplaceAll(agency, "/", "-") + "/audit"
}

// OpenForNode opens (creating on first use, with fresh keys) the audit log
// of the node in nodeDir, whose checkpoints name origin.
func OpenForNode(nodeDir, origin string, opts ...Option) (*Log, error) {
	dir := filepath.Join(nodeDir, NodeDir)
	signers, err := nodeSigners(dir, origin)
	if err != nil {
		return nil, err
	}
	return Open(dir, signers, append([]Option{WithOrigin(origin)}, opts...)...)
}

// NodeVerifierKeys returns the verifier keys of the node's audit log.
func NodeVerifierKeys(nodeDir string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(nodeDir, NodeDir, VerifierKeysFile))
	if err != nil {
		return nil, fmt.Errorf("auditlog: %w", err)
	}
	return strings.Fields(string(b)), nil
}

// nodeSigners reads the signing keys, creating both on first use.
func nodeSigners(dir, origin string) ([]checkpoint.Signer, error) {
	path := filepath.Join(dir, signerKeysFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		b, err = createNodeKeys(dir, origin)
	}
	if err != nil {
		return nil, fmt.Errorf("auditlog: signing keys: %w", err)
	}
	var signers []checkpoint.Signer
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		s, err := checkpoint.NewSigner(line, nil)
		if err != nil {
			return nil, fmt.Errorf("auditlog: %s: %w", path, err)
		}
		signers = append(signers, s)
	}
	if len(signers) == 0 {
		return nil, fmt.Errorf("auditlog: %s holds no key", path)
	}
	return signers, nil
}

func createNodeKeys(dir, origin string) ([]byte, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	var skeys, vkeys []string
	for _, typ := range []byte{checkpoint.TypeEd25519, checkpoint.TypeMLDSA44} {
		s, v, err := checkpoint.GenerateKey(rand.Reader, typ, origin)
		if err != nil {
			return nil, err
		}
		skeys, vkeys = append(skeys, s), append(vkeys, v)
	}
	sb := []byte(strings.Join(skeys, "\n") + "\n")
	if err := writeNew(filepath.Join(dir, VerifierKeysFile), []byte(strings.Join(vkeys, "\n")+"\n"), 0o644); err != nil {
		return nil, err
	}
	if err := writeNew(filepath.Join(dir, signerKeysFile), sb, 0o600); err != nil {
		return nil, err
	}
	return sb, syncDir(dir)
}

// writeNew writes a file that must not exist yet, fsynced.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Record implements node.EventRecorder: every other processing operation
// the node and its daemon report becomes an entry (appended; durable with
// the next batch, within the batch interval).
func (s Sink) Record(ctx context.Context, ev node.AuditEvent) error {
	_, err := s.Log.Append(ctx, Entry{Kind: Kind(ev.Kind), Time: ev.Time, Actor: ev.Actor, Fields: ev.Fields})
	return err
}

var _ node.EventRecorder = Sink{}
