package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/internal/wt"
	"github.com/airsstack/airssys-wasm-go/wit"
)

const (
	blobIface = "airssys:test/host@0.1.0"
	userIface = "airssys:test/user@0.1.0#"
)

// blobs is the host side of hostres.wasm's blob resource: rep -> size.
type blobs struct {
	mu      sync.Mutex
	next    uint32
	live    map[uint32]uint32
	dropped []uint32
	taken   []engine.HostResource
	dropErr error
	rt      *engine.ResourceType
}

func (b *blobs) add(size uint32) engine.HostResource {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.next++
	b.live[b.next] = size
	return engine.HostResource{Type: b.rt, Rep: b.next}
}

func (b *blobs) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.live)
}

func blobHost() (*engine.Host, *blobs) {
	b := &blobs{live: map[uint32]uint32{}}
	h := engine.NewHost()
	b.rt = h.Resource(blobIface, "blob", func(ctx context.Context, rep uint32) error {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.dropErr != nil {
			return b.dropErr
		}
		if _, ok := b.live[rep]; !ok {
			return fmt.Errorf("unknown blob %d", rep)
		}
		delete(b.live, rep)
		b.dropped = append(b.dropped, rep)
		return nil
	})
	h.Func(blobIface, "[static]blob.make", func(ctx context.Context, args []any) (any, error) {
		return b.add(args[0].(uint32)), nil
	})
	h.Func(blobIface, "[method]blob.size", func(ctx context.Context, args []any) (any, error) {
		r, ok := args[0].(engine.HostResource)
		if !ok || r.Own || r.Type != b.rt {
			return nil, fmt.Errorf("self is %#v, want a borrowed blob", args[0])
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		size, ok := b.live[r.Rep]
		if !ok {
			return nil, fmt.Errorf("unknown blob %d", r.Rep)
		}
		return size, nil
	})
	h.Func(blobIface, "[static]blob.take", func(ctx context.Context, args []any) (any, error) {
		r := args[0].(engine.HostResource)
		b.mu.Lock()
		defer b.mu.Unlock()
		b.taken = append(b.taken, r)
		size := b.live[r.Rep]
		delete(b.live, r.Rep)
		return size, nil
	})
	return h, b
}

// TestHostResourceLifecycle follows host resources through every way they
// cross: handed to the guest as own arguments, lent back to host methods as
// borrows, dropped by the guest (the host's drop runs once), returned to
// the host as own results, and passed to host functions as own arguments
// (no drop: the host has it again).
func TestHostResourceLifecycle(t *testing.T) {
	h, b := blobHost()
	i := instance(t, "hostres.wasm", engine.InstanceConfig{Host: h})
	ctx := context.Background()

	r := b.add(42)
	v, err := i.Call(ctx, userIface+"size-of", r)
	if err != nil || v != uint32(42) {
		t.Fatalf("size-of = %v, %v; want 42", v, err)
	}
	if len(b.dropped) != 1 || b.dropped[0] != r.Rep || b.count() != 0 {
		t.Fatalf("after the guest dropped blob %d: dropped %v, live %v", r.Rep, b.dropped, b.live)
	}

	// Made by the host inside the guest's call, used and dropped there.
	if v, err := i.Call(ctx, userIface+"make-drop", uint32(5)); err != nil || v != uint32(5) {
		t.Fatalf("make-drop = %v, %v", v, err)
	}
	if len(b.dropped) != 2 || b.count() != 0 {
		t.Fatalf("make-drop left dropped %v, live %v", b.dropped, b.live)
	}

	// Made inside the guest's call and returned to the host as own.
	v, err = i.Call(ctx, userIface+"make", uint32(9))
	if err != nil {
		t.Fatal(err)
	}
	got, ok := v.(engine.HostResource)
	if !ok || !got.Own || got.Type != b.rt || b.live[got.Rep] != 9 {
		t.Fatalf("make returned %#v (live %v)", v, b.live)
	}
	// The same handle back and forth.
	v, err = i.Call(ctx, userIface+"give-back", got)
	if back, ok := v.(engine.HostResource); err != nil || !ok || back.Rep != got.Rep || !back.Own {
		t.Fatalf("give-back(%d) = %#v, %v", got.Rep, v, err)
	}
	// Handed to a host function as own: no drop follows.
	v, err = i.Call(ctx, userIface+"pass", got)
	if err != nil || v != uint32(9) || len(b.taken) != 1 || b.taken[0].Rep != got.Rep || !b.taken[0].Own {
		t.Fatalf("pass = %v, %v; taken %#v", v, err, b.taken)
	}
	if len(b.dropped) != 2 {
		t.Fatalf("a handle passed back to the host was dropped: %v", b.dropped)
	}

	// Kept by the guest: no drop, not even when the instance closes (the
	// host forgets it itself).
	k := b.add(1)
	if v, err := i.Call(ctx, userIface+"keep", k); err != nil || v != uint32(1) {
		t.Fatalf("keep = %v, %v", v, err)
	}
	i.Close()
	if len(b.dropped) != 2 {
		t.Fatalf("closing the instance dropped kept handles: %v", b.dropped)
	}
}

// TestHostResourceRefusals: values the host may not pass are refused
// before the call, and a failing drop traps the guest's call, not the host.
func TestHostResourceRefusals(t *testing.T) {
	h, b := blobHost()
	i := instance(t, "hostres.wasm", engine.InstanceConfig{Host: h})
	ctx := context.Background()

	// A type of another Host, a nil type, a plain number.
	other, _ := blobHost()
	foreign := engine.HostResource{Type: other.Resource(blobIface, "other", func(context.Context, uint32) error {
		return nil
	}), Rep: 1}
	for name, arg := range map[string]any{
		"foreign type": foreign,
		"no type":      engine.HostResource{Rep: 1},
		"a number":     uint32(1),
	} {
		_, err := i.Call(ctx, userIface+"size-of", arg)
		var te *wit.TypeError
		if !errors.As(err, &te) {
			t.Errorf("%s: err = %v, want a *wit.TypeError", name, err)
		}
	}
	if i.Trapped() != nil {
		t.Fatalf("a refused argument poisoned the instance: %v", i.Trapped())
	}

	// A drop that fails traps the call that dropped.
	b.mu.Lock()
	b.dropErr = errors.New("no")
	b.mu.Unlock()
	_, err := i.Call(ctx, userIface+"make-drop", uint32(3))
	var trap *engine.Trap
	if !errors.As(err, &trap) || trap.Kind != engine.TrapHostFunction {
		t.Fatalf("make-drop with a failing drop: %v, want a host-function trap", err)
	}
	if _, err := i.Call(ctx, userIface+"make-drop", uint32(3)); !errors.Is(err, engine.ErrTrapped) {
		t.Fatalf("after the trap: %v, want ErrTrapped", err)
	}
}

// TestHostResourceNeedsItsDefinition: a component that imports a host
// resource the Host does not define does not instantiate, and says which.
func TestHostResourceNeedsItsDefinition(t *testing.T) {
	h := engine.NewHost()
	h.Func(blobIface, "[static]blob.make", func(context.Context, []any) (any, error) { return nil, nil })
	_, err := load(t, "hostres.wasm").Instantiate(context.Background(), engine.InstanceConfig{Host: h})
	if err == nil {
		t.Fatal("instantiated without the blob resource")
	}
	t.Log(err)
}

// TestHostResourcesDoNotLeak: a million handles made, lent and dropped
// inside guest calls leave the C heap where it was.
func TestHostResourcesDoNotLeak(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("long")
	}
	h, b := blobHost()
	i := instance(t, "hostres.wasm", engine.InstanceConfig{Host: h})
	ctx := context.Background()
	round := func(n int) {
		for k := 0; k < n; k++ {
			if _, err := i.Call(ctx, userIface+"make-drop", uint32(k)); err != nil {
				t.Fatal(err)
			}
			if _, err := i.Call(ctx, userIface+"size-of", b.add(1)); err != nil {
				t.Fatal(err)
			}
		}
	}
	round(20000)
	before := wt.MallocInUse()
	round(500000)
	if grew := int64(wt.MallocInUse()) - int64(before); grew > 1<<20 {
		t.Fatalf("C heap grew by %d bytes over a million host resources", grew)
	}
	if n := b.count(); n != 0 {
		t.Fatalf("%d blobs still live", n)
	}
}

