package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// defaultPolicy is the policy a host writes into its data directory on
// first start when host.toml names none. %s is the data directory, as a
// TOML string. SCHEMA.md quotes what it grants.
const defaultPolicy = `# The airssys-wasm host's default policy, written on its first start because
# host.toml names no policy. Edit it: the host never writes it again.
#
# Deny by default. This policy grants nothing:
# - Only components signed by a key listed as a [[publisher]] are admitted,
#   and none is listed: no component is admitted yet. Add your key, e.g.
#
#     [[publisher]]
#     name = "me"
#     key = "ed25519:..."   # airssys-wasm keygen me; the key in me.pub
#
#   A listed publisher's components that ask for no capability then run.
# - No trust level grants a capability: no directory, environment variable,
#   configuration key, messaging target or topic, logging, storage. Grant
#   what your components need under [trust.trusted] or in a publisher's
#   grants (SCHEMA.md, "The policy").
# - The ceilings bound the resources of every component.
# - The host's data directory and the system's are never granted.
# Everything allowed is only ever an explicit dev flag of the command line,
# never this file.

[policy]
require-signatures = true
dev-mode = false

[ceilings]
memory = "256MiB"
timeout-per-message = "30s"
mailbox = 65536
max-message = "4MiB"

[deny]
paths = [%s, "/etc", "/root", "/boot", "/dev", "/proc", "/sys", "/var/run/secrets"]
env = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AZURE_CLIENT_SECRET",
       "GOOGLE_APPLICATION_CREDENTIALS", "GITHUB_TOKEN"]
`

// DefaultPolicy is the text of the default policy for a host whose data
// directory is dataDir: deny by default (SCHEMA.md). It parses with
// security.ParsePolicy.
func DefaultPolicy(dataDir string) []byte {
	return fmt.Appendf(nil, defaultPolicy, tomlString(dataDir))
}

// WriteDefaultPolicy writes the default policy to <dataDir>/policy.toml
// unless something is there already, which it leaves alone (created is
// false): an operator's edits are never overwritten. It creates dataDir
// (0700) if needed and writes the file (0600) whole or not at all: to a
// temporary file, synced, then linked into place, which fails rather than
// replace a file that appeared meanwhile.
func WriteDefaultPolicy(dataDir string) (path string, created bool, err error) {
	if !filepath.IsAbs(dataDir) {
		return "", false, fmt.Errorf("config: data directory %q is not an absolute path", dataDir)
	}
	if !utf8.ValidString(dataDir) {
		return "", false, fmt.Errorf("config: data directory %q is not UTF-8, which a policy cannot name", dataDir)
	}
	dataDir = filepath.Clean(dataDir)
	path = filepath.Join(dataDir, DefaultPolicyFile)
	if _, err := os.Lstat(path); err == nil {
		return path, false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return path, false, fmt.Errorf("config: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return path, false, fmt.Errorf("config: %w", err)
	}
	tmp, err := os.CreateTemp(dataDir, ".policy-*.toml") // 0600
	if err != nil {
		return path, false, fmt.Errorf("config: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(DefaultPolicy(dataDir))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return path, false, fmt.Errorf("config: writing the default policy: %w", err)
	}
	if testHookBeforeLink != nil {
		testHookBeforeLink(path)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		return path, false, nil
	} else if err != nil {
		return path, false, fmt.Errorf("config: %w", err)
	}
	if d, err := os.Open(dataDir); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return path, true, fmt.Errorf("config: syncing %s: %w", dataDir, err)
		}
	}
	return path, true, nil
}

// testHookBeforeLink lets a test put a file in place just before
// WriteDefaultPolicy links its own.
var testHookBeforeLink func(path string)

// tomlString writes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
