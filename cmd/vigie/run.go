package main

import (
	"context"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/sirupsen/logrus"

	"github.com/vigie-project/vigie/crypto/fedtoken"
	"github.com/vigie-project/vigie/node"
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
the addresses the roster gives, and, if this node holds an issuer share,
answers token requests under a per-member daily budget, logging every
batch. Peers coming up and going down are logged.

The node's store is locked while it runs. Record sync between running
nodes is being built (issue 4): for now 'run' connects and issues tokens.`)
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
	n, ok := nf.open(ctx, e)
	if !ok {
		return exitUsage
	}
	defer n.Close()
	h, err := startHost(ctx, n, listen, *dailyLimit, log)
	if err != nil {
		e.errorf("run: %v", err)
		return exitUsage
	}
	log.WithField("peer_id", h.ID().String()).WithField("addrs", fmt.Sprint(h.Addrs())).
		WithField("federation", n.Federation()).Info("node running")
	<-ctx.Done()
	log.Info("shutting down")
	if err := h.Close(); err != nil {
		e.errorf("run: closing the network: %v", err)
		return exitUsage
	}
	return exitOK
}

func startHost(ctx context.Context, n *node.Node, listen []string, dailyLimit int, log *logrus.Entry) (*p2p.Host, error) {
	key, err := p2p.LoadPeerKey(n.PeerKeyPath())
	if err != nil {
		return nil, err
	}
	r := n.Roster()
	if len(listen) == 0 {
		if me, ok := r.Member(n.Agency()); ok {
			listen = me.Addrs
		}
	}
	addrs, err := p2p.RosterAddrs(r)
	if err != nil {
		return nil, err
	}
	hooks := p2p.Hooks{
		PeerUp:   func(p p2p.PeerInfo) { log.WithField("peer", p.Agency.String()).Info("peer up") },
		PeerDown: func(id peer.ID) { log.WithField("peer_id", id.String()).Info("peer down") },
	}
	h, err := p2p.New(ctx, key, r, p2p.WithListenAddrs(listen...), p2p.WithPeerAddrs(addrs), p2p.WithHooks(hooks), p2p.WithLogger(log))
	if err != nil {
		return nil, err
	}
	if err := serveTokens(n, h, dailyLimit, log); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// serveTokens registers the token protocol if this node is an issuer.
func serveTokens(n *node.Node, h *p2p.Host, dailyLimit int, log *logrus.Entry) error {
	share, ok, err := n.IssuerShare()
	if err != nil || !ok {
		return err
	}
	issuer, err := fedtoken.NewIssuer(share)
	if err != nil {
		return err
	}
	srv, err := p2p.NewTokenServer(p2p.IssuerConfig{
		Federation: n.Federation(), Issuer: issuer, DailyLimit: dailyLimit, Logger: log,
		OnBatch: func(b p2p.Batch) {
			log.WithFields(logrus.Fields{"event": "token_batch", "peer": b.Peer.String(), "use": string(b.Use),
				"count": b.Count, "refused": b.Refused}).Info("token batch")
		},
	})
	if err != nil {
		return err
	}
	h.Handle(p2p.TokenProtocol, srv.ServeStream)
	return nil
}
