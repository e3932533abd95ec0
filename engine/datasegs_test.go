package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/airsstack/airssys-wasm-go/internal/wt"
)

// ---- a tiny module builder ---------------------------------------------------

func vecBytes(b []byte) []byte { return append(binary.AppendUvarint(nil, uint64(len(b))), b...) }

func name(s string) []byte { return vecBytes([]byte(s)) }

func sec(id byte, body []byte) []byte { return append([]byte{id}, vecBytes(body)...) }

// testSeg is one data segment: active at off (memory 0, i32.const), or
// passive.
type testSeg struct {
	passive bool
	off     int32
	data    []byte
}

type testModule struct {
	importMemory bool   // import memory 0 instead of defining it
	memFlags     byte   // flags of the defined memory (0, or 1 with a maximum)
	offsetExpr   []byte // replaces "i32.const off" when set
	segs         []testSeg
	initIndex    uint32 // the segment "init" and "drop" use
}

// build makes a module with one page of memory (exported), the data
// segments, a data count section and three functions: load(addr) -> i32
// (one byte), init(dst, src, n) (memory.init of initIndex) and drop()
// (data.drop of initIndex).
func (m testModule) build() []byte {
	out := []byte("\x00asm\x01\x00\x00\x00")
	out = append(out, sec(1, []byte{3,
		0x60, 1, 0x7f, 1, 0x7f, // (i32) -> i32
		0x60, 3, 0x7f, 0x7f, 0x7f, 0, // (i32 i32 i32) -> ()
		0x60, 0, 0, // () -> ()
	})...)
	if m.importMemory {
		imp := []byte{1}
		imp = append(imp, name("env")...)
		imp = append(imp, name("memory")...)
		imp = append(imp, 2, 0, 1) // memory, min 1
		out = append(out, sec(2, imp)...)
	}
	out = append(out, sec(3, []byte{3, 0, 1, 2})...)
	if !m.importMemory {
		mem := []byte{1, m.memFlags, 1}
		if m.memFlags&1 != 0 {
			mem = append(mem, 1)
		}
		out = append(out, sec(5, mem)...)
	}
	exp := []byte{4}
	for i, n := range []string{"load", "init", "drop"} {
		exp = append(exp, name(n)...)
		exp = append(exp, 0, byte(i))
	}
	exp = append(exp, name("memory")...)
	exp = append(exp, 2, 0)
	out = append(out, sec(7, exp)...)
	out = append(out, sec(12, binary.AppendUvarint(nil, uint64(len(m.segs))))...)
	idx := binary.AppendUvarint(nil, uint64(m.initIndex))
	fns := [][]byte{
		{0, 0x20, 0, 0x2d, 0, 0, 0x0b}, // local.get 0; i32.load8_u; end
		append(append([]byte{0, 0x20, 0, 0x20, 1, 0x20, 2, 0xfc, 8}, idx...), 0, 0x0b), // memory.init idx 0
		append(append([]byte{0, 0xfc, 9}, idx...), 0x0b),                               // data.drop idx
	}
	code := []byte{byte(len(fns))}
	for _, f := range fns {
		code = append(code, vecBytes(f)...)
	}
	out = append(out, sec(10, code)...)
	data := binary.AppendUvarint(nil, uint64(len(m.segs)))
	for _, s := range m.segs {
		if s.passive {
			data = append(data, 1)
		} else {
			data = append(data, 0)
			if m.offsetExpr != nil {
				data = append(data, m.offsetExpr...)
			} else {
				data = append(data, 0x41)
				data = appendSLEB32(data, s.off)
				data = append(data, 0x0b)
			}
		}
		data = append(data, vecBytes(s.data)...)
	}
	return append(out, sec(11, data)...)
}

// scattered makes n active segments of 1..40 non-zero bytes spread over
// the first page with gaps of 0..30 bytes or, one in 50, 4000..6000 bytes
// (some longer than a page, so
// there is more than one run), listed in shuffled order, with a few
// passive segments among them.
func scattered(r *rand.Rand, n int) []testSeg {
	var segs []testSeg
	off := int32(r.IntN(100))
	for len(segs) < n {
		l := 1 + r.IntN(40)
		if int(off)+l > 65536 {
			break
		}
		d := make([]byte, l)
		for i := range d {
			d[i] = byte(1 + r.IntN(255))
		}
		segs = append(segs, testSeg{off: off, data: d})
		gap := r.IntN(31)
		if r.IntN(50) == 0 {
			gap = 4000 + r.IntN(2000)
		}
		off += int32(l + gap)
	}
	r.Shuffle(len(segs), func(i, j int) { segs[i], segs[j] = segs[j], segs[i] })
	for k := 0; k < 5; k++ {
		at := r.IntN(len(segs))
		segs = append(segs[:at], append([]testSeg{{passive: true, data: []byte{9, 8, 7}}}, segs[at:]...)...)
	}
	return segs
}

