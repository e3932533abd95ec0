// Command airssys-wasm runs and inspects WebAssembly components and modules,
// runs the host as a service, and drives a running host.
//
//	airssys-wasm call [flags] FILE 'EXPORT(ARGS)'
//	airssys-wasm run [flags] FILE [ARGS...]
//	airssys-wasm inspect FILE
//	airssys-wasm dev FILE.wasm
//	airssys-wasm build [DIR] -o FILE.wasm
//	airssys-wasm kv ls|get|put|rm|export|import --data DIR [--publisher KEY] COMPONENT ...
//	airssys-wasm install|push|list|info|uninstall|gc [--data DIR] ...
//	airssys-wasm keygen|sign|verify ...
//	airssys-wasm serve [--config host.toml]
//	airssys-wasm deploy APP.toml | undeploy APP | apps [NAME] | ps | status | hosts
//	airssys-wasm logs [-f] [--tail N] [ACTOR] | dead-letters [--limit N]
//	airssys-wasm update ACTOR NAME@VERSION | rollback|stop|restart|health ACTOR
//	airssys-wasm components | component install|info|uninstall|export ...
//	airssys-wasm completion bash|zsh|fish
//
// The commands from deploy on talk to a running host (serve) through its
// admin API: --host unix:PATH or https://HOST:PORT, by default
// $AIRSSYS_HOST, else the unix socket in the default data directory
// (hostcmd.go). Values are written in WAVE (see package wave). Exit status:
// 0 success, 1 the guest trapped or the host refused, 2 bad usage or bad
// input.
//
// The verbs are cobra commands built afresh for each run (newRootCmd); the
// older ones parse their own flags (package flag) and keep their own exit
// codes.
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

	"github.com/spf13/cobra"

	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/host/admin"
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
	code := newCLIEnv(os.Stdin, os.Stdout, os.Stderr).execute(ctx, os.Args[1:])
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
  airssys-wasm build [DIR] [-o FILE.wasm]
                    an actor component from a Go package using the guest SDK
                    (needs Go and Node.js; "airssys-wasm build --help")
  airssys-wasm kv ls|get|put|rm|export|import --data DIR [--publisher KEY] [COMPONENT ...]
                    a data directory's key-value storage ("airssys-wasm kv help")
  airssys-wasm install --policy policy.toml [--data DIR] FILE|REFERENCE
  airssys-wasm push [--data DIR] NAME@VERSION REFERENCE
  airssys-wasm list|info|uninstall|gc [--data DIR] ...
                    the local component store, DIR/catalog ("airssys-wasm install --help")
  airssys-wasm keygen NAME                 writes NAME.key (private) and NAME.pub
  airssys-wasm sign --key NAME.key --manifest Component.toml FILE     writes FILE.sig
  airssys-wasm verify --manifest Component.toml [--policy policy.toml] FILE

The host as a service, and the commands against a running one:
  airssys-wasm serve [--config host.toml]   ("airssys-wasm serve --help")
  airssys-wasm deploy APP.toml              reconcile the host to an app file
  airssys-wasm undeploy APP | apps [NAME] | ps | status | hosts
  airssys-wasm logs [-f] [--tail N] [ACTOR] | dead-letters [--limit N]
  airssys-wasm update ACTOR NAME@VERSION | rollback|stop|restart|health ACTOR
  airssys-wasm components | component install|info|uninstall|export ...
                    each takes --host unix:PATH|https://HOST:PORT (default
                    $AIRSSYS_HOST, else the socket in the data directory),
                    --token-file FILE, --ca FILE and -o text|json
  airssys-wasm dashboard [--listen ADDR]    the host's web page, for a browser on this machine
  airssys-wasm completion bash|zsh|fish     shell completions
  airssys-wasm help COMMAND                 a command's usage

Arguments and results are WAVE values: 42, "text", 'c', [1, 2], (1, "a"),
{name: "x", age: 3}, case(payload), red, some(1), none, ok(1), err("e"),
{read, write}. Name a function inside an interface as inspect prints it,
for example 'my:pkg/api@1.0.0#greet("you")'.

