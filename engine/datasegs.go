package engine

// Merging of data segments before compilation.
//
// Wasmtime initialises a linear memory made by the engine's own memory
// creator (every engine but Config.Pooling, whose copy-on-write images need
// Wasmtime's memories) by copying each active data segment into it, at a
// fixed cost per segment besides the bytes. Go's linker emits one segment
// per run of non-zero bytes: about 32,000 for a small Go actor, which cost
// more than a millisecond at every instantiation for 0.8 MB of data.
// mergeDataSegments joins the segments of such a module into a few, the
// zeros between them written out, where nothing a guest can observe
// changes:
//
//   - the module defines its memory 0 (no imported memory, so nobody else
//     sees it before instantiation has finished or failed); it is not
//     shared, not 64-bit, and has the default page size;
//   - every active segment is (memory 0, i32.const offset) and no two
//     overlap, so the order of the writes does not matter, the memory is
//     all zeros where the gaps are, and a merged segment is out of bounds
//     exactly when one of its segments is (instantiation traps either way);
//   - a gap is merged only when shorter than a page, so no page is written
//     that was not written before (resident memory is the same), and the
//     zeros written out are at most as many as the data bytes;
//   - segment indices keep their meaning: a merged segment keeps the index
//     of its first segment, and the others become empty passive segments
//     (after instantiation an active segment is dropped, which memory.init
//     and data.drop cannot tell from an empty passive one), so the segment
//     count, the data count section and the names stay right.
//
// Modules with fewer than mergeMinSaved segments to save are left alone,
// and anything the reader does not understand leaves the module as it is.
// Compile falls back to the original bytes if Wasmtime refuses the merged
// ones.

import (
	"encoding/binary"
	"math"
	"slices"
)

const (
	mergeMinSaved = 64   // segments saved, or the module is left alone
	mergeMaxGap   = 4095 // bytes of zeros written out to join two segments
)

// mergeDataSegments returns wasm (a component or a core module) with the
// data segments of its core modules merged, and whether anything changed.
func mergeDataSegments(wasm []byte) ([]byte, bool) {
	out, changed, ok := mergeIn(wasm, 0)
	if !ok || !changed {
		return wasm, false
	}
	return out, true
}

// mergeIn rewrites one binary; ok is false when it cannot be read.
func mergeIn(bin []byte, depth int) (out []byte, changed, ok bool) {
	if len(bin) < 8 || string(bin[:4]) != "\x00asm" || depth > 100 {
		return nil, false, false
	}
	switch {
	case string(bin[4:8]) == "\x01\x00\x00\x00":
		return mergeModule(bin)
	case bin[6] == 1 && bin[7] == 0: // a component
		secs, ok := sections(bin)
		if !ok {
			return nil, false, false
		}
		for i, s := range secs {
			if s.id != 1 && s.id != 4 { // core module, nested component
				continue
			}
			nb, ch, ok := mergeIn(s.body, depth+1)
			if ok && ch {
				secs[i].body, changed = nb, true
			}
		}
		if !changed {
			return nil, false, true
		}
		return assemble(bin[:8], secs), true, true
	}
	return nil, false, false
}

type section struct {
	id   byte
	body []byte
}

// sections splits a binary after its 8-byte header.
func sections(bin []byte) ([]section, bool) {
	var secs []section
	for i := 8; i < len(bin); {
		id := bin[i]
		n, j, ok := uleb(bin, i+1, 32)
		if !ok || n > uint64(len(bin)-j) {
			return nil, false
		}
		secs = append(secs, section{id, bin[j : j+int(n)]})
		i = j + int(n)
	}
	return secs, true
}

func assemble(header []byte, secs []section) []byte {
	n := len(header)
	for _, s := range secs {
		n += 1 + binary.MaxVarintLen32 + len(s.body)
	}
	out := make([]byte, 0, n)
	out = append(out, header...)
	for _, s := range secs {
		out = append(out, s.id)
		out = binary.AppendUvarint(out, uint64(len(s.body)))
		out = append(out, s.body...)
	}
	return out
}

