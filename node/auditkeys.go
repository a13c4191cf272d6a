package node

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/vigie-project/vigie/crypto/checkpoint"
	"github.com/vigie-project/vigie/protocol/record"
)

// A node's audit-log keys live in its folder, beside the log
// (node/auditlog), and are created with the node's member folder at
// genesis so that the roster can carry their public halves:
//
//	audit/signer.keys    checkpoint signing keys, Ed25519 and ML-DSA-44 (0600)
//	audit/verifier.keys  their C2SP verifier keys (roster: audit_keys)
//	audit/witness.key    the key this node cosigns others' checkpoints with (0600)
//	audit/witness.vkey   its verifier key (roster: witness_key)
//
// They are the log's own keys, separate from the agency's signing key: they
// sign checkpoints and cosignatures, nothing else.
const (
	AuditDir             = "audit"
	AuditSignerFile      = "signer.keys"
	AuditVerifierFile    = "verifier.keys"
	WitnessSignerFile    = "witness.key"
	WitnessVerifierFile  = "witness.vkey"
	auditKeysFileMaxSize = 64 << 10
)

// AuditOrigin is the checkpoint origin line of an agency's audit log.
func AuditOrigin(federation string, a record.Agency) string {
	return "vigie/" + federation + "/" + a.Country + "-" + a.Org + "/audit"
}

// WitnessName is the key name of an agency's witness cosignatures.
func WitnessName(federation string, a record.Agency) string {
	return "vigie/" + federation + "/" + a.Country + "-" + a.Org + "/witness"
}

// AuditKeys are the contents of a folder's audit key files.
type AuditKeys struct {
	Signers         []string // C2SP private keys: sign checkpoints
	Verifiers       []string // their verifier keys
	Witness         string   // C2SP private key of the witness cosigner
	WitnessVerifier string
}

// EnsureAuditKeys reads the audit keys in dir/audit, creating any that are
// missing (names from the federation and agency).
func EnsureAuditKeys(dir, federation string, a record.Agency) (*AuditKeys, error) {
	ad := filepath.Join(dir, AuditDir)
	if err := os.MkdirAll(ad, 0o700); err != nil {
		return nil, err
	}
	k := &AuditKeys{}
	var err error
	origin := AuditOrigin(federation, a)
	if k.Signers, k.Verifiers, err = ensureKeyPair(ad, AuditSignerFile, AuditVerifierFile, origin, checkpoint.TypeEd25519, checkpoint.TypeMLDSA44); err != nil {
		return nil, err
	}
	s, v, err := ensureKeyPair(ad, WitnessSignerFile, WitnessVerifierFile, WitnessName(federation, a), checkpoint.TypeEd25519Cosignature)
	if err != nil {
		return nil, err
	}
	k.Witness, k.WitnessVerifier = s[0], v[0]
	return k, nil
}

// ensureKeyPair reads a private and a verifier key file (one key per
// line), creating both with one key per type if the private one is
// missing.
func ensureKeyPair(dir, privFile, pubFile, name string, types ...byte) (priv, pub []string, err error) {
	privPath, pubPath := filepath.Join(dir, privFile), filepath.Join(dir, pubFile)
	b, err := readBounded(privPath, auditKeysFileMaxSize)
	if errors.Is(err, fs.ErrNotExist) {
		for _, t := range types {
			s, v, err := checkpoint.GenerateKey(rand.Reader, t, name)
			if err != nil {
				return nil, nil, err
			}
			priv, pub = append(priv, s), append(pub, v)
		}
		if err := writeFileAtomic(pubPath, []byte(strings.Join(pub, "\n")+"\n"), 0o644); err != nil {
			return nil, nil, err
		}
		return priv, pub, writeFileAtomic(privPath, []byte(strings.Join(priv, "\n")+"\n"), 0o600)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("node: %s: %w", privPath, err)
	}
	pb, err := readBounded(pubPath, auditKeysFileMaxSize)
	if err != nil {
		return nil, nil, fmt.Errorf("node: %s: %w", pubPath, err)
	}
	priv, pub = strings.Fields(string(b)), strings.Fields(string(pb))
	if len(priv) == 0 || len(priv) != len(pub) {
		return nil, nil, fmt.Errorf("%w: %s and %s do not hold matching keys", ErrCorruptNode, privPath, pubPath)
	}
	return priv, pub, nil
}

// copyAuditKeys copies a member folder's audit keys into a node folder.
func copyAuditKeys(from, to string) error {
	if _, err := os.Stat(filepath.Join(from, AuditDir, AuditSignerFile)); errors.Is(err, fs.ErrNotExist) {
		return nil // a folder made before audit keys existed: the node makes its own
	}
	if err := os.MkdirAll(filepath.Join(to, AuditDir), 0o700); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		mode os.FileMode
	}{{AuditSignerFile, 0o600}, {AuditVerifierFile, 0o644}, {WitnessSignerFile, 0o600}, {WitnessVerifierFile, 0o644}} {
		if err := copyFile(filepath.Join(from, AuditDir, f.name), filepath.Join(to, AuditDir, f.name), f.mode); err != nil {
			return err
		}
	}
	return nil
}
