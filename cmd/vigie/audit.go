package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/vigie-project/vigie/crypto/checkpoint"
	"github.com/vigie-project/vigie/crypto/merkle"
	"github.com/vigie-project/vigie/node"
	"github.com/vigie-project/vigie/node/auditlog"
	"github.com/vigie-project/vigie/node/daemon"
	"github.com/vigie-project/vigie/node/store"
)

// The audit commands serve legal teams, data-protection authorities and
// oversight bodies (issue 6, item 4): export a node's tamper-evident audit
// log to a bundle, verify it offline, prove that one entry is in a signed
// checkpoint, and count entries for a transparency report.

func auditCommand() *command {
	return &command{
		name:    "audit",
		summary: "export, verify and prove the node's tamper-evident audit log, offline",
		subs: []*command{auditExportCommand(), auditVerifyCommand(), auditProveCommand(),
			auditVerifyProofCommand(), auditReportCommand()},
	}
}

// Limits on the files the audit commands read.
const (
	maxAuditKeyFile   = 1 << 20
	maxAuditProofFile = 1 << 20
)

// inclusionProofFormat names the proof file format `vigie audit prove`
// writes.
const inclusionProofFormat = "vigie-audit-inclusion-proof/v1"

// Shared helpers of the audit commands.

// nodeAudit is a node opened with its audit log, both locked against other
// processes while a command reads them.
type nodeAudit struct {
	node *node.Node
	log  *auditlog.Log
	an   *daemon.AuditedNode
}

// close closes the node, then its log (which publishes a last checkpoint
// if entries are uncovered).
func (a *nodeAudit) close(e *env) {
	if err := a.an.Close(); err != nil {
		e.errorf("closing the node and its audit log: %v", err)
	}
}

// openNodeAudit opens the node in nf.dir with its audit log, as every
// command that opens a stopped node does. A node that is running holds
// both: the message says so, and that it must be stopped to do what.
func openNodeAudit(ctx context.Context, e *env, nf *nodeFlags, what string) (*nodeAudit, bool) {
	log, err := nf.logger(e)
	if err != nil {
		e.errorf("%v", err)
		return nil, false
	}
	an, err := daemon.OpenNode(ctx, nf.dir, node.WithLogger(log))
	switch {
	case errors.Is(err, store.ErrLocked) || errors.Is(err, auditlog.ErrLocked):
		e.errorf("the node in %s is running (another vigie process holds its store and audit log): stop it to %s, then start it again (%v)", nf.dir, what, err)
		return nil, false
	case err != nil:
		e.errorf("%s", describeOpenError(nf.dir, err))
		return nil, false
	}
	return &nodeAudit{node: an.Node, log: an.AuditLog(), an: an}, true
}

// pathList collects a repeatable file flag (paths may hold commas).
type pathList []string

func (p *pathList) String() string { return strings.Join(*p, " ") }

func (p *pathList) Set(v string) error {
	if v == "" {
		return fmt.Errorf("empty path")
	}
	*p = append(*p, v)
	return nil
}

// readVerifierKeys reads a file of C2SP verifier keys (vkeys), separated by
// white space; lines starting with '#' are comments.
func readVerifierKeys(path string) ([]string, error) {
	b, err := readBoundedFile(path, maxAuditKeyFile)
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, k := range strings.Fields(line) {
			if _, err := checkpoint.NewVerifier(k); err != nil {
				return nil, fmt.Errorf("%s: %v", path, err)
			}
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s holds no verifier key", path)
	}
	return keys, nil
}

func readVerifiers(path string) ([]checkpoint.Verifier, error) {
	keys, err := readVerifierKeys(path)
	if err != nil {
		return nil, err
	}
	return checkpoint.NewVerifiers(keys...)
}

// readBoundedFile reads a file of at most limit bytes.
func readBoundedFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return b, nil
}

// writeNewFile creates path, which must not exist, writes it with write,
// and fsyncs it; on failure it removes it. It returns the bytes written.
func writeNewFile(path string, mode os.FileMode, write func(io.Writer) error) (int64, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return 0, err
	}
	cw := &countWriter{w: f}
	err = write(cw)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return 0, err
	}
	return cw.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// keyID shortens a verifier key to its name and key ID ("name+1a2b3c4d").
func keyID(vkey string) string {
	name, rest, ok := strings.Cut(vkey, "+")
	if id, _, ok2 := strings.Cut(rest, "+"); ok && ok2 {
		return name + "+" + id
	}
	return vkey
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func decodeHash(s string) (merkle.Hash, error) {
	var h merkle.Hash
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != len(h) {
		return h, fmt.Errorf("%q is not base64 of %d bytes", s, len(h))
	}
	copy(h[:], b)
	return h, nil
}
