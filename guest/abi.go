//go:build wasip1

package guest

// Canonical-ABI glue for the world airssys:actor/component@0.2.0
// (wit/airssys-actor-0.2.0/actor.wit), written by hand. The layouts are
// those of testdata/src/actors2/actor_glue2.c, which implements the same
// world in C; wasm32, UTF-8 strings:
//
//	own<message>, own<payload>, borrow<...>  i32 handle
//	string, list<u8>                         (ptr i32, len i32)
//	list<tuple<string, string>>              (ptr, len); 16-byte elements
//	                                         (key ptr, key len, value ptr, value len)
//
// Memory. Every string or list the host hands the guest (export arguments,
// import results) is allocated through cabi_realloc:
//   - before the Go runtime is initialized (the WASI preview1 adapter
//     allocates its state during _initialize), from a static arena: the Go
//     heap cannot be used yet, and pages grown behind Go's back would
//     corrupt its heap;
//   - afterwards, on the Go heap, and the allocation is kept reachable (in
//     pinned) until the export call that caused it has consumed it: the
//     end of its body, or its post-return function;
//   - no garbage collection may start inside cabi_realloc (a collection
//     calls WASI, which the component model forbids there), so automatic
//     GC is off (debug.SetGCPercent(-1)) and maybeGC runs a collection at
//     the start of export bodies, when enough was allocated since the last.

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"unsafe"
)

// ready is set by this package's init, once the Go runtime is up.
var ready bool

// arena serves cabi_realloc before the runtime is up.
var (
	arena    [128 << 10]byte
	arenaTop uintptr
)

// pinned keeps the Go-heap allocations of cabi_realloc reachable until the
// current export has consumed them.
var pinned [][]uint64

// retKeep keeps what the return area of init and handle-message points to
// reachable until their post-return function.
var retKeep []any

func init() {
	debug.SetGCPercent(-1)
	gcSamples[0].Name = "/gc/heap/allocs:bytes"
	gcSamples[1].Name = "/gc/heap/live:bytes"
	if arenaTop == ^uintptr(0) {
		keepImports()
	}
	ready = true
}

//go:wasmexport cabi_realloc
func cabiRealloc(old, oldSize, align, newSize uint32) uint32 {
	if newSize == 0 {
		return uint32(align) // a non-null, aligned, empty allocation
	}
	if !ready {
		// No Go allocation, no stack growth: bump the static arena.
		a := uintptr(align)
		if a < 8 {
			a = 8
		}
		base := uintptr(unsafe.Pointer(&arena[0]))
		at := (base + arenaTop + a - 1) &^ (a - 1)
		if at+uintptr(newSize) > base+uintptr(len(arena)) {
			return 0 // the caller traps
		}
		arenaTop = at + uintptr(newSize) - base
		if old != 0 && oldSize != 0 {
			n := oldSize
			if n > newSize {
				n = newSize
			}
			copy(unsafe.Slice((*byte)(unsafe.Pointer(&arena[at-base])), n), bytesAt(old, n))
		}
		return uint32(at)
	}
	// []uint64 is 8-aligned, enough for every type of this world.
	buf := make([]uint64, (newSize+7)/8)
	pinned = append(pinned, buf)
	p := uint32(uintptr(unsafe.Pointer(&buf[0])))
	if old != 0 && oldSize != 0 {
		n := oldSize
		if n > newSize {
			n = newSize
		}
		copy(bytesAt(p, n), bytesAt(old, n))
	}
	allocated += uint64(newSize)
	return p
}

// release ends what an export call pinned.
func release() {
	clear(pinned)
	pinned = pinned[:0]
	clear(retKeep)
	retKeep = retKeep[:0]
}

// GC policy: automatic GC is off; a collection runs at the start of an
// export body when the heap grew since the last one by more than the live
// heap then (GOGC=100), and at least gcMin bytes.
//
// Reading the allocation counter (runtime/metrics) costs 1 to 2 µs in a
// guest, so it is read only as often as the allocation rate needs: every
// gcInterval calls, an interval set at each read from the bytes allocated
// per call recently (so that about gcMin/4 is allocated between
// reads; 1 to 64 calls), and at once when the linear memory grew since
// the last read or cabi_realloc brought gcMin bytes in. An echo reads it
// every 64 calls; an actor whose messages each leave megabytes of garbage
// reads it every call (read only every 16 calls, messages of 16 MiB of
// garbage each trapped a 128 MiB instance at the seventh; read only when
// memory grew, the heap filled all the memory before every collection and
// grew by a message each time: TestGoActorLoadGarbageHeavyMessages).
const (
	gcMin         = 4 << 20
	gcMaxInterval = 64
)

