package daemon

import (
	"context"

	"github.com/vigie-project/vigie/node"
	"github.com/vigie-project/vigie/node/localapi"
)

// apiBackend is the running member as its local API serves it: the node's
// own look-ups, assertions and retractions, but roster adoption through
// the daemon, so that the host's gate and the tokenizer follow the new
// roster at once (Daemon.AdoptRoster), as they would not through the bare
// node.
type apiBackend struct {
	*node.Node
	d *Daemon
}

var (
	_ localapi.Backend       = apiBackend{}
	_ localapi.RosterAdopter = apiBackend{}
)

// AdoptRoster is Daemon.AdoptRoster.
func (b apiBackend) AdoptRoster(ctx context.Context, data []byte) (*node.RosterChange, error) {
	return b.d.AdoptRoster(ctx, data)
}
