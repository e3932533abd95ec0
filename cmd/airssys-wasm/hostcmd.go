package main

// The commands against a running host (airssys-wasm serve), through its
// admin API. They are written against admin.Backend; dialHost reaches the
// host named by --host with admin.Dial, and tests give cliEnv a dial that
// returns a Backend of their own.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/airsstack/airssys-wasm-go/catalog"
	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/host/admin"
	"github.com/airsstack/airssys-wasm-go/host/config"
	"github.com/airsstack/airssys-wasm-go/internal/fileread"
	"github.com/airsstack/airssys-wasm-go/security"
)

// Flags every host command takes.
const (
	flagHost      = "host"
	flagTokenFile = "token-file"
	flagCA        = "ca"
	flagOutput    = "output"
)

// hostEnvVar names the host when --host is not given.
const hostEnvVar = "AIRSSYS_HOST"

// maxTokenFile is the largest token file read, in bytes.
const maxTokenFile = 4 << 10

// Defaults of the listing commands.
const (
	defaultDeadLetters = 20
	logTimeFormat      = "2006-01-02T15:04:05.000Z07:00"
)

// dialAdmin is cliEnv.dial outside tests: admin.Dial.
func dialAdmin(target string, o admin.ClientOptions) (admin.Backend, error) {
	c, err := admin.Dial(target, o)
	if err != nil {
		return nil, err // not a nil *Client in a non-nil Backend
	}
	return c, nil
}

// defaultTarget is --host without the flag: $AIRSSYS_HOST, else the unix
// socket of the default host.toml ("unix:" alone when there is no default
// data directory; checkTarget refuses it).
func (e *cliEnv) defaultTarget() string {
	if t := e.getenv(hostEnvVar); t != "" {
		return t
	}
	return "unix:" + config.Defaults().Admin.Socket
}

// addHostFlags adds the connection and output flags to c and its
// subcommands.
func (e *cliEnv) addHostFlags(c *cobra.Command) {
	f := c.PersistentFlags()
	f.String(flagHost, e.defaultTarget(), "the host's admin API: unix:PATH or https://HOST:PORT ($"+hostEnvVar+
		" overrides the default)")
	f.String(flagTokenFile, "", "a file holding the bearer token of the host's TCP admin listener")
	f.String(flagCA, "", "a PEM file of the CA that signed the host's TLS certificate (default: the system's)")
	f.StringP(flagOutput, "o", "text", "output format: text or json")
	_ = c.RegisterFlagCompletionFunc(flagOutput, cobra.FixedCompletions([]string{"text", "json"},
		cobra.ShellCompDirectiveNoFileComp))
	_ = c.MarkPersistentFlagFilename(flagTokenFile)
	_ = c.MarkPersistentFlagFilename(flagCA, "pem", "crt")
}

// checkTarget checks a --host value: unix:PATH, https://HOST[:PORT], or
// http://HOST[:PORT] to a loopback address only (the host serves plain
// HTTP nowhere else).
func checkTarget(t string) error {
	const want = "want unix:PATH or https://HOST:PORT"
	if path, ok := strings.CutPrefix(t, "unix:"); ok {
		switch {
		case path == "":
			return errors.New("no socket path after unix: (and no default data directory: give --host)")
		case strings.ContainsRune(path, 0):
			return errors.New("a NUL byte in the socket path")
		}
		return nil
	}
	if strings.HasPrefix(t, "/") || strings.HasPrefix(t, ".") {
		return fmt.Errorf("%s (a socket is unix:%s)", want, t)
	}
	u, err := url.Parse(t)
	if err != nil || u.Opaque != "" {
		return errors.New(want)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !admin.IsLoopbackHost(u.Hostname()) {
			return errors.New("plain http:// only to a loopback address: elsewhere the host's admin API is https://")
		}
	default:
		return errors.New(want)
	}
	switch {
	case u.Hostname() == "":
		return fmt.Errorf("%s: no host", want)
	case u.User != nil:
		return errors.New("no USER@ in --host: the token comes from --token-file")
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "", u.ForceQuery:
		return fmt.Errorf("%s, with no path or query", want)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("port %q is not a port number", p)
		}
	}
	return nil
}

// dialHost reaches the host the flags of cmd name (checked first; bad
// flags are usage errors).
func (e *cliEnv) dialHost(cmd *cobra.Command) (admin.Backend, error) {
	f := cmd.Flags()
	target, _ := f.GetString(flagHost)
	if err := checkTarget(target); err != nil {
		from := "--host"
		if !f.Changed(flagHost) && e.getenv(hostEnvVar) != "" {
			from = "$" + hostEnvVar
		}
		return nil, usageError{fmt.Errorf("%s %q: %w", from, target, err)}
	}
	var o admin.ClientOptions
	if file, _ := f.GetString(flagTokenFile); file != "" {
		data, err := fileread.Read(file, maxTokenFile)
		if err != nil {
			return nil, usageError{fmt.Errorf("--token-file: %w", err)}
		}
		if o.Token = bytes.TrimSpace(data); len(o.Token) == 0 {
			return nil, usagef("--token-file %s is empty", file)
		}
	}
	o.CAFile, _ = f.GetString(flagCA)
	b, err := e.dial(target, o)
	if err != nil { // the target or the CA file: bad input
		return nil, usageError{err}
	}
	return b, nil
}

// closeBackend closes a Backend that holds something (a Client's idle
// connections).
func closeBackend(b admin.Backend) {
	if c, ok := b.(io.Closer); ok {
		c.Close()
	}
}

// hostRun is one command against a host: its context, the host, and how
// it prints.
type hostRun struct {
	ctx            context.Context
	host           admin.Backend
	json           bool
	stdout, stderr io.Writer
	mu             sync.Mutex // serializes progress lines
}

