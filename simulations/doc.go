// Package simulations runs whole Vigie federations inside a deterministic
// discrete-event simulator (DESIGN.md decision 8, issue 7): simulated
// clock, network, storage and randomness, all from one seed, around the
// real sync engine (node/syncengine), the same sans-I/O state machine the
// libp2p adapter drives in production. It is how we show, before any
// government connects a node, that the federation converges, honours its
// sharing policy, survives faults and scales; and it answers "what
// happens if…" for a national service.
//
//	r, err := simulations.Run(ctx, simulations.Options{Scenario: "eu28", Seed: 1})
//	// r.Converged, r.ConvergenceP99ms, r.RetractionP99ms, r.OracleViolations, ...
//
// Scenarios lists the named presets (eu28, churn, partition, byzantine,
// retraction, scale), each parameterisable by Options.Nodes. The same
// Options (Progress aside) give a byte-identical json.Marshal of the
// Report: everything runs on one goroutine, events are ordered by
// (simulated time, sequence number), every random draw comes from one
// math/rand/v2 PCG seeded from Options.Seed, and no map is ever iterated
// into anything that reaches the engines or the report. Wall-clock time
// is the caller's to measure (the CLI adds it beside the report).
//
// # Nodes
//
// Each node is one agency: a real syncengine.Engine configured as in
// production (default limits), a simulated store that implements
// syncengine.Log and survives crashes, the federation's baseline policy
// (node.MayHold, re-implemented over the simulated facts: TLP:RED never
// leaves its origin; a relay needs onward-transfer consent "granted" and
// never passes TLP:AMBER+STRICT; retractions are never withheld), and a
// simulated node around them that does what node.Ingest does: verify each
// delivered bundle, store it, acknowledge. Records are self-describing
// text (origin, sequence, kind, TLP, onward consent, indicator token, a
// retraction's target) padded to production sizes, content-addressed by
// SHA-256 CIDs and bound by a manifest whose tag is an HMAC keyed with the
// origin's simulated signing key: a peer cannot sign in another origin's
// name, as in production it cannot without its hybrid key. The node
// rejects a bundle whose manifest is not validly signed by a roster
// member, whose records are not covered by it or not of its origin, a
// retraction of another origin's assertion, and (the receiver's re-check)
// anything the sender's policy should have withheld. Verifying and
// storing one bundle takes 300 µs plus 20 µs per record, one bundle at a
// time; a slow node takes a multiple of that.
//
// # Network
//
// Nodes sit at the capitals of the 28 EU member states of 2015 (with GB),
// the US, CA and AU; further nodes sit around them. The one-way delay of
// a link is the great-circle distance at 200 km per millisecond plus
// 2 ms (Paris–Berlin about 6 ms, Paris–Washington 33 ms, Paris–Canberra
// 87 ms), plus uniform jitter up to 10%. Each node has a 1 Gbit/s
// uplink on which its messages are serialised in order (so fanning a
// batch out to every peer takes time); message sizes are estimated from
// their contents (records, manifests with a 3 373-byte hybrid signature,
// origin lists, fixed fields). Each connection is one reliable FIFO
// stream per direction, as the engine requires; messages on different
// streams reorder freely. A connection comes up one round trip after it
// is attempted. A lost message breaks its stream, as a reset would: both
// sides get PeerDown, whatever was in flight is gone, and the connection
// is tried again 0.5–1 s later. Every pair of nodes connects (a full
// mesh, as the roster prescribes), except in the scale scenario beyond 23
// nodes, which uses a bounded-degree overlay (see Scenarios): in a full
// mesh of 1 000 engines each one keeps every peer's Direct list, so the
// simulated process would hold 1 000³ origin names (about 16 GB).
//
// # Faults
//
//   - crash and restart: the engine and all work in progress are lost
//     (deliveries not yet acknowledged, cursor writes not yet durable,
//     2 ms after PersistCursor); the store keeps everything acknowledged,
//     and a new engine starts from it and from the durable cursors;
//   - partitions: nodes are put in groups, connections between groups
//     break and stay down until the groups are merged again;
//   - clock skew: each node's clock has an offset and a drift; the engine
//     sees only its own clock (Tick), and its Schedules are converted back
//     to simulated time;
//   - slow nodes: verification and storage take a multiple of the time;
//   - loss: see Network;
//   - byzantine members run the real engine but inject forged records
//     (another origin's name without its key), tampered records (bytes
//     altered under the old CID), records smuggled under their own valid
//     manifest, replays (duplicates, or relays the policy forbids them),
//     their own TLP:RED assertions, retractions of others' assertions,
//     floods of junk, messages over the decoder's limit (node/syncnet's
//     MaxMessageBytes: the stream is closed) and undecodable ones, lying
//     cursor claims, stray Hellos and EpochResets; one of them also
//     withholds everything its engine would push or feed.
//
// With Options.Cedar, the legal-policy engine (policy.Default()) is added
// to the baseline: an assertion goes from a node to a member only if
// Decide allows the share from the node's country to the member's on its
// simulated facts (categories of the packs' vocabulary, TLP, PAP, legal
// status, scope, expiry, onward consent) on 2026-06-01, and, for a relay,
// the share from its origin's country too; the receiver re-checks that
// and its own accept. Every hop is decided on its own, so this holds in
// the scale scenario's overlay too, where most nodes get a record by
// relay (the relay's country is the sender and the principal). Decisions
// are cached per record and pair of countries, the only things Decide
// sees. The oracle calls Decide itself on the facts it reads from the
// records' bytes. With Cedar off, records and reports are byte-identical
// to runs without the layer.
//
// Reconcile actions (layer c) get node/syncnet's default reconciler:
// nothing is reconciled and the engine feeds the peer's new epoch from its
// start.
//
// # The oracle
//
// An independent oracle checks every run. It shares no code with the
// engine, the simulated node or the simulated policy: it parses records'
// bytes itself, verifies manifests with the roster's keys itself and
// applies its own copy of the baseline rule. It checks
//
//   - every message an honest node sends: no record reaches a node the
//     policy forbids (a RED assertion outside its origin, a relay without
//     consent or of AMBER+STRICT, anything to a non-member, with Cedar a
//     share Decide denies for that hop), every record
//     travels with a manifest that covers it and matches its CID, and no
//     manifest travels alone;
//   - every cursor a node persists: it never passes a record of the
//     peer's own that the node may hold but does not (the feed would skip
//     it for good);
//   - at the end, every honest node's store: it holds nothing invalid
//     (bad hash, manifest not signed by the record's origin, a retraction
//     of another origin's assertion) or outside the record's reach; it
//     holds every record an origin acknowledged whose reach includes it,
//     or the record is counted lost; and no assertion is still live (held
//     without its retraction) after its origin retracted it.
//
// A record's reach is what the oracle computes on its own, by a
// breadth-first search from the origin over the run's connections (the
// full mesh or the overlay): the nodes a path of hops leads to, where
// every hop u→v is one the rule allows (the baseline for u as origin or
// relay; with Cedar, the share from u's country to v's, for a relay the
// origin's share to v's country too, and v's accept from u's), crossing
// honest nodes only (a node that only byzantine ones lead to may hold
// the record, but is not owed it). A node the policy would let hold a
// record, but that only forbidden hops lead to, is owed nothing and must
// hold nothing. In a full mesh with the baseline alone the reach is every
// node the origin may share with.
//
// Violations are counted in Report.OracleViolations and lost records in
// Report.LostRecords, with the first few described in Report.Violations.
// Converged means the oracle found nothing and every engine went quiet
// within 15 simulated minutes of the end of the workload and the faults:
// every honest node holds exactly the acknowledged records whose reach
// includes it, so that under Cedar in an overlay a record is owed only
// where a path of allowed hops leads.
// The tests show the oracle can fail: a policy that lets TLP:RED through,
// a record removed from a store, a forged record, a missing retraction,
// a Cedar share let through by an origin or, in an overlay, by a relay
// (its own country's share, or its origin's) are each caught.
//
// # Measures
//
//   - convergence: per (record, node that stores it), the time from the
//     origin's acknowledgement to the node's; retraction: the same for
//     retractions, at nodes that may hold the assertion;
//   - bytes_per_record: every byte honest nodes sent, per record a node
//     stored from a peer; bytes_per_diff: catch-up bytes (Hello,
//     FeedRequest, FeedBatch, EpochReset) per record that a feed brought
//     to a node lacking it;
//   - duplicate_suppression: assertions per unique indicator;
//   - messages_per_node, events (simulated events processed), and the
//     faults injected, in time order.
package simulations
