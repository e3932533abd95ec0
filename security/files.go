package security

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Size limits of the files this package reads. A signature file is two
// short lines; manifests and policies are small TOML files.
const (
	MaxSignatureFile = 4 << 10 // bytes of a .sig file (and of a key file, for the CLI)
	MaxManifestFile  = 1 << 20 // bytes of a Component.toml
	MaxPolicyFile    = 1 << 20 // bytes of a policy file
)

// ErrNotRegularFile is matched when a signature, manifest or policy path
// names something other than a regular file (a named pipe, a device, a
// directory, a socket), after following symlinks.
var ErrNotRegularFile = errors.New("security: not a regular file")

// ErrFileTooLarge is matched when such a file is larger than its limit.
var ErrFileTooLarge = errors.New("security: file too large")

// ReadSmallFile reads a regular file of at most limit bytes; what names
// the file's role in errors ("signature", "manifest", "policy"). It never
// blocks on a named pipe (the open is non-blocking, and only a regular
// file, checked on the open descriptor, is read), and never reads more
// than limit+1 bytes, so a path that leads to /dev/zero or a FIFO is an
// error, not an endless read or a hang.
func ReadSmallFile(path, what string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("security: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("security: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is %s; a %s must be a regular file", ErrNotRegularFile, path,
			fileKind(st.Mode()), what)
	}
	if st.Size() > limit {
		return nil, tooLarge(path, what, limit)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("security: %s: %w", path, err)
	}
	if int64(len(data)) > limit { // it grew since the fstat
		return nil, tooLarge(path, what, limit)
	}
	return data, nil
}

func tooLarge(path, what string, limit int64) error {
	return fmt.Errorf("%w: %s is larger than %d bytes, the limit for a %s file", ErrFileTooLarge, path, limit, what)
}

func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "not a regular file"
}
