package security

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// Trust is how much a component is trusted, decided by its signature.
type Trust string

// Trust levels.
const (
	// Trusted: signed by a key the policy lists as a trusted publisher.
	Trusted Trust = "trusted"
	// Unknown: unsigned, or signed by a key the policy does not list.
	Unknown Trust = "unknown"
	// Dev: unsigned while the policy is in dev mode.
	Dev Trust = "dev"
)

// Policy is the operator's side: what each trust level and each publisher
// may be granted, what is always denied, resource ceilings, and whether
// signatures are required.
type Policy struct {
	RequireSignatures bool
	DevMode           bool
	Ceilings          Resources
	DenyPaths         []string // cleaned absolute paths; a grant inside any is refused
	DenyEnv           []string
	Levels            map[Trust]*LevelGrants
	Publishers        []Publisher
}

// LevelGrants is what a trust level (or a publisher) may be granted. Paths
// are glob patterns over cleaned host paths ("/srv/data", "/srv/*",
// "/srv/**" for a whole tree); names and ids are patterns as in manifests;
// "*" in Env or Config allows any.
type LevelGrants struct {
	Filesystem []PathGrant
	Env        []string
	Config     []string
	Send       []string
	Request    []string
	Publish    []string
	Subscribe  []string
	Logging    bool
	Storage    StorageLevel // key-value storage (storage.go)
}

// PathGrant allows host directories matching Pattern, read-only unless
// ReadWrite.
type PathGrant struct {
	Pattern   string
	ReadWrite bool
}

// Publisher is a signing key the policy knows.
type Publisher struct {
	Name   string
	Key    PublicKey
	Trust  Trust
	Grants *LevelGrants // in addition to the trust level's
}

type rawGrants struct {
	Filesystem []struct {
		Host   string `toml:"host"`
		Access string `toml:"access"`
	} `toml:"filesystem"`
	Env       []string `toml:"env"`
	Config    []string `toml:"config"`
	Send      []string `toml:"send"`
	Request   []string `toml:"request"`
	Publish   []string `toml:"publish"`
	Subscribe []string `toml:"subscribe"`
	Logging   bool     `toml:"logging"`
	rawStorageGrants
}

type rawPolicy struct {
	Policy struct {
		RequireSignatures bool `toml:"require-signatures"`
		DevMode           bool `toml:"dev-mode"`
	} `toml:"policy"`
	Ceilings rawResources `toml:"ceilings"`
	Deny     struct {
		Paths []string `toml:"paths"`
		Env   []string `toml:"env"`
	} `toml:"deny"`
	Trust     map[string]rawGrants `toml:"trust"`
	Publisher []struct {
		Name   string     `toml:"name"`
		Key    string     `toml:"key"`
		Trust  string     `toml:"trust"`
		Grants *rawGrants `toml:"grants"`
	} `toml:"publisher"`
}

// LoadPolicy reads and parses a policy file: a regular file of at most
// MaxPolicyFile bytes (see ReadSmallFile).
func LoadPolicy(path string) (*Policy, error) {
	data, err := ReadSmallFile(path, "policy", MaxPolicyFile)
	if err != nil {
		return nil, err
	}
	return ParsePolicy(filepath.Base(path), data)
}