// TestHostResourceDropsAreBatched: drops are queued in C and run in Go at
// the guest's next host call or when its call returns; a guest dropping
// more than the queue holds in one stretch has every drop run, in order.
func TestHostResourceDropsAreBatched(t *testing.T) {
	h, b := blobHost()
	i := instance(t, "hostres.wasm", engine.InstanceConfig{Host: h})
	ctx := context.Background()
	var kept []uint32
	for k := 0; k < 300; k++ {
		r := b.add(uint32(k))
		kept = append(kept, r.Rep)
		if _, err := i.Call(ctx, userIface+"keep", r); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := i.Call(ctx, userIface+"drop-kept"); err != nil || v != uint32(300) {
		t.Fatalf("drop-kept = %v, %v", v, err)
	}
	if b.count() != 0 || len(b.dropped) != 300 {
		t.Fatalf("after dropping 300: %d live, %d dropped", b.count(), len(b.dropped))
	}
	for k, rep := range kept {
		if b.dropped[k] != rep {
			t.Fatalf("drop %d was blob %d, want %d (in order)", k, b.dropped[k], rep)
		}
	}
	// A failing drop found after the call returns still fails the call.
	b.add(7)
	if _, err := i.Call(ctx, userIface+"keep", engine.HostResource{Type: b.rt, Rep: b.next}); err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	b.dropErr = errors.New("no")
	b.mu.Unlock()
	_, err := i.Call(ctx, userIface+"drop-kept")
	var trap *engine.Trap
	if !errors.As(err, &trap) || trap.Kind != engine.TrapHostFunction || !strings.Contains(err.Error(), "no") {
		t.Fatalf("drop-kept with a failing drop: %v", err)
	}
}
