// Package p2ptest builds small federations of real libp2p hosts on
// loopback for the tests of the packages above node/p2p (sync, reconcile,
// witness): a validated roster whose first member holds the only share of
// a 1-of-1 OPRF key, each member's peer key, and hosts that close when the
// test ends. Only tests import it.
package p2ptest
