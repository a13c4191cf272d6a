package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	p2pcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/sirupsen/logrus"

	"github.com/vigie-project/vigie/crypto/fedtoken"
	"github.com/vigie-project/vigie/crypto/hybrid"
	"github.com/vigie-project/vigie/node/store"
	"github.com/vigie-project/vigie/protocol/record"
)

// InitOptions describe the agency a new node belongs to.
type InitOptions struct {
	Country string         // ISO 3166-1 alpha-2, e.g. "FR"
	Org     string         // short lower-case id within the country, e.g. "pharos"
	OrgName string         // the organisation's name, for people
	OrgType record.OrgType // police, intelligence, ministry, ...
	Now     time.Time      // creation time; zero means time.Now()
}

func (o *InitOptions) normalise() error {
	o.Country = strings.ToUpper(strings.TrimSpace(o.Country))
	o.Org = strings.ToLower(strings.TrimSpace(o.Org))
	if o.Org == "" {
		o.Org = "national"
	}
	if o.OrgName == "" {
		o.OrgName = o.Country + " national service"
	}
	if o.OrgType == "" {
		o.OrgType = record.OrgPolice
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if len(o.Country) != 2 || strings.Trim(o.Country, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return fmt.Errorf("%w: country %q is not an ISO 3166-1 alpha-2 code such as FR or DE", ErrInvalidInput, o.Country)
	}
	if !o.OrgType.Valid() {
		return fmt.Errorf("%w: unknown organisation type %q", ErrInvalidInput, o.OrgType)
	}
	return nil
}

// Init creates a standalone node in dir: a federation of one whose only
// member is this agency and whose only issuer share (t = 1 of n = 1) this
// node holds. It refuses a folder that already holds a node.
func Init(ctx context.Context, dir string, opts InitOptions) error {
	if err := opts.normalise(); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, configFile)); err == nil {
		return fmt.Errorf("%w: %s", ErrAlreadyInitialised, dir)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("node: creating %s: %w", dir, err)
	}
	signer, err := hybrid.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	peerID, err := createPeerKey(filepath.Join(dir, peerKey))
	if err != nil {
		return err
	}
	group, shares, err := fedtoken.Deal(rand.Reader, 1, 1)
	if err != nil {
		return err
	}
	cfg := &config{
		Format:     ConfigFormat,
		Federation: "standalone-" + strings.ToLower(opts.Country) + "-" + opts.Org,
		Country:    opts.Country,
		Org:        opts.Org,
		OrgName:    opts.OrgName,
		Created:    opts.Now.UTC().Truncate(time.Second),
	}
	roster, err := standaloneRoster(cfg, opts.OrgType, signer, peerID, group)
	if err != nil {
		return err
	}
	if err := writeNodeFiles(ctx, dir, cfg, signer, &shares[0], roster); err != nil {
		return err
	}
	return nil
}

// writeNodeFiles writes everything but the peer key; node.json goes last,
// so a folder with node.json is a complete node.
func writeNodeFiles(ctx context.Context, dir string, cfg *config, signer *hybrid.PrivateKey, share *fedtoken.Share, roster *record.Roster) error {
	if err := hybrid.WriteKeyFile(filepath.Join(dir, agencyKey), signer); err != nil {
		return err
	}
	if share != nil {
		shareBytes, err := share.MarshalBinary()
		if err != nil {
			return err
		}
		if err := writeFileAtomic(filepath.Join(dir, shareFile), shareBytes, 0o600); err != nil {
			return err
		}
	}
	rosterBytes, err := roster.Encode()
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, rosterFile), rosterBytes, 0o644); err != nil {
		return err
	}
	st, err := store.Open(ctx, filepath.Join(dir, storeDir), store.WithLogger(quietLogger()))
	if err != nil {
		return err
	}
	if err := st.Close(); err != nil {
		return err
	}
	return writeConfig(dir, cfg)
}

func standaloneRoster(cfg *config, orgType record.OrgType, signer *hybrid.PrivateKey, peerID peer.ID, group fedtoken.GroupKey) (*record.Roster, error) {
	r := &record.Roster{
		Federation: cfg.Federation,
		Version:    1,
		ValidFrom:  uint64(cfg.Created.Unix()),
		Members: []record.Member{{
			Agency:         cfg.agency(),
			Name:           cfg.OrgName,
			OrgType:        orgType,
			PeerID:         peerID.String(),
			SigningKey:     signer.Public().Bytes(),
			Roles:          []record.Role{record.RoleIssuer, record.RoleMember},
			ShareIndex:     uint64(group.Shares[0].Index),
			SharePublicKey: group.Shares[0].Public,
		}},
		OPRFKey:   group.Public,
		Threshold: uint64(group.Threshold),
		Shares:    uint64(group.Total),
	}
	if err := r.Sign(signer, cfg.agency()); err != nil {
		return nil, fmt.Errorf("node: signing the roster: %w", err)
	}
	return r, nil
}

// quietLogger reports only warnings and errors, for work done on the
// caller's behalf without a logger of its own.
func quietLogger() *logrus.Entry {
	l := logrus.New()
	l.SetLevel(logrus.WarnLevel)
	return logrus.NewEntry(l)
}

// createPeerKey makes the libp2p identity, kept apart from the agency
// signing key so either can be rotated alone.
func createPeerKey(path string) (peer.ID, error) {
	priv, _, err := p2pcrypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return "", err
	}
	data, err := p2pcrypto.MarshalPrivateKey(priv)
	if err != nil {
		return "", err
	}
	if err := writeFileAtomic(path, data, 0o600); err != nil {
		return "", err
	}
	return peer.IDFromPrivateKey(priv)
}
