// Package store is the node's durable embedded store, on Pebble
// (github.com/cockroachdb/pebble/v2; DESIGN decision 11).
//
// # What it holds
//
// Encoded records (assertions, retractions, sightings, batch manifests,
// rosters) by CID, plus the indexes the node needs:
//
//   - indicator CID → assertions: several agencies may assert one
//     indicator, each assertion is its own record (decision 4);
//   - indicator CID → sightings, and assertion CID → retractions (a
//     retraction is indexed even before its assertion arrives:
//     retractions travel first);
//   - (origin, per-origin sequence) → record, and each origin's head;
//   - expiry time → record, for the expiry sweep;
//   - the node's own append-only local log: every new record gets the next
//     index, under a random epoch drawn when the store is created. It is
//     the basis of catch-up feeds (decision 7b): a peer resumes "after index
//     N of epoch E".
//
// The store does not decode records. Callers hand it an Entry: the
// encoded bytes plus the index facts the node layer extracted from them.
// The store checks only what it can without decoding: that the CID is a
// CIDv1 dag-cbor CID whose multihash matches the bytes, that indicators are
// CIDv1 raw (decision 3), and that exactly the facts that apply to the kind
// are set. It never sees URLs; errors name folders, keys and CIDs only.
//
// # API
//
//	Open(ctx, dir, ...Option) (*Store, error)   WithCacheSize, WithLogger
//	Close()
//	Put(ctx, []Entry) (added []bool, err)       one synced batch
//	Erase(ctx, []cid.Cid)                       one synced batch
//	Get, Has                                    by record CID
//	AssertionsOf, SightingsOf (indicator), RetractionsOf (assertion)
//	LookupIndicators([]cid.Cid)                 batch form for a URL look-up
//	OriginHead, ByOriginSeq
//	Placement(cid)                              what Entry.Placement held
//	SetCursor, Cursors                          sync cursors, per peer
//	LogHead() (epoch, next), LogRange(from, limit)
//	ExpiredBefore(now, limit)
//	Stats(), Check(ctx)
//
// Errors wrap one of ErrNotFound, ErrLocked, ErrCorrupt, ErrNewerFormat,
// ErrClosed, ErrInvalid (the caller's mistake) or ErrConflict (an origin
// sequence number reused by a different record).
//
// # Durability: what "acknowledged" means
//
// Put and Erase each write one Pebble batch — records, log entries, index
// entries and counters together — and commit it with Sync: the call
// returns nil only after Pebble's write-ahead log holding the batch has
// been fsynced. That return is the acknowledgement. From then on the batch
// survives a process crash or power loss (with a disk that honours fsync);
// before it, the batch is either wholly there after a crash or wholly
// absent, never half-written, because a Pebble batch is atomic in the WAL.
// A Put whose records are all already stored writes nothing and returns at
// once: everything visible was committed, synced, by an earlier writer.
// TestCrashKeepsAcknowledgedRecords checks this against Pebble's
// crash-simulating file system, which drops every unsynced byte.
//
// Cancelling the context stops Put or Erase before their commit, never
// during it: once the commit has started the outcome is the WAL's.
//
// Pebble shows a committed batch to readers before its fsync completes, so
// Get, Has and the look-ups may see the records of a Put that has not yet
// returned (and that a crash at that instant would drop). The local log is
// protected from this: LogHead and LogRange stop at the last acknowledged
// index, because a feed must never hand a peer an index that a crash
// could give to a different record under the same epoch. Callers that
// announce records to peers should do so after their own Put returns.
//
// # Key layout (store format 1)
//
// Keys start with one type byte; integers are big-endian so that byte order
// is numeric order; CIDs are their binary form (self-delimiting, so a CID
// followed by another needs no length).
//
//	key                                     value
//	m ‖ "format"                            u64 store format (1)
//	m ‖ "epoch"                             16 random bytes, the log epoch
//	m ‖ "lognext"                           u64 next log index (first is 1)
//	m ‖ "count/" ‖ kind                     u64 live records of that kind
//	m ‖ "erased"                            u64 log tombstones
//	r ‖ record CID                          record value (below)
//	l ‖ u64 index                           kind ‖ record CID, or
//	                                        kind|0x80 (tombstone)
//	i ‖ indicator CID ‖ assertion CID       empty
//	s ‖ indicator CID ‖ sighting CID        empty
//	t ‖ assertion CID ‖ retraction CID      empty
//	o ‖ u8 len ‖ origin ‖ u64 seq           record CID
//	h ‖ origin                              u64 highest sequence ever stored
//	x ‖ u64 expires ‖ record CID            empty
//	p ‖ record CID                          placement (opaque to the store)
//	c ‖ peer                                a sync cursor (opaque to the store)
//
// Record value: kind (1 byte) ‖ u64 log index ‖ u64 seq ‖ u64 expires ‖
// u8 len ‖ origin ‖ u8 len ‖ indicator CID ‖ u8 len ‖ target CID ‖ the
// encoded record. The index facts are kept next to the record so that Erase
// and Check find every index entry that leads to it without decoding it.
// Kinds are 1 assertion, 2 retraction, 3 sighting, 4 manifest, 5 roster.
//
// Keys sort bytewise, but the store registers its own Pebble comparer,
// "vigie.store.v1", whose Split ends the key prefix after the first CID of
// i/s/t keys (and at the end of every other key). Pebble builds its bloom
// filters over those prefixes, so looking up an indicator nobody asserted
// is answered from in-memory filter blocks rather than a data-block read
// per LSM level; look-ups that expect misses also ask Pebble to use the
// bottom level's filters, which it otherwise skips. The comparer name is
// stored by Pebble and checked on every open.
//
// # The local log and erasure
//
// Log indexes are dense, start at 1, follow commit order and are never
// reused. Erase deletes a record and every index entry that leads to it,
// and replaces its log entry with a tombstone keeping the index and kind but
// dropping the CID (an erased record should leave no identifier behind).
// Feed readers skip tombstones but move their cursor past them, so cursors
// stay valid. Two entries survive an erasure on purpose: the origin head
// (h), so that sync does not ask peers again for records deliberately
// erased; and retraction entries (t) keyed by an erased assertion, which
// lead to retractions still stored and must be found if the assertion is
// ever received again. A record erased and received again is a new record
// with a new log index.
//
// # Format versions and migration
//
// The m/format key holds the store format, written when the store is
// created; this build writes and reads format 1. Open refuses:
//
//   - a newer format (ErrNewerFormat, naming the version found and the one
//     this build reads), and a store whose comparer is a later
//     "vigie.store.vN", or whose Pebble on-disk format is newer than this
//     Pebble reads: never guess at a newer layout, a downgrade must restore
//     a backup;
//   - a folder holding files but no Pebble database, a Pebble database with
//     another comparer, or one holding data but no format key (ErrCorrupt).
//     A Pebble database with no keys at all is what a crash during creation
//     leaves; Open finishes creating it.
//
// A change to the layout above bumps the format. Migration will be
// explicit and forward-only: a later build that reads format N+1 also reads
// N and upgrades it in place, in batches, committing the new format key
// last, so that an interrupted migration is resumed by the next Open; it
// logs that it did. Formats are never downgraded.
//
// Pebble's own on-disk format is pinned (FormatTableFormatV6, which adds WAL
// sync chunks and checksummed table footers) rather than left to Pebble's
// default: upgrading the Pebble module must not silently ratchet existing
// stores, since a ratchet is one-way. Raising it is a deliberate change.
//
// # Checks
//
// Open runs a cheap self-check after Pebble has verified its manifest and
// replayed its WAL with checksums: the format key, the meta keys, the
// counters adding up to the log length, and the last log entry agreeing
// with the log head and naming a stored record. Check(ctx) is the full scan
// behind `vigie store check`: Pebble's level and checksum checks, then every
// record hashing to its CID, logged at the index it records and having all
// its index entries; every index entry leading to a stored record of the
// right kind with matching facts (no dangling entries); a dense log whose
// entries name stored records or are tombstones; counters matching. It reads
// a snapshot, so the node may keep running. Any finding is ErrCorrupt: stop
// the node, keep the folder for inspection, and restore from a backup or
// resynchronise from peers into a fresh store.
//
// # Locking and concurrency
//
// One store, one process: Open takes Pebble's LOCK file (an fcntl lock)
// and returns ErrLocked, naming the folder, if another process or another
// Store in this process holds it. The lock is released by Close, or by the
// operating system if the process dies.
//
// A Store is safe for concurrent use. Readers run in parallel, each on a
// consistent Pebble view. Writers (Put, Erase) are serialised by a mutex
// around the duplicate check, the log-index allocation and the synced
// commit, which keeps log indexes dense and in commit order at the cost of
// one fsync per call; callers should batch records (the sync engine hands
// over up to hundreds per Put). Group commit — allocating under the mutex
// and letting concurrent batches share one fsync — is a later optimisation.
// Close waits for calls in flight; calls after Close return ErrClosed.
//
// # Resources
//
// Memory is the block cache (64 MiB unless WithCacheSize), at most two
// 4 MiB memtables, bloom filter and index blocks in the cache, and
// Pebble's table cache. With 1,000,000 indicators the benchmark measures
// about 100 MB resident (goal ≤ 500 MB).
package store