// activeSegments counts the non-empty active segments of every core module.
func activeSegments(t *testing.T, bin []byte) int {
	t.Helper()
	n := 0
	for _, s := range segmentsOf(t, bin) {
		if s.flag == 0 && s.len > 0 {
			n++
		}
	}
	return n
}

type segInfo struct {
	flag uint64
	len  uint64
}

// segmentsOf lists the data segments of every core module in bin.
func segmentsOf(t *testing.T, bin []byte) []segInfo {
	t.Helper()
	var segs []segInfo
	var walk func(bin []byte)
	walk = func(bin []byte) {
		secs, ok := sections(bin)
		if !ok {
			t.Fatal("unreadable binary")
		}
		module := string(bin[4:8]) == "\x01\x00\x00\x00"
		for _, s := range secs {
			switch {
			case !module && (s.id == 1 || s.id == 4):
				walk(s.body)
			case module && s.id == 11:
				count, i, _ := uleb(s.body, 0, 32)
				for k := uint64(0); k < count; k++ {
					flag, j, _ := uleb(s.body, i, 32)
					if flag == 0 {
						for s.body[j] != 0x0b {
							j++
						}
						j++
					}
					l, j2, _ := uleb(s.body, j, 32)
					segs = append(segs, segInfo{flag, l})
					i = j2 + int(l)
				}
			}
		}
	}
	walk(bin)
	return segs
}

