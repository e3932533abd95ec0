// Command actors shows components talking to each other as supervised
// actors: request/reply between components, ping-pong, publish/subscribe,
// a crash with a restart that loses no queued message, actor world 0.2.0
// (a JavaScript actor reading JSON as text, actors written in Go, payloads
// at copy speed, a large payload forwarded through a chain of actors
// without a copy), storage that follows a counter from C to Go by live
// update, and a graceful shutdown.
//
//	go run ./examples/actors
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/storage"
)

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	testdata := "testdata"
	if _, err := os.Stat(testdata); err != nil {
		testdata = filepath.Join("..", "..", "testdata")
	}
	// The compile cache makes the JavaScript actor of section 7 (12 MB)
	// load in milliseconds after the first run.
	cache, _ := os.UserCacheDir()
	eng, err := engine.New(engine.Config{CacheDir: filepath.Join(cache, "airssys-wasm", "actors-demo")})
	if err != nil {
		return err
	}
	defer eng.Close()
	load := func(name string) *engine.Component {
		c, err := eng.CompileFile(ctx, filepath.Join(testdata, name+".wasm"))
		if err != nil {
			log.Fatal(err)
		}
		return c
	}
	echo, counter, trapper, pingpong, agent := load("actor_echo"), load("actor_counter"), load("actor_trapper"),
		load("actor_pingpong"), load("actor_agent")

	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelWarn}))
	sys := actor.NewSystem(eng, actor.Options{Logger: logger, Observer: func(e actor.Event) {
		switch e.Kind {
		case actor.EventTrapped, actor.EventRestarted, actor.EventFailed:
			fmt.Printf("   [event] %s %s %v\n", e.Actor, e.Kind, errText(e.Err))
		}
	}})

	section("1. Deploy a supervision tree (one-for-one, fast restarts for the demo)")
	tree := actor.SupervisorSpec{Name: "demo", Strategy: actor.OneForOne, BackoffMin: 10 * time.Millisecond,
		Children: []actor.Child{
			actor.Spec{ID: "demo/echo/1", Component: echo},
			actor.Spec{ID: "demo/agent/1", Component: agent, Config: map[string]string{"timeout-ms": "200"}},
			actor.Spec{ID: "demo/worker/1", Component: trapper},
			actor.Spec{ID: "demo/ping/1", Component: pingpong, Config: map[string]string{"peer": "demo/pong/1", "rounds": "1000"}},
			actor.Spec{ID: "demo/pong/1", Component: pingpong, Config: map[string]string{"peer": "demo/ping/1"}},
			actor.Spec{ID: "demo/news-eu/1", Component: counter, Subscriptions: []string{"news.eu"}},
			actor.Spec{ID: "demo/news-all/1", Component: counter, Subscriptions: []string{"news.>"}},
			actor.Spec{ID: "demo/sport/1", Component: counter, Subscriptions: []string{"sport.*"}},
		}}
	if err := sys.DeploySupervisor(ctx, tree); err != nil {
		return err
	}
	fmt.Println("   actors:", sys.Actors())

	section("2. Go asks a component")
	reply, err := sys.Request(ctx, "demo/echo/1", []byte("hello, actor"), "text/plain")
	if err != nil {
		return err
	}
	fmt.Printf("   echo replied %q\n", reply.Payload)

	section("3. A component asks another component (request returns at once, the reply comes later)")
	fmt.Println("   agent:", ask(ctx, sys, "demo/agent/1", "ask|demo/echo/1|are you there?"))
	fmt.Println("   agent:", ask(ctx, sys, "demo/agent/1", "ask|demo/nobody/1|hello?"))
	time.Sleep(20 * time.Millisecond)
	fmt.Println("   agent's replies:", strings.ReplaceAll(ask(ctx, sys, "demo/agent/1", "replies"), "\n", " | "))

	section("4. Ping-pong between two components, 1000 rounds")
	done, _ := sys.Subscribe("pingpong.done", 1)
	start := time.Now()
	sys.Send(ctx, "demo/ping/1", []byte("start"), "text/plain")
	select {
	case m := <-done.C:
		fmt.Printf("   %s published %q on %s after %v\n", m.Sender, m.Payload, m.Topic, time.Since(start).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		return fmt.Errorf("ping-pong did not finish")
	}

	section("5. Publish to topics (NATS-style subjects)")
	fmt.Println("   agent:", ask(ctx, sys, "demo/agent/1", "pub|news.eu|elections"))
	sys.Publish(ctx, "news.asia.tech", []byte("chips"), "text/plain")
	sys.Publish(ctx, "sport.football", []byte("goal"), "text/plain")
	for _, id := range []actor.ID{"demo/news-eu/1", "demo/news-all/1", "demo/sport/1"} {
		fmt.Printf("   %-16s %s\n", id, ask(ctx, sys, id, "get"))
	}

	section("6. A component crashes; the supervisor restarts it; queued messages are still handled")
	for _, p := range []string{"job-1", "job-2", "trap", "job-3", "job-4"} {
		sys.Send(ctx, "demo/worker/1", []byte(p), "text/plain")
	}
	time.Sleep(50 * time.Millisecond)
	fmt.Println("   worker after restart:", ask(ctx, sys, "demo/worker/1", "get"), "(this instance's count)")
	st, _ := sys.Stats("demo/worker/1")
	fmt.Printf("   worker stats: handled %d, failed %d, restarts %d\n", st.Handled, st.Failed, st.Restarts)
	dead, _ := sys.DeadLetters()
	for _, d := range dead {
		fmt.Printf("   dead letter to %s: %q (%v)\n", d.To, d.Message.Payload, errText(d.Reason))
	}

	if err := world2(ctx, sys, load); err != nil {
		return err
	}
	if err := storageDemo(ctx, eng, load); err != nil {
		return err
	}

	section("10. Graceful shutdown: queued messages are handled, shutdown exports run")
	for i := 0; i < 1000; i++ {
		sys.Send(ctx, "demo/news-all/1", []byte("late news"), "text/plain")
	}
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := sys.Shutdown(sctx); err != nil {
		return err
	}
	_, total := sys.DeadLetters()
	fmt.Println("   all actors stopped; dead letters in all:", total, "(the trapped job only)")
	return nil
}

