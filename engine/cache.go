package engine

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
)

// The on-disk compile cache.
//
// Loading an entry runs the machine code in it, so whoever can write an
// entry can run code in this process. No content check can stop that (a
// forger rewrites the header and checksum too); the defence is ownership,
// checked the way ssh's StrictModes checks ~/.ssh:
//
//   - The cache directory must be owned by this process's effective user and
//     not writable by group or others (mode 0700 when New creates it).
//   - Every directory above it, and every directory a symbolic link on the
//     way leads through, must be owned by this user or root and not writable
//     by group or others, unless it has the sticky bit (like /tmp): in a
//     sticky directory others cannot rename or remove our entries, so they
//     cannot swap the cache directory. A symbolic link found in a directory
//     that others can write must itself be owned by this user or root.
//   - Every entry must be a regular file (not a symbolic link, opened with
//     O_NOFOLLOW), owned by this user and not writable by group or others;
//     New's files are 0600. An entry that fails is refused: a miss, logged
//     and counted, replaced by a fresh compile, never run.
//
// New checks the directories once and then uses the resolved path, whose
// directories only this user or root can change.
//
// Against accidents (a file copied under another name, a damaged disk, an
// older format) each entry carries a header: a magic with the format
// version, the SHA-256 of the engine's settings fingerprint, the SHA-256 of
// the wasm bytes it was compiled from, and the SHA-256 of the payload. Each
// is checked on load; a mismatch is a miss, never another program. Wasmtime
// also refuses artifacts of another version or configuration.

// ErrUnsafeCacheDir is returned by New when the cache directory, one of its
// parents, or a symbolic link on the way, could be written by another user.
var ErrUnsafeCacheDir = errors.New("engine: compile cache directory is not safe")

const (
	cacheMagic  = "AIRSSYS-CWASM-2\n"
	cacheHeader = len(cacheMagic) + 3*sha256.Size
	maxSymlinks = 40 // as Linux's path resolution
)

// CacheStats counts what the compile cache did since New. Every Compile
// with a cache is either a hit or a miss; a refused entry is also a miss.
type CacheStats struct {
	Hits        uint64 // compiles served from an entry
	Misses      uint64 // compiles that ran the compiler
	Stores      uint64 // entries written
	StoreErrors uint64 // entries that could not be written (logged)
	Refused     CacheRefusals
}

// CacheRefusals counts entries found and not used, by reason.
type CacheRefusals struct {
	// Unsafe: not a regular file, not owned by this user, or writable by
	// group or others. Whoever wrote it may not be trusted with our code.
	Unsafe uint64
	// Malformed: unreadable, shorter than a header, or another format.
	Malformed uint64
	// Engine: written by an engine with other settings.
	Engine uint64
	// Source: compiled from other wasm bytes (a file copied under this
	// entry's name).
	Source uint64
	// Checksum: the payload is not the one the header describes.
	Checksum uint64
	// Wasmtime: Wasmtime refused to deserialize it.
	Wasmtime uint64
}

// Total is the number of refused entries.
func (r CacheRefusals) Total() uint64 {
	return r.Unsafe + r.Malformed + r.Engine + r.Source + r.Checksum + r.Wasmtime
}

// CacheStats returns the compile cache counters (all zero without a cache).
func (e *Engine) CacheStats() CacheStats {
	c := e.cache
	if c == nil {
		return CacheStats{}
	}
	return CacheStats{
		Hits: c.hits.Load(), Misses: c.misses.Load(), Stores: c.stores.Load(), StoreErrors: c.storeErrors.Load(),
		Refused: CacheRefusals{
			Unsafe: c.refused[refuseUnsafe].Load(), Malformed: c.refused[refuseMalformed].Load(),
			Engine: c.refused[refuseEngine].Load(), Source: c.refused[refuseSource].Load(),
			Checksum: c.refused[refuseChecksum].Load(), Wasmtime: c.refused[refuseWasmtime].Load(),
		},
	}
}

type refusal int