func mergeModule(bin []byte) (out []byte, changed, ok bool) {
	secs, ok := sections(bin)
	if !ok {
		return nil, false, false
	}
	data := -1
	memOK := false
	for i, s := range secs {
		switch s.id {
		case 2:
			if importsMemory(s.body) {
				return nil, false, true
			}
		case 5:
			memOK = plainMemory0(s.body)
		case 11:
			data = i
		}
	}
	if data < 0 || !memOK {
		return nil, false, true
	}
	nb, ch := mergeDataSection(secs[data].body)
	if !ch {
		return nil, false, true
	}
	secs[data].body = nb
	return assemble(bin[:8], secs), true, true
}

// importsMemory reports whether an import section imports a memory, or
// cannot be read (which counts as yes).
func importsMemory(b []byte) bool {
	n, i, ok := uleb(b, 0, 32)
	if !ok {
		return true
	}
	for k := uint64(0); k < n; k++ {
		for range 2 { // module and field names
			var l uint64
			if l, i, ok = uleb(b, i, 32); !ok || l > uint64(len(b)-i) {
				return true
			}
			i += int(l)
		}
		if i >= len(b) {
			return true
		}
		kind := b[i]
		i++
		switch kind {
		case 0: // func: type index
			_, i, ok = uleb(b, i, 32)
		case 1: // table: reference type, limits
			if i, ok = refType(b, i); ok {
				i, ok = limits(b, i)
			}
		case 3: // global: value type, mutability
			if i, ok = valType(b, i); ok && i < len(b) {
				i++
			} else {
				ok = false
			}
		case 4: // tag: attribute, type index
			if i < len(b) && b[i] == 0 {
				_, i, ok = uleb(b, i+1, 32)
			} else {
				ok = false
			}
		default: // 2, a memory; or something this reader does not know
			return true
		}
		if !ok {
			return true
		}
	}
	return i != len(b)
}

// refType skips a reference type: a one-byte shorthand, or (ref null? ht).
func refType(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	switch c := b[i]; {
	case c == 0x63 || c == 0x64:
		_, j, ok := sleb(b, i+1, 33) // heap type
		return j, ok
	case c >= 0x69 && c <= 0x74:
		return i + 1, true
	}
	return i, false
}

// valType skips a value type.
func valType(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	if c := b[i]; c >= 0x7b && c <= 0x7f { // v128, f64, f32, i64, i32
		return i + 1, true
	}
	return refType(b, i)
}

// limits skips table or memory limits.
func limits(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	flags := b[i]
	if flags&^0x05 != 0 { // has-max and 64-bit only
		return i, false
	}
	j, ok := i+1, true
	bits := uint(32)
	if flags&4 != 0 {
		bits = 64
	}
	if _, j, ok = uleb(b, j, bits); ok && flags&1 != 0 {
		_, j, ok = uleb(b, j, bits)
	}
	return j, ok
}

// plainMemory0 reports whether a memory section's first memory is a plain
// 32-bit, unshared memory with 64 KiB pages.
func plainMemory0(b []byte) bool {
	n, i, ok := uleb(b, 0, 32)
	if !ok || n == 0 || i >= len(b) {
		return false
	}
	return b[i]&^0x01 == 0 // only the has-max flag
}

