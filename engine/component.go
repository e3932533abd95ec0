package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/airsstack/airssys-wasm-go/internal/fileread"

	"github.com/airsstack/airssys-wasm-go/internal/wt"
	"github.com/airsstack/airssys-wasm-go/wit"
)

// Kind says whether compiled code is a component or a core module.
type Kind uint8

// The kinds of compiled code.
const (
	KindComponent Kind = iota + 1
	KindModule
)

func (k Kind) String() string {
	switch k {
	case KindComponent:
		return "component"
	case KindModule:
		return "module"
	}
	return "unknown"
}

// DetectKind reads the WebAssembly header: version 1 is a core module, layer
// 1 (version 0x0d) a component.
func DetectKind(wasm []byte) (Kind, error) {
	if len(wasm) < 8 || !bytes.Equal(wasm[:4], []byte("\x00asm")) {
		return 0, fmt.Errorf("%w: no WebAssembly header (%d bytes)", ErrInvalidWasm, len(wasm))
	}
	switch {
	case bytes.Equal(wasm[4:8], []byte{1, 0, 0, 0}):
		return KindModule, nil
	case wasm[6] == 1 && wasm[7] == 0:
		return KindComponent, nil
	}
	return 0, fmt.Errorf("%w: unknown version % x", ErrInvalidWasm, wasm[4:8])
}

// Item is one import or export of a component or module.
type Item struct {
	// Name is the import or export name; for an interface, its full name
	// (for example "wasi:cli/stdout@0.2.0").
	Name string
	// Kind is "func", "instance" (an interface), "resource", "type",
	// "module", "component", or for core modules "func", "memory",
	// "global", "table".
	Kind string
	// Func is the WIT type of a component function.
	Func *wit.FuncType
	// Type is the WIT type a "type" item names (a record, variant, enum,
	// flags, or an alias of another type).
	Type *wit.Type
	// Core is the type of a core function.
	Core *CoreFuncType
	// Members are the items of an interface.
	Members []Item
}

// CoreFuncType is the type of a core WebAssembly function.
type CoreFuncType struct {
	Params, Results []wt.CoreType
}

func (f *CoreFuncType) String() string {
	j := func(ts []wt.CoreType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = t.String()
		}
		return strings.Join(s, ", ")
	}
	return "func(" + j(f.Params) + ") -> (" + j(f.Results) + ")"
}

// export is a callable function export.
type export struct {
	name string
	idx  *wt.ExportIndex // components
	ft   *wit.FuncType   // components
	core *wt.CoreFunc    // modules
}

// Component is compiled WebAssembly: a component or a core module.
// Immutable and safe to share between goroutines and instances.
type Component struct {
	eng     *Engine
	kind    Kind
	comp    *wt.Component
	mod     *wt.Module
	imports []Item
	exports []Item

	funcs       map[string]*export       // by call name
	importTypes map[string]*wit.FuncType // by full import name

	refs     atomic.Int32 // 1 for the Component itself + 1 per live Instance
	closed   atomic.Bool
	closeOne sync.Once
}

// DefaultMaxWasmBytes is the default of Config.MaxWasmBytes: 128 MiB, three
// times the largest components we know of (componentize-py's are about
// 40 MB, componentize-js's about 12 MB), while compiling one takes memory
// and time in proportion to its size.
const DefaultMaxWasmBytes = 128 << 20

// Errors about the size and kind of the input.
var (
	// ErrTooLarge: the bytes exceed the limit (Config.MaxWasmBytes, or
	// ReadWasmFile's limit). It matches ErrInvalidWasm too.
	ErrTooLarge = fmt.Errorf("%w: too large", ErrInvalidWasm)
	// ErrNotRegularFile: CompileFile and ReadWasmFile read only regular
	// files, not FIFOs, devices or directories, which could block or never
	// end.
	ErrNotRegularFile = errors.New("engine: not a regular file")
)