// onHost makes c a command against the host: its RunE checks -o, dials
// the host and calls fn.
func (e *cliEnv) onHost(c *cobra.Command, fn func(r *hostRun, args []string) error) *cobra.Command {
	c.RunE = func(cmd *cobra.Command, args []string) error {
		out, _ := cmd.Flags().GetString(flagOutput)
		if out != "text" && out != "json" {
			return usagef("-o %q: want text or json", out)
		}
		b, err := e.dialHost(cmd)
		if err != nil {
			return err
		}
		defer closeBackend(b)
		return fn(&hostRun{ctx: cmd.Context(), host: b, json: out == "json", stdout: e.stdout, stderr: e.stderr}, args)
	}
	return c
}

// nArgs is a cobra.PositionalArgs that wants min to max arguments, named
// by want in its usage error.
func nArgs(minN, maxN int, want string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < minN || len(args) > maxN {
			return usagef("%s: want %s, got %d argument(s)", commandName(cmd), want, len(args))
		}
		return nil
	}
}

// commandName is cmd's path below the root ("component install").
func commandName(cmd *cobra.Command) string {
	p := cmd.CommandPath()
	if i := strings.IndexByte(p, ' '); i >= 0 {
		return p[i+1:]
	}
	return p
}

// hostCommands are the commands against a running host.
func (e *cliEnv) hostCommands() []*cobra.Command {
	actors := e.lister(func(ctx context.Context, b admin.Backend) ([]string, error) {
		as, err := b.Actors(ctx)
		var ids []string
		for _, a := range as {
			ids = append(ids, a.ID)
		}
		return ids, err
	})
	apps := e.lister(func(ctx context.Context, b admin.Backend) ([]string, error) {
		as, err := b.Apps(ctx)
		var names []string
		for _, a := range as {
			names = append(names, a.Name)
		}
		return names, err
	})
	versions := e.lister(func(ctx context.Context, b admin.Backend) ([]string, error) {
		cs, err := b.Components(ctx)
		var nvs []string
		for _, c := range cs {
			nvs = append(nvs, c.Name+"@"+c.Version)
		}
		return nvs, err
	})
	names := e.lister(func(ctx context.Context, b admin.Backend) ([]string, error) {
		cs, err := b.Components(ctx)
		var ns []string
		for _, c := range cs {
			if !slices.Contains(ns, c.Name) {
				ns = append(ns, c.Name)
			}
		}
		return ns, err
	})

	deploy := e.onHost(&cobra.Command{
		Use:   "deploy APP.toml",
		Short: "deploy an app file: start, stop and update actors until the host runs it",
		Long: "deploy sends an app file to the host, which reconciles to it: it starts the actors that are\n" +
			"missing, stops those the file no longer names, updates those whose component changed\n" +
			"(live) and reports per actor what it did. Deploying the same file again changes nothing.\n" +
			"Progress goes to stderr as each actor is done, the report to stdout.",
		Args: nArgs(1, 1, "one APP.toml"),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return []cobra.Completion{"toml"}, cobra.ShellCompDirectiveFilterFileExt
		},
	}, func(r *hostRun, args []string) error { return r.deploy(args[0]) })

	undeploy := e.onHost(&cobra.Command{
		Use:               "undeploy APP",
		Short:             "stop an app's actors and forget it",
		Args:              nArgs(1, 1, "one APP"),
		ValidArgsFunction: completeArgs(apps),
	}, func(r *hostRun, args []string) error { return r.undeploy(args[0]) })

	var source bool
	appsCmd := e.onHost(&cobra.Command{
		Use:               "apps [NAME]",
		Short:             "list the deployed apps, or show one with its actors and routes",
		Args:              nArgs(0, 1, "at most one NAME"),
		ValidArgsFunction: completeArgs(apps),
	}, func(r *hostRun, args []string) error {
		if len(args) == 0 {
			if source {
				return usagef("apps: --source needs an app NAME")
			}
			return r.listApps()
		}
		return r.showApp(args[0], source)
	})
	appsCmd.Flags().BoolVar(&source, "source", false, "with NAME: print the app file it was deployed from")

	ps := e.onHost(&cobra.Command{
		Use:   "ps",
		Short: "list the actors: state, version, messages handled, errors, restarts, mailbox depth",
		Args:  nArgs(0, 0, "no arguments"),
	}, func(r *hostRun, _ []string) error { return r.ps() })

	var follow bool
	var tail int
	logs := e.onHost(&cobra.Command{
		Use:   "logs [-f] [--tail N] [ACTOR]",
		Short: "print the recent log lines of an actor (or of every actor and the host), and follow them",
		Long: "logs prints the host's recent log lines, oldest first, as TIME LEVEL ACTOR MESSAGE K=V...\n" +
			"(ACTOR - is the host itself). With -f it then prints every new line until interrupted.\n" +
			"Control characters and terminal escape sequences that components write are removed.",
		Args:              nArgs(0, 1, "at most one ACTOR"),
		ValidArgsFunction: completeArgs(actors),
	}, func(r *hostRun, args []string) error {
		if tail < 0 {
			return usagef("logs: --tail %d: want 0 or more", tail)
		}
		q := admin.LogQuery{Tail: tail, Follow: follow}
		if len(args) == 1 {
			q.Actor = args[0]
		}
		return r.logs(q)
	})
	logs.Flags().BoolVarP(&follow, "follow", "f", false, "print new lines as they come, until interrupted")
	logs.Flags().IntVar(&tail, "tail", admin.DefaultTail, "how many recent lines to print first (0: the host's default)")

	update := e.onHost(&cobra.Command{
		Use:               "update ACTOR NAME@VERSION",
		Short:             "move an actor to another installed version, live",
		Args:              nArgs(2, 2, "ACTOR and NAME@VERSION"),
		ValidArgsFunction: completeArgs(actors, versions),
	}, func(r *hostRun, args []string) error {
		if _, _, err := parseNameVersion(args[1], true); err != nil {
			return usageError{fmt.Errorf("update: %w", err)}
		}
		return r.actorResult("update", args[0], func() (admin.ActorResult, error) {
			return r.host.Update(r.ctx, args[0], args[1])
		})
	})

	rollback := e.onHost(&cobra.Command{
		Use:               "rollback ACTOR",
		Short:             "return an actor to the version it ran before its last update",
		Args:              nArgs(1, 1, "one ACTOR"),
		ValidArgsFunction: completeArgs(actors),
	}, func(r *hostRun, args []string) error {
		return r.actorResult("rollback", args[0], func() (admin.ActorResult, error) {
			return r.host.Rollback(r.ctx, args[0])
		})
	})

	stop := e.onHost(&cobra.Command{
		Use:               "stop ACTOR",
		Short:             "stop an actor (its app still asks for it: deploy starts it again)",
		Args:              nArgs(1, 1, "one ACTOR"),
		ValidArgsFunction: completeArgs(actors),
	}, func(r *hostRun, args []string) error {
		return r.actorResult("stop", args[0], func() (admin.ActorResult, error) {
			return admin.ActorResult{ID: args[0], Action: admin.ActionStopped}, r.host.Stop(r.ctx, args[0])
		})
	})

	restart := e.onHost(&cobra.Command{
		Use:               "restart ACTOR",
		Short:             "restart an actor",
		Args:              nArgs(1, 1, "one ACTOR"),
		ValidArgsFunction: completeArgs(actors),
	}, func(r *hostRun, args []string) error {
		return r.actorResult("restart", args[0], func() (admin.ActorResult, error) {
			return admin.ActorResult{ID: args[0], Action: "restarted"}, r.host.Restart(r.ctx, args[0])
		})
	})

	health := e.onHost(&cobra.Command{
		Use:               "health ACTOR",
		Short:             "ask an actor how it is",
		Args:              nArgs(1, 1, "one ACTOR"),
		ValidArgsFunction: completeArgs(actors),
	}, func(r *hostRun, args []string) error { return r.health(args[0]) })

	var limit int
	deadLetters := e.onHost(&cobra.Command{
		Use:   "dead-letters [--limit N]",
		Short: "list the most recent messages that could not be delivered or handled",
		Args:  nArgs(0, 0, "no arguments"),
	}, func(r *hostRun, _ []string) error {
		if limit < 1 {
			return usagef("dead-letters: --limit %d: want 1 or more", limit)
		}
		return r.deadLetters(limit)
	})
	deadLetters.Flags().IntVar(&limit, "limit", defaultDeadLetters, "how many to list, the most recent")

	status := e.onHost(&cobra.Command{
		Use:   "status",
		Short: "the host as a whole: version, data directory, listeners, apps, problems",
		Args:  nArgs(0, 0, "no arguments"),
	}, func(r *hostRun, _ []string) error { return r.status() })

	hosts := e.onHost(&cobra.Command{
		Use:   "hosts",
		Short: "the hosts of the host's lattice, with their actors",
		Args:  nArgs(0, 0, "no arguments"),
	}, func(r *hostRun, _ []string) error { return r.hosts() })

	components := e.onHost(&cobra.Command{
		Use:   "components",
		Short: "list the components installed in the host's store",
		Args:  nArgs(0, 0, "no arguments"),
	}, func(r *hostRun, _ []string) error { return r.components() })

	cmds := []*cobra.Command{deploy, undeploy, appsCmd, ps, logs, update, rollback, stop, restart, health,
		deadLetters, status, hosts, components}
	for _, c := range cmds {
		e.addHostFlags(c)
	}
	return append(cmds, e.componentCmd(versions, names))
}

