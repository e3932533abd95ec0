package engine

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// diskCache stores compiled artifacts as files named by the SHA-256 of the
// engine fingerprint, the kind and the wasm bytes. Each file starts with a
// header that repeats that key and a checksum of the payload, so a corrupt,
// truncated or foreign file is detected and rebuilt instead of deserialized.
// Wasmtime also refuses artifacts from another version or configuration.
//
// Deserializing runs machine code from the file: the directory must be as
// trusted as the host binary itself (like Wasmtime's own cache).
type diskCache struct {
	dir         string
	fingerprint string
}

const cacheMagic = "AIRSSYS-CWASM-1\n"

func openCache(dir, fingerprint string) (*diskCache, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("engine: cache directory: %w", err)
	}
	return &diskCache{dir: dir, fingerprint: fingerprint}, nil
}

func (c *diskCache) key(kind Kind, wasm []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(c.fingerprint))
	h.Write([]byte{0, byte(kind), 0})
	h.Write(wasm)
	var k [32]byte
	h.Sum(k[:0])
	return k
}

func (c *diskCache) path(key [32]byte) string {
	return filepath.Join(c.dir, hex.EncodeToString(key[:])+".cwasm")
}

var errCacheEntry = errors.New("cache entry is not valid")

// load returns the payload stored for key, or an error when there is none or
// it does not check out.
func (c *diskCache) load(key [32]byte) ([]byte, error) {
	data, err := os.ReadFile(c.path(key))
	if err != nil {
		return nil, err
	}
	hdr := len(cacheMagic) + 32 + 32
	if len(data) < hdr || string(data[:len(cacheMagic)]) != cacheMagic {
		return nil, errCacheEntry
	}
	if !bytes.Equal(data[len(cacheMagic):len(cacheMagic)+32], key[:]) {
		return nil, errCacheEntry
	}
	payload := data[hdr:]
	sum := sha256.Sum256(payload)
	if !bytes.Equal(data[len(cacheMagic)+32:hdr], sum[:]) {
		return nil, errCacheEntry
	}
	return payload, nil
}

// store writes the payload atomically (temp file and rename).
func (c *diskCache) store(key [32]byte, payload []byte) error {
	sum := sha256.Sum256(payload)
	f, err := os.CreateTemp(c.dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	buf := make([]byte, 0, len(cacheMagic)+64)
	buf = append(buf, cacheMagic...)
	buf = append(buf, key[:]...)
	buf = append(buf, sum[:]...)
	_, err = f.Write(buf)
	if err == nil {
		_, err = f.Write(payload)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, c.path(key))
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

func (c *diskCache) remove(key [32]byte) { os.Remove(c.path(key)) }
