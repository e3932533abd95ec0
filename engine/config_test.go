package engine_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/engine"
)

func TestPoolingAllocator(t *testing.T) {
	_, c := compileOn(t, engine.Config{Pooling: true, PoolInstances: 8, PoolMaxMemory: 8 << 20}, "misbehave.wasm")
	// The pool is reused: far more instances over time than slots.
	for n := 0; n < 50; n++ {
		i, err := c.Instantiate(context.Background(), engine.InstanceConfig{})
		if err != nil {
			t.Fatalf("instance %d: %v", n, err)
		}
		if v := call(t, i, "ok"); v != uint32(7) {
			t.Fatalf("ok = %v", v)
		}
		i.Close()
	}
	// More live instances than slots is an error, not a crash.
	var live []*engine.Instance
	defer func() {
		for _, i := range live {
			i.Close()
		}
	}()
	for n := 0; n < 9; n++ {
		i, err := c.Instantiate(context.Background(), engine.InstanceConfig{})
		if err != nil {
			if n < 8 {
				t.Fatalf("slot %d refused: %v", n, err)
			}
			return
		}
		live = append(live, i)
	}
	t.Fatal("a 9th live instance fit in a pool of 8")
}

func TestPoolingMemoryCap(t *testing.T) {
	_, c := compileOn(t, engine.Config{Pooling: true, PoolInstances: 2, PoolMaxMemory: 8 << 20}, "core_grow.wasm")
	i, err := c.Instantiate(context.Background(), engine.InstanceConfig{MemoryLimit: 2 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer i.Close()
	// With pooling, Wasmtime's store limiter enforces the limit (the pool
	// would allow 8 MiB): growing from 1 MiB to 2 MiB works, one page more
	// is refused.
	for _, tc := range []struct{ pages, want int32 }{{16, 16}, {1, -1}} {
		if v, err := i.Call(context.Background(), "grow", tc.pages); err != nil || v != tc.want {
			t.Fatalf("grow(%d) = %v, %v; want %d", tc.pages, v, err, tc.want)
		}
	}
}

func TestEpochsDisabled(t *testing.T) {
	_, c := compileOn(t, engine.Config{DisableEpochInterruption: true}, "misbehave.wasm")
	if _, err := c.Instantiate(context.Background(), engine.InstanceConfig{Timeout: time.Second}); err == nil {
		t.Fatal("a timeout without epochs was accepted")
	}
	i, err := c.Instantiate(context.Background(), engine.InstanceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer i.Close()
	if v := call(t, i, "count", uint32(10)); v != uint32(820959397) {
		t.Fatalf("count(10) = %v", v)
	}
}

func TestFuelNeedsConsumeFuel(t *testing.T) {
	_, c := compileOn(t, engine.Config{}, "minimal.wasm")
	if _, err := c.Instantiate(context.Background(), engine.InstanceConfig{Fuel: 10}); err == nil {
		t.Fatal("Fuel without ConsumeFuel was accepted")
	}
	if _, err := c.Instantiate(context.Background(), engine.InstanceConfig{MemoryLimit: -1}); err == nil {
		t.Fatal("negative MemoryLimit was accepted")
	}
}

func TestMemoryReservationSettings(t *testing.T) {
	// A small reservation (dynamic memories) and guard still run guests and
	// enforce the limit through our memory creator.
	_, c := compileOn(t, engine.Config{MemoryReservation: 1 << 20, MemoryGuard: 64 << 10, MaxWasmStack: 256 << 10}, "misbehave.wasm")
	i, err := c.Instantiate(context.Background(), engine.InstanceConfig{MemoryLimit: 2 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer i.Close()
	_, err = i.Call(context.Background(), "grow")
	var trap *engine.Trap
	if !errors.As(err, &trap) || trap.Kind != engine.TrapOutOfMemory {
		t.Fatalf("grow: %v", err)
	}
	i2, _ := c.Instantiate(context.Background(), engine.InstanceConfig{})
	defer i2.Close()
	if _, err := i2.Call(context.Background(), "recurse", uint32(1)); !errors.As(err, &trap) ||
		trap.Kind != engine.TrapStackOverflow {
		t.Fatalf("recurse: %v", err)
	}
}
