// Package node is a Vigie node: it owns the node's folder (keys, roster,
// store) and performs the operations people ask of it — assert, retract,
// look up, sweep expired assertions — by composing the protocol and crypto
// packages with the durable store in node/store.
//
// # The node folder
//
//	node.json     the node's configuration (format version, federation, agency)
//	agency.key    the agency's hybrid signing key (0600)
//	peer.key      the libp2p peer key, separate from the signing key (0600)
//	issuer.share  this node's share of the federation OPRF key, if it is an issuer (0600)
//	roster.cbor   the signed federation roster this node follows
//	rosters/      every roster version adopted, for the audit trail (AdoptRoster)
//	policy/       signed policy bundle archives, <cid>.cbor (InstallPolicy)
//	store/        the Pebble store (records, indexes, local log, sync cursors)
//	vigie.sock    the local API of a running node (node/localapi), owner only
//
// [Init] with no roster creates a standalone federation of one: the node is
// the only member and holds the only issuer share (t = 1 of n = 1), so
// everything works on one machine without peers.
//
// # Operations
//
// An assertion goes canonicalise → tokenise → build the record → batch-sign
// → store, and is acknowledged only once the store has synced it. A look-up
// tokenises every expression of the URL in one padded batch and returns each
// matching indicator with all its assertions, marking retracted and expired
// ones, which are shown but are not live matches. A look-up requires a
// purpose and names who asked; it is reported to the node's audit sink, which
// never receives the URL.
//
// # Federation sync
//
// The node is what the sync engine (node/syncengine) works on, through
// four pieces in sync*.go: SyncLog, the local log as the engine reads it
// (each record with its manifest and its Placement, the Merkle proof that
// lets it travel without its batch-mates); SyncPolicy, the federation's
// baseline (TLP:RED never leaves; relaying needs the originator's onward
// consent); DeliverBundle, which verifies a bundle from a member (manifest
// signature by the roster's key for its origin, each record's placement,
// the baseline, retraction only by the assertion's origin) before storing
// it; and the Announcer, told of every batch the node appends. The
// libp2p side lives in node/syncnet, and node/daemon puts them together.
//
// # Legal policy
//
// With a Cedar bundle (WithPolicy, or the bundle the roster names, which
// takes precedence: policybundle.go) the node decides share, accept, query,
// retain, retract and the act_* actions shown in look-ups on top of the
// baseline (policy.go). A roster version that names a new bundle is adopted
// only once the bundle is installed and carries its owners' signatures;
// the node then swaps bundles atomically and forgets cached decisions.
//
// # Privacy
//
// The node never logs a URL or an expression. Logs and audit entries carry
// indicator and record CIDs, counts and the requester's stated purpose.
package node