// mergeDataSection merges the segments of a data section; changed is false
// when it leaves the section alone.
func mergeDataSection(b []byte) (out []byte, changed bool) {
	type segment struct {
		index  int
		offset uint64
		data   []byte
		raw    []byte // the whole encoded segment, for passive ones
	}
	count, i, ok := uleb(b, 0, 32)
	if !ok || count > uint64(len(b)) {
		return nil, false
	}
	segs := make([]segment, 0, count)
	var active []int
	isActive := make([]bool, count)
	var dataBytes uint64
	for k := 0; k < int(count); k++ {
		start := i
		var flag uint64
		if flag, i, ok = uleb(b, i, 32); !ok {
			return nil, false
		}
		var s segment
		s.index = k
		switch flag {
		case 0: // active, memory 0: i32.const offset, end
			if i >= len(b) || b[i] != 0x41 {
				return nil, false
			}
			var off int64
			if off, i, ok = sleb(b, i+1, 32); !ok || i >= len(b) || b[i] != 0x0b {
				return nil, false
			}
			i++
			s.offset = uint64(uint32(int32(off)))
			active = append(active, k)
			isActive[k] = true
		case 1: // passive
		default: // an explicit memory index, or unknown
			return nil, false
		}
		var n uint64
		if n, i, ok = uleb(b, i, 32); !ok || n > uint64(len(b)-i) {
			return nil, false
		}
		s.data = b[i : i+int(n)]
		i += int(n)
		s.raw = b[start:i]
		if flag == 0 {
			if s.offset+n > math.MaxUint32+1 {
				return nil, false // out of bounds whatever the memory: leave the trap as it is
			}
			dataBytes += n
		}
		segs = append(segs, s)
	}
	if i != len(b) || len(active) < mergeMinSaved {
		return nil, false
	}
	order := slices.Clone(active)
	slices.SortStableFunc(order, func(x, y int) int {
		switch a, b := segs[x].offset, segs[y].offset; {
		case a < b:
			return -1
		case a > b:
			return 1
		}
		return 0
	})
	for k := 1; k < len(order); k++ {
		p, q := segs[order[k-1]], segs[order[k]]
		if p.offset+uint64(len(p.data)) > q.offset {
			return nil, false // overlapping segments: the order of writes matters
		}
	}
	// Runs of segments, in memory order; each is written as one segment at
	// the smallest index among its members.
	type run struct {
		index   int
		offset  uint64
		members []int
		end     uint64
	}
	var runs []run
	budget := dataBytes
	for _, k := range order {
		s := segs[k]
		if len(runs) > 0 {
			r := &runs[len(runs)-1]
			if gap := s.offset - r.end; gap <= mergeMaxGap && gap <= budget {
				budget -= gap
				r.members = append(r.members, k)
				r.index = min(r.index, k)
				r.end = s.offset + uint64(len(s.data))
				continue
			}
		}
		runs = append(runs, run{index: k, offset: s.offset, members: []int{k}, end: s.offset + uint64(len(s.data))})
	}
	if len(active)-len(runs) < mergeMinSaved {
		return nil, false
	}
	head := make(map[int]*run, len(runs))
	for r := range runs {
		head[runs[r].index] = &runs[r]
	}
	out = make([]byte, 0, len(b)+int(dataBytes-budget))
	out = binary.AppendUvarint(out, count)
	for k, s := range segs {
		r, isHead := head[k]
		switch {
		case isHead:
			out = append(out, 0, 0x41)
			out = appendSLEB32(out, int32(uint32(r.offset)))
			out = append(out, 0x0b)
			out = binary.AppendUvarint(out, r.end-r.offset)
			at := len(out)
			out = append(out, make([]byte, r.end-r.offset)...)
			for _, m := range r.members {
				copy(out[at+int(segs[m].offset-r.offset):], segs[m].data)
			}
		case isActive[k]:
			out = append(out, 1, 0) // merged away: an empty passive segment
		default:
			out = append(out, s.raw...)
		}
	}
	return out, true
}

// uleb reads an unsigned LEB128 number of at most bits bits, as strictly
// as the format: at most ceil(bits/7) bytes, no bits beyond bits.
func uleb(b []byte, i int, bits uint) (uint64, int, bool) {
	var v uint64
	for shift := uint(0); shift < (bits+6)/7*7; shift += 7 {
		if i >= len(b) {
			return 0, i, false
		}
		c := b[i]
		i++
		if bits == 64 && shift == 63 && c > 1 {
			return 0, i, false
		}
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			if bits < 64 && v>>bits != 0 {
				return 0, i, false
			}
			return v, i, true
		}
	}
	return 0, i, false
}

// sleb reads a signed LEB128 number of at most bits bits, as strictly as
// the format: at most ceil(bits/7) bytes, the unused bits a sign extension.
func sleb(b []byte, i int, bits uint) (int64, int, bool) {
	var v int64
	for shift := uint(0); shift < (bits+6)/7*7; shift += 7 {
		if i >= len(b) {
			return 0, i, false
		}
		c := b[i]
		i++
		v |= int64(c&0x7f) << shift
		if c < 0x80 {
			shift += 7
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			if bits < 64 && (v < -(1<<(bits-1)) || v >= 1<<(bits-1)) {
				return 0, i, false
			}
			return v, i, true
		}
	}
	return 0, i, false
}

func appendSLEB32(out []byte, v int32) []byte {
	x := int64(v)
	for {
		c := byte(x & 0x7f)
		x >>= 7
		if (x == 0 && c&0x40 == 0) || (x == -1 && c&0x40 != 0) {
			return append(out, c)
		}
		out = append(out, c|0x80)
	}
}
