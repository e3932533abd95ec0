package security

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// OpenDir opens a granted directory by its admitted path and refuses the
// path once a part of it has been replaced by a symlink (item 10 of the
// hardening issue); the fallback without openat2 behaves the same.
func TestOpenDirRefusesSymlinks(t *testing.T) {
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(root, "app", "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	open := map[string]func(string) (*os.File, error){
		"openat2": OpenDir,
		"fallback": func(p string) (*os.File, error) {
			fd, err := openDirNoFollow(p)
			if err != nil {
				return nil, err
			}
			return os.NewFile(uintptr(fd), p), nil
		},
	}
	for name, openDir := range open {
		f, err := openDir(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var st unix.Stat_t
		if err := unix.Fstat(int(f.Fd()), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
			t.Fatalf("%s: not a directory: %v", name, err)
		}
		f.Close()
	}
	// Swap app for a symlink to elsewhere: both the last part and a part in
	// the middle of the path.
	other := filepath.Join(root, "other", "data")
	os.MkdirAll(other, 0o755)
	if err := os.Rename(filepath.Join(root, "app"), filepath.Join(root, "moved")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("other", filepath.Join(root, "app")); err != nil {
		t.Fatal(err)
	}
	os.Symlink("../other/data", filepath.Join(root, "moved", "data2"))
	for name, openDir := range open {
		for _, p := range []string{data, filepath.Join(root, "moved", "data2")} {
			f, err := openDir(p)
			if f != nil {
				f.Close()
			}
			if name == "openat2" && !errors.Is(err, ErrDirMoved) {
				t.Fatalf("%s %s: %v, want ErrDirMoved", name, p, err)
			}
			if err == nil {
				t.Fatalf("%s %s: opened through a symlink", name, p)
			}
		}
	}
	if _, err := OpenDir("relative/path"); err == nil {
		t.Fatal("a relative path was opened")
	}
}
