package bench

// The hostile soak (`make soak`): minutes of guests that trap, loop, grow
// their memory, flood stdout, stderr and logs, send oversized messages and
// get restarted, on the engine and the actor runtime at once, while the
// process's memory, goroutines and file descriptors are sampled. They must
// stay flat: the end of the run may not use more than the middle did, beyond
// a small slack. Not part of `make test` (it takes minutes); the figures go
// in BENCHMARKING.md.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/internal/wt"
)

type soakSample struct {
	at                        time.Duration
	rss, heap, cheap          uint64 // bytes
	goroutines, fds, memories int
}

func (s soakSample) String() string {
	return fmt.Sprintf("%7.0fs  rss %6.1f MiB  go heap %6.1f MiB  C heap %6.1f MiB  goroutines %4d  fds %4d  memories %4d",
		s.at.Seconds(), mib(s.rss), mib(s.heap), mib(s.cheap), s.goroutines, s.fds, s.memories)
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

func takeSample(start time.Time) soakSample {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s := soakSample{at: time.Since(start), heap: ms.HeapInuse, cheap: wt.MallocInUse(),
		goroutines: runtime.NumGoroutine(), memories: int(wt.LiveMemories())}
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 1 {
			pages, _ := strconv.ParseUint(f[1], 10, 64)
			s.rss = pages * uint64(os.Getpagesize())
		}
	}
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		s.fds = len(ents)
	}
	return s
}

// soakCounts counts what the workloads did, to show they really ran.
type soakCounts struct {
	calls, traps, timeouts, oom, outputBytes, writerErrs, drops, instances atomic.Int64
	sent, refused, restarts, deploys                                       atomic.Int64
}

type panicky struct{}

func (panicky) Write([]byte) (int, error) { panic("soak: writer panics") }

// engineSoak runs one goroutine's worth of hostile engine workloads until
// ctx ends.
func engineSoak(ctx context.Context, t *testing.T, e *engine.Engine, seed int, n *soakCounts) {
	comp := func(name string) *engine.Component {
		c, err := e.Compile(context.Background(), fixture(t, name))
		if err != nil {
			t.Error(err)
		}
		return c
	}
	misbehave, rawout, wasi, res, hostcall, cmd := comp("misbehave.wasm"), comp("rawout.wasm"),
		comp("wasi.wasm"), comp("res.wasm"), comp("hostcall.wasm"), comp("cmd.wasm")
	if t.Failed() {
		return
	}
	count := func(err error) {
		n.calls.Add(1)
		var trap *engine.Trap
		if errors.As(err, &trap) {
			n.traps.Add(1)
			switch trap.Kind {
			case engine.TrapTimeout:
				n.timeouts.Add(1)
			case engine.TrapOutOfMemory:
				n.oom.Add(1)
			}
		}
		var oe *engine.OutputError
		if errors.As(err, &oe) {
			n.writerErrs.Add(1)
		}
	}
	inst := func(c *engine.Component, cfg engine.InstanceConfig) *engine.Instance {
		i, err := c.Instantiate(context.Background(), cfg)
		if err != nil {
			t.Errorf("instantiate: %v", err)
			return nil
		}
		n.instances.Add(1)
		return i
	}
	var out countingWriter
	for round := seed; ctx.Err() == nil; round++ {
		bg := context.Background()
		// Guests that loop, grow, trap and recurse.
		if i := inst(misbehave, engine.InstanceConfig{Timeout: 5 * time.Millisecond, MemoryLimit: 2 << 20,
			Fuel: 50_000_000}); i != nil {
			for _, f := range []string{"spin", "grow", "trap", "recurse"} {
				i.Close()
				i = inst(misbehave, engine.InstanceConfig{Timeout: 5 * time.Millisecond, MemoryLimit: 2 << 20,
					Fuel: 50_000_000})
				if i == nil {
					return
				}
				var err error
				if f == "recurse" {
					_, err = i.Call(bg, f, uint32(1<<30))
				} else {
					_, err = i.Call(bg, f)
				}
				count(err)
			}
			i.Close()
		}
		// Output floods, unflushed and flushed, to a writer and to one that
		// panics, then Close at once.
		if i := inst(rawout, engine.InstanceConfig{WASI: engine.WASI{Stdout: &out}}); i != nil {
			_, err := i.Call(bg, "spam", uint32(20_000))
			count(err)
			i.Close()
		}
		if i := inst(wasi, engine.InstanceConfig{WASI: engine.WASI{Stdout: panicky{}, Stderr: &out}}); i != nil {
			_, err := i.Call(bg, "airssys:test/wasi-probe@0.1.0#spam", uint32(1), uint32(70_000))
			count(err)
			_, err = i.Call(bg, "airssys:test/wasi-probe@0.1.0#spam", uint32(2), uint32(70_000))
			count(err)
			i.Close()
		}
		// Resources: constructed, consumed, dropped, and a destructor that
		// loops until the timeout.
		if i := inst(res, engine.InstanceConfig{Timeout: 5 * time.Millisecond}); i != nil {
			for k := uint32(0); k < 20; k++ {
				r, err := i.Call(bg, "airssys:test/res@0.1.0#[constructor]thing", k)
				if err != nil {
					count(err)
					break
				}
				if k%2 == 0 {
					_, err = i.Call(bg, "airssys:test/res@0.1.0#consume", r)
				} else {
					err = r.(*engine.Resource).Drop()
				}
				count(err)
				n.drops.Add(1)
			}
			if r, err := i.Call(bg, "airssys:test/res@0.1.0#[constructor]thing", uint32(0xFFFFFFFF)); err == nil {
				count(r.(*engine.Resource).Drop())
			}
			i.Close()
		}
		// A new Host per round (linker churn), a guest looping over it.
		h := engine.NewHost().Func("airssys:test/host@0.1.0", "get", func(context.Context, []any) (any, error) {
			return int32(1), nil
		}).Func("airssys:test/host@0.1.0", "log", func(context.Context, []any) (any, error) { return nil, nil })
		if i := inst(hostcall, engine.InstanceConfig{Host: h}); i != nil {
			_, err := i.Call(bg, "call-get-n", uint32(100_000))
			count(err)
			i.Close()
		}
		// A command with its stdout.
		if i := inst(cmd, engine.InstanceConfig{WASI: engine.WASI{Args: []string{"cmd", "spam", "5000"},
			Stdout: &out, Stderr: &out}}); i != nil {
			_, err := i.Call(bg, "wasi:cli/run#run")
			count(err)
			i.Close()
		}
		n.outputBytes.Store(out.n.Load())
	}
}

