// Package p2p is the libp2p adapter of a Vigie node: transports and
// security, the membership gate, the peer lifecycle, and the stream
// protocols that run over them — federation-token issuance here, the sync
// protocol next (its engine is sans-I/O, in node/syncengine, and this
// package will drive it through Handle, NewStream and the peer hooks).
//
// # What the host is
//
// New builds a go-libp2p host (v0.51) with exactly:
//
//   - transports QUIC-v1 and TCP (yamux over TCP), listening only where
//     WithListenAddrs says; QUIC is tried first and TCP a moment later, and
//     TCP still works where agency networks block UDP;
//   - TLS 1.3 as the only security protocol (no Noise, no private-network
//     PSK, which QUIC does not support and which cannot be revoked);
//   - identity: the node's Ed25519 peer key (LoadPeerKey reads peer.key);
//   - no DHT, mDNS, relay, hole punching, UPnP or AutoNAT probing, and no
//     address discovery from observations: members are listed in the signed
//     roster and dialed at configured addresses (SetPeerAddrs);
//   - libp2p metrics off unless WithMetrics is given.
//
// # Security properties
//
// Confidentiality and peer authentication come from TLS 1.3: libp2p's TLS
// certificate carries the peer's key, so the handshake proves that the
// remote holds the key of the peer ID it claims. The key exchange is the
// hybrid X25519MLKEM768 that Go's crypto/tls offers first by default, so
// traffic recorded today (blinded OPRF requests and evaluations among it)
// stays confidential against a future quantum computer. The host checks
// this before it starts: it runs one in-memory handshake between two TLS
// transports built as its own and refuses to start (ErrNotPostQuantum)
// unless a hybrid group is negotiated, which catches GODEBUG=tlsmlkem=0.
// libp2p does not expose the group of a live TCP connection; the tests
// read it on a live QUIC connection (X25519MLKEM768) and check the start-up
// check fails in a process run with tlsmlkem=0. Peer signatures in the
// certificates are classical (Ed25519): authentication is not
// post-quantum, which matters only against an adversary with a quantum
// computer at the time of the handshake.
//
// Membership is enforced by a connection gater built from the roster,
// on both sides of every connection:
//
//   - dialing: InterceptPeerDial and InterceptAddrDial refuse non-members,
//     so nothing of ours, not even a ClientHello, reaches them;
//   - accepting: InterceptSecured, just after the TLS handshake has
//     authenticated the remote, is the authoritative check, and
//     InterceptUpgraded repeats it in case the roster changed meanwhile.
//
// A non-member's Connect can still return nil: in TLS 1.3 the dialer
// finishes its handshake (and libp2p its inlined muxer choice) before the
// listener decides, and the listener then drops the connection. So a
// connection proves nothing; a peer is up only once it has answered our
// hello (HelloProtocol), and only then do the Hooks hear of it. Streams
// are re-checked against the roster in force before a handler registered
// with Handle sees them, which closes the last window (a member removed
// while its connection was being set up). The tests drive a stranger
// against a member over TCP and QUIC and fail if any handler, including a
// raw libp2p handler with no re-check, is ever invoked.
//
// SetRoster swaps the member set atomically (a check never sees half of an
// update), refuses to go back to an older version, closes the connections
// of removed members at once, forgets their addresses, and reports them
// down. The gater only sees new connections, hence the explicit close.
//
// # Limits
//
// The resource manager gets fixed limits derived from the member count
// (Limits): per member 4 connections, 32 streams, 4
// concurrent token requests (which bounds the issuer CPU one member can
// take) and 32 MiB of buffers; system-wide the same times a capacity of
// twice the roster at start, plus 32 connections still in their handshake,
// where strangers die. Every scope is set explicitly on top of an all-zero
// configuration, so a scope left out blocks rather than falling back to
// libp2p's defaults, which are sized for thousands of strangers. Members'
// IP addresses are allow-listed (with their peer ID) so that they keep a
// budget of their own when strangers exhaust the normal one. libp2p's
// per-IP limits (8 concurrent connections and 16 new ones per burst per
// IPv4 address, loopback exempt) still apply and are not lifted by the
// allow-list; they matter only to several nodes behind one address. The
// connection manager protects every member, so it never trims one.
// Operators should raise net.core.rmem_max and wmem_max to about 7.5 MB
// for QUIC.
//
// Measured on loopback (BenchmarkMemberConnection, 16 members dialing a
// hub, both ends in one process): one member connection costs a node about
// 26 KB of heap and 4 goroutines over TCP, and about 34 KB and 3 goroutines
// over QUIC, once hello and identify are done.
//
// # Peer lifecycle
//
// One goroutine owns the state of every member: libp2p connection
// notifications, hello results, dial results, roster and address changes
// reach it as events on a queue (notifiers never block), and it alone
// calls the hooks, so for each peer PeerUp and PeerDown alternate in
// order. When a member has no connection left, it is redialed after an
// exponential backoff from 1 s to 60 s plus up to half again of random
// jitter (so that the two halves of a healed partition do not redial in
// lockstep); a successful hello resets the backoff. libp2p's own per-address
// dial backoff is bypassed, since ours decides when to try. Whichever side
// of a connection does not count the peer as up greets it, so both sides
// come up even when connections race. The loop runs until the context
// given to New ends or Close is called.
//
// # Token issuance (TokenProtocol, /vigie/token/1.0.0)
//
// One stream per batch: the client writes one issuance.Request frame and
// half-closes; the issuer answers one issuance.Response or issuance.Refusal
// frame and closes. Frames are an unsigned-varint length and that many
// bytes, at most issuance.MaxMessageSize; ReadFrame refuses a larger
// declared length before allocating. Both sides set stream deadlines, and
// every path ends in Close or Reset, since a stream left open holds its
// resource-manager reservation.
//
// TokenServer wraps a fedtoken.Issuer. It checks the federation, asks the
// node's Authorize hook if any, charges the member's daily budget (per UTC
// calendar day, DefaultDailyLimit evaluations, refused as rate_limited),
// evaluates, and reports every batch, answered or refused, to OnBatch for
// the audit log: peer, batch id, use, count, time, refusal code, never the
// blinded elements. Malformed, oversized or truncated requests and silent
// clients are refused or time out without affecting other requests.
//
// Tokenizer is the client. It blinds once, asks the threshold of issuers
// plus one spare in parallel (issuers that are up first, in random order
// to spread the load; this node's own share in-process with
// WithLocalIssuer), returns as soon as the threshold of valid answers is
// in, and asks further issuers whenever failures leave too few answers in
// hand or in flight. Every answer's proof is checked against the roster by
// fedtoken. The Report names each issuer that failed and why (down,
// refused, timed out, bad proof) and those cancelled because they were not
// needed; when too few answer, the error wraps
// fedtoken.ErrNotEnoughIssuers and names them all.
//
// # Adding a protocol
//
// Register its handler with Handle (which re-checks membership, gives the
// handler a context that ends with the host, and turns a panic into a
// stream reset) and open streams with NewStream. Keep one long-lived stream
// per peer and purpose rather than a stream per message: opening a stream
// costs a round trip, and a member may hold at most 32 streams in all.
// Frame messages with WriteFrame and ReadFrame. Use
// the hooks to learn when a peer is up or down, and LibP2P for anything
// else.
package p2p
