package wt

/*
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"runtime/cgo"
	"sort"
	"unicode/utf8"
	"unsafe"

	"github.com/airsstack/airssys-wasm-go/wit"
)

// HostResourceType is a resource type the host defines: the guest imports
// it and holds handles to it, while what a handle stands for lives on the
// host side, found by its rep (a number the host chose and the guest cannot
// forge or read). ID distinguishes the types of one linker.
type HostResourceType struct {
	Name string
	ID   uint32
	// Drop is called, on the guest's thread and inside its call, when the
	// guest drops an own handle of this type. An error traps that call.
	Drop func(s *Store, rep uint32) error
}

// HostResource is a handle to a host resource as a wit value: what a host
// function receives for an own or borrow parameter of a host type, and what
// the host passes (always as own) to give the guest a new handle.
type HostResource struct {
	Type *HostResourceType
	Rep  uint32
	// Own is set on values received from the guest: an own handle moved to
	// the host (the guest has given it up; no Drop follows) rather than a
	// borrow lent for the call.
	Own bool
}

func (l *ComponentLinker) defineResources(li *C.wasmtime_component_linker_instance_t,
	resources map[string]*HostResourceType) error {
	names := make([]string, 0, len(resources))
	for name := range resources {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		rt := resources[name]
		if !utf8.ValidString(name) || name == "" || rt == nil || rt.Drop == nil {
			return fmt.Errorf("host resource %q: needs a valid name and a Drop function", name)
		}
		if l.types[rt.ID] != nil {
			return fmt.Errorf("host resource %q: type id %d already used by %q", name, rt.ID, l.types[rt.ID].Name)
		}
		env := C.aw_func_env_new(C.uintptr_t(cgo.NewHandle(rt)))
		if env == nil {
			panic("wt: out of C memory")
		}
		env.tag = C.uint32_t(rt.ID)
		cs := C.CString(name)
		err := C.aw_component_add_resource(li, cs, C.size_t(len(name)), C.uint32_t(rt.ID), env)
		C.free(unsafe.Pointer(cs))
		C.aw_func_env_defined(env, boolInt(err == nil))
		if err != nil {
			return fmt.Errorf("host resource %q: %w", name, takeError(err))
		}
		if l.types == nil {
			l.types = map[uint32]*HostResourceType{}
		}
		l.types[rt.ID] = rt
	}
	return nil
}

//export awGoResourceDrop
func awGoResourceDrop(env C.uintptr_t, storeHandle C.uintptr_t, rep C.uint32_t) (ret *C.wasmtime_error_t) {
	rt := cgo.Handle(env).Value().(*HostResourceType)
	var s *Store
	if storeHandle != 0 {
		s, _ = cgo.Handle(storeHandle).Value().(*Store)
	}
	if s == nil {
		msg := C.CString("host resource dropped outside an airssys store")
		defer C.free(unsafe.Pointer(msg))
		return C.wasmtime_error_new(msg)
	}
	// The queue is full: forget what it holds, then this one.
	if err := s.drainDrops(); err != nil {
		return s.hostFailure(err)
	}
	if err := s.runDrop(rt, uint32(rep)); err != nil {
		return s.hostFailure(err)
	}
	return nil
}

// runDrop calls rt.Drop, a panic made an error.
func (s *Store) runDrop(rt *HostResourceType, rep uint32) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("dropping a %s: panic: %v", rt.Name, r)
		}
	}()
	if err := rt.Drop(s, rep); err != nil {
		return fmt.Errorf("dropping a %s: %w", rt.Name, err)
	}
	return nil
}

// drainDrops runs Drop for the host resources the guest dropped since the
// last drain (queued in C by the destructor), in order; the first error is
// returned, after every drop has run.
func (s *Store) drainDrops() error {
	st := s.state
	if st == nil || st.ndrops == 0 {
		return nil
	}
	var first error
	for i := 0; i < int(st.ndrops); i++ {
		rt := s.hostTypes[uint32(st.drop_ty[i])]
		if rt == nil {
			continue
		}
		if err := s.runDrop(rt, uint32(st.drop_rep[i])); err != nil && first == nil {
			first = err
		}
	}
	st.ndrops = 0
	return first
}

// dropFailure makes the error of a call whose guest dropped a host
// resource that the host failed to drop: the call traps after the fact.
func (s *Store) dropFailure(err error) *CallError {
	s.hostErr = err
	s.state.host_failed = 1
	return &CallError{Message: "host function failed: " + err.Error(), Code: -1, HostFailed: true,
		Stop: int(s.state.reason)}
}

// encodeHost makes an own handle for r, kept in s.anys until the call or
// host call in progress returns.
func (s *Store) encodeHost(t *wit.Type, r HostResource, p unsafe.Pointer) error {
	if t.Kind != wit.KindOwn {
		return &wit.TypeError{Want: t.String(), Got: "a host resource (the host can only pass own handles)"}
	}
	if r.Type == nil || s.hostTypes[r.Type.ID] != r.Type {
		return &wit.TypeError{Want: t.String(), Got: "a host resource of a type this instance's host does not define"}
	}
	var cerr *C.wasmtime_error_t
	a := C.aw_resource_host_own(s.cx, C.uint32_t(r.Rep), C.uint32_t(r.Type.ID), &cerr)
	if a == nil {
		return fmt.Errorf("wt: making a %s handle: %w", r.Type.Name, takeError(cerr))
	}
	s.anys = append(s.anys, a)
	*(**C.wasmtime_component_resource_any_t)(p) = a
	return nil
}

// decodeHost reads a handle as a host resource of this store's linker, or
// reports false for a guest resource (or a host type it does not know).
func (s *Store) decodeHost(rp *C.wasmtime_component_resource_any_t) (HostResource, bool) {
	if len(s.hostTypes) == 0 {
		return HostResource{}, false
	}
	var rep, ty C.uint32_t
	var owned C.int
	if C.aw_resource_host_get(s.cx, rp, &rep, &ty, &owned) == 0 {
		return HostResource{}, false
	}
	rt := s.hostTypes[uint32(ty)]
	if rt == nil {
		return HostResource{}, false
	}
	return HostResource{Type: rt, Rep: uint32(rep), Own: owned != 0}, true
}

// freeAnys frees the host handles made since mark.
func (s *Store) freeAnys(mark int) {
	for i := mark; i < len(s.anys); i++ {
		C.wasmtime_component_resource_any_delete(s.anys[i])
		s.anys[i] = nil
	}
	s.anys = s.anys[:mark]
}
