// Command actors shows components talking to each other as supervised
// actors: request/reply between components, ping-pong, publish/subscribe,
// a crash with a restart that loses no queued message, and a graceful
// shutdown.
//
//	go run ./examples/actors
package main

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/engine"
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
	eng, err := engine.New(engine.Config{})
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

	section("7. Graceful shutdown: queued messages are handled, shutdown exports run")
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
