package p2p

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/sec"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
)

// hybridGroups are the TLS 1.3 key exchanges that combine a classical
// curve with ML-KEM. Go offers X25519MLKEM768 first by default; the
// SecP groups are what a FIPS 140-3 build may pick instead.
var hybridGroups = []tls.CurveID{tls.X25519MLKEM768, tls.SecP256r1MLKEM768, tls.SecP384r1MLKEM1024}

// ErrNotPostQuantum means this binary's TLS stack would not negotiate a
// post-quantum hybrid key exchange (for instance GODEBUG=tlsmlkem=0).
// Token-issuance traffic recorded today must not be decryptable by a
// future quantum computer (see crypto/fedtoken's caveats), so the host
// refuses to start.
var ErrNotPostQuantum = errors.New("p2p: TLS would not use a post-quantum key exchange")

// negotiatedGroup runs one TLS handshake in memory between two libp2p TLS
// transports built exactly as the host builds its own, and returns the key
// exchange they agreed on. libp2p does not expose the group of a live
// connection over TCP, so this is how the host checks what its TLS stack
// negotiates.
func negotiatedGroup(ctx context.Context) (tls.CurveID, error) {
	client, _, err := throwawayTLS()
	if err != nil {
		return 0, err
	}
	server, serverID, err := throwawayTLS()
	if err != nil {
		return 0, err
	}
	// Only the handshake runs over the pipe: closing the TLS connections
	// would make both ends write a close_notify into a pipe nobody reads.
	a, b := net.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := server.SecureInbound(ctx, b, "")
		done <- err
	}()
	conn, err := client.SecureOutbound(ctx, a, serverID)
	if err != nil {
		a.Close()
		b.Close()
		<-done
		return 0, fmt.Errorf("p2p: TLS self-check: %w", err)
	}
	serr := <-done
	a.Close()
	b.Close()
	if serr != nil {
		return 0, fmt.Errorf("p2p: TLS self-check: %w", serr)
	}
	return groupOf(conn)
}

// groupOf reads the key exchange of a libp2p TLS connection, which embeds
// the *tls.Conn.
func groupOf(c sec.SecureConn) (tls.CurveID, error) {
	tc, ok := c.(interface{ ConnectionState() tls.ConnectionState })
	if !ok {
		return 0, fmt.Errorf("p2p: TLS self-check: %T does not expose its TLS state", c)
	}
	return tc.ConnectionState().CurveID, nil
}

func throwawayTLS() (*libp2ptls.Transport, peer.ID, error) {
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, "", err
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return nil, "", err
	}
	t, err := libp2ptls.New(libp2ptls.ID, key, nil)
	if err != nil {
		return nil, "", fmt.Errorf("p2p: TLS self-check: %w", err)
	}
	return t, id, nil
}

// checkPostQuantum fails unless the TLS stack negotiates a hybrid group.
func checkPostQuantum(ctx context.Context) error {
	g, err := negotiatedGroup(ctx)
	if err != nil {
		return err
	}
	if !slices.Contains(hybridGroups, g) {
		return fmt.Errorf("%w: negotiated %v (is GODEBUG tlsmlkem=0 set?)", ErrNotPostQuantum, g)
	}
	return nil
}