--data DIR gives the component wasi:keyvalue storage in DIR/keyvalue.db:
the data of the manifest's name and signer (what the policy grants), or
without --manifest of --name NAME in the dev space (all its buckets).
`

// run is the whole command, testable without a process: no stdin, the
// environment of the process, the host reached through admin.Dial.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return newCLIEnv(nil, stdout, stderr).execute(ctx, args)
}

// cliEnv is what one run of the command line works with: its streams, its
// environment and how it reaches a running host. Tests replace getenv and
// dial.
type cliEnv struct {
	stdin          *os.File // nil: none (run's guest, kv and dev read nothing)
	stdout, stderr io.Writer
	getenv         func(string) string
	// dial reaches the host at a checked target (dialHost calls it).
	dial func(target string, o admin.ClientOptions) (admin.Backend, error)
}

// newCLIEnv is the environment of the process, the host reached through
// admin.Dial.
func newCLIEnv(stdin *os.File, stdout, stderr io.Writer) *cliEnv {
	return &cliEnv{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv, dial: dialAdmin}
}

// exitStatus is an error that carries an exit status whose cause was
// already reported (the older verbs print their own errors).
type exitStatus int

// Error says which status.
func (s exitStatus) Error() string { return "exit status " + strconv.Itoa(int(s)) }

// usageError is bad usage or bad input found by the command line itself
// (flags, arguments, local files): exit status 2.
type usageError struct{ err error }

// Error is the message of the error inside.
func (u usageError) Error() string { return u.err.Error() }

// Unwrap is the error inside.
func (u usageError) Unwrap() error { return u.err }

// usagef is a usageError with a message.
func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// execute runs the command line args and returns its exit status.
func (e *cliEnv) execute(ctx context.Context, args []string) int {
	root := e.newRootCmd()
	if args == nil {
		args = []string{} // cobra reads os.Args when given nil
	}
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	return e.report(cmd, err)
}

// newRootCmd builds the command tree: the older verbs, which parse their
// own arguments, serve, the commands against a running host, and cobra's
// help and completion.
func (e *cliEnv) newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "airssys-wasm",
		Short: "run WebAssembly components, and a host of actors as a service",
		// The root alone is usage; an unknown verb lands here too (cobra
		// would say so in its own words, without the usage).
		Args:                       cobra.ArbitraryArgs,
		SuggestionsMinimumDistance: 2,
		SilenceErrors:              true,
		SilenceUsage:               true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				fmt.Fprint(e.stderr, usage)
				return exitStatus(exitUsage)
			}
			fmt.Fprintf(e.stderr, "airssys-wasm: unknown command %q\n", args[0])
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				fmt.Fprintf(e.stderr, "did you mean: %s?\n", strings.Join(s, ", "))
			}
			fmt.Fprintf(e.stderr, "\n%s", usage)
			return exitStatus(exitUsage)
		},
	}
	root.SetIn(e.stdinReader())
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%s: %w", commandName(cmd), err)}
	})
	defaultHelp := root.HelpFunc()
	root.SetHelpFunc(func(cmd *cobra.Command, args []string) {
		if cmd == root {
			fmt.Fprint(e.stdout, usage)
			return
		}
		defaultHelp(cmd, args)
	})
	root.AddCommand(e.legacyCommands()...)
	root.AddCommand(newServeCmd())
	root.AddCommand(e.hostCommands()...)
	addHostsKey(root)
	root.AddCommand(e.dashboardCmd())
	root.AddCommand(e.buildCmd())
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	if c, _, err := root.Find([]string{"completion"}); err == nil && c != root {
		// Runnable, so that cobra checks its arguments (an unknown shell
		// is bad usage) rather than printing its help.
		c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	}
	argsAreUsage(root)
	return root
}

// argsAreUsage makes the argument checks of c and the commands below it
// (cobra's own too: help, completion) report usage errors (exit status 2).
func argsAreUsage(c *cobra.Command) {
	if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				var u usageError
				if errors.As(err, &u) {
					return err
				}
				return usageError{fmt.Errorf("%s: %w", commandName(cmd), err)}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		argsAreUsage(sub)
	}
}

// stdinReader is stdin as an io.Reader, nil (not a nil *os.File) when none.
func (e *cliEnv) stdinReader() io.Reader {
	if e.stdin == nil {
		return nil
	}
	return e.stdin
}

// legacyCommands are the verbs that parse their own flags (package flag)
// and print their own errors: cobra passes them every argument as it is.
func (e *cliEnv) legacyCommands() []*cobra.Command {
	verb := func(use, short string, fn func(ctx context.Context, args []string) int) *cobra.Command {
		return &cobra.Command{
			Use:                use,
			Short:              short,
			DisableFlagParsing: true,
			RunE: func(cmd *cobra.Command, args []string) error {
				if code := fn(cmd.Context(), args); code != exitOK {
					return exitStatus(code)
				}
				return nil
			},
		}
	}
	dev := func(ctx context.Context, args []string) int {
		in := e.stdinReader()
		if in == nil {
			in = strings.NewReader("")
		}
		return cmdDev(ctx, args, in, e.stdout, e.stderr)
	}
	cmds := []*cobra.Command{
		verb("call [flags] FILE 'EXPORT(ARGS)'", "call an export of a component or module", func(ctx context.Context, args []string) int {
			return cmdCall(ctx, args, e.stdout, e.stderr)
		}),
		verb("run [flags] FILE [ARGS...]", "run a WASI command", func(ctx context.Context, args []string) int {
			return cmdRun(ctx, args, e.stdin, e.stdout, e.stderr)
		}),
		verb("inspect FILE", "print a component's imports, exports and types", func(ctx context.Context, args []string) int {
			return cmdInspect(ctx, args, e.stdout, e.stderr)
		}),
		verb("kv ls|get|put|rm|export|import ...", "a data directory's key-value storage", func(ctx context.Context, args []string) int {
			return cmdKV(ctx, args, e.stdinReader(), e.stdout, e.stderr)
		}),
		verb("dev [--config K=V]... FILE.wasm", "run an actor, live-updated on each new build", dev),
		verb("keygen NAME", "write a signing key pair", func(_ context.Context, args []string) int {
			return cmdKeygen(args, e.stdout, e.stderr)
		}),
		verb("sign --key NAME.key --manifest Component.toml FILE", "sign a component", func(_ context.Context, args []string) int {
			return cmdSign(args, e.stdout, e.stderr)
		}),
		verb("verify --manifest Component.toml [--policy policy.toml] FILE", "verify a component's signature",
			func(_ context.Context, args []string) int { return cmdVerify(args, e.stdout, e.stderr) }),
	}
	for _, v := range []struct{ name, short string }{
		{"install", "install a component into the local store"},
		{"push", "push an installed component to a registry"},
		{"list", "list the local store"},
		{"info", "show a version in the local store"},
		{"uninstall", "remove a version from the local store"},
		{"gc", "remove old versions from the local store"},
	} {
		cmds = append(cmds, verb(v.name+" [--data DIR] ...", v.short, func(ctx context.Context, args []string) int {
			return cmdCatalog(ctx, v.name, args, e.stdout, e.stderr)
		}))
	}
	return cmds
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
