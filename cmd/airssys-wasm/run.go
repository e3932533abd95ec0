package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/security"
	"github.com/airsstack/airssys-wasm-go/storage"
	"github.com/airsstack/airssys-wasm-go/storage/keyvalue"
	"github.com/airsstack/airssys-wasm-go/wit"
)

// instanceFlags are the limit and capability flags that call and run share.
type instanceFlags struct {
	fuel         *uint64
	timeout      *time.Duration
	memory       *string
	cache        *string
	manifestPath *string
	policyPath   *string
	auditLog     *bool
	data, name   *string
	dirs, envs   listFlag
}

func addInstanceFlags(fs *flag.FlagSet) *instanceFlags {
	f := &instanceFlags{
		fuel:         fs.Uint64("fuel", 0, "fuel for the call (0: unlimited)"),
		timeout:      fs.Duration("timeout", 0, "wall-clock limit for the call, e.g. 500ms (0: none)"),
		memory:       fs.String("memory", "0", "linear memory limit in bytes (suffixes K, M, G allowed; 0: none)"),
		cache:        fs.String("cache", "", `compile cache directory ("off" to disable)`),
		manifestPath: fs.String("manifest", "", "Component.toml: run with exactly the capabilities it is granted"),
		policyPath:   fs.String("policy", "", "host policy (with --manifest; default: grant nothing beyond WASI basics)"),
		auditLog:     fs.Bool("audit", false, "write security audit events (JSON lines) to stderr"),
		data:         fs.String("data", "", "data directory: key-value storage (wasi:keyvalue) in DIR/keyvalue.db"),
		name:         fs.String("name", "", "the component's name, whose data it is, without --manifest (dev space)"),
	}
	fs.Var(&f.dirs, "dir", "preopen HOST::GUEST[:ro] (repeatable)")
	fs.Var(&f.envs, "env", "environment variable K=V for the guest (repeatable)")
	return f
}

// prepared is what a command needs to run a guest: the component bytes
// (read bounded), the instance configuration after the grants, an engine,
// and the directories opened at admission.
type prepared struct {
	wasm    []byte
	cfg     engine.InstanceConfig
	eng     *engine.Engine
	handles []*os.File
	db      *storage.DB       // --data
	kv      *keyvalue.Session // --data: the component's storage
}

func (p *prepared) close() {
	p.eng.Close()
	for _, h := range p.handles {
		h.Close()
	}
	if p.db != nil {
		p.db.Close()
	}
}

// context is ctx with the component's storage session, if any.
func (p *prepared) context(ctx context.Context) context.Context {
	if p.kv != nil {
		return keyvalue.WithSession(ctx, p.kv)
	}
	return ctx
}

