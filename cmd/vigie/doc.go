// Command vigie is the one binary of a Vigie node: it canonicalises URLs,
// and (as the node grows) initialises, runs and queries a node, and gives
// legal teams their policy and audit tools.
//
// The command is deliberately thin: each subcommand parses its flags,
// calls into the protocol, crypto or node packages, and prints the result
// for people or, with --json, for programs. Exit codes:
//
//	0  success (for look-ups: nothing live matched)
//	1  the command ran and reports a negative outcome (an input that could
//	   not be canonicalised; for look-ups: a live match)
//	2  usage error or failure to run
//
// Run "vigie help" or "vigie COMMAND --help" for details.
package main