type countingWriter struct{ n atomic.Int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n.Add(int64(len(p))); return len(p), nil }

// actorSoak keeps a supervision tree of hostile and trapping actors busy
// until ctx ends, and deploys and stops short-lived actors all along.
func actorSoak(ctx context.Context, t *testing.T, e *engine.Engine, n *soakCounts) {
	sys := actor.NewSystem(e, actor.Options{
		Observer: func(ev actor.Event) {
			if ev.Kind == actor.EventRestarted {
				n.restarts.Add(1)
			}
		},
		MemoryLimit:       8 << 20,
		MessageTimeout:    20 * time.Millisecond,
		SendTimeout:       5 * time.Millisecond,
		LogBytesPerSecond: 16 << 10,
	})
	defer func() {
		c, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		sys.Shutdown(c)
	}()
	comp := func(name string) *engine.Component {
		c, err := e.Compile(context.Background(), fixture(t, name))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	hostile, trapper, echo := comp("actor_hostile.wasm"), comp("actor_trapper.wasm"), comp("actor_echo.wasm")
	tree := actor.SupervisorSpec{Name: "soak", BackoffMin: time.Millisecond, BackoffMax: 2 * time.Millisecond,
		MaxRestarts: 1 << 30, Period: time.Second, Children: []actor.Child{
			actor.Spec{ID: "soak/hostile/1", Component: hostile, Restart: actor.Permanent},
			actor.Spec{ID: "soak/trapper/1", Component: trapper, Restart: actor.Permanent},
			actor.Spec{ID: "soak/echo/1", Component: echo, MailboxSize: 64, Overflow: actor.Reject},
		}}
	if err := sys.DeploySupervisor(context.Background(), tree); err != nil {
		t.Fatal(err)
	}
	hostileMsgs := []string{
		"log|50|" + strings.Repeat("9", 3) + "|2000", // a log flood
		"send|soak/echo/1|0|4096|10",                 // an oversized content type
		"send|soak/echo/1|500|10|10",                 // an oversized target id
		"pub|soak.x|0|10|2000000",                    // an oversized payload
		"send|soak/echo/1|0|10|1000",                 // a fine send
		"reply|2000000",                              // an oversized reply (to a request)
		"fail|100000",                                // an oversized error
		"grow|100",                                   // past its memory limit
		"spin",                                       // past its message timeout
	}
	ask := func(to, msg string) {
		c, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := sys.Request(c, actor.ID(to), []byte(msg), "text/plain"); err != nil {
			n.refused.Add(1)
		}
		n.sent.Add(1)
	}
	for round := 0; ctx.Err() == nil; round++ {
		for _, m := range hostileMsgs {
			ask("soak/hostile/1", m)
		}
		for _, m := range []string{"a", "trap", "b", "spin", "get"} {
			ask("soak/trapper/1", m)
		}
		for k := 0; k < 200; k++ {
			if err := sys.Send(context.Background(), "soak/echo/1", []byte("x"), ""); err != nil {
				n.refused.Add(1)
			}
			n.sent.Add(1)
		}
		// Short-lived actors: deploy, use, stop.
		id := actor.ID(fmt.Sprintf("soak/short/%d", round%8))
		if err := sys.Deploy(context.Background(), actor.Spec{ID: id, Component: echo}); err == nil {
			n.deploys.Add(1)
			ask(string(id), "hi")
			c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			sys.Stop(c, id)
			cancel()
		}
	}
}

func TestSoak(t *testing.T) {
	d := os.Getenv("AIRSSYS_SOAK")
	if d == "" {
		t.Skip("set AIRSSYS_SOAK to a duration (make soak) to run the hostile soak")
	}
	dur, err := time.ParseDuration(d)
	if err != nil || dur < 20*time.Second {
		t.Fatalf("AIRSSYS_SOAK=%q: want a duration of at least 20s", d)
	}
	e, err := engine.New(engine.Config{ConsumeFuel: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	start := time.Now()
	var n soakCounts
	var wg sync.WaitGroup
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() { defer wg.Done(); engineSoak(ctx, t, e, g, &n) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); actorSoak(ctx, t, e, &n) }()
	var samples []soakSample
	tick := time.NewTicker(dur / 40)
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-tick.C:
			runtime.GC()
			s := takeSample(start)
			samples = append(samples, s)
			t.Log(s)
		}
	}
	tick.Stop()
	wg.Wait()
	t.Logf("engine: %d calls, %d instances, %d traps (%d timeouts, %d out of memory), %d resource drops, "+
		"%d bytes of guest output, %d writer failures", n.calls.Load(), n.instances.Load(), n.traps.Load(),
		n.timeouts.Load(), n.oom.Load(), n.drops.Load(), n.outputBytes.Load(), n.writerErrs.Load())
	t.Logf("actors: %d messages (%d refused or failed), %d restarts, %d short-lived actors deployed and stopped",
		n.sent.Load(), n.refused.Load(), n.restarts.Load(), n.deploys.Load())
	if n.traps.Load() == 0 || n.restarts.Load() == 0 || n.writerErrs.Load() == 0 || n.deploys.Load() == 0 {
		t.Fatal("a workload did not run")
	}
	// Flat: the last quarter of the run (medians) uses no more than the
	// second quarter, the first quarter being warm-up, beyond a slack.
	q := len(samples) / 4
	if q < 2 {
		t.Fatalf("only %d samples", len(samples))
	}
	mid, end := samples[q:2*q], samples[len(samples)-q:]
	median := func(ss []soakSample, f func(soakSample) float64) float64 {
		v := make([]float64, len(ss))
		for i, s := range ss {
			v[i] = f(s)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	for _, m := range []struct {
		name  string
		f     func(soakSample) float64
		slack float64
	}{
		{"rss MiB", func(s soakSample) float64 { return mib(s.rss) }, 48},
		{"go heap MiB", func(s soakSample) float64 { return mib(s.heap) }, 16},
		{"C heap MiB", func(s soakSample) float64 { return mib(s.cheap) }, 16},
		{"goroutines", func(s soakSample) float64 { return float64(s.goroutines) }, 20},
		{"fds", func(s soakSample) float64 { return float64(s.fds) }, 16},
	} {
		a, b := median(mid, m.f), median(end, m.f)
		t.Logf("%-12s middle %8.1f  end %8.1f", m.name, a, b)
		if b > a*1.10+m.slack {
			t.Errorf("%s grew from %.1f to %.1f during the soak", m.name, a, b)
		}
	}
	if w := os.Getenv("AIRSSYS_SOAK_OUT"); w != "" {
		var sb strings.Builder
		for _, s := range samples {
			fmt.Fprintln(&sb, s)
		}
		os.WriteFile(w, []byte(sb.String()), 0o644)
	}
}