// prepare reads the component, admits it (with --manifest), builds the
// instance configuration on top of wasio and opens the engine. On failure
// it has reported the problem and returns the exit code.
func (f *instanceFlags) prepare(file string, wasio engine.WASI, stderr io.Writer) (*prepared, int) {
	memLimit, err := parseBytes(*f.memory)
	if err != nil {
		return nil, fail(stderr, exitUsage, "--memory: %v", err)
	}
	cfg := engine.InstanceConfig{Fuel: *f.fuel, Timeout: *f.timeout, MemoryLimit: memLimit, WASI: wasio, Host: kvHost()}
	cfg.WASI.Env = map[string]string{}
	for _, kv := range f.envs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fail(stderr, exitUsage, "--env %q: want K=V", kv)
		}
		cfg.WASI.Env[k] = v
	}
	for _, d := range f.dirs {
		dir, err := parseDir(d)
		if err != nil {
			return nil, fail(stderr, exitUsage, "--dir %q: %v", d, err)
		}
		cfg.WASI.Dirs = append(cfg.WASI.Dirs, dir)
	}
	wasm, err := engine.ReadWasmFile(file, 0)
	if err != nil {
		return nil, fail(stderr, exitUsage, "%v", err)
	}
	if *f.policyPath != "" && *f.manifestPath == "" {
		return nil, fail(stderr, exitUsage, "--policy needs --manifest")
	}
	switch {
	case *f.name != "" && *f.data == "":
		return nil, fail(stderr, exitUsage, "--name needs --data")
	case *f.name != "" && *f.manifestPath != "":
		return nil, fail(stderr, exitUsage, "--name conflicts with --manifest: the component's name is the manifest's")
	case *f.data != "" && *f.name == "" && *f.manifestPath == "":
		return nil, fail(stderr, exitUsage, "--data needs --manifest or --name NAME (whose data it is)")
	}
	p := &prepared{wasm: wasm}
	fuel := *f.fuel
	var grants *security.Grants
	var audit *security.Audit
	if *f.manifestPath != "" {
		if len(f.dirs) > 0 {
			return nil, fail(stderr, exitUsage, "--dir conflicts with --manifest: directories come from the manifest's grants")
		}
		if *f.auditLog {
			audit = security.NewAudit(stderr)
		}
		adm, code := admit(file, wasm, *f.manifestPath, *f.policyPath, stderr)
		if adm == nil {
			return nil, code
		}
		g := adm.Grants
		grants = g
		audit.Event("grant", g.Component, "admitted", "trust", string(g.Trust))
		applyGrants(&cfg, g, audit, stderr)
		if fuel == 0 && cfg.Fuel > 0 {
			fuel = cfg.Fuel
		}
		// The guest gets the directories that were admitted, opened now:
		// nothing that happens to their paths later can widen that.
		for i, d := range cfg.WASI.Dirs {
			h, err := security.OpenDir(d.HostPath)
			if err != nil {
				for _, h := range p.handles {
					h.Close()
				}
				return nil, fail(stderr, exitRefused, "refused: %v", err)
			}
			p.handles = append(p.handles, h)
			cfg.WASI.Dirs[i].Handle = h
		}
	}
	if *f.data != "" {
		db, kv, code := openSession(*f.data, *f.name, grants, audit, stderr)
		if db == nil {
			for _, h := range p.handles {
				h.Close()
			}
			return nil, code
		}
		p.db, p.kv = db, kv
	}
	eng, err := newEngine(*f.cache, fuel > 0 || cfg.Fuel > 0)
	if err != nil {
		for _, h := range p.handles {
			h.Close()
		}
		if p.db != nil {
			p.db.Close()
		}
		return nil, fail(stderr, exitUsage, "%v", err)
	}
	p.cfg, p.eng = cfg, eng
	return p, exitOK
}

// cmdRun runs a WASI command: a component exporting wasi:cli/run (any 0.2
// version) or a core module exporting _start, with its arguments, stdin,
// stdout and stderr connected, as `wasmtime run` does. The exit status is
// the guest's (exit(N), or 0/1 for run's ok/err); a trap is 1 with a
// message, bad usage 2.
func cmdRun(ctx context.Context, args []string, stdin *os.File, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	flags := addInstanceFlags(fs)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() < 1 {
		return fail(stderr, exitUsage, "run: want FILE [ARGS...]")
	}
	file := fs.Arg(0)
	wasio := engine.WASI{Args: fs.Args(), StdinFile: stdin, Stdout: stdout, Stderr: stderr}
	p, code := flags.prepare(file, wasio, stderr)
	if p == nil {
		return code
	}
	defer p.close()
	comp, err := p.eng.Compile(ctx, p.wasm)
	if err != nil {
		return fail(stderr, exitUsage, "%s: %v", file, err)
	}
	defer comp.Close()
	ctx = p.context(ctx)
	entry := "_start"
	if comp.Kind() == engine.KindComponent {
		entry = "wasi:cli/run@0.2.0#run" // any 0.2.x (see engine.Component.FuncType)
		if ft, err := comp.FuncType(entry); err != nil || len(ft.Params) != 0 {
			return fail(stderr, exitUsage, "%s is not a command: it exports no wasi:cli/run 0.2 run function", file)
		}
	} else if ct, err := comp.CoreFuncType(entry); err != nil || len(ct.Params) != 0 || len(ct.Results) != 0 {
		return fail(stderr, exitUsage, "%s is not a command: it exports no _start function", file)
	}
	inst, err := comp.Instantiate(ctx, p.cfg)
	if err != nil {
		return runFailure(stderr, err)
	}
	defer inst.Close()
	out, err := inst.Call(ctx, entry)
	if err != nil {
		return runFailure(stderr, err)
	}
	if r, ok := out.(wit.Result); ok && r.IsErr {
		return 1 // run returned err: the command failed (it said why itself)
	}
	return exitOK
}

// runFailure turns the end of a command into its exit status: a WASI exit
// is the guest's own status, anything else a trap (1) or a usage error (2).
func runFailure(stderr io.Writer, err error) int {
	var trap *engine.Trap
	if errors.As(err, &trap) {
		if trap.Kind == engine.TrapExit {
			return trap.ExitCode
		}
		return failTrap(stderr, trap)
	}
	return fail(stderr, exitUsage, "%v", err)
}