const (
	refuseUnsafe refusal = iota
	refuseMalformed
	refuseEngine
	refuseSource
	refuseChecksum
	refuseWasmtime
	numRefusals
)

func (r refusal) String() string {
	return [...]string{"unsafe", "malformed", "engine", "source", "checksum", "wasmtime"}[r]
}

// entryError says why an entry was refused.
type entryError struct {
	reason refusal
	err    error
}

func (e *entryError) Error() string { return e.err.Error() }
func (e *entryError) Unwrap() error { return e.err }

func refuse(r refusal, format string, args ...any) error {
	return &entryError{reason: r, err: fmt.Errorf(format, args...)}
}

type diskCache struct {
	dir    string   // resolved and checked
	engine [32]byte // SHA-256 of the engine fingerprint
	uid    int

	hits, misses, stores, storeErrors atomic.Uint64
	refused                           [numRefusals]atomic.Uint64
}

func openCache(dir, fingerprint string) (*diskCache, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("engine: compile cache directory: %w", err)
	}
	uid := os.Geteuid()
	real, err := checkCacheDir(dir, uid)
	if err != nil {
		return nil, err
	}
	return &diskCache{dir: real, engine: sha256.Sum256([]byte(fingerprint)), uid: uid}, nil
}

// checkCacheDir resolves dir component by component, as the kernel does,
// checks every directory a name is looked up in and every symbolic link
// followed, and returns the resolved path.
func checkCacheDir(dir string, uid int) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("engine: compile cache directory: %w", err)
	}
	unsafe := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrUnsafeCacheDir, dir, fmt.Sprintf(format, args...))
	}
	cur := "/"
	curInfo, err := os.Stat(cur)
	if err != nil {
		return "", fmt.Errorf("engine: compile cache directory: %w", err)
	}
	if msg := checkParent(cur, curInfo, uid); msg != "" {
		return "", unsafe("%s", msg)
	}
	rest := strings.Split(abs, "/")
	links := 0
	for len(rest) > 0 {
		name := rest[0]
		rest = rest[1:]
		switch name {
		case "", ".":
			continue
		case "..":
			// cur has no symbolic links, so its parent is lexical; it was
			// checked on the way down.
			cur = filepath.Dir(cur)
			curInfo, err = os.Stat(cur)
			if err != nil {
				return "", fmt.Errorf("engine: compile cache directory: %w", err)
			}
			continue
		}
		next := filepath.Join(cur, name)
		fi, err := os.Lstat(next)
		if err != nil {
			return "", fmt.Errorf("engine: compile cache directory: %w", err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if links++; links > maxSymlinks {
				return "", fmt.Errorf("engine: compile cache directory %s: too many symbolic links", dir)
			}
			if writableByOthers(curInfo) && !ownedBy(fi, uid, true) {
				return "", unsafe("symbolic link %s belongs to user %d in directory %s, which others can write",
					next, owner(fi), cur)
			}
			target, err := os.Readlink(next)
			if err != nil {
				return "", fmt.Errorf("engine: compile cache directory: %w", err)
			}
			if filepath.IsAbs(target) {
				cur = "/"
				if curInfo, err = os.Stat(cur); err != nil {
					return "", fmt.Errorf("engine: compile cache directory: %w", err)
				}
			}
			rest = append(strings.Split(target, "/"), rest...)
			continue
		}
		if !fi.IsDir() {
			return "", fmt.Errorf("engine: compile cache directory %s: %s is not a directory", dir, next)
		}
		if msg := checkParent(next, fi, uid); msg != "" {
			return "", unsafe("%s", msg)
		}
		cur, curInfo = next, fi
	}
	// The cache directory itself: ours, and nobody else may add entries.
	if !ownedBy(curInfo, uid, false) {
		return "", unsafe("%s belongs to user %d, not to this process's user %d", cur, owner(curInfo), uid)
	}
	if curInfo.Mode().Perm()&0o022 != 0 {
		return "", unsafe("%s is writable by group or others (mode %04o); run chmod go-w on it", cur,
			curInfo.Mode().Perm())
	}
	return cur, nil
}

