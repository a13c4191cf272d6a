// Package daemon runs a node as a member of its federation: it opens the
// node, starts the libp2p host (node/p2p) gated by the roster, serves
// token issuance if the node holds an issuer share, tokenises through the
// federation's issuers, and drives the sync engine (node/syncengine)
// through its libp2p adapter (node/syncnet) with the node's log, baseline
// policy and verified deliveries.
//
// It is the one place where these parts meet, so that `vigie run`, `vigie
// demo` and the multi-node tests start a member exactly the same way:
//
//	d, err := daemon.Start(ctx, dir, daemon.WithListen("/ip4/127.0.0.1/udp/0/quic-v1"))
//	...
//	d.Node().Assert(ctx, req)   // pushed to every connected member the policy allows
//	d.Close()                   // stops sync, the host, then the node
package daemon
