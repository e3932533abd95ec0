// Package fileread reads files that come from outside the process
// (components, manifests, policies, signatures, keys) so that a path cannot
// hang the reader or exhaust its memory: only a regular file is read (a
// FIFO, a device such as /dev/zero reached through a symlink, a directory
// or a socket is refused without reading), the open never blocks, and no
// more than a limit is read, even from a file that grows meanwhile.
// Packages engine and security wrap its errors in their own.
package fileread

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Refused says why a path was not read.
type Refused struct {
	Path string
	// Kind is what the path is when it is not a regular file ("a named
	// pipe (FIFO)", "a character device", ...); empty when the file is
	// too large.
	Kind string
	// Size is the file's size when it was too large from the start, or -1
	// when it grew past Limit while it was read.
	Size  int64
	Limit int64
}

func (r *Refused) Error() string {
	switch {
	case r.Kind != "":
		return fmt.Sprintf("%s is %s, not a regular file", r.Path, r.Kind)
	case r.Size >= 0:
		return fmt.Sprintf("%s has %d bytes, more than the limit of %d", r.Path, r.Size, r.Limit)
	}
	return fmt.Sprintf("%s has more than the limit of %d bytes", r.Path, r.Limit)
}

// Read reads the regular file at path (following symlinks), of at most
// limit bytes. A path refused for what it is or for its size gives a
// *Refused; other failures are the os errors.
func Read(path string, limit int64) ([]byte, error) {
	// O_NONBLOCK: opening a FIFO must not wait for a writer. It changes
	// nothing for regular files.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat() // the open file, not the path: no swap in between
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &Refused{Path: path, Kind: Kind(fi.Mode()), Limit: limit}
	}
	if fi.Size() > limit {
		return nil, &Refused{Path: path, Size: fi.Size(), Limit: limit}
	}
	data, err := ReadLimited(f, fi.Size(), limit)
	if r, ok := err.(*Refused); ok {
		r.Path = path
	}
	return data, err
}

// ReadLimited reads r to its end, but never more than limit+1 bytes: more
// than limit is a *Refused (Size -1), whatever sizeHint (the expected size,
// used only to allocate once) said.
func ReadLimited(r io.Reader, sizeHint, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(int(min(max(sizeHint, 0), limit)) + bytes.MinRead)
	if _, err := buf.ReadFrom(io.LimitReader(r, limit+1)); err != nil {
		return nil, err
	}
	if int64(buf.Len()) > limit {
		return nil, &Refused{Size: -1, Limit: limit}
	}
	return buf.Bytes(), nil
}

// Kind names what a file mode is, for messages.
func Kind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
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
