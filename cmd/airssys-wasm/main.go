// Command airssys-wasm runs and inspects WebAssembly components and modules.
//
//	airssys-wasm call [flags] FILE 'EXPORT(ARGS)'
//	airssys-wasm run [flags] FILE [ARGS...]
//	airssys-wasm inspect FILE
//	airssys-wasm dev FILE.wasm
//	airssys-wasm kv ls|get|put|rm|export|import --data DIR [--publisher KEY] COMPONENT ...
//	airssys-wasm install|push|list|info|uninstall|gc [--data DIR] ...
//
// Values are written in WAVE (see package wave). Exit status: 0 success, 1
// the guest trapped, 2 bad usage or bad input.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/wave"
	"github.com/airsstack/airssys-wasm-go/wit"
)

const (
	exitOK    = 0
	exitTrap  = 1
	exitUsage = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	var code int
	if len(os.Args) > 1 && os.Args[1] == "run" {
		code = cmdRun(ctx, os.Args[2:], os.Stdin, os.Stdout, os.Stderr)
	} else if len(os.Args) > 1 && os.Args[1] == "kv" {
		code = cmdKV(ctx, os.Args[2:], os.Stdin, os.Stdout, os.Stderr)
	} else if len(os.Args) > 1 && os.Args[1] == "dev" {
		code = cmdDev(ctx, os.Args[2:], os.Stdin, os.Stdout, os.Stderr)
	} else {
		code = run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	}
	stop()
	os.Exit(code)
}

const usage = `usage:
  airssys-wasm call [--fuel N] [--timeout DURATION] [--memory BYTES]
                    [--dir HOST::GUEST[:ro]]... [--env K=V]...
                    [--manifest Component.toml --policy policy.toml]
                    [--data DIR [--name NAME]] FILE 'EXPORT(ARGS)'
  airssys-wasm run [the same flags] FILE [ARGS...]
                    runs a WASI command (wasi:cli/run, or a core module's _start) with
                    ARGS, stdin, stdout and stderr; exits with the command's status
  airssys-wasm inspect FILE
  airssys-wasm dev [--config K=V]... FILE.wasm
                    runs an actor component, sends stdin's lines to it as requests and
                    prints the replies; each new build of FILE takes over by live update
  airssys-wasm kv ls|get|put|rm|export|import --data DIR [--publisher KEY] [COMPONENT ...]
                    a data directory's key-value storage ("airssys-wasm kv help")
  airssys-wasm install --policy policy.toml [--data DIR] FILE|REFERENCE
  airssys-wasm push [--data DIR] NAME@VERSION REFERENCE
  airssys-wasm list|info|uninstall|gc [--data DIR] ...
                    the local component store, DIR/catalog ("airssys-wasm install --help")
  airssys-wasm keygen NAME                 writes NAME.key (private) and NAME.pub
  airssys-wasm sign --key NAME.key --manifest Component.toml FILE     writes FILE.sig
  airssys-wasm verify --manifest Component.toml [--policy policy.toml] FILE

Arguments and results are WAVE values: 42, "text", 'c', [1, 2], (1, "a"),
{name: "x", age: 3}, case(payload), red, some(1), none, ok(1), err("e"),
{read, write}. Name a function inside an interface as inspect prints it,
for example 'my:pkg/api@1.0.0#greet("you")'.

--data DIR gives the component wasi:keyvalue storage in DIR/keyvalue.db:
the data of the manifest's name and signer (what the policy grants), or
without --manifest of --name NAME in the dev space (all its buckets).
`

