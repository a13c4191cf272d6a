package localapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	stdlog "log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/sirupsen/logrus"

	"github.com/vigie-project/vigie/node"
	"github.com/vigie-project/vigie/protocol/record"
)

// Backend is what the API serves; *node.Node implements it.
type Backend interface {
	Lookup(ctx context.Context, req node.LookupRequest) (*node.LookupResult, error)
	AssertMany(ctx context.Context, reqs []node.AssertRequest) ([]node.AssertResult, error)
	Retract(ctx context.Context, req node.RetractRequest) (cid.Cid, error)
}

// RosterAdopter is what a Backend also implements to serve roster
// adoption (POST /v1/roster/adopt); a backend without it answers that
// endpoint with ErrUnsupported. *node.Node implements it, but a running
// member must pass a backend whose AdoptRoster also applies the roster to
// its host and tokenizer (daemon.Daemon.AdoptRoster), not the bare node.
type RosterAdopter interface {
	AdoptRoster(ctx context.Context, data []byte) (*node.RosterChange, error)
}

var (
	_ Backend       = (*node.Node)(nil)
	_ Backend       = (*Client)(nil)
	_ RosterAdopter = (*Client)(nil)
)

// SocketName is the socket's file name inside the node folder.
const SocketName = "vigie.sock"

// Limits of the server.
const (
	// MaxRequestBody bounds a request body.
	MaxRequestBody = 16 << 20
	// MaxAssertBatch bounds the assertions of one assert call.
	MaxAssertBatch = 4096
	// maxAdoptBody bounds an adopt call: a roster of at most
	// record.MaxRosterSize bytes in base64, in a small JSON object.
	maxAdoptBody = (record.MaxRosterSize+2)/3*4 + 1024

	maxHeaderBytes    = 16 << 10
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 2 * time.Minute
	idleTimeout       = 2 * time.Minute
	// requestTimeout bounds the work of one request (a large assert batch
	// tokenised over the network included).
	requestTimeout = 5 * time.Minute
	writeTimeout   = requestTimeout + time.Minute
	shutdownGrace  = 10 * time.Second

	// maxSocketPath is the longest Unix socket path every system takes
	// (sun_path is 104 bytes on BSDs and macOS, 108 on Linux, NUL included).
	maxSocketPath = 103
)

// listener is the socket Listen made; Serve removes its file at the end.
type listener struct {
	*net.UnixListener
	path string
	file os.FileInfo // the socket file as created, to remove only that one
}

// Listen creates the socket <dir>/vigie.sock, readable and writable by its
// owner only, and listens on it. A socket file left by a crashed process
// (nothing answers on it) is replaced; if a live server answers, Listen
// fails with ErrInUse.
func Listen(dir string) (net.Listener, error) {
	path := filepath.Join(dir, SocketName)
	// The temporary name below is at most tmpOverhead bytes longer than dir.
	const tmpOverhead = len("/.s") + 10 + len("/s")
	if len(dir)+tmpOverhead > maxSocketPath {
		return nil, fmt.Errorf("localapi: the node folder path %s is too long for a Unix socket (at most %d bytes); use a shorter path", dir, maxSocketPath-tmpOverhead)
	}
	if err := clearStale(path); err != nil {
		return nil, err
	}
	// Bind inside a fresh private folder, restrict the socket, then rename
	// it into place: at no time can another user reach it, whatever the
	// umask.
	tmpDir, err := os.MkdirTemp(dir, ".s")
	if err != nil {
		return nil, fmt.Errorf("localapi: creating the socket in %s: %w", dir, err)
	}
	defer os.RemoveAll(tmpDir)
	tmp := filepath.Join(tmpDir, "s")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("localapi: listening on %s: %w", path, err)
	}
	// The file moves; Serve removes it under its final name.
	l.SetUnlinkOnClose(false)
	fail := func(err error) (net.Listener, error) {
		l.Close()
		return nil, fmt.Errorf("localapi: creating %s: %w", path, err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	info, err := os.Lstat(path)
	if err != nil {
		return fail(err)
	}
	return &listener{UnixListener: l, path: path, file: info}, nil
}

// clearStale removes a socket file nothing answers on.
func clearStale(path string) error {
	info, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("localapi: %w", err)
	}
	if info.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("localapi: %s exists and is not a socket; move it away", path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	switch {
	case err == nil:
		c.Close()
		return fmt.Errorf("%w (%s)", ErrInUse, path)
	case errors.Is(err, syscall.ECONNREFUSED):
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("localapi: removing the stale socket: %w", err)
		}
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return nil
	}
	return fmt.Errorf("localapi: checking the existing socket %s: %w", path, err)
}

