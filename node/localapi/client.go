package localapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/node"
	"github.com/vigie-project/vigie/protocol/record"
)

const (
	// maxResponseBody bounds what the client reads from the server.
	maxResponseBody = 64 << 20
	// dialTimeout bounds Dial, which only connects and checks the server
	// answers.
	dialTimeout = 10 * time.Second
)

// Client talks to the node a running process serves. It is safe for
// concurrent use.
type Client struct {
	path string
	tr   *http.Transport
	hc   *http.Client
}

// Dial connects to the node served in dir and checks that it answers. With
// no server there it fails with ErrNoServer (which then also wraps
// fs.ErrNotExist or syscall.ECONNREFUSED).
func Dial(ctx context.Context, dir string) (*Client, error) {
	path := filepath.Join(dir, SocketName)
	var d net.Dialer
	ctxDial, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	conn, err := d.DialContext(ctxDial, "unix", path)
	if err != nil {
		return nil, dialError(path, err)
	}
	conn.Close()
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", path)
		},
		MaxIdleConns:          4,
		IdleConnTimeout:       30 * time.Second,
		ResponseHeaderTimeout: requestTimeout + time.Minute,
		DisableCompression:    true,
	}
	c := &Client{path: path, tr: tr, hc: &http.Client{Transport: tr}}
	var pong pingReply
	if err := c.do(ctxDial, http.MethodGet, routePing, nil, &pong); err != nil {
		c.Close()
		return nil, err
	}
	if pong.Error != nil {
		c.Close()
		return nil, pong.Error.decode()
	}
	if pong.API != apiVersion {
		c.Close()
		return nil, fmt.Errorf("localapi: the server at %s speaks API version %d, this client %d; use the same vigie version", path, pong.API, apiVersion)
	}
	return c, nil
}

func dialError(path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("%w (%s): %w", ErrNoServer, path, unwrapOp(err))
	}
	return fmt.Errorf("localapi: connecting to %s: %w", path, err)
}

// unwrapOp drops the net.OpError wrapping, whose text repeats the path.
func unwrapOp(err error) error {
	var op *net.OpError
	if errors.As(err, &op) {
		return op.Err
	}
	return err
}

// Close releases the client's idle connections.
func (c *Client) Close() error {
	c.tr.CloseIdleConnections()
	return nil
}

// Lookup is node.Node.Lookup, done by the serving process.
func (c *Client) Lookup(ctx context.Context, req node.LookupRequest) (*node.LookupResult, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", node.ErrInvalidInput, err)
	}
	var reply lookupReply
	if err := c.do(ctx, http.MethodPost, routeLookup, body, &reply); err != nil {
		return nil, err
	}
	if reply.Error != nil {
		return nil, reply.Error.decode()
	}
	return &reply.LookupResult, nil
}

// AssertMany is node.Node.AssertMany, done by the serving process. A call
// over MaxAssertBatch requests or MaxRequestBody bytes is sent in several
// parts, each stored (and acknowledged) on its own; if a part fails, the
// parts before it are stored, and asserting them again counts them as
// duplicates.
func (c *Client) AssertMany(ctx context.Context, reqs []node.AssertRequest) ([]node.AssertResult, error) {
	out := make([]node.AssertResult, 0, len(reqs))
	for start := 0; start < len(reqs); {
		end := min(start+MaxAssertBatch, len(reqs))
		body, err := json.Marshal(assertCall{Requests: reqs[start:end]})
		for err == nil && len(body) > MaxRequestBody && end-start > 1 {
			end = start + (end-start)/2
			body, err = json.Marshal(assertCall{Requests: reqs[start:end]})
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", node.ErrInvalidInput, err)
		}
		if len(body) > MaxRequestBody {
			out = append(out, node.AssertResult{Err: fmt.Errorf("%w: the assertion is over %d bytes", node.ErrInvalidInput, MaxRequestBody)})
			start = end
			continue
		}
		var reply assertReply
		if err := c.do(ctx, http.MethodPost, routeAssert, body, &reply); err != nil {
			return nil, err
		}
		if reply.Error != nil {
			return nil, reply.Error.decode()
		}
		if len(reply.Results) != end-start {
			return nil, fmt.Errorf("%w: %d results for %d assertions", ErrServer, len(reply.Results), end-start)
		}
		for _, r := range reply.Results {
			out = append(out, fromWire(r))
		}
		start = end
	}
	return out, nil
}

// Retract is node.Node.Retract, done by the serving process.
func (c *Client) Retract(ctx context.Context, req node.RetractRequest) (cid.Cid, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return cid.Undef, fmt.Errorf("%w: %v", node.ErrInvalidInput, err)
	}
	var reply retractReply
	if err := c.do(ctx, http.MethodPost, routeRetract, body, &reply); err != nil {
		return cid.Undef, err
	}
	return reply.Retraction, reply.Error.decode()
}

// AdoptRoster is node.Node.AdoptRoster, done by the serving process (for
// a running member, daemon.Daemon.AdoptRoster: its connections follow the
// new roster at once). A refusal maps back to the node's sentinels
// (node.ErrStaleRoster, node.ErrRosterQuorum, …); a process that does not
// adopt rosters answers ErrUnsupported. When the node adopted the version
// but the process could not apply all of it, both the change and the error
// are returned, as the daemon does.
func (c *Client) AdoptRoster(ctx context.Context, data []byte) (*node.RosterChange, error) {
	if len(data) > record.MaxRosterSize {
		return nil, fmt.Errorf("%w: roster is %d bytes, at most %d", node.ErrInvalidInput, len(data), record.MaxRosterSize)
	}
	body, err := json.Marshal(adoptCall{Roster: data})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", node.ErrInvalidInput, err)
	}
	var reply adoptReply
	if err := c.do(ctx, http.MethodPost, routeAdopt, body, &reply); err != nil {
		return nil, err
	}
	if reply.Error != nil {
		return reply.Change, reply.Error.decode()
	}
	if reply.Change == nil {
		return nil, fmt.Errorf("%w: no roster change in the reply", ErrServer)
	}
	return reply.Change, nil
}

// do sends one request and decodes the JSON reply, whatever its status,
// into out, whose "error" field the caller then checks. A reply that is not
// JSON, or a failure status without an error, is an ErrServer error.
func (c *Client) do(ctx context.Context, method, route string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://vigie"+route, rd)
	if err != nil {
		return fmt.Errorf("localapi: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
			return fmt.Errorf("%w (%s): %w", ErrNoServer, c.path, unwrapOp(err))
		}
		return fmt.Errorf("localapi: talking to the node at %s: %w", c.path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("localapi: reading the reply: %w", err)
	}
	if len(data) > maxResponseBody {
		return fmt.Errorf("%w: reply over %d bytes", ErrServer, maxResponseBody)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%w: unreadable reply (HTTP %d): %v", ErrServer, resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK {
		// A failure must say why; the caller reads the error from out.
		var failure struct {
			Error *wireError `json:"error"`
		}
		if json.Unmarshal(data, &failure) != nil || failure.Error == nil {
			return fmt.Errorf("%w: HTTP %d without an error", ErrServer, resp.StatusCode)
		}
	}
	return nil
}
