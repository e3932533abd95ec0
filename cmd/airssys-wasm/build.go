package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/airsstack/airssys-wasm-go/internal/gobuild"
)

// buildCmd is `airssys-wasm build [DIR] -o FILE.wasm`: an actor component
// from a Go main package that uses the guest SDK (internal/gobuild).
func (e *cliEnv) buildCmd() *cobra.Command {
	var out, tools, tags string
	c := &cobra.Command{
		Use:   "build [DIR] [-o FILE.wasm]",
		Short: "build an actor component from a Go package (the guest SDK)",
		Long: "build compiles the Go main package in DIR (default: the current directory) with the Go\n" +
			"toolchain (GOOS=wasip1 GOARCH=wasm, -buildmode=c-shared) and wraps it into a component of\n" +
			"the world " + gobuild.World + " with wit-component (jco's wasm-tools, run by\n" +
			"Node.js) and the WASI preview1 reactor adapter. It needs Go 1.24 or later and Node.js 20\n" +
			"or later with npm: the pinned tools are installed on first use into the user cache\n" +
			"(--tools DIR or $AIRSSYS_BUILD_TOOLS to use a directory of your own), and the adapter's\n" +
			"sha256 is checked. The result's WIT is checked: it exports the actor interface and imports\n" +
			"only what the host provides.",
		Args: nArgs(0, 1, "at most one directory"),
	}
	c.Flags().StringVarP(&out, "output", "o", "", "the component to write (default: DIR's name + .wasm)")
	c.Flags().StringVar(&tools, "tools", os.Getenv("AIRSSYS_BUILD_TOOLS"), "a directory with the wrapping tools (node_modules with @bytecodealliance/jco-transpile, and the adapter)")
	c.Flags().StringVar(&tags, "tags", "", "Go build tags (comma-separated)")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		dir := "."
		if len(args) == 1 {
			dir = args[0]
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return usagef("%v", err)
		}
		if st, err := os.Stat(abs); err != nil || !st.IsDir() {
			return usagef("build: %s is not a directory", dir)
		}
		if out == "" {
			out = filepath.Base(abs) + ".wasm"
		}
		var flags []string
		if tags != "" {
			flags = append(flags, "-tags", tags)
		}
		r, err := gobuild.Build(cmd.Context(), gobuild.Options{Dir: dir, Out: out, GoFlags: flags, ToolsDir: tools,
			Progress: e.stderr})
		if err != nil {
			if errors.Is(err, gobuild.ErrNoGo) || errors.Is(err, gobuild.ErrNoNode) {
				return usageError{err}
			}
			return err
		}
		var own []string
		for _, imp := range r.Imports {
			if !strings.HasPrefix(imp, "wasi:cli/") && !strings.HasPrefix(imp, "wasi:io/") &&
				!strings.HasPrefix(imp, "wasi:clocks/") && !strings.HasPrefix(imp, "wasi:filesystem/") &&
				!strings.HasPrefix(imp, "wasi:random/") {
				own = append(own, imp)
			}
		}
		fmt.Fprintf(e.stdout, "built %s: %.1f MB (go build %v, wrap %v)\n  exports airssys:actor/actor@0.2.0\n  imports %s\n  and %d WASI 0.2 interfaces (the adapter's)\n",
			out, float64(r.Size)/1e6, r.GoBuild.Round(time.Millisecond), r.Wrap.Round(time.Millisecond),
			strings.Join(own, ", "), len(r.Imports)-len(own))
		return nil
	}
	return c
}
