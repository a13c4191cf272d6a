package p2p

import (
	"errors"
	"fmt"
	"os"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/crypto/pb"
)

// maxPeerKeyFile bounds what LoadPeerKey reads: a marshalled Ed25519 key is
// 68 bytes, so anything near this size is not a peer key.
const maxPeerKeyFile = 4096

// Errors about the peer key file.
var (
	// ErrPeerKeyPermissions means the key file is readable by group or
	// others; such a key must be treated as exposed, as for the agency key.
	ErrPeerKeyPermissions = errors.New("p2p: peer key file permissions too open")
	// ErrPeerKeyFormat means the file does not hold a libp2p Ed25519 key.
	ErrPeerKeyFormat = errors.New("p2p: not a libp2p Ed25519 peer key")
)

// LoadPeerKey reads the node's libp2p identity from path (the node folder's
// peer.key, written with crypto.MarshalPrivateKey). Only Ed25519 keys are
// accepted: roster peer IDs embed the Ed25519 public key, so any other type
// would mean a node folder that was not made by vigie init.
func LoadPeerKey(path string) (crypto.PrivKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("p2p: opening peer key: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("p2p: peer key: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %v, want 0600", ErrPeerKeyPermissions, path, info.Mode().Perm())
	}
	if info.Size() > maxPeerKeyFile {
		return nil, fmt.Errorf("%w: %s is %d bytes", ErrPeerKeyFormat, path, info.Size())
	}
	data := make([]byte, info.Size())
	if _, err := f.ReadAt(data, 0); err != nil {
		return nil, fmt.Errorf("p2p: reading peer key: %w", err)
	}
	return parsePeerKey(data)
}

func parsePeerKey(data []byte) (crypto.PrivKey, error) {
	key, err := crypto.UnmarshalPrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPeerKeyFormat, err)
	}
	if key.Type() != pb.KeyType_Ed25519 {
		return nil, fmt.Errorf("%w: key type %v", ErrPeerKeyFormat, key.Type())
	}
	return key, nil
}
