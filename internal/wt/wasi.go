package wt

/*
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Preopen is a host directory shown to the guest.
type Preopen struct {
	Host, Guest string
	ReadOnly    bool
}

// WASIConfig is the guest's whole WASI world: nothing is inherited from the
// host process, and there is no network.
//
// Standard streams are files that Wasmtime opens by path when SetWASI runs
// (typically /proc/self/fd/N of a pipe the caller owns): Wasmtime writes
// such a file synchronously on the guest's own thread, so every byte is in
// the file when the call returns, and nothing is written after the store is
// deleted. (A custom output callback, by contrast, is driven by a worker
// thread of Wasmtime's that outlives the call.)
type WASIConfig struct {
	Args       []string
	Env        [][2]string
	Stdin      []byte // used when StdinPath is empty
	StdinPath  string // a file to read stdin from
	StdoutPath string // a file to write stdout to; empty discards
	StderrPath string // a file to write stderr to; empty discards
	Preopens   []Preopen
}

// SetWASI gives the store its WASI context (used by both preview 1 and
// preview 2). It must be called before instantiating anything that imports
// WASI.
func (s *Store) SetWASI(cfg WASIConfig) error {
	w := C.wasi_config_new()
	var frees []unsafe.Pointer
	defer func() {
		for _, p := range frees {
			C.free(p)
		}
	}()
	cstr := func(x string) *C.char {
		p := C.CString(x)
		frees = append(frees, unsafe.Pointer(p))
		return p
	}
	if len(cfg.Args) > 0 {
		argv := make([]*C.char, len(cfg.Args))
		for i, a := range cfg.Args {
			argv[i] = cstr(a)
		}
		cargv := (**C.char)(C.malloc(C.size_t(len(argv)) * C.size_t(unsafe.Sizeof((*C.char)(nil)))))
		frees = append(frees, unsafe.Pointer(cargv))
		copy(unsafe.Slice(cargv, len(argv)), argv)
		if !C.wasi_config_set_argv(w, C.size_t(len(argv)), cargv) {
			C.wasi_config_delete(w)
			return fmt.Errorf("wasi: arguments are not valid UTF-8")
		}
	}
	if len(cfg.Env) > 0 {
		n := len(cfg.Env)
		ptrSize := C.size_t(unsafe.Sizeof((*C.char)(nil)))
		names := (**C.char)(C.malloc(C.size_t(n) * ptrSize))
		vals := (**C.char)(C.malloc(C.size_t(n) * ptrSize))
		frees = append(frees, unsafe.Pointer(names), unsafe.Pointer(vals))
		ns, vs := unsafe.Slice(names, n), unsafe.Slice(vals, n)
		for i, kv := range cfg.Env {
			ns[i], vs[i] = cstr(kv[0]), cstr(kv[1])
		}
		if !C.wasi_config_set_env(w, C.size_t(n), names, vals) {
			C.wasi_config_delete(w)
			return fmt.Errorf("wasi: environment is not valid UTF-8")
		}
	}
	switch {
	case cfg.StdinPath != "":
		if !C.wasi_config_set_stdin_file(w, cstr(cfg.StdinPath)) {
			C.wasi_config_delete(w)
			return fmt.Errorf("wasi: cannot open %q for stdin", cfg.StdinPath)
		}
	case len(cfg.Stdin) > 0:
		var v C.wasm_byte_vec_t
		C.wasm_byte_vec_new(&v, C.size_t(len(cfg.Stdin)), bytesPtr(cfg.Stdin))
		C.wasi_config_set_stdin_bytes(w, &v) // takes v
	}
	if cfg.StdoutPath != "" && !C.wasi_config_set_stdout_file(w, cstr(cfg.StdoutPath)) {
		C.wasi_config_delete(w)
		return fmt.Errorf("wasi: cannot open %q for stdout", cfg.StdoutPath)
	}
	if cfg.StderrPath != "" && !C.wasi_config_set_stderr_file(w, cstr(cfg.StderrPath)) {
		C.wasi_config_delete(w)
		return fmt.Errorf("wasi: cannot open %q for stderr", cfg.StderrPath)
	}
	for _, p := range cfg.Preopens {
		dirPerms, filePerms := C.size_t(1|2), C.size_t(1|2)
		if p.ReadOnly {
			dirPerms, filePerms = 1, 1
		}
		if !C.wasi_config_preopen_dir(w, cstr(p.Host), cstr(p.Guest), dirPerms, filePerms) {
			C.wasi_config_delete(w)
			return fmt.Errorf("wasi: cannot preopen %q as %q", p.Host, p.Guest)
		}
	}
	if err := C.wasmtime_context_set_wasi(s.cx, w); err != nil { // takes w
		return takeError(err)
	}
	return nil
}