// componentCmd is `component install|info|uninstall|export`: the host's
// component store.
func (e *cliEnv) componentCmd(versions, names lister) *cobra.Command {
	group := &cobra.Command{
		Use:   "component install|info|uninstall|export ...",
		Short: "install, show, uninstall a component in the host's store, or export its data",
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("component: want install, info, uninstall or export")
			}
			return usagef("component: unknown command %q: want install, info, uninstall or export", args[0])
		},
	}
	e.addHostFlags(group)

	var manifest, sig string
	var plain bool
	install := e.onHost(&cobra.Command{
		Use:   "install REF|FILE [--manifest Component.toml] [--sig FILE.sig] [--plain-http]",
		Short: "install a component into the host's store, from a registry or a local file",
		Long: "install admits a component under the host's policy and stores it. A FILE is read here and\n" +
			"sent with its manifest (--manifest, else Component.toml beside FILE) and signature (--sig,\n" +
			"else FILE.sig when there is one); a registry reference (HOST[:PORT]/REPOSITORY:TAG or\n" +
			"@sha256:HEX) is pulled by the host. --plain-http is for a registry on the host's machine.",
		Args: nArgs(1, 1, "one REF or FILE"),
	}, func(r *hostRun, args []string) error { return r.install(args[0], manifest, sig, plain) })
	install.Flags().StringVar(&manifest, "manifest", "", "the FILE's Component.toml (default: beside FILE)")
	install.Flags().StringVar(&sig, "sig", "", "the FILE's signature (default: FILE.sig, if present)")
	install.Flags().BoolVar(&plain, "plain-http", false, "pull REF over plain HTTP (a registry on the host's loopback)")

	info := e.onHost(&cobra.Command{
		Use:               "info NAME@VERSION",
		Short:             "show an installed version and the actors that use it",
		Args:              nArgs(1, 1, "one NAME@VERSION"),
		ValidArgsFunction: completeArgs(versions),
	}, func(r *hostRun, args []string) error { return r.componentInfo(args[0]) })

	uninstall := e.onHost(&cobra.Command{
		Use:               "uninstall NAME@VERSION",
		Short:             "remove an installed version that no actor uses",
		Args:              nArgs(1, 1, "one NAME@VERSION"),
		ValidArgsFunction: completeArgs(versions),
	}, func(r *hostRun, args []string) error { return r.uninstall(args[0]) })

	export := e.onHost(&cobra.Command{
		Use:               "export NAME",
		Short:             "write a component's key-value data to stdout as JSON lines (kv import reads them)",
		Args:              nArgs(1, 1, "one component NAME"),
		ValidArgsFunction: completeArgs(names),
	}, func(r *hostRun, args []string) error { return r.export(args[0]) })

	group.AddCommand(install, info, uninstall, export)
	return group
}

