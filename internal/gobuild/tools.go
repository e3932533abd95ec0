package gobuild

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ToolsCacheDir is where installTools puts the tools: the user's cache
// directory, airssys-wasm/build-tools-<hash of the pinned versions>, so a
// new pin installs beside the old one.
func ToolsCacheDir() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("gobuild: no cache directory for the build tools: %w", err)
	}
	lock, _ := toolFiles.ReadFile("tools/package-lock.json")
	h := sha256.New()
	h.Write(lock)
	io.WriteString(h, adapterPackage+" "+AdapterSHA256)
	return filepath.Join(cache, "airssys-wasm", "build-tools-"+hex.EncodeToString(h.Sum(nil))[:12]), nil
}

// installTools returns the tools directory, installing it first when it
// is not complete: npm ci of the pinned lock, and the adapter out of the
// jco package (npm pack checks the registry's integrity hash; the sha256
// is checked here). The installation is made in a temporary directory and
// renamed into place, so an interrupted one leaves nothing half-made.
func installTools(ctx context.Context, progressTo io.Writer) (string, error) {
	dir, err := ToolsCacheDir()
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(dir, "ready")); err == nil {
		return dir, nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", fmt.Errorf("%w (npm is needed once, to install the pinned tools)", ErrNoNode)
	}
	progress(progressTo, "installing the pinned wrapping tools (jco-transpile, the WASI adapter of %s) into %s", adapterPackage, dir)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", fmt.Errorf("gobuild: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), filepath.Base(dir)+".tmp-")
	if err != nil {
		return "", fmt.Errorf("gobuild: %w", err)
	}
	defer os.RemoveAll(tmp)
	for _, f := range []string{"package.json", "package-lock.json"} {
		b, _ := toolFiles.ReadFile("tools/" + f)
		if err := os.WriteFile(filepath.Join(tmp, f), b, 0o644); err != nil {
			return "", fmt.Errorf("gobuild: %w", err)
		}
	}
	run := func(args ...string) error {
		cmd := exec.CommandContext(ctx, npm, args...)
		cmd.Dir = tmp
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("gobuild: npm %s: %w\n%s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
		}
		return nil
	}
	if err := run("ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"); err != nil {
		return "", err
	}
	if err := run("pack", adapterPackage, "--silent", "--pack-destination", tmp); err != nil {
		return "", err
	}
	tgz, _ := filepath.Glob(filepath.Join(tmp, "bytecodealliance-jco-*.tgz"))
	if len(tgz) != 1 {
		return "", fmt.Errorf("gobuild: npm pack %s made %d archives", adapterPackage, len(tgz))
	}
	adapter, err := extract(tgz[0], adapterFile, 16<<20)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(adapter)
	if got := hex.EncodeToString(sum[:]); got != AdapterSHA256 {
		return "", fmt.Errorf("%w: %s of %s has %s, want %s", ErrAdapter, adapterFile, adapterPackage, got, AdapterSHA256)
	}
	if err := os.MkdirAll(filepath.Join(tmp, "adapter"), 0o755); err != nil {
		return "", fmt.Errorf("gobuild: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "adapter", "wasi_snapshot_preview1.reactor.wasm"), adapter, 0o644); err != nil {
		return "", fmt.Errorf("gobuild: %w", err)
	}
	os.Remove(tgz[0])
	if err := os.WriteFile(filepath.Join(tmp, "ready"), nil, 0o644); err != nil {
		return "", fmt.Errorf("gobuild: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another build installed it meanwhile: use that one.
		if _, serr := os.Stat(filepath.Join(dir, "ready")); serr == nil {
			return dir, nil
		}
		return "", fmt.Errorf("gobuild: %w", err)
	}
	return dir, nil
}

// extract reads one file of at most limit bytes out of a .tgz.
func extract(tgz, name string, limit int64) ([]byte, error) {
	f, err := os.Open(tgz)
	if err != nil {
		return nil, fmt.Errorf("gobuild: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("gobuild: %s: %w", tgz, err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("gobuild: %s has no %s", tgz, name)
		}
		if err != nil {
			return nil, fmt.Errorf("gobuild: %s: %w", tgz, err)
		}
		if h.Name != name {
			continue
		}
		if h.Size > limit {
			return nil, fmt.Errorf("gobuild: %s: %s is %d bytes, more than %d", tgz, name, h.Size, limit)
		}
		return io.ReadAll(io.LimitReader(tr, limit))
	}
}