// ParsePolicy parses policy TOML; problems are reported with key and line.
func ParsePolicy(file string, data []byte) (*Policy, error) {
	errs := &errList{file: file, lines: keyLines(data)}
	var raw rawPolicy
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		errs.fromTOML(err)
		return nil, errs.err()
	}
	p := &Policy{RequireSignatures: raw.Policy.RequireSignatures, DevMode: raw.Policy.DevMode,
		Levels: map[Trust]*LevelGrants{}}
	if p.RequireSignatures && p.DevMode {
		errs.add("policy.dev-mode", "contradicts require-signatures = true")
	}
	p.Ceilings = errs.resources("ceilings", raw.Ceilings)
	for _, d := range raw.Deny.Paths {
		clean, err := absPath(d)
		if err != nil {
			errs.add("deny.paths", err.Error())
			continue
		}
		p.DenyPaths = append(p.DenyPaths, clean)
		// Deny the real location too, if it is reached through a symlink.
		if real, err := filepath.EvalSymlinks(clean); err == nil && real != clean {
			p.DenyPaths = append(p.DenyPaths, real)
		}
	}
	p.DenyEnv = raw.Deny.Env
	for name, g := range raw.Trust {
		t := Trust(name)
		if t != Trusted && t != Unknown && t != Dev {
			errs.add("trust."+name, "unknown trust level (trusted, unknown, dev)")
			continue
		}
		p.Levels[t] = convGrants("trust."+name, g, errs)
	}
	for i, pub := range raw.Publisher {
		key := fmt.Sprintf("publisher[%d]", i)
		k, err := ParsePublicKey(pub.Key)
		if err != nil {
			errs.addIdx(key+".key", "publisher", i, err.Error())
			continue
		}
		t := Trust(pub.Trust)
		if t == "" {
			t = Trusted
		}
		if t != Trusted && t != Unknown {
			errs.addIdx(key+".trust", "publisher", i, "must be trusted or unknown")
			continue
		}
		pp := Publisher{Name: pub.Name, Key: k, Trust: t}
		if pub.Grants != nil {
			pp.Grants = convGrants(key+".grants", *pub.Grants, errs)
		}
		p.Publishers = append(p.Publishers, pp)
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return p, nil
}

func convGrants(key string, g rawGrants, errs *errList) *LevelGrants {
	out := &LevelGrants{Env: g.Env, Config: g.Config, Send: g.Send, Request: g.Request, Publish: g.Publish,
		Subscribe: g.Subscribe, Logging: g.Logging, Storage: errs.storageLevel(key, g.rawStorageGrants)}
	for _, f := range g.Filesystem {
		pat, err := absPath(f.Host)
		if err != nil {
			errs.add(key+".filesystem", err.Error())
			continue
		}
		if _, err := filepath.Match(strings.ReplaceAll(pat, "**", "*"), ""); err != nil {
			errs.add(key+".filesystem", fmt.Sprintf("%q is not a valid pattern", f.Host))
			continue
		}
		switch f.Access {
		case "", "read":
			out.Filesystem = append(out.Filesystem, PathGrant{Pattern: pat})
		case "read-write":
			out.Filesystem = append(out.Filesystem, PathGrant{Pattern: pat, ReadWrite: true})
		default:
			errs.add(key+".filesystem", fmt.Sprintf("access %q is not read or read-write", f.Access))
		}
	}
	for _, pats := range [][]string{g.Send, g.Request} {
		for _, p := range pats {
			if err := ValidIDPattern(p); err != nil {
				errs.add(key, err.Error())
			}
		}
	}
	for _, pats := range [][]string{g.Publish, g.Subscribe} {
		for _, p := range pats {
			if err := validSubjectPattern(p); err != nil {
				errs.add(key, err.Error())
			}
		}
	}
	return out
}

func absPath(p string) (string, error) {
	if strings.HasPrefix(p, "~/") || p == "~" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		p = filepath.Join(home, strings.TrimPrefix(p, "~"))
	}
	if !filepath.IsAbs(p) {
		return "", fmt.Errorf("%q is not an absolute path", p)
	}
	return filepath.Clean(p), nil
}

// ErrDenied is matched by every refusal of a manifest by a policy.
var ErrDenied = errors.New("security: denied")

// DeniedError lists everything a manifest asked for that the policy did
// not grant.
type DeniedError struct {
	Component string
	Trust     Trust
	Missing   []string
}

func (e *DeniedError) Error() string {
	return fmt.Sprintf("security: %s (trust %s) asks for what the policy does not grant:\n  - %s", e.Component,
		e.Trust, strings.Join(e.Missing, "\n  - "))
}

func (e *DeniedError) Is(target error) bool { return target == ErrDenied }