// ---- completion of arguments --------------------------------------------------

// lister lists the names an argument may take, asking the host the flags
// of cmd name.
type lister func(cmd *cobra.Command) ([]string, error)

// lister makes a lister of a Backend query.
func (e *cliEnv) lister(query func(ctx context.Context, b admin.Backend) ([]string, error)) lister {
	return func(cmd *cobra.Command) ([]string, error) {
		b, err := e.dialHost(cmd)
		if err != nil {
			return nil, err
		}
		defer closeBackend(b)
		ctx, cancel := context.WithTimeout(cmd.Context(), 3*time.Second)
		defer cancel()
		return query(ctx, b)
	}
}

// completeArgs completes the i-th argument with the names of listers[i].
func completeArgs(listers ...lister) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) >= len(listers) {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		names, err := listers[len(args)](cmd)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		var out []cobra.Completion
		for _, n := range names {
			if strings.HasPrefix(n, toComplete) {
				out = append(out, printable(n))
			}
		}
		sort.Strings(out)
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// ---- the commands -----------------------------------------------------------

// deploy sends the app file at path and prints the report.
func (r *hostRun) deploy(path string) error {
	src, err := fileread.Read(path, config.MaxFile)
	if err != nil {
		return usageError{fmt.Errorf("deploy: %w", err)}
	}
	rep, err := r.host.Deploy(r.ctx, path, src, r.progress)
	if err != nil {
		if len(rep.Actors) > 0 && !r.json {
			r.writeResults(rep.Actors)
		}
		return fmt.Errorf("deploy %s: %w", path, err)
	}
	if r.json {
		if err := r.writeJSON(rep); err != nil {
			return err
		}
	} else {
		r.writeReport(rep, "deployed")
	}
	return failedActors("deploy "+path, rep.Actors)
}

// progress prints one actor's result as a deploy goes (not the unchanged).
func (r *hostRun) progress(a admin.ActorResult) {
	if a.Action == admin.ActionUnchanged {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.stderr, "  %s\n", describeResult(a))
}

// undeploy deletes an app.
func (r *hostRun) undeploy(name string) error {
	rep, err := r.host.DeleteApp(r.ctx, name)
	if err != nil {
		return fmt.Errorf("undeploy %s: %w", name, err)
	}
	if r.json {
		if err := r.writeJSON(rep); err != nil {
			return err
		}
	} else {
		r.writeReport(rep, "undeployed")
	}
	return failedActors("undeploy "+name, rep.Actors)
}

// failedActors is an error when some actor failed (exit status 1), after
// the report that lists them.
func failedActors(what string, rs []admin.ActorResult) error {
	n := 0
	for _, a := range rs {
		if a.Action == admin.ActionFailed {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	return fmt.Errorf("%s: %d actor(s) failed (see the report)", what, n)
}

// describeResult is one line of what happened to an actor.
func describeResult(a admin.ActorResult) string {
	id, from, to := printable(a.ID), printable(a.From), printable(a.To)
	var s string
	switch {
	case from != "" && to != "" && from != to:
		s = fmt.Sprintf("%s %s (%s -> %s)", printable(a.Action), id, from, to)
	case to != "":
		s = fmt.Sprintf("%s %s (%s)", printable(a.Action), id, to)
	case from != "":
		s = fmt.Sprintf("%s %s (%s)", printable(a.Action), id, from)
	default:
		s = printable(a.Action) + " " + id
	}
	if a.Error != "" {
		s += ": " + printable(a.Error)
	}
	return s
}

// writeReport prints a deploy's or delete's report: a table of the actors
// that changed and a summary line.
func (r *hostRun) writeReport(rep admin.Report, did string) {
	app := printable(rep.App)
	if !rep.Changed {
		fmt.Fprintf(r.stdout, "%s: nothing changed (the host already runs %s)\n", app, shortDigest(printable(rep.Digest)))
		return
	}
	var changed []admin.ActorResult
	counts := map[string]int{}
	for _, a := range rep.Actors {
		counts[a.Action]++
		if a.Action != admin.ActionUnchanged {
			changed = append(changed, a)
		}
	}
	r.writeResults(changed)
	var parts []string
	for _, act := range []string{admin.ActionStarted, admin.ActionUpdated, admin.ActionReplaced, admin.ActionStopped,
		admin.ActionRolledBack, admin.ActionFailed, admin.ActionUnchanged} {
		if counts[act] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[act], act))
		}
		delete(counts, act)
	}
	for _, act := range slices.Sorted(maps.Keys(counts)) { // actions newer than this command
		parts = append(parts, fmt.Sprintf("%d %s", counts[act], printable(act)))
	}
	summary := fmt.Sprintf("%s: %s", app, did)
	if len(parts) > 0 {
		summary += ", " + strings.Join(parts, ", ")
	}
	if rep.Digest != "" {
		summary += " (" + shortDigest(printable(rep.Digest)) + ")"
	}
	fmt.Fprintln(r.stdout, summary)
}

// writeResults prints actor results as a table.
func (r *hostRun) writeResults(rs []admin.ActorResult) {
	if len(rs) == 0 {
		return
	}
	tw := tabwriter.NewWriter(r.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACTOR\tACTION\tFROM\tTO\tERROR")
	for _, a := range rs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", printable(a.ID), printable(a.Action), orDash(a.From), orDash(a.To),
			printable(a.Error))
	}
	tw.Flush()
}

