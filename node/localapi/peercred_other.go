//go:build !linux

package localapi

import "net"

// checkPeer relies on the socket's mode (0600) where the system does not
// report the peer's credentials simply.
func checkPeer(net.Conn) error { return nil }