var (
	gcSamples   [2]metrics.Sample
	gcCalls     uint32
	gcInterval  uint32 = 1
	gcPages     uint32 // linear memory size (64 KiB pages) at the last read
	gcLastRead  uint64 // allocation counter at the last read
	gcRate      uint64 // bytes allocated per call, as last estimated
	gcLastAlloc uint64 // allocation counter after the last collection
	gcLive      uint64
)

// memoryPages is the linear memory's size in 64 KiB pages (memory.size;
// mem_wasm.s).
func memoryPages() uint32

// allocated counts the bytes cabi_realloc put on the Go heap since the
// last read of the counters.
var allocated uint64

func maybeGC() {
	gcCalls++
	pages := memoryPages()
	if pages <= gcPages && gcCalls < gcInterval && allocated < gcMin {
		return
	}
	calls := uint64(gcCalls)
	gcCalls, gcPages, allocated = 0, pages, 0
	metrics.Read(gcSamples[:1])
	total := gcSamples[0].Value.Uint64()
	// The rate remembered halves at each read unless the calls since the
	// last one allocated more: one quiet call between heavy ones does not
	// lengthen the interval at once.
	gcRate = max((total-gcLastRead)/calls, gcRate/2)
	gcLastRead = total
	gcInterval = gcMaxInterval
	if gcRate > 0 && gcRate*gcMaxInterval > gcMin/4 {
		gcInterval = uint32(max(1, gcMin/4/gcRate))
	}
	grown := total - gcLastAlloc
	if grown < gcMin || grown < gcLive {
		return
	}
	Collect()
}

// Collect runs a garbage collection now (automatic collection is off in a
// guest; the glue collects between messages).
func Collect() {
	runtime.GC()
	metrics.Read(gcSamples[:])
	gcLastAlloc = gcSamples[0].Value.Uint64()
	gcLive = gcSamples[1].Value.Uint64()
	gcLastRead = gcLastAlloc
	gcPages = memoryPages()
}

// --- raw memory --------------------------------------------------------------

// ptrAt turns a linear-memory address into a pointer (unsafe.Add, not a
// uintptr conversion: the address comes from the host).
func ptrAt(p uint32) unsafe.Pointer { return unsafe.Add(unsafe.Pointer(nil), uintptr(p)) }

func bytesAt(p, n uint32) []byte {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(ptrAt(p)), n)
}

// stringAt is the string at p, n without a copy: the memory is on the Go
// heap (from cabi_realloc), and the string keeps it alive.
func stringAt(p, n uint32) string {
	if n == 0 {
		return ""
	}
	return unsafe.String((*byte)(ptrAt(p)), n)
}

func addr[T any](p *T) uint32 { return uint32(uintptr(unsafe.Pointer(p))) }

func strPtr(s string) uint32 {
	if len(s) == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(unsafe.StringData(s))))
}

func slicePtr(b []byte) uint32 {
	if len(b) == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
}

// The return area of imports: 64 bytes, 8-aligned. Read before the next
// import call.
var iret [8]uint64

func iretPtr() uint32 { return addr(&iret) }

func iretU8(off uintptr) uint8 { return *(*uint8)(unsafe.Add(unsafe.Pointer(&iret), off)) }
func iretU16(off uintptr) uint16 {
	return *(*uint16)(unsafe.Add(unsafe.Pointer(&iret), off))
}
func iretU32(off uintptr) uint32 {
	return *(*uint32)(unsafe.Add(unsafe.Pointer(&iret), off))
}
func iretU64(off uintptr) uint64 {
	return *(*uint64)(unsafe.Add(unsafe.Pointer(&iret), off))
}
func iretString(off uintptr) string { return stringAt(iretU32(off), iretU32(off+4)) }

// kvList lowers headers or config to list<tuple<string, string>>; the
// result must be kept alive (with the strings) across the call.
func kvList(h []Header) ([]uint32, uint32) {
	if len(h) == 0 {
		return nil, 0
	}
	l := make([]uint32, 4*len(h))
	for i, kv := range h {
		l[4*i] = strPtr(kv.Name)
		l[4*i+1] = uint32(len(kv.Name))
		l[4*i+2] = strPtr(kv.Value)
		l[4*i+3] = uint32(len(kv.Value))
	}
	return l, addr(&l[0])
}

// liftKV reads a list<tuple<string, string>> at p (n elements).
func liftKV(p, n uint32) []Header {
	if n == 0 {
		return nil
	}
	e := unsafe.Slice((*uint32)(ptrAt(p)), 4*n)
	h := make([]Header, n)
	for i := range h {
		h[i] = Header{stringAt(e[4*i], e[4*i+1]), stringAt(e[4*i+2], e[4*i+3])}
	}
	return h
}
