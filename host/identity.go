package host

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nats-io/nkeys"
)

// latticeKey is this host's lattice identity: an nkey user key pair, an
// Ed25519 key, read from the key file (or made there at the first start).
// The host authenticates to the lattice's NATS servers with it and signs
// the desired-state entries it writes.
type latticeKey struct {
	seed   []byte             // the nkey seed as written in the file ("SU...")
	pub    string             // its public key, "U..."
	signer ed25519.PrivateKey // the same key, for state signatures
}

// ErrKeyFile is a lattice key file that cannot be used.
var ErrKeyFile = errors.New("host: lattice key file")

// loadLatticeKey reads the key file at path, or makes one (mode 0600, in
// a directory made 0700) when there is none. A file others may read or
// write is refused: whoever reads it is this host to the lattice.
func loadLatticeKey(path string) (*latticeKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createLatticeKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyFile, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyFile, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s is mode %04o: others may read it; chmod 600", ErrKeyFile, path, fi.Mode().Perm())
	}
	return parseLatticeKey(path, b)
}

func parseLatticeKey(path string, b []byte) (*latticeKey, error) {
	seed := []byte(strings.TrimSpace(string(b)))
	prefix, raw, err := nkeys.DecodeSeed(seed)
	if err != nil || prefix != nkeys.PrefixByteUser || len(raw) != ed25519.SeedSize {
		return nil, fmt.Errorf("%w: %s is not an nkey user seed (\"SU...\")", ErrKeyFile, path)
	}
	kp, err := nkeys.FromSeed(seed)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrKeyFile, path, err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrKeyFile, path, err)
	}
	return &latticeKey{seed: seed, pub: pub, signer: ed25519.NewKeyFromSeed(raw)}, nil
}

func createLatticeKey(path string) (*latticeKey, error) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyFile, err)
	}
	seed, err := kp.Seed()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyFile, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyFile, err)
	}
	// O_EXCL: two hosts started at once on one data directory make one key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return loadLatticeKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyFile, err)
	}
	_, werr := f.Write(append(seed, '\n'))
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("%w: %v", ErrKeyFile, err)
	}
	return parseLatticeKey(path, seed)
}

// peerKeys decodes [lattice.peers] (checked by host/config) into Ed25519
// public keys, by host name, in name order.
func peerKeys(peers map[string]string) (names []string, keys []ed25519.PublicKey, err error) {
	for name := range peers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		raw, err := nkeys.Decode(nkeys.PrefixByteUser, []byte(peers[name]))
		if err != nil || len(raw) != ed25519.PublicKeySize {
			return nil, nil, fmt.Errorf("host: lattice peer %s: not a user public key", name)
		}
		keys = append(keys, ed25519.PublicKey(raw))
	}
	return names, keys, nil
}