// remove deletes the socket file if it is still the one Listen made.
func (l *listener) remove() {
	if info, err := os.Lstat(l.path); err == nil && os.SameFile(info, l.file) {
		os.Remove(l.path)
	}
}

// Serve answers requests on l with b until ctx is done, then stops
// accepting, lets requests in flight finish (for a few seconds at most) and
// removes the socket file. It returns nil after such a shutdown, or the
// error that stopped it otherwise.
func Serve(ctx context.Context, l net.Listener, b Backend, log *logrus.Entry) error {
	if log == nil {
		quiet := logrus.New()
		quiet.SetOutput(io.Discard)
		log = logrus.NewEntry(quiet)
	}
	log = log.WithField("component", "localapi")
	if ours, ok := l.(*listener); ok {
		defer ours.remove()
		log.WithField("socket", ours.path).Info("local API listening")
	}
	srv := &http.Server{
		Handler:           newHandler(b, log),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          stdlog.New(debugWriter{log}, "", 0),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(&peerCheckListener{Listener: l, log: log}) }()
	select {
	case err := <-errc:
		return fmt.Errorf("localapi: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.WithError(err).Warn("local API: requests still running at shutdown were cut off")
		srv.Close()
	}
	<-errc
	return nil
}

// debugWriter sends net/http's own complaints to the debug log.
type debugWriter struct{ log *logrus.Entry }

func (w debugWriter) Write(p []byte) (int, error) {
	w.log.Debug(strings.TrimSpace(string(p)))
	return len(p), nil
}

// peerCheckListener closes connections from other users (where the system
// tells who is connecting).
type peerCheckListener struct {
	net.Listener
	log *logrus.Entry
}

func (l *peerCheckListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if err := checkPeer(c); err != nil {
			l.log.WithError(err).Warn("local API: refused a connection")
			c.Close()
			continue
		}
		return c, nil
	}
}

// handler serves the API.
type handler struct {
	b   Backend
	log *logrus.Entry
}

func newHandler(b Backend, log *logrus.Entry) http.Handler { return &handler{b: b, log: log} }

// statusWriter remembers the status for the log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	route := r.URL.Path
	known := route == routePing || route == routeLookup || route == routeAssert || route == routeRetract || route == routeAdopt
	if !known {
		route = "other" // never log what a caller typed
	}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			h.log.WithField("route", route).Errorf("local API: handler panicked (%T)", p)
			if sw.status == 0 {
				writeError(sw, &wireError{Code: codeInternal, Message: "localapi: internal error"}, http.StatusInternalServerError)
			}
		}
		// Method, route, status, duration: never a body, a query or an
		// error message, which may carry a URL.
		h.log.WithFields(logrus.Fields{
			"method": r.Method, "route": route, "status": sw.status,
			"duration": time.Since(start).Round(time.Microsecond).String(),
		}).Info("local API request")
	}()
	if !known {
		writeError(sw, &wireError{Code: codeNotFound, Message: "localapi: no such endpoint"}, http.StatusNotFound)
		return
	}
	want := http.MethodPost
	if route == routePing {
		want = http.MethodGet
	}
	if r.Method != want {
		sw.Header().Set("Allow", want)
		writeError(sw, &wireError{Code: codeMethod, Message: fmt.Sprintf("localapi: %s takes %s, not %s", route, want, r.Method)}, http.StatusMethodNotAllowed)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	switch route {
	case routePing:
		writeJSON(sw, http.StatusOK, pingReply{API: apiVersion})
	case routeLookup:
		h.lookup(ctx, sw, r)
	case routeAssert:
		h.assert(ctx, sw, r)
	case routeRetract:
		h.retract(ctx, sw, r)
	case routeAdopt:
		h.adopt(ctx, sw, r)
	}
}