// Evaluate decides what a component gets: every capability its manifest
// asks for must be granted by its trust level (and its publisher's extra
// grants), nothing may touch the always-deny list, and its resources must be
// within the ceilings. The error lists every missing grant at once.
// signer is the verified signing key, or nil for an unsigned component;
// the Grants record it as Publisher.
func (p *Policy) Evaluate(m *Manifest, signer *PublicKey) (*Grants, error) {
	trust, pub := p.trustOf(signer)
	if p.RequireSignatures && pub == nil {
		if signer == nil {
			return nil, fmt.Errorf("%w: %s is not signed and the policy requires signatures", ErrSignature, m.Name)
		}
		return nil, fmt.Errorf("%w: %s is signed by %s, which the policy does not trust", ErrSignature, m.Name,
			signer)
	}
	var allow []*LevelGrants
	if lg := p.Levels[trust]; lg != nil {
		allow = append(allow, lg)
	}
	if pub != nil && pub.Grants != nil {
		allow = append(allow, pub.Grants)
	}
	var missing []string
	deny := func(format string, args ...any) { missing = append(missing, fmt.Sprintf(format, args...)) }
	c := m.Capabilities
	for _, f := range c.Filesystem {
		if d, inside := p.deniedPath(f.Host); d != "" {
			if inside {
				deny("filesystem %s: inside %s, which is always denied", f.Host, d)
			} else {
				deny("filesystem %s: contains %s, which is always denied; ask for a directory that does not hold it",
					f.Host, d)
			}
			continue
		}
		if !anyLevel(allow, func(l *LevelGrants) bool { return l.allowsPath(f.Host, f.ReadWrite) }) {
			mode := "read"
			if f.ReadWrite {
				mode = "read-write"
			}
			deny("filesystem %s (%s) as %s", f.Host, mode, f.Guest)
		}
	}
	for _, e := range c.Env {
		if containsFold(p.DenyEnv, e) {
			deny("env %s: always denied", e)
		} else if !anyLevel(allow, func(l *LevelGrants) bool { return nameAllowed(l.Env, e) }) {
			deny("env %s", e)
		}
	}
	for _, k := range c.Config {
		if !anyLevel(allow, func(l *LevelGrants) bool { return nameAllowed(l.Config, k) }) {
			deny("config %s", k)
		}
	}
	checkPats := func(what string, asked []string, granted func(*LevelGrants) []string, covers func(g, a string) bool) {
		for _, a := range asked {
			if !anyLevel(allow, func(l *LevelGrants) bool {
				for _, g := range granted(l) {
					if covers(g, a) {
						return true
					}
				}
				return false
			}) {
				deny("%s %s", what, a)
			}
		}
	}
	checkPats("send to", c.Send, func(l *LevelGrants) []string { return l.Send }, idCovers)
	checkPats("request from", c.Request, func(l *LevelGrants) []string { return l.Request }, idCovers)
	checkPats("publish to", c.Publish, func(l *LevelGrants) []string { return l.Publish }, subjectCovers)
	checkPats("subscribe to", c.Subscribe, func(l *LevelGrants) []string { return l.Subscribe }, subjectCovers)
	if c.Logging && !anyLevel(allow, func(l *LevelGrants) bool { return l.Logging }) {
		deny("logging")
	}
	storageMissing(allow, c.Storage, deny)
	r, ceil := m.Resources, p.Ceilings
	if ceil.MemoryBytes > 0 && r.MemoryBytes > ceil.MemoryBytes {
		deny("resources.memory %d bytes: above the ceiling of %d", r.MemoryBytes, ceil.MemoryBytes)
	}
	if ceil.FuelPerMessage > 0 && r.FuelPerMessage > ceil.FuelPerMessage {
		deny("resources.fuel-per-message %d: above the ceiling of %d", r.FuelPerMessage, ceil.FuelPerMessage)
	}
	if ceil.TimeoutPerMsg > 0 && r.TimeoutPerMsg > ceil.TimeoutPerMsg {
		deny("resources.timeout-per-message %v: above the ceiling of %v", r.TimeoutPerMsg, ceil.TimeoutPerMsg)
	}
	if ceil.Mailbox > 0 && r.Mailbox > ceil.Mailbox {
		deny("resources.mailbox %d: above the ceiling of %d", r.Mailbox, ceil.Mailbox)
	}
	if ceil.MaxMessageBytes > 0 && r.MaxMessageBytes > ceil.MaxMessageBytes {
		deny("resources.max-message %d bytes: above the ceiling of %d", r.MaxMessageBytes, ceil.MaxMessageBytes)
	}
	if len(missing) > 0 {
		return nil, &DeniedError{Component: m.Name, Trust: trust, Missing: missing}
	}
	res := r
	// Ceilings also bound what the manifest left unset.
	if res.FuelPerMessage == 0 {
		res.FuelPerMessage = ceil.FuelPerMessage
	}
	if res.TimeoutPerMsg == 0 {
		res.TimeoutPerMsg = ceil.TimeoutPerMsg
	}
	if res.MaxMessageBytes == 0 {
		res.MaxMessageBytes = ceil.MaxMessageBytes
	}
	if res.Mailbox == 0 {
		res.Mailbox = ceil.Mailbox // else the runtime's default, which may be larger
	}
	g := newGrants(m.Name, trust, c, res)
	if signer != nil {
		g.Publisher = signer.String()
	}
	g.setStorage(storageGrant(allow, c.Storage))
	return g, nil
}

