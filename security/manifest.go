package security

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// Manifest is a parsed Component.toml: who the component is, the resources
// it needs and the capabilities it asks for. SCHEMA.md documents it.
type Manifest struct {
	Name        string
	Version     string
	Description string
	Authors     []string

	Resources    Resources
	Capabilities Capabilities
}

// Resources are the limits a component runs under (0 = not set).
type Resources struct {
	MemoryBytes     int64
	FuelPerMessage  uint64
	TimeoutPerMsg   time.Duration
	Mailbox         int
	MaxMessageBytes int64
}

// Capabilities are what a component asks for (manifest) or is granted
// (policy evaluation).
type Capabilities struct {
	Filesystem []FileGrant
	Env        []string
	Config     []string
	Send       []string // component id patterns ("ns/name/*")
	Request    []string
	Publish    []string // topic patterns
	Subscribe  []string
	Logging    bool
	Storage    StorageAccess // key-value buckets and operations (storage.go)
}

// FileGrant is a host directory shown to the guest.
type FileGrant struct {
	Host      string // absolute, cleaned, symlinks resolved
	Guest     string
	ReadWrite bool
	Globs     []string // which files inside are meant; see SCHEMA.md
}

// ManifestError is a problem with a manifest, with where it is.
type ManifestError struct {
	File string
	Line int    // 0 when unknown
	Key  string // dotted key, e.g. "resources.memory"
	Msg  string
}

func (e *ManifestError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Key != "" {
		fmt.Fprintf(&b, ": %s", e.Key)
	}
	fmt.Fprintf(&b, ": %s", e.Msg)
	return b.String()
}

// ErrManifest is matched by every manifest problem (errors.Is).
var ErrManifest = errors.New("security: invalid manifest")

func (e *ManifestError) Is(target error) bool { return target == ErrManifest }

// The raw TOML shape. Unknown keys are errors (strict decoding).
type rawManifest struct {
	Component *struct {
		Name        *string  `toml:"name"`
		Version     *string  `toml:"version"`
		Description string   `toml:"description"`
		Authors     []string `toml:"authors"`
	} `toml:"component"`
	Resources    *rawResources `toml:"resources"`
	Capabilities *struct {
		Filesystem []struct {
			Host   *string  `toml:"host"`
			Guest  *string  `toml:"guest"`
			Access string   `toml:"access"`
			Globs  []string `toml:"globs"`
		} `toml:"filesystem"`
		Env       []string `toml:"env"`
		Config    []string `toml:"config"`
		Logging   *bool    `toml:"logging"`
		Messaging *struct {
			Send      []string `toml:"send"`
			Request   []string `toml:"request"`
			Publish   []string `toml:"publish"`
			Subscribe []string `toml:"subscribe"`
		} `toml:"messaging"`
		Storage *rawStorage `toml:"storage"`
		Network any         `toml:"network"`
	} `toml:"capabilities"`
}

// rawResources is the [resources] table of a manifest and the [ceilings]
// table of a policy.
type rawResources struct {
	Memory     any    `toml:"memory"`
	Fuel       *int64 `toml:"fuel-per-message"`
	Timeout    any    `toml:"timeout-per-message"`
	Mailbox    *int64 `toml:"mailbox"`
	MaxMessage any    `toml:"max-message"`
}

// resources validates a resources table; table names it in errors.
func (e *errList) resources(table string, r rawResources) Resources {
	var out Resources
	if r.Memory != nil {
		if n, err := parseSize(r.Memory); err != nil || n <= 0 {
			e.add(table+".memory", sizeMsg(r.Memory, err))
		} else {
			out.MemoryBytes = n
		}
	}
	if r.Fuel != nil {
		if *r.Fuel <= 0 {
			e.add(table+".fuel-per-message", "must be positive")
		} else {
			out.FuelPerMessage = uint64(*r.Fuel)
		}
	}
	if r.Timeout != nil {
		if d, err := parseDuration(r.Timeout); err != nil || d <= 0 {
			e.add(table+".timeout-per-message", durationMsg(r.Timeout, err))
		} else {
			out.TimeoutPerMsg = d
		}
	}
	if r.Mailbox != nil {
		if *r.Mailbox <= 0 || *r.Mailbox > 1<<24 {
			e.add(table+".mailbox", fmt.Sprintf("%d is not between 1 and %d", *r.Mailbox, 1<<24))
		} else {
			out.Mailbox = int(*r.Mailbox)
		}
	}
	if r.MaxMessage != nil {
		if n, err := parseSize(r.MaxMessage); err != nil || n <= 0 {
			e.add(table+".max-message", sizeMsg(r.MaxMessage, err))
		} else {
			out.MaxMessageBytes = n
		}
	}
	return out
}

// LoadManifest reads and parses a manifest file: a regular file of at most
// MaxManifestFile bytes (see ReadSmallFile).
func LoadManifest(path string) (*Manifest, []byte, error) {
	data, err := ReadSmallFile(path, "manifest", MaxManifestFile)
	if err != nil {
		return nil, nil, err
	}
	m, err := ParseManifest(filepath.Base(path), data)
	return m, data, err
}