// run is the whole command, testable without a process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "call":
		return cmdCall(ctx, args[1:], stdout, stderr)
	case "run":
		return cmdRun(ctx, args[1:], nil, stdout, stderr)
	case "inspect":
		return cmdInspect(ctx, args[1:], stdout, stderr)
	case "kv":
		return cmdKV(ctx, args[1:], nil, stdout, stderr)
	case "dev":
		return cmdDev(ctx, args[1:], strings.NewReader(""), stdout, stderr)
	case "install", "push", "list", "info", "uninstall", "gc":
		return cmdCatalog(ctx, args[0], args[1:], stdout, stderr)
	case "keygen":
		return cmdKeygen(args[1:], stdout, stderr)
	case "sign":
		return cmdSign(args[1:], stdout, stderr)
	case "verify":
		return cmdVerify(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "airssys-wasm: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// newEngine opens an engine with the compile cache in the user cache
// directory (so a large component compiles once), unless disabled.
func newEngine(cacheDir string, fuel bool) (*engine.Engine, error) {
	if cacheDir == "" {
		if d, err := os.UserCacheDir(); err == nil {
			cacheDir = filepath.Join(d, "airssys-wasm", "compiled")
		}
	}
	if cacheDir == "off" {
		cacheDir = ""
	}
	return engine.New(engine.Config{ConsumeFuel: fuel, CacheDir: cacheDir})
}

func cmdCall(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("call", flag.ContinueOnError)
	fs.SetOutput(stderr)
	flags := addInstanceFlags(fs)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() != 2 {
		fmt.Fprintf(stderr, "airssys-wasm call: want FILE and 'EXPORT(ARGS)', got %d argument(s)\n\n%s",
			fs.NArg(), usage)
		return exitUsage
	}
	file, expr := fs.Arg(0), fs.Arg(1)
	name, rawArgs, err := wave.ParseCall(expr)
	if err != nil {
		return fail(stderr, exitUsage, "%v", err)
	}
	wasio := engine.WASI{Args: []string{filepath.Base(file)}, Stdout: stdout, Stderr: stderr}
	p, code := flags.prepare(file, wasio, stderr)
	if p == nil {
		return code
	}
	defer p.close()
	cfg, eng, wasm := p.cfg, p.eng, p.wasm
	comp, err := eng.Compile(ctx, wasm)
	if err != nil {
		return fail(stderr, exitUsage, "%s: %v", file, err)
	}
	defer comp.Close()
	ctx = p.context(ctx)

	var callArgs []any
	var result *wit.Type
	var coreResults []*wit.Type
	if comp.Kind() == engine.KindComponent {
		ft, err := comp.FuncType(name)
		if err != nil {
			return fail(stderr, exitUsage, "%v", err)
		}
		if callArgs, err = wave.ParseArgs(rawArgs, ft); err != nil {
			return fail(stderr, exitUsage, "%s: %v", name, err)
		}
		result = ft.Result
	} else {
		ct, err := comp.CoreFuncType(name)
		if err != nil {
			return fail(stderr, exitUsage, "%v", err)
		}
		ft := &wit.FuncType{}
		for i, p := range ct.Params {
			ft.Params = append(ft.Params, wit.Param{Name: "arg" + strconv.Itoa(i), Type: coreWit(p)})
		}
		if callArgs, err = wave.ParseArgs(rawArgs, ft); err != nil {
			return fail(stderr, exitUsage, "%s: %v", name, err)
		}
		for _, r := range ct.Results {
			coreResults = append(coreResults, coreWit(r))
		}
	}

	inst, err := comp.Instantiate(ctx, cfg)
	if err != nil {
		var trap *engine.Trap
		if errors.As(err, &trap) {
			return failTrap(stderr, trap)
		}
		return fail(stderr, exitUsage, "%v", err)
	}
	defer inst.Close()
	out, err := inst.Call(ctx, name, callArgs...)
	if err != nil {
		var trap *engine.Trap
		if errors.As(err, &trap) {
			return failTrap(stderr, trap)
		}
		if errors.Is(err, wit.ErrType) {
			return fail(stderr, exitUsage, "%v", err)
		}
		return fail(stderr, exitTrap, "%v", err)
	}
	switch {
	case result != nil:
		fmt.Fprintln(stdout, wave.Format(out, result))
	case len(coreResults) == 1:
		fmt.Fprintln(stdout, wave.Format(out, coreResults[0]))
	case len(coreResults) > 1:
		fmt.Fprintln(stdout, wave.Format(wit.Tuple(out.([]any)), wit.TupleOf(coreResults...)))
	}
	return exitOK
}

func coreWit(t engine.CoreType) *wit.Type {
	switch t {
	case engine.I32:
		return wit.S32
	case engine.I64:
		return wit.S64
	case engine.F32:
		return wit.F32
	case engine.F64:
		return wit.F64
	}
	return &wit.Type{Kind: wit.KindInvalid}
}

func cmdInspect(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cache := fs.String("cache", "", `compile cache directory ("off" to disable)`)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() != 1 {
		return fail(stderr, exitUsage, "inspect: want one FILE")
	}
	wasm, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return fail(stderr, exitUsage, "%v", err)
	}
	eng, err := newEngine(*cache, false)
	if err != nil {
		return fail(stderr, exitUsage, "%v", err)
	}
	defer eng.Close()
	comp, err := eng.Compile(ctx, wasm)
	if err != nil {
		return fail(stderr, exitUsage, "%s: %v", fs.Arg(0), err)
	}
	defer comp.Close()
	fmt.Fprint(stdout, comp.Describe())
	return exitOK
}

func fail(stderr io.Writer, code int, format string, args ...any) int {
	fmt.Fprintf(stderr, "airssys-wasm: "+format+"\n", args...)
	return code
}

func failTrap(stderr io.Writer, t *engine.Trap) int {
	fmt.Fprintf(stderr, "airssys-wasm: guest trapped: %s\n", t.Kind)
	fmt.Fprintf(stderr, "  %v\n", t)
	if bt := t.Backtrace(); bt != "" {
		fmt.Fprintf(stderr, "guest backtrace:\n%s", bt)
	}
	return exitTrap
}

// parseDir reads HOST::GUEST[:ro].
func parseDir(s string) (engine.Dir, error) {
	host, guest, ok := strings.Cut(s, "::")
	if !ok || host == "" || guest == "" {
		return engine.Dir{}, errors.New("want HOST::GUEST or HOST::GUEST:ro")
	}
	d := engine.Dir{HostPath: host, GuestPath: guest}
	if g, found := strings.CutSuffix(guest, ":ro"); found {
		d.GuestPath, d.ReadOnly = g, true
	} else if g, found := strings.CutSuffix(guest, ":rw"); found {
		d.GuestPath = g
	}
	if d.GuestPath == "" {
		return engine.Dir{}, errors.New("empty guest path")
	}
	if _, err := os.Stat(host); err != nil {
		return engine.Dir{}, err
	}
	return d, nil
}

// parseBytes reads a byte count with an optional K, M or G suffix (powers of 1024).
func parseBytes(s string) (int64, error) {
	mult := int64(1)
	u := strings.ToUpper(strings.TrimSuffix(strings.TrimSuffix(strings.ToUpper(s), "IB"), "B"))
	switch {
	case strings.HasSuffix(u, "K"):
		mult, u = 1<<10, u[:len(u)-1]
	case strings.HasSuffix(u, "M"):
		mult, u = 1<<20, u[:len(u)-1]
	case strings.HasSuffix(u, "G"):
		mult, u = 1<<30, u[:len(u)-1]
	}
	n, err := strconv.ParseInt(u, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a byte count", s)
	}
	return n * mult, nil
}