// listApps prints the deployed apps.
func (r *hostRun) listApps() error {
	apps, err := r.host.Apps(r.ctx)
	if err != nil {
		return fmt.Errorf("apps: %w", err)
	}
	slices.SortFunc(apps, func(a, b admin.App) int { return strings.Compare(a.Name, b.Name) })
	if r.json {
		return r.writeJSON(nonNil(apps))
	}
	if len(apps) == 0 {
		fmt.Fprintln(r.stdout, "no apps deployed")
		return nil
	}
	tw := tabwriter.NewWriter(r.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tACTORS\tROUTES\tDIGEST\tDEPLOYED")
	for _, a := range apps {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", printable(a.Name), runningOf(a.Actors), len(a.Routes),
			shortDigest(printable(a.Digest)), timeText(a.Deployed))
	}
	tw.Flush()
	return nil
}

// runningOf is "running/all" of actors.
func runningOf(as []admin.Actor) string {
	n := 0
	for _, a := range as {
		if a.State == "running" {
			n++
		}
	}
	return fmt.Sprintf("%d/%d running", n, len(as))
}

// showApp prints one app, its actors and routes (or its file).
func (r *hostRun) showApp(name string, source bool) error {
	app, err := r.host.App(r.ctx, name)
	if err != nil {
		return fmt.Errorf("apps %s: %w", name, err)
	}
	if source {
		if r.json {
			return usagef("apps: --source prints the app file itself, not JSON")
		}
		_, err := io.WriteString(r.stdout, printableText(app.Source))
		return err
	}
	if r.json {
		app.Actors, app.Routes = nonNil(app.Actors), nonNil(app.Routes)
		return r.writeJSON(app)
	}
	fmt.Fprintf(r.stdout, "app %s\n", printable(app.Name))
	printField(r.stdout, "digest", printable(app.Digest))
	printField(r.stdout, "deployed", timeText(app.Deployed))
	printField(r.stdout, "actors", runningOf(app.Actors))
	if len(app.Actors) > 0 {
		fmt.Fprintln(r.stdout)
		writeActors(r.stdout, app.Actors)
	}
	if len(app.Routes) > 0 {
		fmt.Fprintln(r.stdout)
		tw := tabwriter.NewWriter(r.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "METHOD\tPATH\tACTOR")
		for _, rt := range app.Routes {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", printable(rt.Method), printable(rt.Path), printable(rt.Actor))
		}
		tw.Flush()
	}
	return nil
}

// ps prints the actors.
func (r *hostRun) ps() error {
	actors, err := r.host.Actors(r.ctx)
	if err != nil {
		return fmt.Errorf("ps: %w", err)
	}
	slices.SortFunc(actors, func(a, b admin.Actor) int { return strings.Compare(a.ID, b.ID) })
	if r.json {
		return r.writeJSON(nonNil(actors))
	}
	if len(actors) == 0 {
		fmt.Fprintln(r.stdout, "no actors")
		return nil
	}
	writeActors(r.stdout, actors)
	return nil
}

// writeActors prints actors as a table, sorted by id.
func writeActors(w io.Writer, actors []admin.Actor) {
	actors = slices.Clone(actors)
	slices.SortFunc(actors, func(a, b admin.Actor) int { return strings.Compare(a.ID, b.ID) })
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	hosts := slices.ContainsFunc(actors, func(a admin.Actor) bool { return a.Host != "" })
	if hosts { // a lattice: which host runs each
		fmt.Fprintln(tw, "ID\tHOST\tAPP\tSTATE\tVERSION\tHANDLED\tERRORS\tRESTARTS\tMAILBOX")
	} else {
		fmt.Fprintln(tw, "ID\tAPP\tSTATE\tVERSION\tHANDLED\tERRORS\tRESTARTS\tMAILBOX")
	}
	for _, a := range actors {
		if hosts {
			fmt.Fprintf(tw, "%s\t%s\t", printable(a.ID), orDash(printable(a.Host)))
		} else {
			fmt.Fprintf(tw, "%s\t", printable(a.ID))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\n", orDash(a.App), orDash(a.State),
			orDash(printable(a.Component)), a.Handled, a.Errors, a.Restarts, a.MailboxDepth)
	}
	tw.Flush()
}

// logs prints log lines; a follow ends without error when interrupted.
func (r *hostRun) logs(q admin.LogQuery) error {
	err := r.host.Logs(r.ctx, q, func(l admin.LogLine) error {
		if r.json {
			return r.writeJSONLine(l)
		}
		_, err := io.WriteString(r.stdout, formatLogLine(l))
		return err
	})
	if r.ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled) || errors.Is(err, r.ctx.Err())) {
		return nil // interrupted (Ctrl-C): the end of a follow
	}
	if err != nil {
		if q.Actor != "" {
			return fmt.Errorf("logs %s: %w", q.Actor, err)
		}
		return fmt.Errorf("logs: %w", err)
	}
	return nil
}

// formatLogLine is "TIME LEVEL ACTOR MESSAGE K=V..." and a newline, every
// part printable.
func formatLogLine(l admin.LogLine) string {
	var b strings.Builder
	b.WriteString(l.Time.Format(logTimeFormat))
	if l.Dropped > 0 {
		fmt.Fprintf(&b, " WARN - %d line(s) dropped: this reader fell behind\n", l.Dropped)
		return b.String()
	}
	b.WriteByte(' ')
	b.WriteString(strings.ToUpper(orDash(l.Level)))
	b.WriteByte(' ')
	b.WriteString(orDash(l.Actor))
	b.WriteByte(' ')
	b.WriteString(printable(l.Message))
	keys := make([]string, 0, len(l.Attrs))
	for k := range l.Attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		key := strings.Map(func(r rune) rune {
			if r == ' ' || r == '=' {
				return '_'
			}
			return r
		}, printable(k))
		b.WriteByte(' ')
		b.WriteString(key)
		b.WriteByte('=')
		b.WriteString(quoteValue(printable(l.Attrs[k])))
	}
	b.WriteByte('\n')
	return b.String()
}

// quoteValue quotes a log attribute's value when it would not read as one
// word.
func quoteValue(v string) string {
	if v == "" || strings.ContainsAny(v, " =\"\\") {
		return strconv.Quote(v)
	}
	return v
}