func testEngine(t *testing.T) *Engine {
	t.Helper()
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// compileExact compiles bin itself (Compile would merge, and fall back to
// the original bytes on an error).
func compileExact(t *testing.T, e *Engine, bin []byte) *Component {
	t.Helper()
	kind, err := DetectKind(bin)
	if err != nil {
		t.Fatal(err)
	}
	c := &Component{eng: e, kind: kind}
	c.refs.Store(1)
	if kind == KindComponent {
		c.comp, err = wt.CompileComponent(e.wt, bin)
	} else {
		c.mod, err = wt.CompileModule(e.wt, bin)
	}
	if err != nil {
		t.Fatalf("Wasmtime refuses the bytes: %v", err)
	}
	c, err = c.finish()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestMergedDataSegmentsSameMemory: a module with 300 scattered segments
// and its merged version start with the same bytes in every address of
// their memory, and memory.init and data.drop of a segment that was merged
// away behave as before (an active segment is dropped once instantiated).
func TestMergedDataSegmentsSameMemory(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	m := testModule{segs: scattered(r, 300)}
	for i, s := range m.segs {
		if !s.passive && i > 0 {
			m.initIndex = uint32(i) // some active segment, most likely merged away
		}
	}
	orig := m.build()
	merged, ok := mergeDataSegments(orig)
	if !ok {
		t.Fatal("nothing merged")
	}
	before, after := activeSegments(t, orig), activeSegments(t, merged)
	if after >= before-mergeMinSaved || after < 2 {
		t.Fatalf("active segments %d -> %d; want a few runs (the long gaps are kept)", before, after)
	}
	if s := segmentsOf(t, merged)[m.initIndex]; s != (segInfo{1, 0}) {
		t.Fatalf("segment %d is %+v, not merged away", m.initIndex, s)
	}
	if again, changed := mergeDataSegments(merged); changed || !bytes.Equal(again, merged) {
		t.Fatal("merging twice changed the module again")
	}
	e := testEngine(t)
	ctx := context.Background()
	var insts [2]*Instance
	for k, bin := range [][]byte{orig, merged} {
		i, err := compileExact(t, e, bin).Instantiate(ctx, InstanceConfig{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { i.Close() })
		insts[k] = i
	}
	for addr := int32(0); addr < 65536; addr++ {
		a, err1 := insts[0].Call(ctx, "load", addr)
		b, err2 := insts[1].Call(ctx, "load", addr)
		if err1 != nil || err2 != nil || a != b {
			t.Fatalf("byte %d: %v %v, merged %v %v", addr, a, err1, b, err2)
		}
	}
	for k, i := range insts {
		if _, err := i.Call(ctx, "init", int32(0), int32(0), int32(0)); err != nil {
			t.Fatalf("module %d: memory.init of nothing: %v", k, err)
		}
		if _, err := i.Call(ctx, "init", int32(0), int32(0), int32(1)); err == nil {
			t.Fatalf("module %d: memory.init of a byte of a dropped segment did not trap", k)
		}
	}
	for k, bin := range [][]byte{orig, merged} { // data.drop, then memory.init of nothing
		i, err := compileExact(t, e, bin).Instantiate(ctx, InstanceConfig{})
		if err != nil {
			t.Fatal(err)
		}
		defer i.Close()
		if _, err := i.Call(ctx, "drop"); err != nil {
			t.Fatalf("module %d: data.drop: %v", k, err)
		}
		if _, err := i.Call(ctx, "init", int32(0), int32(0), int32(0)); err != nil {
			t.Fatalf("module %d: memory.init after data.drop: %v", k, err)
		}
	}
}

// TestMergedDataSegmentsStillTrap: a segment past the end of the memory
// makes instantiation fail, merged or not.
func TestMergedDataSegmentsStillTrap(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	m := testModule{segs: scattered(r, 200)}
	m.segs = append(m.segs, testSeg{off: 65530, data: []byte{1, 2, 3, 4, 5, 6, 7, 8}}) // 2 bytes too far
	orig := m.build()
	merged, ok := mergeDataSegments(orig)
	if !ok {
		t.Fatal("nothing merged")
	}
	e := testEngine(t)
	for k, bin := range [][]byte{orig, merged} {
		if i, err := compileExact(t, e, bin).Instantiate(context.Background(), InstanceConfig{}); err == nil {
			i.Close()
			t.Fatalf("module %d instantiated with a segment out of bounds", k)
		}
	}
}

// TestMergeDataSegmentsLeavesAlone: what the merge must not touch.
func TestMergeDataSegmentsLeavesAlone(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	base := func() testModule { return testModule{segs: scattered(r, 200)} }
	if _, changed := mergeDataSegments(base().build()); !changed {
		t.Fatal("the base module is not merged")
	}
	cases := map[string]testModule{}
	m := base()
	m.importMemory = true // others see this memory
	cases["imported memory"] = m
	m = base()
	m.memFlags = 3 // shared (with a maximum)
	cases["shared memory"] = m
	m = base()
	m.offsetExpr = []byte{0x23, 0, 0x0b} // global.get 0
	cases["offset not a constant"] = m
	m = base()
	m.segs = m.segs[:40]
	cases["too few segments"] = m
	m = base()
	for i := range m.segs {
		if !m.segs[i].passive {
			m.segs = append(m.segs, testSeg{off: m.segs[i].off, data: []byte{1}}) // overlaps
			break
		}
	}
	cases["overlapping segments"] = m
	for name, m := range cases {
		bin := m.build()
		if out, changed := mergeDataSegments(bin); changed || !bytes.Equal(out, bin) {
			t.Errorf("%s: merged", name)
		}
	}
	for _, bin := range [][]byte{nil, []byte("\x00asm"), []byte("\x00asm\x01\x00\x00\x00\x0b\xff"),
		[]byte("\x00asm\x0d\x00\x01\x00\x01\x05\x00asm\x01")} {
		if out, changed := mergeDataSegments(bin); changed || !bytes.Equal(out, bin) {
			t.Errorf("%q: changed", bin)
		}
	}
}

// TestMergeDataSegmentsGoActor: the Go echo actor (Go's linker writes one
// segment per run of non-zero bytes) compiles merged to a few segments and
// Compile uses the merged bytes.
func TestMergeDataSegmentsGoActor(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the Go echo actor (seconds)")
	}
	bin, err := os.ReadFile("../testdata/goactor_echo.wasm")
	if err != nil {
		t.Fatal(err)
	}
	merged, ok := mergeDataSegments(bin)
	if !ok {
		t.Fatal("nothing merged")
	}
	before, after := activeSegments(t, bin), activeSegments(t, merged)
	if before < 10_000 || after > 100 {
		t.Fatalf("active segments %d -> %d", before, after)
	}
	if len(merged) > 2*len(bin) {
		t.Fatalf("%d bytes merged, %d before", len(merged), len(bin))
	}
	compileExact(t, testEngine(t), merged)
}

// FuzzMergeDataSegments: merging never panics; what it returns is readable,
// merged already, and compiles exactly when the input does.
func FuzzMergeDataSegments(f *testing.F) {
	r := rand.New(rand.NewPCG(7, 8))
	f.Add(testModule{segs: scattered(r, 100)}.build())
	f.Add(testModule{segs: scattered(r, 100), memFlags: 1}.build())
	f.Add(testModule{segs: scattered(r, 10)}.build())
	for _, name := range []string{"minimal.wasm", "core_minimal.wasm", "core_multimem.wasm", "nest.wasm"} {
		if b, err := os.ReadFile("../testdata/" + name); err == nil {
			f.Add(b)
		}
	}
	e, err := New(Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { e.Close() })
	f.Fuzz(func(t *testing.T, bin []byte) {
		out, changed := mergeDataSegments(bin)
		if !changed {
			if !bytes.Equal(out, bin) {
				t.Fatal("unchanged, but other bytes")
			}
			return
		}
		if _, again := mergeDataSegments(out); again {
			t.Fatal("merging twice changed the module again")
		}
		kind, err := DetectKind(bin)
		if err != nil {
			t.Fatal("merged something that is not WebAssembly")
		}
		valid := func(b []byte) bool {
			if kind == KindComponent {
				c, err := wt.CompileComponent(e.wt, b)
				if err == nil {
					c.Delete()
				}
				return err == nil
			}
			m, err := wt.CompileModule(e.wt, b)
			if err == nil {
				m.Delete()
			}
			return err == nil
		}
		if v1, v2 := valid(bin), valid(out); v1 != v2 {
			t.Fatalf("input compiles: %t, merged: %t", v1, v2)
		}
	})
}