// trustOf finds the publisher of a verified key and the trust level.
func (p *Policy) trustOf(signer *PublicKey) (Trust, *Publisher) {
	if signer == nil {
		if p.DevMode {
			return Dev, nil
		}
		return Unknown, nil
	}
	for i := range p.Publishers {
		if p.Publishers[i].Key.Equal(*signer) {
			return p.Publishers[i].Trust, &p.Publishers[i]
		}
	}
	return Unknown, nil
}

func anyLevel(ls []*LevelGrants, f func(*LevelGrants) bool) bool {
	for _, l := range ls {
		if f(l) {
			return true
		}
	}
	return false
}

func nameAllowed(granted []string, name string) bool {
	for _, g := range granted {
		if g == "*" || g == name {
			return true
		}
	}
	return false
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// deniedPath returns an always-denied path that path lies inside
// (inside = true) or that lies inside path (a grant of path would show it
// to the guest), or "".
func (p *Policy) deniedPath(path string) (denied string, inside bool) {
	for _, d := range p.DenyPaths {
		if within(path, d) {
			return d, true
		}
	}
	for _, d := range p.DenyPaths {
		if within(d, path) {
			return d, false
		}
	}
	return "", false
}

// within reports whether path is dir or inside it.
func within(path, dir string) bool {
	if dir == "/" {
		return true
	}
	return path == dir || strings.HasPrefix(path, dir+string(filepath.Separator))
}

func (l *LevelGrants) allowsPath(path string, readWrite bool) bool {
	for _, g := range l.Filesystem {
		if readWrite && !g.ReadWrite {
			continue
		}
		if matchPath(g.Pattern, path) {
			return true
		}
	}
	return false
}

// matchPath matches a cleaned path against a pattern where "**" at the end
// means the directory and everything below it, and "*" one path element.
func matchPath(pattern, path string) bool {
	if base, ok := strings.CutSuffix(pattern, "/**"); ok {
		return within(path, base)
	}
	ok, _ := filepath.Match(pattern, path)
	return ok
}

// idCovers reports whether a granted id pattern covers an asked one (every
// id the asked pattern matches, the grant matches too).
func idCovers(grant, asked string) bool {
	gs, as := strings.Split(grant, "/"), strings.Split(asked, "/")
	if len(gs) != 3 || len(as) != 3 {
		return false
	}
	for i := range gs {
		if gs[i] != "*" && gs[i] != as[i] {
			return false
		}
	}
	return true
}

// subjectCovers reports whether a granted subject pattern covers an asked
// one: every topic the asked pattern matches, the granted one matches too.
// "*" covers one token of any kind except ">"; ">" covers one or more
// tokens, wildcards included. It does not allocate: the runtime calls it
// (Grants.AllowSubscribe) as well as the policy.
func subjectCovers(grant, asked string) bool {
	for {
		g, grest, gmore := strings.Cut(grant, ".")
		a, arest, amore := strings.Cut(asked, ".")
		switch {
		case g == ">":
			return true // the rest of asked is one or more tokens, whatever they are
		case a == ">":
			return false // asked for any number of tokens where the grant covers one
		case g != "*" && g != a:
			return false
		}
		if !gmore || !amore {
			return gmore == amore
		}
		grant, asked = grest, arest
	}
}
