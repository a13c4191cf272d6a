package auditlog

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vigie-project/vigie/crypto/checkpoint"
	"github.com/vigie-project/vigie/node"
	"github.com/vigie-project/vigie/protocol/record"
)

// A node keeps its audit log in its folder, in audit/ beside the keys
// node.EnsureAuditKeys creates (see node/auditkeys.go): audit/audit.log
// holds entries, checkpoints and cosignatures.
const (
	NodeDir          = node.AuditDir
	VerifierKeysFile = node.AuditVerifierFile
)

// OpenForNode opens (creating on first use, with fresh keys if the node
// has none yet) the audit log of the node in nodeDir, whose checkpoints
// name node.AuditOrigin(federation, agency).
func OpenForNode(nodeDir, federation string, agency record.Agency, opts ...Option) (*Log, error) {
	keys, err := node.EnsureAuditKeys(nodeDir, federation, agency)
	if err != nil {
		return nil, fmt.Errorf("auditlog: signing keys: %w", err)
	}
	var signers []checkpoint.Signer
	for _, k := range keys.Signers {
		s, err := checkpoint.NewSigner(k, nil)
		if err != nil {
			return nil, fmt.Errorf("auditlog: %s: %w", filepath.Join(nodeDir, NodeDir, node.AuditSignerFile), err)
		}
		signers = append(signers, s)
	}
	origin := node.AuditOrigin(federation, agency)
	return Open(filepath.Join(nodeDir, NodeDir), signers, append([]Option{WithOrigin(origin)}, opts...)...)
}

// NodeVerifierKeys returns the verifier keys of the node's audit log.
func NodeVerifierKeys(nodeDir string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(nodeDir, NodeDir, VerifierKeysFile))
	if err != nil {
		return nil, fmt.Errorf("auditlog: %w", err)
	}
	return strings.Fields(string(b)), nil
}

// Record implements node.EventRecorder: every other processing operation
// the node and its daemon report becomes an entry (appended; durable with
// the next batch, within the batch interval).
func (s Sink) Record(ctx context.Context, ev node.AuditEvent) error {
	_, err := s.Log.Append(ctx, Entry{Kind: Kind(ev.Kind), Time: ev.Time, Actor: ev.Actor, Fields: ev.Fields})
	return err
}

var _ node.EventRecorder = Sink{}