// ReadWasmFile reads a regular file of at most limit bytes (limit <= 0:
// DefaultMaxWasmBytes) and reads no more than that: a larger file is
// refused from its size alone, and a file that grows while it is read is
// cut off at limit+1 bytes and refused. A FIFO, device or directory is
// refused without reading (ErrNotRegularFile), so a path cannot hang the
// caller or exhaust its memory. CompileFile reads files this way, with
// Config.MaxWasmBytes as the limit.
func ReadWasmFile(path string, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultMaxWasmBytes
	}
	wasm, err := fileread.Read(path, limit)
	var r *fileread.Refused
	switch {
	case errors.As(err, &r) && r.Kind != "":
		return nil, fmt.Errorf("%w: %v", ErrNotRegularFile, r)
	case errors.As(err, &r):
		return nil, fmt.Errorf("%w: %v", ErrTooLarge, r)
	case err != nil:
		return nil, fmt.Errorf("engine: %w", err)
	}
	return wasm, nil
}

// CompileFile reads and compiles a file: a regular file of at most
// Config.MaxWasmBytes bytes, read as ReadWasmFile does.
func (e *Engine) CompileFile(ctx context.Context, path string) (*Component, error) {
	wasm, err := ReadWasmFile(path, e.cfg.MaxWasmBytes)
	if err != nil {
		return nil, err
	}
	return e.Compile(ctx, wasm)
}

// Compile compiles wasm bytes, a component or a core module, of at most
// Config.MaxWasmBytes bytes (ErrTooLarge). With a cache directory
// configured, a cached artifact is loaded instead when it checks out (see
// cache.go); otherwise the result is compiled and stored.
func (e *Engine) Compile(ctx context.Context, wasm []byte) (*Component, error) {
	if limit := e.cfg.MaxWasmBytes; limit > 0 && int64(len(wasm)) > limit {
		return nil, fmt.Errorf("%w: %d bytes, more than the limit of %d (Config.MaxWasmBytes)", ErrTooLarge,
			len(wasm), limit)
	}
	kind, err := DetectKind(wasm)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := e.use(); err != nil {
		return nil, err
	}
	defer e.done_()
	c := &Component{eng: e, kind: kind}
	c.refs.Store(1)
	if e.cache == nil {
		if err := c.compile(wasm); err != nil {
			return nil, err
		}
		return c.finish()
	}
	cache := e.cache
	src := sha256.Sum256(wasm)
	key := cache.key(src)
	short := fmt.Sprintf("%x", key[:8])
	payload, err := cache.load(key, src)
	if err == nil {
		if err = c.deserialize(payload); err == nil {
			cache.hits.Add(1)
			e.log.Debug("compile cache hit", "key", short)
			return c.finish()
		}
		err = &entryError{reason: refuseWasmtime, err: err}
	}
	if ee, ok := err.(*entryError); ok {
		cache.refused[ee.reason].Add(1)
		e.log.Warn("compile cache entry refused, recompiling", "key", short, "reason", ee.reason.String(),
			"path", cache.path(key), "err", ee.err)
		cache.remove(key)
	}
	cache.misses.Add(1)
	if err := c.compile(wasm); err != nil {
		return nil, err
	}
	if payload, err := c.serialize(); err == nil {
		if err := cache.store(key, src, payload); err != nil {
			cache.storeErrors.Add(1)
			e.log.Warn("compile cache write failed", "err", err)
		} else {
			cache.stores.Add(1)
		}
	}
	return c.finish()
}

func (c *Component) compile(wasm []byte) error {
	compile := func(wasm []byte) (err error) {
		if c.kind == KindComponent {
			c.comp, err = wt.CompileComponent(c.eng.wt, wasm)
		} else {
			c.mod, err = wt.CompileModule(c.eng.wt, wasm)
		}
		return err
	}
	// Fewer data segments make every instantiation cheaper (datasegs.go);
	// should Wasmtime refuse the merged bytes, the original ones decide.
	var err error
	if merged, ok := mergeDataSegments(wasm); ok {
		if err = compile(merged); err == nil {
			return nil
		}
	}
	if err = compile(wasm); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidWasm, err)
	}
	return nil
}

func (c *Component) deserialize(payload []byte) error {
	var err error
	if c.kind == KindComponent {
		c.comp, err = wt.DeserializeComponent(c.eng.wt, payload)
	} else {
		c.mod, err = wt.DeserializeModule(c.eng.wt, payload)
	}
	return err
}

