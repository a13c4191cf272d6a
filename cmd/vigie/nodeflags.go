package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/term"

	"github.com/vigie-project/vigie/node"
	"github.com/vigie-project/vigie/node/daemon"
	"github.com/vigie-project/vigie/node/localapi"
	"github.com/vigie-project/vigie/node/store"
)

// nodeFlags are the flags every command that opens a node shares.
type nodeFlags struct {
	dir       string
	logFormat string
	logLevel  string
}

func (nf *nodeFlags) register(fs *flagSet) {
	def := os.Getenv("VIGIE_DIR")
	fs.StringVar(&nf.dir, "dir", def, "node folder (default $VIGIE_DIR)")
	fs.StringVar(&nf.logFormat, "log-format", "auto", "log format: text, json, or auto (text on a terminal, json otherwise)")
	fs.StringVar(&nf.logLevel, "log-level", "warning", "log level: debug, info, warning, error")
}

func (nf *nodeFlags) check(fs *flagSet) (int, bool) {
	if nf.dir == "" {
		return fs.usageError("--dir is required (or set VIGIE_DIR)"), true
	}
	return 0, false
}

// logger builds the logrus logger the flags ask for, writing to stderr.
func (nf *nodeFlags) logger(e *env) (*logrus.Entry, error) {
	l := logrus.New()
	l.SetOutput(e.stderr)
	level, err := logrus.ParseLevel(nf.logLevel)
	if err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	l.SetLevel(level)
	format := nf.logFormat
	if format == "auto" {
		format = "json"
		if f, ok := e.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			format = "text"
		}
	}
	switch format {
	case "json":
		l.SetFormatter(&logrus.JSONFormatter{TimestampFormat: time.RFC3339Nano})
	case "text":
		l.SetFormatter(&logrus.TextFormatter{FullTimestamp: true})
	default:
		return nil, fmt.Errorf("--log-format must be text, json or auto, not %q", nf.logFormat)
	}
	return logrus.NewEntry(l), nil
}

// open opens the node, printing a clear message on failure.
func (nf *nodeFlags) open(ctx context.Context, e *env) (*daemon.AuditedNode, bool) {
	log, err := nf.logger(e)
	if err != nil {
		e.errorf("%v", err)
		return nil, false
	}
	n, err := daemon.OpenNode(ctx, nf.dir, node.WithLogger(log))
	if err != nil {
		e.errorf("%s", describeOpenError(nf.dir, err))
		return nil, false
	}
	return n, true
}

// nodeAPI is what lookup, assert, import and retract need: the node itself
// with its audit log (*daemon.AuditedNode), or the running process that
// holds it (*localapi.Client).
type nodeAPI interface {
	localapi.Backend
	Close() error
}

// connect opens the node like open; if another process (vigie run) holds
// it, it reaches that process over the node's local API instead. It prints
// a clear message when neither works.
func (nf *nodeFlags) connect(ctx context.Context, e *env) (nodeAPI, bool) {
	log, err := nf.logger(e)
	if err != nil {
		e.errorf("%v", err)
		return nil, false
	}
	n, err := daemon.OpenNode(ctx, nf.dir, node.WithLogger(log))
	if err == nil {
		return n, true
	}
	if !errors.Is(err, store.ErrLocked) {
		e.errorf("%s", describeOpenError(nf.dir, err))
		return nil, false
	}
	c, dialErr := localapi.Dial(ctx, nf.dir)
	switch {
	case dialErr == nil:
		log.Debug("the node is held by another process; using its local API")
		return c, true
	case errors.Is(dialErr, localapi.ErrNoServer):
		e.errorf("the node in %s is in use by another vigie process, which offers no local API (stop it, or run this command against it later): %v", nf.dir, err)
	default:
		e.errorf("the node in %s is in use by another vigie process, and reaching it through its local API failed: %v", nf.dir, dialErr)
	}
	return nil, false
}

func describeOpenError(dir string, err error) string {
	switch {
	case errors.Is(err, store.ErrLocked):
		return fmt.Sprintf("the node in %s is in use by another vigie process (stop it, or run this command against it later): %v", dir, err)
	case errors.Is(err, node.ErrNotInitialised):
		return err.Error()
	}
	return fmt.Sprintf("opening the node in %s: %v", dir, err)
}

// parseTime reads a date flag: RFC 3339, or a plain date (midnight UTC).
func parseTime(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%s: %q is neither a date (2027-01-31) nor an RFC 3339 time (2027-01-31T12:00:00Z)", flag, s)
}

// listFlag collects a repeatable flag; commas also separate values.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*l = append(*l, part)
		}
	}
	return nil
}