// world2 shows actor world 0.2.0: messages as host resources.
func world2(ctx context.Context, sys *actor.System, load func(string) *engine.Component) error {
	section("7. World 0.2.0: a JavaScript actor (componentize-js) reads a JSON request as text; Go actors beside it")
	start := time.Now()
	js, echo1, echo2, fwd := load("actor2_js"), load("actor_echo"), load("actor2_echotext"), load("actor2_forward")
	fmt.Printf("   loaded the 0.2.0 actors in %v (cached after the first run)\n", time.Since(start).Round(time.Millisecond))
	for _, s := range []actor.Spec{
		{ID: "demo/json/1", Component: js, Config: map[string]string{"role": "json"}},
		{ID: "demo/router/1", Component: js, Config: map[string]string{"role": "router", "next": "demo/json/1"}},
		{ID: "demo/echo-v1/1", Component: echo1},
		{ID: "demo/echo-v2/1", Component: echo2},
		{ID: "demo/goecho/1", Component: load("goactor_echo")},
	} {
		if err := sys.Deploy(ctx, s); err != nil {
			return err
		}
	}
	m, err := sys.RequestMessage(ctx, "demo/json/1", actor.Message{Payload: []byte(`{"order":42,"items":["tea","milk"]}`),
		ContentType: "application/json"})
	if err != nil {
		return err
	}
	fmt.Printf("   reply: %s\n   status %d, content type %s, headers %v\n", m.Payload, m.Status, m.ContentType, m.Headers)
	if err := sys.Send(ctx, "demo/router/1", []byte(`{"via":"the router"}`), "application/json"); err != nil {
		return err
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if st, _ := sys.Stats("demo/json/1"); st.Handled == 2 {
			fmt.Println("   the router forwarded a message to it without reading it (handled: 2)")
			break
		}
	}

	// A router written in Go (testdata/src/goactor/router) in front of the
	// JavaScript one: it forwards by handle too.
	if err := sys.Deploy(ctx, actor.Spec{ID: "demo/gorouter/1", Component: load("goactor_router"),
		Config: map[string]string{"next": "demo/router/1"}}); err != nil {
		return err
	}
	if err := sys.Send(ctx, "demo/gorouter/1", []byte(`{"via":"a Go router, then the JavaScript one"}`), "application/json"); err != nil {
		return err
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if st, _ := sys.Stats("demo/json/1"); st.Handled == 3 {
			fmt.Println("   a Go router, then the JavaScript router, forwarded another one to it (handled: 3)")
			break
		}
	}
	m, err = sys.Request(ctx, "demo/goecho/1", []byte("hello from Go"), "text/plain")
	if err != nil {
		return err
	}
	fmt.Printf("   the Go echo actor replied %q\n", m.Payload)

	section("8. World 0.2.0: a payload read as text costs one copy; 0.1.0 converts every byte")
	payload := []byte(strings.Repeat("0123456789abcdef", 1024)) // 16 KiB
	for _, id := range []actor.ID{"demo/echo-v1/1", "demo/echo-v2/1"} {
		var times []time.Duration
		for i := 0; i < 200; i++ {
			t0 := time.Now()
			if _, err := sys.Request(ctx, id, payload, "text/plain"); err != nil {
				return err
			}
			times = append(times, time.Since(t0))
		}
		slices.Sort(times)
		fmt.Printf("   16 KiB request through %-15s median %v\n", id, times[len(times)/2].Round(time.Microsecond))
	}
	// A chain of three actors that forward by handle: 1 MiB goes through
	// actors whose memory limit (256 KiB) could not even hold it.
	for i, cfg := range []map[string]string{{"topic": "demo.chain"}, {"next": "demo/fwd/3"}, {"next": "demo/fwd/2"}} {
		s := actor.Spec{ID: actor.ID(fmt.Sprintf("demo/fwd/%d", 3-i)), Component: fwd, Config: cfg}
		s.Limits.MemoryLimit = 256 << 10
		if err := sys.Deploy(ctx, s); err != nil {
			return err
		}
	}
	sub, err := sys.Subscribe("demo.chain", 1)
	if err != nil {
		return err
	}
	defer sub.Close()
	big := make([]byte, 1<<20-64)
	for i := range big {
		big[i] = byte(i)
	}
	t0 := time.Now()
	if err := sys.Send(ctx, "demo/fwd/1", big, "application/octet-stream"); err != nil {
		return err
	}
	select {
	case out := <-sub.C:
		fmt.Printf("   1 MiB through 3 forwarding actors in %v: same bytes %v, copied %v\n",
			time.Since(t0).Round(time.Microsecond), bytes.Equal(out.Payload, big),
			unsafe.SliceData(out.Payload) != unsafe.SliceData(big))
	case <-time.After(5 * time.Second):
		return errors.New("nothing came out of the chain")
	}
	return nil
}

