package engine_test

import (
	"context"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/internal/wt"
	"github.com/airsstack/airssys-wasm-go/wit"
)

// TestNoLeaksAcrossManyInstances exercises every C allocation path (stores,
// WASI configs, argument arenas, results with strings and lists, host
// function results, resources, traps, captured output) thousands of times
// and checks that the C and Go heaps level off: a leak of a few hundred
// bytes per round shows up as megabytes.
func TestNoLeaksAcrossManyInstances(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("long; the race detector's shadow memory would drown the signal")
	}
	var calls int
	host := identityHost(&calls)
	types := load(t, "types.wasm")
	misbehave := load(t, "misbehave.wasm")
	minimal := load(t, "minimal.wasm")
	wasi := load(t, "wasi.wasm")
	ctx := context.Background()
	big := strings.Repeat("x", 16<<10)
	person := wit.Record{{Name: "name", Value: big}, {Name: "age", Value: uint8(1)},
		{Name: "tags", Value: []any{"a", "b", big}}, {Name: "home", Value: wit.Some(point)}}
	round := func() {
		i, err := minimal.Instantiate(ctx, engine.InstanceConfig{WASI: engine.WASI{Args: []string{"a"},
			Env: map[string]string{"K": "V"}}})
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n < 20; n++ {
			if v, err := i.Call(ctx, "echo-string", big); err != nil || v != big {
				t.Fatal("echo-string", err)
			}
		}
		i.Close()
		m, err := misbehave.Instantiate(ctx, engine.InstanceConfig{MemoryLimit: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		m.Call(ctx, "trap")
		m.Close()
		w, err := wasi.Instantiate(ctx, engine.InstanceConfig{WASI: engine.WASI{Stdout: io.Discard,
			Stderr: io.Discard}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Call(ctx, "airssys:test/wasi-probe@0.1.0#hello"); err != nil {
			t.Fatal(err)
		}
		w.Close()
	}
	jsRound := func() {
		i, err := types.Instantiate(ctx, engine.InstanceConfig{Host: host})
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n < 5; n++ {
			if _, err := i.Call(ctx, relayIface+"relay-person", person); err != nil {
				t.Fatal(err)
			}
			r, err := i.Call(ctx, "airssys:test/counters@0.1.0#make-counter", uint32(1))
			if err != nil {
				t.Fatal(err)
			}
			if n%2 == 0 {
				r.(*engine.Resource).Drop()
			}
		}
		i.Close()
	}
	// Warm up, then measure the C heap (malloc'd: Wasmtime's allocations
	// and ours) and the Go heap after a GC, twice: a leak of a few hundred
	// bytes per round shows as megabytes. (RSS moves by whole pages and
	// with the allocators' caches: it only catches leaks of tens of KiB.)
	for n := 0; n < 200; n++ {
		round()
	}
	for n := 0; n < 20; n++ {
		jsRound()
	}
	heaps := func() (c, g int64) {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return int64(wt.MallocInUse()), int64(ms.HeapInuse)
	}
	c0, g0 := heaps()
	rss0 := int64(vmRSS(t))
	const rounds, jsRounds = 2000, 100
	for n := 0; n < rounds; n++ {
		round()
	}
	for n := 0; n < jsRounds; n++ {
		jsRound()
	}
	c1, g1 := heaps()
	t.Logf("C heap %d KiB -> %d KiB, Go heap %d KiB -> %d KiB, RSS %d MiB -> %d MiB over %d rounds",
		c0>>10, c1>>10, g0>>10, g1>>10, rss0>>20, int64(vmRSS(t))>>20, rounds)
	if grew := c1 - c0; grew > 1<<20 {
		t.Fatalf("C heap grew by %d KiB over %d rounds (%d bytes a round)", grew>>10, rounds, grew/rounds)
	}
	if grew := g1 - g0; grew > 2<<20 {
		t.Fatalf("Go heap grew by %d KiB over %d rounds (%d bytes a round)", grew>>10, rounds, grew/rounds)
	}
}
