package engine_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/wit"
)

// rssBytes reads the resident set size of this process (Linux).
func rssBytes(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skip("no /proc/self/statm")
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// TestNoLeaksAcrossManyInstances exercises every C allocation path (stores,
// WASI configs, argument arenas, results with strings and lists, host
// function results, resources, traps) thousands of times and checks that
// resident memory levels off: a leak of even a few hundred bytes per round
// shows up as tens of megabytes.
func TestNoLeaksAcrossManyInstances(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("long; the race detector's shadow memory would drown the signal")
	}
	var calls int
	host := identityHost(&calls)
	types := load(t, "types.wasm")
	misbehave := load(t, "misbehave.wasm")
	minimal := load(t, "minimal.wasm")
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
	for n := 0; n < 200; n++ {
		round()
	}
	for n := 0; n < 20; n++ {
		jsRound()
	}
	before := rssBytes(t)
	for n := 0; n < 2000; n++ {
		round()
	}
	for n := 0; n < 100; n++ {
		jsRound()
	}
	after := rssBytes(t)
	if grew := after - before; grew > 48<<20 {
		t.Fatalf("resident memory grew by %d MiB over 2000 rounds", grew>>20)
	}
	t.Logf("RSS %d MiB -> %d MiB", before>>20, after>>20)
}
