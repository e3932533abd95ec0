package security

import (
	"errors"
	"fmt"

	"github.com/airsstack/airssys-wasm-go/internal/fileread"
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
	data, err := fileread.Read(path, limit)
	var r *fileread.Refused
	switch {
	case errors.As(err, &r) && r.Kind != "":
		return nil, fmt.Errorf("%w: %s is %s; a %s must be a regular file", ErrNotRegularFile, path, r.Kind, what)
	case errors.As(err, &r):
		return nil, fmt.Errorf("%w: %s is larger than %d bytes, the limit for a %s file", ErrFileTooLarge, path,
			limit, what)
	case err != nil:
		return nil, fmt.Errorf("security: %w", err)
	}
	return data, nil
}