var (
	namePattern    = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)
	versionPattern = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$`)
	envPattern     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	configPattern  = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
)

// ParseManifest parses Component.toml text; file names the source in errors.
// Every problem is reported with its key and line, all of them at once.
func ParseManifest(file string, data []byte) (*Manifest, error) {
	lines := keyLines(data)
	errs := &errList{file: file, lines: lines}
	var raw rawManifest
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		errs.fromTOML(err)
		return nil, errs.err()
	}
	m := &Manifest{}
	if raw.Component == nil {
		errs.add("component", "missing table [component]")
	} else {
		c := raw.Component
		switch {
		case c.Name == nil:
			errs.add("component", "missing required key name")
		case !namePattern.MatchString(*c.Name):
			errs.add("component.name", fmt.Sprintf("%q is not a kebab-case name", *c.Name))
		default:
			m.Name = *c.Name
		}
		switch {
		case c.Version == nil:
			errs.add("component", "missing required key version")
		case !versionPattern.MatchString(*c.Version):
			errs.add("component.version", fmt.Sprintf("%q is not a semantic version (1.2.3)", *c.Version))
		default:
			m.Version = *c.Version
		}
		m.Description, m.Authors = c.Description, c.Authors
	}
	if raw.Resources == nil {
		errs.add("resources", "missing table [resources] (memory is required)")
	} else {
		if raw.Resources.Memory == nil {
			errs.add("resources", "missing required key memory")
		}
		m.Resources = errs.resources("resources", *raw.Resources)
		if r := m.Resources; r.MemoryBytes > 0 && r.MaxMessageBytes > r.MemoryBytes {
			errs.add("resources.max-message", "is larger than resources.memory: no message that big could be handled")
		}
	}
	if c := raw.Capabilities; c != nil {
		if c.Network != nil {
			errs.add("capabilities.network", "network access is denied to every component in this version")
		}
		guests := map[string]int{}
		for i, f := range c.Filesystem {
			key := fmt.Sprintf("capabilities.filesystem[%d]", i)
			g := FileGrant{}
			if f.Host == nil || *f.Host == "" {
				errs.addIdx(key, "filesystem", i, "missing required key host")
				continue
			}
			if f.Guest == nil || !strings.HasPrefix(*f.Guest, "/") {
				errs.addIdx(key+".guest", "filesystem", i, "must be an absolute guest path")
				continue
			}
			g.Guest = filepath.Clean(*f.Guest)
			switch f.Access {
			case "read", "":
			case "read-write":
				g.ReadWrite = true
			default:
				errs.addIdx(key+".access", "filesystem", i, fmt.Sprintf("%q is not read or read-write", f.Access))
			}
			for _, gl := range f.Globs {
				if _, err := filepath.Match(gl, ""); err != nil || strings.Contains(gl, "..") {
					errs.addIdx(key+".globs", "filesystem", i, fmt.Sprintf("%q is not a valid glob", gl))
				}
			}
			g.Globs = f.Globs
			host, err := CleanHostPath(*f.Host)
			if err != nil {
				errs.addIdx(key+".host", "filesystem", i, err.Error())
				continue
			}
			g.Host = host
			if prev, dup := guests[g.Guest]; dup {
				errs.addIdx(key+".guest", "filesystem", i,
					fmt.Sprintf("%s is already mapped by capabilities.filesystem[%d]", g.Guest, prev))
				continue
			}
			guests[g.Guest] = i
			m.Capabilities.Filesystem = append(m.Capabilities.Filesystem, g)
		}
		for _, e := range c.Env {
			if !envPattern.MatchString(e) {
				errs.add("capabilities.env", fmt.Sprintf("%q is not an environment variable name", e))
			}
		}
		m.Capabilities.Env = c.Env
		for _, k := range c.Config {
			if !configPattern.MatchString(k) {
				errs.add("capabilities.config", fmt.Sprintf("%q is not a configuration key", k))
			}
		}
		m.Capabilities.Config = c.Config
		if c.Logging != nil {
			m.Capabilities.Logging = *c.Logging
		}
		if ms := c.Messaging; ms != nil {
			check := func(key string, pats []string, valid func(string) error) []string {
				for _, p := range pats {
					if err := valid(p); err != nil {
						errs.add("capabilities.messaging."+key, err.Error())
					}
				}
				return pats
			}
			m.Capabilities.Send = check("send", ms.Send, ValidIDPattern)
			m.Capabilities.Request = check("request", ms.Request, ValidIDPattern)
			m.Capabilities.Publish = check("publish", ms.Publish, validSubjectPattern)
			m.Capabilities.Subscribe = check("subscribe", ms.Subscribe, validSubjectPattern)
		}
		m.Capabilities.Storage = errs.storage(c.Storage)
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return m, nil
}

// CleanHostPath makes a host path absolute (expanding ~), cleans it and
// resolves symlinks, so that what is checked is what the guest would get.
func CleanHostPath(p string) (string, error) {
	if strings.HasPrefix(p, "~/") || p == "~" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("cannot expand ~: %w", err)
		}
		p = filepath.Join(home, strings.TrimPrefix(p, "~"))
	}
	if !filepath.IsAbs(p) {
		return "", fmt.Errorf("%q is not an absolute path", p)
	}
	real, err := filepath.EvalSymlinks(filepath.Clean(p))
	if err != nil {
		return "", fmt.Errorf("%q: %w", p, errors.Unwrap(err))
	}
	fi, err := os.Stat(real)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%q is not a directory", p)
	}
	return real, nil
}

// ---- errors with lines -------------------------------------------------------

type errList struct {
	file  string
	lines map[string]int
	list  []*ManifestError
}

func (e *errList) add(key, msg string) {
	e.list = append(e.list, &ManifestError{File: e.file, Line: e.lineOf(key), Key: key, Msg: msg})
}

// addIdx reports a problem in the i-th [[table]] entry.
func (e *errList) addIdx(key, table string, i int, msg string) {
	me := &ManifestError{File: e.file, Line: e.lineOf(key), Key: key, Msg: msg}
	if me.Line == 0 {
		me.Line = e.lines[fmt.Sprintf("capabilities.%s[%d]", table, i)]
	}
	e.list = append(e.list, me)
}

func (e *errList) lineOf(key string) int {
	for k := key; k != ""; {
		if l, ok := e.lines[k]; ok {
			return l
		}
		i := strings.LastIndexAny(k, ".[")
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return 0
}

func (e *errList) fromTOML(err error) {
	var strict *toml.StrictMissingError
	var de *toml.DecodeError
	switch {
	case errors.As(err, &strict):
		for i := range strict.Errors {
			d := &strict.Errors[i]
			line, _ := d.Position()
			e.list = append(e.list, &ManifestError{File: e.file, Line: line, Key: strings.Join(d.Key(), "."),
				Msg: "unknown key"})
		}
	case errors.As(err, &de):
		line, _ := de.Position()
		e.list = append(e.list, &ManifestError{File: e.file, Line: line, Key: strings.Join(de.Key(), "."),
			Msg: de.Error()})
	default:
		// Type mismatches come as plain errors naming the Go type; say it in
		// TOML terms.
		msg := err.Error()
		key := ""
		if i := strings.Index(msg, "toml: cannot decode TOML "); i >= 0 {
			msg = "wrong type: " + strings.TrimPrefix(msg[i:], "toml: cannot decode ")
		}
		e.list = append(e.list, &ManifestError{File: e.file, Key: key, Msg: msg})
	}
}

func (e *errList) err() error {
	if len(e.list) == 0 {
		return nil
	}
	if len(e.list) == 1 {
		return e.list[0]
	}
	errs := make([]error, len(e.list))
	for i, x := range e.list {
		errs[i] = x
	}
	return errors.Join(errs...)
}

// keyLines maps dotted keys (and "table[i]" for arrays of tables) to the
// line they are written on. It reads TOML line by line; it does not need to
// be a full parser because the decoder has already accepted the text when
// the map is used, and a missing entry only loses the line number.
func keyLines(data []byte) map[string]int {
	out := map[string]int{}
	table := ""
	counts := map[string]int{}
	for n, line := range strings.Split(string(data), "\n") {
		l := strings.TrimSpace(line)
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "[["):
			name := strings.TrimSpace(strings.Trim(l, "[] \t"))
			i := counts[name]
			counts[name]++
			table = fmt.Sprintf("%s[%d]", name, i)
			out[table] = n + 1
		case strings.HasPrefix(l, "["):
			table = strings.TrimSpace(strings.Trim(l, "[] \t"))
			out[table] = n + 1
		default:
			k, _, ok := strings.Cut(l, "=")
			if !ok {
				continue
			}
			k = strings.Trim(strings.TrimSpace(k), `"`)
			full := k
			if table != "" {
				full = table + "." + k
			}
			if _, seen := out[full]; !seen {
				out[full] = n + 1
			}
		}
	}
	return out
}

// ---- values --------------------------------------------------------------------

// parseSize reads a byte count: an integer, or a string with a unit
// ("64MiB", "512KiB", "1GiB", "4096").
func parseSize(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case string:
		s := strings.TrimSpace(x)
		mult := int64(1)
		for _, u := range []struct {
			suffix string
			mult   int64
		}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}} {
			if strings.HasSuffix(s, u.suffix) {
				s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
				break
			}
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 || n > (1<<50)/mult {
			return 0, fmt.Errorf("%q is not a size", x)
		}
		return n * mult, nil
	}
	return 0, fmt.Errorf("wrong type %T: want an integer or a string like \"64MiB\"", v)
}

func sizeMsg(v any, err error) string {
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%v must be positive", v)
}

// parseDuration reads "100ms", "2s" (Go syntax) or an integer of milliseconds.
func parseDuration(v any) (time.Duration, error) {
	switch x := v.(type) {
	case int64:
		return time.Duration(x) * time.Millisecond, nil
	case string:
		d, err := time.ParseDuration(x)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration (like \"100ms\")", x)
		}
		return d, nil
	}
	return 0, fmt.Errorf("wrong type %T: want a string like \"100ms\"", v)
}

func durationMsg(v any, err error) string {
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%v must be positive", v)
}
