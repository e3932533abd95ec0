package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/engine"
)

// devID is the actor id `dev` runs the component under.
const devID = actor.ID("dev/component/1")

// cmdDev runs an actor component for development: it deploys FILE as an
// actor, sends each line read from stdin to it as a request and prints the
// reply, and watches FILE: every new build takes over through a live
// update (nothing queued is lost), with what changed in its imports and
// exports printed; a build that does not load or start leaves the running
// version in place, with the error shown. It ends with ctx, or when stdin
// ends.
func cmdDev(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var config kvFlags
	fs.Var(&config, "config", "K=V configuration of the actor (repeatable)")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: airssys-wasm dev [--config K=V]... FILE.wasm   (lines on stdin are sent as requests)")
		return exitUsage
	}
	path := fs.Arg(0)
	eng, err := engine.New(engine.Config{})
	if err != nil {
		return fail(stderr, exitTrap, "dev: %v", err)
	}
	defer eng.Close()
	var mu sync.Mutex // serializes output
	say := func(format string, a ...any) {
		mu.Lock()
		fmt.Fprintf(stdout, format+"\n", a...)
		mu.Unlock()
	}
	comp, err := eng.CompileFile(ctx, path)
	if err != nil {
		return fail(stderr, exitUsage, "dev: %v", err)
	}
	sys := actor.NewSystem(eng, actor.Options{Logger: slog.New(slog.NewTextHandler(stderr,
		&slog.HandlerOptions{Level: slog.LevelInfo}))})
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		sys.Shutdown(sctx)
	}()
	if err := sys.Deploy(ctx, actor.Spec{ID: devID, Component: comp, Config: config.m}); err != nil {
		return fail(stderr, exitTrap, "dev: %v", err)
	}
	say("running %s as %s; send lines on stdin; watching for new builds", path, devID)

	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fail(stderr, exitTrap, "dev: %v", err)
	}
	defer w.Close()
	// Watch the directory: builds often replace the file (rename), which a
	// watch on the file itself would lose.
	if err := w.Add(filepath.Dir(path)); err != nil {
		return fail(stderr, exitTrap, "dev: %v", err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	target, _ := filepath.Abs(path)
	var settle <-chan time.Time // a build writes in steps: wait for quiet
	for {
		select {
		case <-ctx.Done():
			return exitOK
		case line, ok := <-lines:
			if !ok {
				return exitOK
			}
			m, err := sys.Request(ctx, devID, []byte(line), "text/plain")
			if err != nil {
				say("error: %v", err)
			} else {
				say("%s", m.Payload)
			}
		case ev := <-w.Events:
			if p, _ := filepath.Abs(ev.Name); p == target && ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename) != 0 {
				settle = time.After(100 * time.Millisecond)
			}
		case err := <-w.Errors:
			say("watch: %v", err)
		case <-settle:
			settle = nil
			next, err := eng.CompileFile(ctx, path)
			if err != nil {
				say("new build not loaded, %s keeps running: %v", devID, err)
				continue
			}
			if err := sys.Update(ctx, devID, next, nil); err != nil {
				say("new build not started, the previous one keeps running: %v", err)
				continue
			}
			say("updated to the new build%s", diffItems(comp, next))
			comp = next
		}
	}
}

// diffItems says what changed in the imports and exports.
func diffItems(old, next *engine.Component) string {
	names := func(items []engine.Item) map[string]string {
		m := map[string]string{}
		for _, it := range items {
			m[it.Name] = describeItem(it)
		}
		return m
	}
	var out []string
	for _, side := range []struct {
		what     string
		old, new map[string]string
	}{{"import", names(old.Imports()), names(next.Imports())}, {"export", names(old.Exports()), names(next.Exports())}} {
		for n, d := range side.new {
			if od, ok := side.old[n]; !ok {
				out = append(out, "+ "+side.what+" "+n)
			} else if od != d {
				out = append(out, "~ "+side.what+" "+n)
			}
		}
		for n := range side.old {
			if _, ok := side.new[n]; !ok {
				out = append(out, "- "+side.what+" "+n)
			}
		}
	}
	if len(out) == 0 {
		return " (imports and exports unchanged)"
	}
	slices.Sort(out)
	return ":\n  " + strings.Join(out, "\n  ")
}

func describeItem(it engine.Item) string {
	var b strings.Builder
	b.WriteString(it.Kind)
	if it.Func != nil {
		b.WriteString(it.Func.String())
	}
	for _, m := range it.Members {
		b.WriteString(";" + describeItem(m))
	}
	return b.String()
}

// kvFlags collects repeated K=V flags.
type kvFlags struct{ m map[string]string }

func (f *kvFlags) String() string { return "" }

func (f *kvFlags) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return errors.New("want K=V")
	}
	if f.m == nil {
		f.m = map[string]string{}
	}
	f.m[k] = val
	return nil
}