// checkParent says what is wrong with a directory on the way to the cache,
// or "" when nothing is.
func checkParent(path string, fi fs.FileInfo, uid int) string {
	if !ownedBy(fi, uid, true) {
		return fmt.Sprintf("%s belongs to user %d, neither this process's user %d nor root", path, owner(fi), uid)
	}
	if writableByOthers(fi) && fi.Mode()&fs.ModeSticky == 0 {
		return fmt.Sprintf("%s is writable by group or others (mode %04o) without the sticky bit", path,
			fi.Mode().Perm())
	}
	return ""
}

func writableByOthers(fi fs.FileInfo) bool { return fi.Mode().Perm()&0o022 != 0 }

func owner(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}

func ownedBy(fi fs.FileInfo, uid int, orRoot bool) bool {
	o := owner(fi)
	return o == uid || (orRoot && o == 0)
}

// key names the entry for wasm bytes with the given digest.
func (c *diskCache) key(src [32]byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(cacheMagic))
	h.Write(c.engine[:])
	h.Write(src[:])
	var k [32]byte
	h.Sum(k[:0])
	return k
}

func (c *diskCache) path(key [32]byte) string {
	return filepath.Join(c.dir, hex.EncodeToString(key[:])+".cwasm")
}

// load returns the payload stored for key, compiled from wasm bytes with
// digest src. It returns an error matching fs.ErrNotExist when there is no
// entry, and an *entryError when there is one that must not be used.
func (c *diskCache) load(key, src [32]byte) ([]byte, error) {
	// O_NONBLOCK: opening a FIFO must not wait for a writer.
	f, err := os.OpenFile(c.path(key), os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if errors.Is(err, syscall.ELOOP) {
		return nil, refuse(refuseUnsafe, "entry is a symbolic link")
	}
	if err != nil {
		return nil, refuse(refuseMalformed, "%w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, refuse(refuseMalformed, "%w", err)
	}
	switch {
	case !fi.Mode().IsRegular():
		return nil, refuse(refuseUnsafe, "entry is not a regular file (%v)", fi.Mode().Type())
	case owner(fi) != c.uid:
		return nil, refuse(refuseUnsafe, "entry belongs to user %d, not to this process's user %d", owner(fi), c.uid)
	case fi.Mode().Perm()&0o022 != 0:
		return nil, refuse(refuseUnsafe, "entry is writable by group or others (mode %04o)", fi.Mode().Perm())
	case fi.Size() < int64(cacheHeader):
		return nil, refuse(refuseMalformed, "entry has %d bytes, less than a header", fi.Size())
	}
	data := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, refuse(refuseMalformed, "%w", err)
	}
	hdr := data[:cacheHeader]
	if string(hdr[:len(cacheMagic)]) != cacheMagic {
		return nil, refuse(refuseMalformed, "entry is not in this cache's format")
	}
	fields := hdr[len(cacheMagic):]
	if !bytes.Equal(fields[:32], c.engine[:]) {
		return nil, refuse(refuseEngine, "entry was written by an engine with other settings")
	}
	if !bytes.Equal(fields[32:64], src[:]) {
		return nil, refuse(refuseSource, "entry was compiled from other wasm bytes")
	}
	payload := data[cacheHeader:]
	if sum := sha256.Sum256(payload); !bytes.Equal(fields[64:96], sum[:]) {
		return nil, refuse(refuseChecksum, "entry payload does not match its checksum")
	}
	return payload, nil
}

// store writes the payload atomically (a 0600 temporary file, then rename).
func (c *diskCache) store(key, src [32]byte, payload []byte) error {
	sum := sha256.Sum256(payload)
	f, err := os.CreateTemp(c.dir, ".tmp-*") // mode 0600
	if err != nil {
		return err
	}
	tmp := f.Name()
	hdr := make([]byte, 0, cacheHeader)
	hdr = append(hdr, cacheMagic...)
	hdr = append(hdr, c.engine[:]...)
	hdr = append(hdr, src[:]...)
	hdr = append(hdr, sum[:]...)
	_, err = f.Write(hdr)
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
