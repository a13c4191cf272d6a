package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/vigie-project/vigie/internal/atomicfile"
	"github.com/vigie-project/vigie/protocol/record"
)

// ConfigFormat is the node.json format this build writes and reads.
const ConfigFormat = 1

// File names inside a node folder.
const (
	configFile = "node.json"
	agencyKey  = "agency.key"
	peerKey    = "peer.key"
	shareFile  = "issuer.share"
	rosterFile = "roster.cbor"
	storeDir   = "store"
)

// maxConfigSize bounds node.json; it holds a handful of fields.
const maxConfigSize = 64 << 10

// config is node.json.
type config struct {
	Format     int       `json:"format"`
	Federation string    `json:"federation"`
	Country    string    `json:"country"`
	Org        string    `json:"org"`
	OrgName    string    `json:"org_name"`
	Created    time.Time `json:"created"`
}

func (c *config) agency() record.Agency { return record.Agency{Country: c.Country, Org: c.Org} }

func readConfig(dir string) (*config, error) {
	data, err := readBounded(filepath.Join(dir, configFile), maxConfigSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s has no %s (run 'vigie init --dir %s' first)", ErrNotInitialised, dir, configFile, dir)
	}
	if err != nil {
		return nil, err
	}
	var c config
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorruptNode, configFile, err)
	}
	switch {
	case c.Format > ConfigFormat:
		return nil, fmt.Errorf("%w: %s has format %d, this build reads up to %d; upgrade vigie", ErrNewerFormat, configFile, c.Format, ConfigFormat)
	case c.Format < 1 || c.Federation == "" || c.Country == "" || c.Org == "":
		return nil, fmt.Errorf("%w: %s lacks format, federation, country or org", ErrCorruptNode, configFile)
	}
	return &c, nil
}

func writeConfig(dir string, c *config) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, configFile), append(data, '\n'), 0o644)
}

// readBounded reads a whole file that must not exceed limit bytes.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if info.Size() > limit {
		return nil, fmt.Errorf("%w: %s is %d bytes, at most %d expected", ErrCorruptNode, path, info.Size(), limit)
	}
	data := make([]byte, info.Size())
	if _, err := f.ReadAt(data, 0); err != nil && info.Size() > 0 {
		return nil, err
	}
	return data, nil
}

// writeFileAtomic replaces path durably (see internal/atomicfile).
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	return atomicfile.Write(path, data, mode)
}