// actorResult runs one operation on an actor and prints what it did.
func (r *hostRun) actorResult(verb, id string, op func() (admin.ActorResult, error)) error {
	res, err := op()
	if err != nil {
		return fmt.Errorf("%s %s: %w", verb, id, err)
	}
	if r.json {
		if err := r.writeJSON(res); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(r.stdout, describeResult(res))
	}
	if res.Action == admin.ActionFailed {
		return fmt.Errorf("%s %s: failed", verb, id)
	}
	return nil
}

// health prints what an actor says of its health.
func (r *hostRun) health(id string) error {
	h, err := r.host.Health(r.ctx, id)
	if err != nil {
		return fmt.Errorf("health %s: %w", id, err)
	}
	if r.json {
		return r.writeJSON(struct {
			ID     string `json:"id"`
			Health string `json:"health"`
		}{id, h})
	}
	fmt.Fprintf(r.stdout, "%s: %s\n", printable(id), printable(h))
	return nil
}

// deadLetters prints the most recent dead letters.
func (r *hostRun) deadLetters(limit int) error {
	dl, err := r.host.DeadLetters(r.ctx, limit)
	if err != nil {
		return fmt.Errorf("dead-letters: %w", err)
	}
	if r.json {
		dl.Letters = nonNil(dl.Letters)
		return r.writeJSON(dl)
	}
	if len(dl.Letters) == 0 {
		fmt.Fprintf(r.stdout, "no dead letters (%d in all)\n", dl.Total)
		return nil
	}
	tw := tabwriter.NewWriter(r.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tTO\tFROM\tREASON\tTYPE\tBYTES")
	for _, d := range dl.Letters {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", timeText(d.Time), orDash(d.To), orDash(d.From),
			orDash(d.Reason), orDash(d.ContentType), d.PayloadLen)
	}
	tw.Flush()
	fmt.Fprintf(r.stdout, "%d shown, %d in all\n", len(dl.Letters), dl.Total)
	return nil
}

// status prints the host as a whole.
// hosts lists the lattice's hosts: this one first, then by name.
func (r *hostRun) hosts() error {
	s, err := r.host.Status(r.ctx)
	if err != nil {
		return fmt.Errorf("hosts: %w", err)
	}
	if s.Lattice == nil {
		return errors.New("hosts: this host runs without a lattice")
	}
	if r.json {
		return r.writeJSON(s.Lattice)
	}
	w := tabwriter.NewWriter(r.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "lattice %s (%s)\n", printable(s.Lattice.Name), s.Lattice.Mode)
	fmt.Fprintln(w, "HOST\tACTORS\tUP\tLAST SEEN\t")
	for _, h := range s.Lattice.Hosts {
		name := printable(h.Name)
		if h.Self {
			name += " (this host)"
		}
		up := "-"
		if !h.Started.IsZero() {
			up = time.Since(h.Started).Round(time.Second).String()
		}
		seen := "now"
		if !h.Self {
			seen = time.Since(h.LastSeen).Round(time.Millisecond).String() + " ago"
		}
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\t\n", name, h.Actors, up, seen)
	}
	return w.Flush()
}

func (r *hostRun) status() error {
	s, err := r.host.Status(r.ctx)
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	if r.json {
		return r.writeJSON(s)
	}
	w := r.stdout
	fmt.Fprintln(w, "host")
	printField(w, "version", orDash(s.Version))
	printField(w, "pid", strconv.Itoa(s.PID))
	started := timeText(s.Started)
	if !s.Started.IsZero() {
		started += " (up " + time.Since(s.Started).Round(time.Second).String() + ")"
	}
	printField(w, "started", started)
	printField(w, "data", orDash(s.DataDir))
	policy := orDash(s.Policy)
	if s.DevMode {
		policy = "DEV MODE: every component is granted everything"
	}
	printField(w, "policy", policy)
	printField(w, "gateway", orText(s.Gateway, "off"))
	printField(w, "admin tcp", orText(s.AdminTCP, "off (the unix socket only)"))
	printField(w, "apps", strconv.Itoa(s.Apps))
	printField(w, "actors", strconv.Itoa(s.Actors))
	printField(w, "components", strconv.Itoa(s.Component))
	if len(s.Restored) > 0 {
		printField(w, "restored", printable(strings.Join(s.Restored, ", ")))
	}
	if !s.Reloaded.IsZero() {
		printField(w, "reloaded", timeText(s.Reloaded))
	}
	if s.Draining {
		printField(w, "draining", "yes: the host is shutting down")
	}
	if l := s.Lattice; l != nil {
		printField(w, "lattice", fmt.Sprintf("%s as %s (%s), %d host(s)", printable(l.Name), printable(l.Host), l.Mode, len(l.Hosts)))
	}
	if len(s.Problems) == 0 {
		printField(w, "problems", "none")
		return nil
	}
	fmt.Fprintf(w, "  %-10s %d\n", "problems", len(s.Problems))
	for _, p := range s.Problems {
		fmt.Fprintf(w, "    %s\n", printable(p))
	}
	return nil
}

// components prints the host's store.
func (r *hostRun) components() error {
	cs, err := r.host.Components(r.ctx)
	if err != nil {
		return fmt.Errorf("components: %w", err)
	}
	slices.SortStableFunc(cs, func(a, b admin.Component) int { return strings.Compare(a.Name, b.Name) })
	if r.json {
		return r.writeJSON(nonNil(cs))
	}
	if len(cs) == 0 {
		fmt.Fprintln(r.stdout, "no components installed")
		return nil
	}
	tw := tabwriter.NewWriter(r.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tPUBLISHER\tDIGEST\tINSTALLED\tSIZE\tUSED BY")
	for _, c := range cs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\n", printable(c.Name), printable(c.Version),
			shortPublisher(printable(c.Publisher)), shortDigest(printable(c.Digest)), timeText(c.Installed), c.Size,
			len(c.InUse))
	}
	tw.Flush()
	return nil
}

