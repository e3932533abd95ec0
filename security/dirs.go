package security

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrDirMoved is matched when a granted directory can no longer be opened
// at the path that was admitted without following a symlink: something
// (a guest with write access above it, say) replaced a part of the path.
var ErrDirMoved = errors.New("security: granted directory is not where it was admitted")

// OpenDir opens a granted host directory once, so that every instance
// that gets it later sees exactly this directory, whatever happens to the
// path afterwards.
//
// Why: admission resolves symlinks and checks the real path against the
// policy, but a guest allowed to write above a granted directory can rename
// it and put a symlink in its place (Wasmtime lets guests create relative
// symlinks). Opening the path again at the next instantiation (an actor's
// restart) would then follow the symlink out of the admitted tree. The
// handle returned here is an O_PATH descriptor of the directory itself;
// engine.Dir.Handle passes it to the guest's preopen.
//
// path must be absolute and already free of symlinks (as CleanHostPath and
// the manifest parser leave it): no part of it may be a symlink now
// (RESOLVE_NO_SYMLINKS), or OpenDir fails with ErrDirMoved. The caller
// owns the file and closes it when no instance will need it any more.
func OpenDir(path string) (*os.File, error) {
	if !filepath.IsAbs(path) || filepath.Clean(path) != path {
		return nil, fmt.Errorf("security: open %q: want a clean absolute path", path)
	}
	fd, err := unix.Openat2(unix.AT_FDCWD, path, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
		// No openat2 (Linux before 5.6, or a seccomp filter): walk the path
		// one component at a time, refusing symlinks on the way.
		fd, err = openDirNoFollow(path)
	}
	switch {
	case errors.Is(err, unix.ELOOP):
		return nil, fmt.Errorf("%w: %s: a part of the path is now a symlink", ErrDirMoved, path)
	case errors.Is(err, unix.ENOTDIR), errors.Is(err, unix.ENOENT):
		return nil, fmt.Errorf("%w: %s: %v", ErrDirMoved, path, err)
	case err != nil:
		return nil, fmt.Errorf("security: open %s: %w", path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// openDirNoFollow is OpenDir's fallback without openat2.
func openDirNoFollow(path string) (int, error) {
	fd, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	for _, part := range strings.Split(strings.TrimPrefix(path, "/"), "/") {
		if part == "" {
			continue
		}
		// A symlink here fails with ENOTDIR or ELOOP: both mean moved.
		next, err := unix.Openat(fd, part, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		if err != nil {
			return -1, err
		}
		fd = next
	}
	return fd, nil
}
