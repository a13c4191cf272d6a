package hybrid

import (
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/vigie-project/vigie/internal/atomicfile"
)

const (
	pemType = "VIGIE AGENCY SIGNING KEY"
	// KeyFileVersion is the key file format written by WriteKeyFile.
	KeyFileVersion = "1"
	// MaxKeyFileSize bounds what ReadKeyFile will read.
	MaxKeyFileSize = 4096
)

// Errors about key files.
var (
	// ErrKeyFilePermissions means a key file is readable by group or others.
	ErrKeyFilePermissions = errors.New("hybrid: key file permissions too open")
	// ErrKeyFileFormat means a key file is not a Vigie agency key of a known version.
	ErrKeyFileFormat = errors.New("hybrid: not a valid agency key file")
)

// WriteKeyFile stores k at path with 0600 permissions. It writes a temporary
// file in the same folder, syncs it and renames it into place, so a crash
// never leaves a half-written key. An existing file is never overwritten.
func WriteKeyFile(path string, k *PrivateKey) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("hybrid: key file %s already exists", path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("hybrid: checking key file: %w", err)
	}
	seed := k.Seed()
	block := &pem.Block{
		Type: pemType,
		Headers: map[string]string{
			"Version": KeyFileVersion,
			"Scheme":  "Ed25519+ML-DSA-65",
			"Key-Id":  k.Public().KeyID(),
		},
		Bytes: seed[:],
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".key-*")
	if err != nil {
		return fmt.Errorf("hybrid: creating key file: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	if err := writeSynced(tmp, pem.EncodeToMemory(block)); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		return fmt.Errorf("hybrid: installing key file: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

func writeSynced(f *os.File, data []byte) error {
	defer f.Close()
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("hybrid: setting key file mode: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("hybrid: writing key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("hybrid: syncing key file: %w", err)
	}
	return f.Close()
}

func syncDir(dir string) error {
	if err := atomicfile.SyncDir(dir); err != nil {
		return fmt.Errorf("hybrid: syncing key folder: %w", err)
	}
	return nil
}

// ReadKeyFile loads a key written by WriteKeyFile. It refuses a file that
// group or others may read, since such a key must be treated as exposed.
func ReadKeyFile(path string) (*PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("hybrid: opening key file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("hybrid: key file: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %v, want 0600", ErrKeyFilePermissions, path, info.Mode().Perm())
	}
	if info.Size() > MaxKeyFileSize {
		return nil, fmt.Errorf("%w: %s is %d bytes, at most %d", ErrKeyFileFormat, path, info.Size(), MaxKeyFileSize)
	}
	data := make([]byte, info.Size())
	if _, err := f.ReadAt(data, 0); err != nil {
		return nil, fmt.Errorf("hybrid: reading key file: %w", err)
	}
	return ParseKeyFile(data)
}

// ParseKeyFile decodes the contents of a key file.
func ParseKeyFile(data []byte) (*PrivateKey, error) {
	block, rest := pem.Decode(data)
	switch {
	case block == nil:
		return nil, fmt.Errorf("%w: no PEM block", ErrKeyFileFormat)
	case block.Type != pemType:
		return nil, fmt.Errorf("%w: PEM type %q, want %q", ErrKeyFileFormat, block.Type, pemType)
	case block.Headers["Version"] != KeyFileVersion:
		return nil, fmt.Errorf("%w: format version %q, this build reads %q", ErrKeyFileFormat, block.Headers["Version"], KeyFileVersion)
	case len(block.Bytes) != SeedSize:
		return nil, fmt.Errorf("%w: seed is %d bytes, want %d", ErrKeyFileFormat, len(block.Bytes), SeedSize)
	case len(rest) != 0 && len(trimSpace(rest)) != 0:
		return nil, fmt.Errorf("%w: trailing data after the key", ErrKeyFileFormat)
	}
	var seed [SeedSize]byte
	copy(seed[:], block.Bytes)
	k := NewKeyFromSeed(seed)
	if id, ok := block.Headers["Key-Id"]; ok && id != k.Public().KeyID() {
		return nil, fmt.Errorf("%w: Key-Id header does not match the key", ErrKeyFileFormat)
	}
	return k, nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\n' || b[0] == '\r' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}