// storageDemo shows per-component storage: a counter kept through
// wasi:keyvalue survives its actor's restart and this process's end (run
// the demo again: it goes on counting).
func storageDemo(ctx context.Context, eng *engine.Engine, load func(string) *engine.Component) error {
	section("9. Storage: a counter kept through wasi:keyvalue survives restarts and a live update")
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "airssys-wasm", "demo-data")
	db, err := storage.OpenDir(dir, storage.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	sys := actor.NewSystem(eng, actor.Options{Storage: db})
	defer sys.Shutdown(ctx)
	// The data belongs to the component's identity, not to the actor id:
	// here an unsigned component named "demo-counter" (the dev space).
	spec := actor.Spec{ID: "demo/counter/1", Component: load("actor2_kv"), Owner: storage.Owner{Name: "demo-counter"}}
	if err := sys.Deploy(ctx, spec); err != nil {
		return err
	}
	first := ask(ctx, sys, "demo/counter/1", "count|counters|visits")
	ask(ctx, sys, "demo/counter/1", "count|counters|visits")
	if err := sys.Stop(ctx, "demo/counter/1"); err != nil {
		return err
	}
	spec.ID = "demo/another-id/1" // a new actor of the same component
	if err := sys.Deploy(ctx, spec); err != nil {
		return err
	}
	ask(ctx, sys, "demo/another-id/1", "count|counters|visits")
	// A live update to a new version (here the same code, compiled again):
	// prepared beside the running one, switched between two messages; the
	// data stays with the component.
	if err := sys.Update(ctx, "demo/another-id/1", load("actor2_kv"), nil); err != nil {
		return err
	}
	ask(ctx, sys, "demo/another-id/1", "count|counters|visits")
	// Then to the same counter written in Go (testdata/src/goactor/counter,
	// built by airssys-wasm build): same protocol, same data.
	if err := sys.Update(ctx, "demo/another-id/1", load("goactor_counter"), nil); err != nil {
		return err
	}
	last := ask(ctx, sys, "demo/another-id/1", "count|counters|visits")
	u, _ := db.Usage(ctx, spec.Owner)
	fmt.Printf("   this run counted %s to %s, across a restart under another actor id and two live updates:\n", first, last)
	fmt.Println("   C to C, then C to the same counter written in Go (it went on from the C one's data)")
	fmt.Printf("   stored in %s (%d keys, %d bytes); run the demo again and it goes on from %s\n",
		db.Path(), u.Keys, u.Bytes, last)
	return nil
}

func ask(ctx context.Context, sys *actor.System, to actor.ID, payload string) string {
	m, err := sys.Request(ctx, to, []byte(payload), "text/plain")
	if err != nil {
		return "error: " + err.Error()
	}
	return string(m.Payload)
}

func section(s string) { fmt.Printf("\n== %s\n", s) }

func errText(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	if len(s) > 100 {
		s = s[:100] + "…"
	}
	return s
}
