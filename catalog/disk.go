package catalog

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Names in the catalog directory.
const (
	lockFile  = "LOCK"
	indexFile = "index.json"
	blobDir   = "blobs/sha256"
	tmpDir    = "tmp"

	indexFormat = 1
)

// lockDir takes the exclusive lock on dir/LOCK, waiting at most timeout.
func lockDir(dir string, timeout time.Duration) (*os.File, error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	deadline := time.Now().Add(timeout)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, fmt.Errorf("catalog: lock %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("%w: %s (waited %v)", ErrLocked, dir, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkDir refuses a catalog directory that is not a directory, is not the
// process's user's, or that others may write: whoever can write it can
// change which versions exist.
func checkDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%w: %s is not a directory", ErrUnsafeDir, dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%w: %s belongs to user %d, not to this process's user %d", ErrUnsafeDir, dir, st.Uid,
			os.Geteuid())
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%w: %s is writable by others (mode %v); chmod 700 it", ErrUnsafeDir, dir, fi.Mode().Perm())
	}
	return nil
}

// syncDir fsyncs a directory, making the renames in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeFile puts data at path whole or not at all: it writes a temporary
// file in tmp, fsyncs it and renames it to path. The caller fsyncs path's
// directory.
func writeFile(tmp, path string, data []byte) error {
	f, err := os.CreateTemp(tmp, "w-*") // mode 0600
	if err != nil {
		return err
	}
	name := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(name, path)
	}
	if err != nil {
		os.Remove(name)
	}
	return err
}

// digest is "sha256:" and the hex SHA-256 of data.
func digest(data []byte) string {
	h := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(h[:])
}

// validDigest reports whether d is "sha256:" and 64 lower-case hex digits;
// only such digests name files.
func validDigest(d string) bool {
	h, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(h) != 64 {
		return false
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// blobPath is where the blob of a valid digest lives.
func (c *Catalog) blobPath(d string) string {
	return filepath.Join(c.dir, blobDir, strings.TrimPrefix(d, "sha256:"))
}

// putBlob makes sure the blob for data is in place: it writes it unless a
// file with exactly these bytes is already there (one that was changed is
// replaced). It reports whether it wrote.
func (c *Catalog) putBlob(d string, data []byte) (bool, error) {
	path := c.blobPath(d)
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().IsRegular() && fi.Size() == int64(len(data)) {
			if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
				return false, nil
			}
		}
		if !fi.Mode().IsRegular() { // a rename does not replace a directory
			if err := os.RemoveAll(path); err != nil {
				return false, fmt.Errorf("catalog: replace %s: %w", path, err)
			}
		}
	}
	if err := writeFile(filepath.Join(c.dir, tmpDir), path, data); err != nil {
		return false, fmt.Errorf("catalog: write %s: %w", path, err)
	}
	return true, nil
}

// removeBlob removes a blob, returning the bytes it took.
func (c *Catalog) removeBlob(d string) (int64, error) {
	path := c.blobPath(d)
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	return fi.Size(), nil
}

// ---- the index file ----------------------------------------------------------

type indexJSON struct {
	Format   int           `json:"format"`
	Names    []nameJSON    `json:"names"`
	Versions []versionJSON `json:"versions"`
}

type nameJSON struct {
	Name      string    `json:"name"`
	Publisher string    `json:"publisher"`
	Claimed   time.Time `json:"claimed"`
}

type versionJSON struct {
	Name      string    `json:"name"`
	Version   string    `json:"version"`
	Digest    string    `json:"digest"`
	Manifest  string    `json:"manifest"`
	Signature string    `json:"signature"`
	Publisher string    `json:"publisher"`
	Installed time.Time `json:"installed"`
	Size      int64     `json:"size"`
}

// readIndex reads index.json; (nil, nil) when there is none.
func readIndex(dir string) (*indexJSON, error) {
	path := filepath.Join(dir, indexFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	var ix indexJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ix); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, path, err)
	}
	if ix.Format != indexFormat {
		return nil, fmt.Errorf("%w: %s: format %d, this version reads format %d", ErrCorrupt, path, ix.Format,
			indexFormat)
	}
	return &ix, nil
}

// writeIndex replaces index.json with ix and makes it durable.
func (c *Catalog) writeIndex(ix *indexJSON) error {
	data, err := json.MarshalIndent(ix, "", " ")
	if err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	if c.failIndexWrite != nil {
		if err := c.failIndexWrite(); err != nil {
			return err
		}
	}
	if err := writeFile(filepath.Join(c.dir, tmpDir), filepath.Join(c.dir, indexFile), append(data, '\n')); err != nil {
		return fmt.Errorf("catalog: write index: %w", err)
	}
	if err := syncDir(c.dir); err != nil {
		return fmt.Errorf("catalog: write index: %w", err)
	}
	return nil
}