func (h *handler) lookup(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	var req node.LookupRequest
	if !decodeBody(w, r, &req) {
		return
	}
	res, err := h.b.Lookup(ctx, req)
	if err == nil && res == nil {
		err = errors.New("localapi: the node returned no result")
	}
	if err != nil {
		we, status := encodeError(err)
		writeError(w, we, status)
		return
	}
	writeJSON(w, http.StatusOK, lookupReply{LookupResult: *res})
}

func (h *handler) assert(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	var call assertCall
	if !decodeBody(w, r, &call) {
		return
	}
	if len(call.Requests) > MaxAssertBatch {
		writeError(w, &wireError{Code: codeTooLarge, Message: fmt.Sprintf("localapi: %d assertions in one call, at most %d", len(call.Requests), MaxAssertBatch)}, http.StatusRequestEntityTooLarge)
		return
	}
	results, err := h.b.AssertMany(ctx, call.Requests)
	if err == nil && len(results) != len(call.Requests) {
		err = fmt.Errorf("localapi: the node returned %d results for %d requests", len(results), len(call.Requests))
	}
	if err != nil {
		we, status := encodeError(err)
		writeError(w, we, status)
		return
	}
	reply := assertReply{Results: make([]assertResult, len(results))}
	for i, res := range results {
		reply.Results[i] = toWire(res)
	}
	writeJSON(w, http.StatusOK, reply)
}

func (h *handler) retract(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	var req node.RetractRequest
	if !decodeBody(w, r, &req) {
		return
	}
	rc, err := h.b.Retract(ctx, req)
	reply, status := retractReply{Retraction: rc}, http.StatusOK
	if err != nil {
		reply.Error, status = encodeError(err)
	}
	writeJSON(w, status, reply)
}

func (h *handler) adopt(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	ra, ok := h.b.(RosterAdopter)
	if !ok {
		writeError(w, &wireError{Code: codeUnsupported, Message: "localapi: the running process does not adopt rosters; stop it and run vigie federation adopt again"}, http.StatusNotImplemented)
		return
	}
	var call adoptCall
	if !decodeBodyLimit(w, r, &call, maxAdoptBody) {
		return
	}
	if len(call.Roster) > record.MaxRosterSize {
		writeError(w, &wireError{Code: codeTooLarge, Message: fmt.Sprintf("localapi: roster of %d bytes, at most %d", len(call.Roster), record.MaxRosterSize)}, http.StatusRequestEntityTooLarge)
		return
	}
	change, err := ra.AdoptRoster(ctx, call.Roster)
	if err == nil && change == nil {
		err = errors.New("localapi: the node returned no roster change")
	}
	reply, status := adoptReply{Change: change}, http.StatusOK
	if err != nil {
		reply.Error, status = encodeError(err)
	}
	writeJSON(w, status, reply)
}

// decodeBody reads exactly one JSON value with only known fields into v,
// or answers 400 (413 if too large) saying what is wrong.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	return decodeBodyLimit(w, r, v, MaxRequestBody)
}

// decodeBodyLimit is decodeBody with a body of at most limit bytes.
func decodeBodyLimit(w http.ResponseWriter, r *http.Request, v any, limit int64) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if dec.Decode(&json.RawMessage{}) != io.EOF {
			err = errors.New("more than one JSON value in the body")
		}
	}
	if err == nil {
		return true
	}
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeError(w, &wireError{Code: codeTooLarge, Message: fmt.Sprintf("localapi: request body over %d bytes", limit)}, http.StatusRequestEntityTooLarge)
	case errors.Is(err, io.EOF):
		writeError(w, &wireError{Code: codeBadRequest, Message: "localapi: bad request: empty body, a JSON object was expected"}, http.StatusBadRequest)
	default:
		writeError(w, &wireError{Code: codeBadRequest, Message: "localapi: bad request: the body is not a valid request: " + err.Error()}, http.StatusBadRequest)
	}
	return false
}

func writeError(w http.ResponseWriter, we *wireError, status int) {
	writeJSON(w, status, struct {
		Error *wireError `json:"error"`
	}{we})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		data, _ = json.Marshal(struct {
			Error *wireError `json:"error"`
		}{&wireError{Code: codeInternal, Message: "localapi: encoding the reply: " + err.Error()}})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(data)+1))
	w.WriteHeader(status)
	w.Write(append(data, '\n'))
}