func (c *Component) serialize() ([]byte, error) {
	if c.kind == KindComponent {
		return c.comp.Serialize()
	}
	return c.mod.Serialize()
}

// finish introspects the compiled code once: item lists, callable exports
// and import types.
func (c *Component) finish() (*Component, error) {
	c.funcs = map[string]*export{}
	c.importTypes = map[string]*wit.FuncType{}
	if c.kind == KindModule {
		for _, it := range c.mod.Imports() {
			c.imports = append(c.imports, coreItem(it.Module+"."+it.Name, it))
		}
		for _, it := range c.mod.Exports() {
			c.exports = append(c.exports, coreItem(it.Name, it))
			if it.Func != nil {
				c.funcs[it.Name] = &export{name: it.Name, core: it.Func}
			}
		}
		return c, nil
	}
	imps, exps := c.comp.Types(c.eng.wt)
	c.imports, c.exports = convItems(imps), convItems(exps)
	for _, it := range c.imports {
		switch it.Kind {
		case "func":
			c.importTypes[it.Name] = it.Func
		case "instance":
			for _, m := range it.Members {
				if m.Kind == "func" {
					c.importTypes[it.Name+"#"+m.Name] = m.Func
				}
			}
		}
	}
	for _, it := range c.exports {
		switch it.Kind {
		case "func":
			if idx := c.comp.ExportIndex(nil, it.Name); idx != nil {
				c.funcs[it.Name] = &export{name: it.Name, idx: idx, ft: it.Func}
			}
		case "instance":
			parent := c.comp.ExportIndex(nil, it.Name)
			if parent == nil {
				continue
			}
			for _, m := range it.Members {
				if m.Kind != "func" {
					continue
				}
				if idx := c.comp.ExportIndex(parent, m.Name); idx != nil {
					name := it.Name + "#" + m.Name
					c.funcs[name] = &export{name: name, idx: idx, ft: m.Func}
				}
			}
			parent.Delete()
		}
	}
	return c, nil
}

func coreItem(name string, it wt.CoreItem) Item {
	out := Item{Name: name, Kind: it.Kind}
	if it.Func != nil {
		out.Core = &CoreFuncType{Params: it.Func.Params, Results: it.Func.Results}
	}
	return out
}

func convItems(in []wt.Item) []Item {
	out := make([]Item, 0, len(in))
	for _, it := range in {
		out = append(out, Item{Name: it.Name, Kind: it.Kind, Func: it.Func, Type: it.Type, Members: convItems(it.Members)})
	}
	return out
}

// Kind says whether this is a component or a core module.
func (c *Component) Kind() Kind { return c.kind }

// Imports lists what the code imports.
func (c *Component) Imports() []Item { return c.imports }

// Exports lists what the code exports.
func (c *Component) Exports() []Item { return c.exports }

// ImportType returns the type of a component function import by its full
// name ("iface#func", or "func" at the root), or nil.
func (c *Component) ImportType(name string) *wit.FuncType { return c.importTypes[name] }

