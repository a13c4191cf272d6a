package main

import (
	"context"
	"fmt"

	"github.com/sirupsen/logrus"

	"github.com/vigie-project/vigie/node/daemon"
	"github.com/vigie-project/vigie/node/p2p"
)

func runCommand() *command {
	return &command{name: "run", summary: "run the node in the foreground: connect to the federation and serve it", run: runRun}
}

func runRun(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "vigie run --dir D [--listen MULTIADDR]...", `
Runs the node in the foreground until interrupted (SIGINT or SIGTERM), then
shuts down cleanly. It listens for the federation's members (QUIC and TCP,
TLS 1.3 only; non-members are refused on both sides), dials the members at
the addresses the roster gives, and:
  - syncs records with them: new assertions and retractions are pushed at
    once (retractions first), a member coming back catches up from where
    it left off, each record goes only where the baseline policy allows
    (TLP:RED never leaves; relays need the originator's onward consent),
    and every record received is verified before it is stored;
  - tokenises through the federation's issuers, and if this node holds an
    issuer share, answers token requests under a per-member daily budget,
    logging every batch;
  - serves a local API on D/vigie.sock (owner only), so that 'vigie
    lookup', 'assert', 'import' and 'retract' with --dir D use this
    running node.
Peers coming up and going down are logged.`)
	var nf nodeFlags
	nf.register(fs)
	var listen listFlag
	fs.Var(&listen, "listen", "multiaddr to listen on (repeatable; default: this member's addresses in the roster)")
	dailyLimit := fs.Int("token-daily-limit", p2p.DefaultDailyLimit, "token evaluations one member may ask per UTC day")
	if code, done := fs.Parse(args); done {
		return code
	}
	if code, bad := nf.check(fs); bad {
		return code
	}
	log, err := nf.logger(e)
	if err != nil {
		e.errorf("%v", err)
		return exitUsage
	}
	if nf.logLevel == "warning" {
		log.Logger.SetLevel(logrus.InfoLevel) // a running service reports what it does
	}
	d, err := daemon.Start(ctx, nf.dir, daemon.WithListen(listen...), daemon.WithLogger(log),
		daemon.WithTokenDailyLimit(*dailyLimit), daemon.WithLocalAPI())
	if err != nil {
		e.errorf("run: %s", describeOpenError(nf.dir, err))
		return exitUsage
	}
	h, n := d.Host(), d.Node()
	log.WithField("peer_id", h.ID().String()).WithField("addrs", fmt.Sprint(h.Addrs())).
		WithField("federation", n.Federation()).Info("node running")
	<-ctx.Done()
	log.Info("shutting down")
	if err := d.Close(); err != nil {
		e.errorf("run: %v", err)
		return exitUsage
	}
	return exitOK
}