// writeComponent prints one installed version.
func (r *hostRun) writeComponent(c admin.Component) {
	fmt.Fprintf(r.stdout, "%s@%s\n", printable(c.Name), printable(c.Version))
	printField(r.stdout, "digest", printable(c.Digest))
	printField(r.stdout, "publisher", publisherText(printable(c.Publisher)))
	printField(r.stdout, "size", strconv.FormatInt(c.Size, 10))
	printField(r.stdout, "installed", timeText(c.Installed))
	used := "no actor"
	if len(c.InUse) > 0 {
		used = printable(strings.Join(c.InUse, ", "))
	}
	printField(r.stdout, "used by", used)
}

// install installs a component into the host's store: a local file (sent
// with its manifest and signature) or a reference the host pulls.
func (r *hostRun) install(arg, manifest, sig string, plain bool) error {
	req, err := installRequest(arg, manifest, sig, plain)
	if err != nil {
		return err
	}
	r.mu.Lock()
	if req.Ref != "" {
		fmt.Fprintf(r.stderr, "pulling %s...\n", req.Ref)
	} else {
		fmt.Fprintf(r.stderr, "sending %s (%d bytes)...\n", arg, len(req.Wasm))
	}
	r.mu.Unlock()
	c, err := r.host.Install(r.ctx, req)
	if err != nil {
		return fmt.Errorf("component install %s: %w", arg, err)
	}
	if r.json {
		return r.writeJSON(c)
	}
	fmt.Fprint(r.stdout, "installed ")
	r.writeComponent(c)
	return nil
}

// installRequest reads what install sends: a FILE that exists with its
// manifest and signature, or else a registry reference.
func installRequest(arg, manifest, sig string, plain bool) (admin.InstallRequest, error) {
	if _, err := os.Stat(arg); err != nil {
		if !looksLikeRef(arg) {
			return admin.InstallRequest{}, usagef("component install: %q is neither a file nor a registry "+
				"reference (HOST[:PORT]/REPOSITORY:TAG or @sha256:HEX)", arg)
		}
		if manifest != "" || sig != "" {
			return admin.InstallRequest{}, usagef("component install: --manifest and --sig go with a FILE; " +
				"a reference brings its own")
		}
		return admin.InstallRequest{Ref: arg, PlainHTTP: plain}, nil
	}
	if plain {
		return admin.InstallRequest{}, usagef("component install: --plain-http is for a registry reference, not a FILE")
	}
	wasm, err := engine.ReadWasmFile(arg, catalog.DefaultMaxComponentBytes)
	if err != nil {
		return admin.InstallRequest{}, usageError{fmt.Errorf("component install: %w", err)}
	}
	if manifest == "" {
		manifest = filepath.Join(filepath.Dir(arg), "Component.toml")
		if _, err := os.Stat(manifest); errors.Is(err, os.ErrNotExist) {
			return admin.InstallRequest{}, usagef("component install: %s has no manifest: %s does not exist "+
				"(give --manifest)", arg, manifest)
		}
	}
	man, err := security.ReadSmallFile(manifest, "manifest", security.MaxManifestFile)
	if err != nil {
		return admin.InstallRequest{}, usageError{fmt.Errorf("component install: %w", err)}
	}
	req := admin.InstallRequest{Wasm: wasm, Manifest: man}
	if sig == "" {
		if _, err := os.Stat(security.SignatureFile(arg)); err == nil {
			sig = security.SignatureFile(arg)
		}
	}
	if sig != "" {
		if req.Signature, err = security.ReadSmallFile(sig, "signature", security.MaxSignatureFile); err != nil {
			return admin.InstallRequest{}, usageError{fmt.Errorf("component install: %w", err)}
		}
	}
	return req, nil
}

// componentInfo prints one installed version.
func (r *hostRun) componentInfo(nv string) error {
	name, version, err := parseNameVersion(nv, true)
	if err != nil {
		return usageError{fmt.Errorf("component info: %w", err)}
	}
	c, err := r.host.Component(r.ctx, name, version)
	if err != nil {
		return fmt.Errorf("component info %s: %w", nv, err)
	}
	if r.json {
		return r.writeJSON(c)
	}
	r.writeComponent(c)
	return nil
}

// uninstall removes an installed version.
func (r *hostRun) uninstall(nv string) error {
	name, version, err := parseNameVersion(nv, true)
	if err != nil {
		return usageError{fmt.Errorf("component uninstall: %w", err)}
	}
	if err := r.host.Uninstall(r.ctx, name, version); err != nil {
		return fmt.Errorf("component uninstall %s: %w", nv, err)
	}
	if r.json {
		return r.writeJSON(struct {
			Uninstalled string `json:"uninstalled"`
		}{nv})
	}
	fmt.Fprintf(r.stdout, "uninstalled %s\n", printable(nv))
	return nil
}

// export writes a component's key-value data to stdout.
func (r *hostRun) export(name string) error {
	if strings.Contains(name, "@") {
		return usagef("component export: %q: want a component NAME (its data is the same for every version)", name)
	}
	if err := r.host.ExportStorage(r.ctx, name, r.stdout); err != nil {
		return fmt.Errorf("component export %s: %w", name, err)
	}
	return nil
}

// ---- output -------------------------------------------------------------------

// writeJSON prints v as indented JSON.
func (r *hostRun) writeJSON(v any) error { return writeJSON(r.stdout, v, "  ") }

// writeJSONLine prints v as JSON on one line.
func (r *hostRun) writeJSONLine(v any) error { return writeJSON(r.stdout, v, "") }

// writeJSON prints v as JSON with DEL and the C1 controls escaped too
// (encoding/json escapes only C0), so that the output is safe on a
// terminal and still the data as it is.
func writeJSON(w io.Writer, v any, indent string) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		return err
	}
	out := buf.Bytes()
	if bytes.ContainsFunc(out, isC1OrDEL) {
		var esc []byte
		for _, r := range string(out) {
			if isC1OrDEL(r) {
				esc = fmt.Appendf(esc, `\u%04x`, r)
			} else {
				esc = utf8.AppendRune(esc, r)
			}
		}
		out = esc
	}
	_, err := w.Write(out)
	return err
}