// FuncNames lists the callable exports, sorted: "func" at the root,
// "iface#func" inside an interface.
func (c *Component) FuncNames() []string {
	out := make([]string, 0, len(c.funcs))
	for n := range c.funcs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// FuncType returns the WIT type of a callable component export. Like a
// call, it accepts an interface named without its version, or with another
// version compatible with the exported one (see Instance.Call).
func (c *Component) FuncType(name string) (*wit.FuncType, error) {
	ex, ok := c.export(name)
	if !ok || ex.ft == nil {
		return nil, c.unknown(name)
	}
	return ex.ft, nil
}

// CoreFuncType returns the type of a callable core-module export.
func (c *Component) CoreFuncType(name string) (*CoreFuncType, error) {
	ex, ok := c.export(name)
	if !ok || ex.core == nil {
		return nil, c.unknown(name)
	}
	return &CoreFuncType{Params: ex.core.Params, Results: ex.core.Results}, nil
}

// export finds a callable export by name. An exact name wins. Otherwise a
// function inside a versioned interface is also found by the interface
// name without a version ("wasi:cli/run#run") or with a semver-compatible
// one ("wasi:cli/run@0.2.0#run" for an export of @0.2.12: same major, and
// for 0.x the same minor), as Wasmtime matches imports; a name that fits
// several exports is not resolved.
func (c *Component) export(name string) (*export, bool) {
	if ex, ok := c.funcs[name]; ok {
		return ex, true
	}
	iface, fn, ok := strings.Cut(name, "#")
	if !ok {
		return nil, false
	}
	base, ver, _ := strings.Cut(iface, "@")
	var found *export
	for full, ex := range c.funcs {
		fi, ff, ok := strings.Cut(full, "#")
		if !ok || ff != fn {
			continue
		}
		fb, fv, _ := strings.Cut(fi, "@")
		if fb != base || (ver != "" && !semverCompatible(ver, fv)) {
			continue
		}
		if found != nil {
			return nil, false // ambiguous
		}
		found = ex
	}
	return found, found != nil
}

// semverCompatible reports whether an export of version have can serve a
// caller asking for want: the same major version, and for 0.x the same
// minor (as in Cargo's and Wasmtime's rules).
func semverCompatible(want, have string) bool {
	w, h := strings.Split(want, "."), strings.Split(have, ".")
	if len(w) < 2 || len(h) < 2 || w[0] != h[0] {
		return false
	}
	return w[0] != "0" || w[1] == h[1]
}

func (c *Component) unknown(name string) error {
	names := c.FuncNames()
	if len(names) > 8 {
		names = append(names[:8], "…")
	}
	return fmt.Errorf("%w %q (exports: %s)", ErrUnknownExport, name, strings.Join(names, ", "))
}

// Describe prints the imports and exports in WIT-like text: functions with
// their types, type items with their definitions (`record point { x: s32,
// y: s32 }`, `enum color { red, green }`, `type size = u64`) and resources as
// `resource name`. Types inside a signature or a definition print
// structurally (Wasmtime's type information carries no names for them).
func (c *Component) Describe() string {
	var b strings.Builder
	b.WriteString(c.kind.String())
	b.WriteString("\n")
	for _, it := range c.imports {
		writeItem(&b, "import", it)
	}
	for _, it := range c.exports {
		writeItem(&b, "export", it)
	}
	return b.String()
}

func writeItem(b *strings.Builder, verb string, it Item) {
	switch {
	case it.Func != nil:
		fmt.Fprintf(b, "  %s %s: %s\n", verb, it.Name, it.Func)
	case it.Core != nil:
		fmt.Fprintf(b, "  %s %s: %s\n", verb, it.Name, it.Core)
	case it.Kind == "instance":
		fmt.Fprintf(b, "  %s %s {\n", verb, it.Name)
		for _, m := range it.Members {
			switch {
			case m.Func != nil && verb == "export":
				// Exported functions print under the name a call uses.
				fmt.Fprintf(b, "    %s#%s: %s\n", it.Name, m.Name, m.Func)
			case m.Func != nil:
				fmt.Fprintf(b, "    %s: %s\n", m.Name, m.Func)
			default:
				fmt.Fprintf(b, "    %s\n", declaration(m))
			}
		}
		b.WriteString("  }\n")
	default:
		fmt.Fprintf(b, "  %s %s\n", verb, declaration(it))
	}
}

// declaration prints an item that is not a function: a type's definition,
// `resource name`, or else `name: kind`.
func declaration(it Item) string {
	switch {
	case it.Kind == "type" && it.Type != nil:
		return it.Type.Definition(it.Name)
	case it.Kind == "resource":
		return "resource " + it.Name
	}
	return it.Name + ": " + it.Kind
}

// acquire takes a reference for an instance, unless the component is closed.
func (c *Component) acquire() bool {
	if c.closed.Load() {
		return false
	}
	for {
		n := c.refs.Load()
		if n <= 0 {
			return false
		}
		if c.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (c *Component) release() {
	if c.refs.Add(-1) == 0 {
		for _, ex := range c.funcs {
			ex.idx.Delete()
		}
		if c.comp != nil {
			c.comp.Delete()
		}
		if c.mod != nil {
			c.mod.Delete()
		}
	}
}

// Close releases the compiled code once no instance uses it any more.
// Idempotent.
func (c *Component) Close() error {
	c.closeOne.Do(func() {
		c.closed.Store(true)
		c.release()
	})
	return nil
}