// isC1OrDEL tells DEL and the C1 controls, which encoding/json leaves as
// they are.
func isC1OrDEL(r rune) bool { return r >= 0x7f && r <= 0x9f }

// nonNil is s, or an empty slice for nil (JSON [] rather than null).
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// orDash is printable(s), or "-" when empty.
func orDash(s string) string { return orText(s, "-") }

// orText is printable(s), or text when s is empty.
func orText(s, text string) string {
	if s == "" {
		return text
	}
	return printable(s)
}

// timeText is t in RFC 3339, or "-" for the zero time.
func timeText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format(time.RFC3339)
}

// printable is s with what a terminal would act on removed: escape
// sequences (ESC and the C1 CSI, OSC, DCS, SOS, PM and APC, with their
// parameters or strings), the other C0 controls, DEL and the C1 controls.
// A tab, newline or carriage return becomes a space, and bytes that are not
// UTF-8 become U+FFFD. Every string a host sends is printed through it:
// guests choose log lines, errors and ids.
func printable(s string) string {
	ok := true
	for i := 0; i < len(s) && ok; i++ {
		ok = s[i] >= 0x20 && s[i] < 0x7f
	}
	if ok {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteRune(utf8.RuneError)
			i++
		case r == 0x1b:
			i = skipEscape(s, i+1)
		case r == 0x9b: // CSI
			i = skipCSI(s, i+n)
		case r == 0x90, r == 0x98, r == 0x9d, r == 0x9e, r == 0x9f: // DCS, SOS, OSC, PM, APC
			i = skipControlString(s, i+n)
		case r == '\t', r == '\n', r == '\r':
			b.WriteByte(' ')
			i += n
		case r < 0x20, r >= 0x7f && r <= 0x9f:
			i += n
		default:
			b.WriteString(s[i : i+n])
			i += n
		}
	}
	return b.String()
}

// printableText is printable for text of many lines: each line printable,
// the newlines kept.
func printableText(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = printable(l)
	}
	out := strings.Join(lines, "\n")
	if out != "" && !strings.HasSuffix(out, "\n") {
		out += "\n"
	}
	return out
}

// skipEscape skips the escape sequence whose ESC is just before s[i] (ECMA-48:
// a control sequence, a control string, intermediates and a final byte, or
// one final byte) and returns where what follows starts. An ESC before
// anything else is dropped alone.
func skipEscape(s string, i int) int {
	if i >= len(s) {
		return i
	}
	switch c := s[i]; {
	case c == '[':
		return skipCSI(s, i+1)
	case c == ']', c == 'P', c == 'X', c == '^', c == '_':
		return skipControlString(s, i+1)
	case c >= 0x20 && c <= 0x2f:
		for i < len(s) && s[i] >= 0x20 && s[i] <= 0x2f {
			i++
		}
		if i < len(s) && s[i] >= 0x30 && s[i] <= 0x7e {
			i++
		}
		return i
	case c >= 0x30 && c <= 0x7e:
		return i + 1
	}
	return i
}

// skipCSI skips a control sequence's parameter, intermediate and final
// bytes from s[i].
func skipCSI(s string, i int) int {
	for i < len(s) && s[i] >= 0x30 && s[i] <= 0x3f {
		i++
	}
	for i < len(s) && s[i] >= 0x20 && s[i] <= 0x2f {
		i++
	}
	if i < len(s) && s[i] >= 0x40 && s[i] <= 0x7e {
		i++
	}
	return i
}

// skipControlString skips a control string (OSC, DCS, ...) from s[i]
// through its terminator: BEL, ESC \ or ST (U+009C). Another ESC ends it
// unterminated, as on a terminal; with no end it runs to the end of s.
func skipControlString(s string, i int) int {
	for i < len(s) {
		switch {
		case s[i] == 0x07:
			return i + 1
		case s[i] == 0x1b:
			if i+1 < len(s) && s[i+1] == '\\' {
				return i + 2
			}
			return i
		case strings.HasPrefix(s[i:], "\u009c"):
			return i + len("\u009c")
		}
		i++
	}
	return i
}

// ---- errors -------------------------------------------------------------------

// report prints err, which cmd returned, as "airssys-wasm: message" with
// the details of an API error and a hint, and returns its exit status: 2
// for bad usage or input (the command line's, or a host's bad_request and
// invalid), 1 for the rest (not found, denied, conflict, unavailable...).
// An exitStatus was reported already.
func (e *cliEnv) report(cmd *cobra.Command, err error) int {
	var st exitStatus
	if errors.As(err, &st) {
		return int(st)
	}
	fmt.Fprintf(e.stderr, "airssys-wasm: %s\n", printable(err.Error()))
	var ae *admin.Error
	if errors.As(err, &ae) {
		for _, d := range ae.Details {
			fmt.Fprintf(e.stderr, "  %s\n", printable(d))
		}
	}
	var usage usageError
	isUsage := errors.As(err, &usage)
	switch {
	case isUsage && cmd != nil && cmd.HasParent():
		fmt.Fprintf(e.stderr, "(%s --help shows its usage)\n", cmd.CommandPath())
	case isUsage:
	case ae != nil && ae.Code == admin.CodeUnauthorized:
		fmt.Fprintln(e.stderr, "(the host's TCP admin API wants its token: give --token-file FILE)")
	case ae != nil && ae.Code == admin.CodeForbidden:
		fmt.Fprintln(e.stderr, "(the socket belongs to a host another user runs)")
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ENOENT):
		fmt.Fprintln(e.stderr, "(is the host running? start it with \"airssys-wasm serve\", or give --host)")
	}
	if isUsage || errors.Is(err, admin.ErrBadRequest) || errors.Is(err, admin.ErrInvalid) {
		return exitUsage
	}
	return exitRefused
}
