package actor_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/engine"
)

// fixtures compiled once per test binary
var (
	engOnce sync.Once
	eng     *engine.Engine
	compMu  sync.Mutex
	comps   = map[string]*engine.Component{}
)

// onWorld2 makes component load the world 0.2.0 build of an actor fixture
// (actor2_<name> for actor_<name>): TestRuntimeOnWorld2 runs the runtime's
// tests again on 0.2.0 actors. Tests do not run in parallel.
var onWorld2 bool

func component(t testing.TB, name string) *engine.Component {
	t.Helper()
	if rest, ok := strings.CutPrefix(name, "actor_"); ok && onWorld2 {
		name = "actor2_" + rest
	}
	engOnce.Do(func() {
		var err error
		eng, err = engine.New(engine.Config{ConsumeFuel: true})
		if err != nil {
			panic(err)
		}
	})
	compMu.Lock()
	defer compMu.Unlock()
	if c, ok := comps[name]; ok {
		return c
	}
	c, err := eng.CompileFile(context.Background(), filepath.Join("..", "testdata", name+".wasm"))
	if err != nil {
		t.Fatalf("compile %s: %v", name, err)
	}
	comps[name] = c
	return c
}

// recorder keeps events and logs for assertions.
type recorder struct {
	mu     sync.Mutex
	events []actor.Event
	logs   bytes.Buffer
}

func (r *recorder) observe(e actor.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) count(kind actor.EventKind, id actor.ID) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e.Kind == kind && e.Actor == id {
			n++
		}
	}
	return n
}

func (r *recorder) find(kind actor.EventKind, id actor.ID) *actor.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.events {
		if r.events[i].Kind == kind && r.events[i].Actor == id {
			e := r.events[i]
			return &e
		}
	}
	return nil
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.logs.Write(p)
}

func (r *recorder) logText() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.logs.String()
}

func newSystem(t *testing.T) (*actor.System, *recorder) {
	t.Helper()
	rec := &recorder{}
	sys := actor.NewSystem(eng0(t), actor.Options{
		Observer: rec.observe,
		Logger:   slog.New(slog.NewTextHandler(rec, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		sys.Shutdown(ctx)
	})
	return sys, rec
}

func eng0(t testing.TB) *engine.Engine {
	component(t, "actor_echo")
	return eng
}

func spec(t testing.TB, id, comp string, config ...string) actor.Spec {
	s := actor.Spec{ID: actor.ID(id), Component: component(t, comp), Config: map[string]string{}}
	for i := 0; i+1 < len(config); i += 2 {
		s.Config[config[i]] = config[i+1]
	}
	return s
}

func deploy(t *testing.T, sys *actor.System, s actor.Spec) {
	t.Helper()
	if err := sys.Deploy(context.Background(), s); err != nil {
		t.Fatalf("deploy %s: %v", s.ID, err)
	}
}

func ask(t *testing.T, sys *actor.System, to string, payload string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := sys.Request(ctx, actor.ID(to), []byte(payload), "text/plain")
	if err != nil {
		t.Fatalf("request %q to %s: %v", payload, to, err)
	}
	return string(m.Payload)
}

func send(t *testing.T, sys *actor.System, to string, payload string) {
	t.Helper()
	if err := sys.Send(context.Background(), actor.ID(to), []byte(payload), "text/plain"); err != nil {
		t.Fatalf("send %q to %s: %v", payload, to, err)
	}
}

// eventually polls cond for up to 5s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func fastRestarts(children ...actor.Child) actor.SupervisorSpec {
	return actor.SupervisorSpec{Name: "sup", BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond,
		MaxRestarts: 10, Period: time.Minute, Children: children}
}

func TestEchoRequestReply(t *testing.T) {
	sys, rec := newSystem(t)
	deploy(t, sys, spec(t, "test/echo/1", "actor_echo"))
	if got := ask(t, sys, "test/echo/1", "hello"); got != "hello" {
		t.Fatalf("echo replied %q", got)
	}
	big := strings.Repeat("x", 64<<10)
	if got := ask(t, sys, "test/echo/1", big); got != big {
		t.Fatalf("echo of 64 KiB came back with %d bytes", len(got))
	}
	st, err := sys.Stats("test/echo/1")
	if err != nil || st.Handled != 2 || st.State != actor.Running {
		t.Fatalf("stats %+v, %v", st, err)
	}
	if rec.count(actor.EventDeployed, "test/echo/1") != 1 || rec.count(actor.EventStarted, "test/echo/1") != 1 {
		t.Fatalf("events: %+v", rec.events)
	}
}

func TestDeployErrors(t *testing.T) {
	sys, _ := newSystem(t)
	deploy(t, sys, spec(t, "test/echo/1", "actor_echo"))
	for name, s := range map[string]actor.Spec{
		"duplicate":    spec(t, "test/echo/1", "actor_echo"),
		"bad id":       spec(t, "not-an-id", "actor_echo"),
		"bad pattern":  {ID: "test/echo/2", Component: component(t, "actor_echo"), Subscriptions: []string{"a.>.b"}},
		"not an actor": {ID: "test/min/1", Component: loadEngineFixture(t, "minimal")},
		"init fails":   spec(t, "test/trapper/9", "actor_trapper", "fail-init", "1"),
		"no component": {ID: "test/none/1"},
	} {
		if err := sys.Deploy(context.Background(), s); err == nil {
			t.Errorf("%s: deploy succeeded", name)
		}
	}
	// A failed deploy leaves nothing behind.
	if ids := sys.Actors(); len(ids) != 1 || ids[0] != "test/echo/1" {
		t.Fatalf("actors after failed deploys: %v", ids)
	}
}

func loadEngineFixture(t testing.TB, name string) *engine.Component { return component(t, name) }

func TestUnknownTargetAndLimits(t *testing.T) {
	sys, _ := newSystem(t)
	deploy(t, sys, spec(t, "test/echo/1", "actor_echo"))
	if err := sys.Send(context.Background(), "no/such/actor", nil, ""); !errors.Is(err, actor.ErrUnknownActor) {
		t.Fatalf("send to unknown: %v", err)
	}
	huge := make([]byte, 2<<20)
	if err := sys.Send(context.Background(), "test/echo/1", huge, ""); !errors.Is(err, actor.ErrTooLarge) {
		t.Fatalf("2 MiB message: %v", err)
	}
}

func TestCounterStateAndFloodKeepsOrder(t *testing.T) {
	sys, _ := newSystem(t)
	s := spec(t, "test/counter/1", "actor_counter")
	s.MailboxSize = 1024
	deploy(t, sys, s)
	const n = 100_000
	for i := 1; i <= n; i++ {
		if err := sys.Send(context.Background(), "test/counter/1", []byte(fmt.Sprintf("seq:%d", i)), ""); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	want := fmt.Sprintf("count=%d errors=0 last=%d", n, n)
	if got := ask(t, sys, "test/counter/1", "get"); got != want {
		t.Fatalf("counter: %q, want %q", got, want)
	}
	if _, total := sys.DeadLetters(); total != 0 {
		t.Fatalf("%d dead letters", total)
	}
}

func TestRejectOverflowNeverDropsSilently(t *testing.T) {
	sys, _ := newSystem(t)
	s := spec(t, "test/counter/1", "actor_counter")
	s.MailboxSize = 8
	s.Overflow = actor.Reject
	deploy(t, sys, s)
	accepted, rejected := 0, 0
	for i := 0; i < 20_000; i++ {
		err := sys.Send(context.Background(), "test/counter/1", []byte("x"), "")
		switch {
		case err == nil:
			accepted++
		case errors.Is(err, actor.ErrMailboxFull):
			rejected++
		default:
			t.Fatal(err)
		}
	}
	if rejected == 0 {
		t.Fatal("a mailbox of 8 never rejected under a flood of 20,000")
	}
	want := fmt.Sprintf("count=%d ", accepted)
	eventually(t, "all accepted messages handled", func() bool {
		m, err := sys.Request(context.Background(), "test/counter/1", []byte("get"), "")
		return err == nil && strings.HasPrefix(string(m.Payload), want)
	})
}

func TestTrapRestartsAndQueuedMessagesAreDelivered(t *testing.T) {
	sys, rec := newSystem(t)
	if err := sys.DeploySupervisor(context.Background(),
		fastRestarts(spec(t, "test/trapper/1", "actor_trapper"))); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"a", "b", "trap", "c", "d"} {
		send(t, sys, "test/trapper/1", p)
	}
	// The fresh instance handled c, d and this get.
	eventually(t, "restart", func() bool { return rec.count(actor.EventRestarted, "test/trapper/1") == 1 })
	if got := ask(t, sys, "test/trapper/1", "get"); got != "handled=3" {
		t.Fatalf("after restart: %q, want handled=3", got)
	}
	st, _ := sys.Stats("test/trapper/1")
	if st.Failed != 1 || st.Restarts != 1 || st.Handled != 5 {
		t.Fatalf("stats %+v", st)
	}
	dead, total := sys.DeadLetters()
	if total != 1 || string(dead[0].Message.Payload) != "trap" {
		t.Fatalf("dead letters %d: %+v", total, dead)
	}
	var trap *engine.Trap
	if !errors.As(dead[0].Reason, &trap) || trap.Kind != engine.TrapUnreachable {
		t.Fatalf("dead letter reason %v", dead[0].Reason)
	}
	if rec.count(actor.EventTrapped, "test/trapper/1") != 1 {
		t.Fatal("no trapped event")
	}
}

func TestRequestToTrappingActorGetsAnError(t *testing.T) {
	sys, _ := newSystem(t)
	if err := sys.DeploySupervisor(context.Background(),
		fastRestarts(spec(t, "test/trapper/1", "actor_trapper"))); err != nil {
		t.Fatal(err)
	}
	_, err := sys.Request(context.Background(), "test/trapper/1", []byte("trap"), "")
	if !errors.Is(err, actor.ErrActorFailed) {
		t.Fatalf("err = %v", err)
	}
	// And it still serves afterwards.
	if got := ask(t, sys, "test/trapper/1", "ping"); got != "ping" {
		t.Fatalf("after the trap: %q", got)
	}
}

func TestHandlerErrorAndNoReply(t *testing.T) {
	sys, _ := newSystem(t)
	deploy(t, sys, spec(t, "test/silent/1", "actor_silent"))
	_, err := sys.Request(context.Background(), "test/silent/1", []byte("fail"), "")
	var he *actor.HandlerError
	if !errors.As(err, &he) || he.Message != "failed on purpose" {
		t.Fatalf("err = %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := sys.Request(ctx, "test/silent/1", []byte("x"), ""); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("request without reply: %v", err)
	}
}

func TestHealth(t *testing.T) {
	sys, _ := newSystem(t)
	deploy(t, sys, spec(t, "test/trapper/1", "actor_trapper"))
	ctx := context.Background()
	if h, err := sys.Health(ctx, "test/trapper/1"); err != nil || h != actor.Healthy {
		t.Fatalf("health %v %v", h, err)
	}
	send(t, sys, "test/trapper/1", "degrade")
	eventually(t, "degraded", func() bool {
		h, _ := sys.Health(ctx, "test/trapper/1")
		return h == actor.Degraded
	})
	send(t, sys, "test/trapper/1", "sick")
	eventually(t, "unhealthy", func() bool {
		h, _ := sys.Health(ctx, "test/trapper/1")
		return h == actor.Unhealthy
	})
}

func TestPingPong(t *testing.T) {
	sys, _ := newSystem(t)
	done, err := sys.Subscribe("pingpong.done", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer done.Close()
	deploy(t, sys, spec(t, "test/ping/1", "actor_pingpong", "peer", "test/pong/1", "rounds", "500"))
	deploy(t, sys, spec(t, "test/pong/1", "actor_pingpong", "peer", "test/ping/1"))
	send(t, sys, "test/ping/1", "start")
	select {
	case m := <-done.C:
		if string(m.Payload) != "500" || m.Sender != "test/ping/1" || m.Topic != "pingpong.done" {
			t.Fatalf("done message %+v", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ping-pong did not finish")
	}
	if got := ask(t, sys, "test/pong/1", "get"); got != "500/0" {
		t.Fatalf("pong saw %q", got)
	}
}

func agentReplies(t *testing.T, sys *actor.System, agent string, want string) string {
	t.Helper()
	var got string
	eventually(t, "reply "+want, func() bool {
		got = ask(t, sys, agent, "replies")
		return strings.Contains(got, want)
	})
	return got
}

func TestRequestReplyBetweenComponents(t *testing.T) {
	sys, _ := newSystem(t)
	deploy(t, sys, spec(t, "test/agent/1", "actor_agent", "timeout-ms", "100"))
	deploy(t, sys, spec(t, "test/echo/1", "actor_echo"))
	deploy(t, sys, spec(t, "test/silent/1", "actor_silent"))

	r := ask(t, sys, "test/agent/1", "ask|test/echo/1|hello")
	id, ok := strings.CutPrefix(r, "asked:")
	if !ok {
		t.Fatalf("ask: %q", r)
	}
	agentReplies(t, sys, "test/agent/1", id+":ok:hello")

	// No reply within the timeout.
	r = ask(t, sys, "test/agent/1", "ask|test/silent/1|anyone?")
	id, _ = strings.CutPrefix(r, "asked:")
	agentReplies(t, sys, "test/agent/1", id+":err:timeout")

	// The responder's error comes back as the reason.
	r = ask(t, sys, "test/agent/1", "ask|test/silent/1|fail")
	id, _ = strings.CutPrefix(r, "asked:")
	agentReplies(t, sys, "test/agent/1", id+":err:failed on purpose")

	// Refusals are values, not traps.
	if r := ask(t, sys, "test/agent/1", "ask|no/such/actor|x"); r != "error:unknown-target" {
		t.Fatalf("ask unknown: %q", r)
	}
	if r := ask(t, sys, "test/agent/1", "send|no/such/actor|x"); r != "error:unknown-target" {
		t.Fatalf("send unknown: %q", r)
	}
	if r := ask(t, sys, "test/agent/1", "self"); r != "test/agent/1" {
		t.Fatalf("self-id: %q", r)
	}
}

func TestRequestToActorThatDiesGetsAnErrorReply(t *testing.T) {
	sys, _ := newSystem(t)
	deploy(t, sys, spec(t, "test/agent/1", "actor_agent", "timeout-ms", "5000"))
	tr := spec(t, "test/trapper/1", "actor_trapper")
	tr.Restart = actor.Temporary
	deploy(t, sys, tr)
	r := ask(t, sys, "test/agent/1", "ask|test/trapper/1|trap")
	id, _ := strings.CutPrefix(r, "asked:")
	got := agentReplies(t, sys, "test/agent/1", id+":err:")
	if strings.Contains(got, id+":err:timeout") {
		t.Fatalf("got a timeout instead of an error: %q", got)
	}
	// A temporary actor is not restarted.
	eventually(t, "temporary actor gone", func() bool {
		_, err := sys.Stats("test/trapper/1")
		return errors.Is(err, actor.ErrUnknownActor)
	})
}

func TestPublishFanOut(t *testing.T) {
	sys, _ := newSystem(t)
	for i, pattern := range []string{"news.*", "news.>", "news.eu", "sport.*"} {
		s := spec(t, fmt.Sprintf("test/counter/%d", i), "actor_counter")
		s.Subscriptions = []string{pattern}
		deploy(t, sys, s)
	}
	deploy(t, sys, spec(t, "test/agent/1", "actor_agent"))
	if r := ask(t, sys, "test/agent/1", "pub|news.eu|hi"); r != "published" {
		t.Fatalf("publish: %q", r)
	}
	if err := sys.Publish(context.Background(), "news.eu", []byte("from go"), ""); err != nil {
		t.Fatal(err)
	}
	if err := sys.Publish(context.Background(), "news.world.asia", []byte("deep"), ""); err != nil {
		t.Fatal(err)
	}
	want := []string{"count=2 ", "count=3 ", "count=2 ", "count=0 "}
	for i, w := range want {
		id := fmt.Sprintf("test/counter/%d", i)
		eventually(t, id+" "+w, func() bool { return strings.HasPrefix(ask(t, sys, id, "get"), w) })
	}
	if err := sys.Publish(context.Background(), "news.*", nil, ""); err == nil {
		t.Fatal("published to a wildcard")
	}
}

func TestSupervisionStrategies(t *testing.T) {
	for _, tc := range []struct {
		strategy  actor.Strategy
		wantFirst string // counter before the trapper
		wantLast  string // counter after it
	}{
		{actor.OneForOne, "count=2 ", "count=2 "},
		{actor.OneForAll, "count=0 ", "count=0 "},
		{actor.RestForOne, "count=2 ", "count=0 "},
	} {
		t.Run(tc.strategy.String(), func(t *testing.T) {
			sys, rec := newSystem(t)
			sup := fastRestarts(spec(t, "test/first/1", "actor_counter"), spec(t, "test/trapper/1", "actor_trapper"),
				spec(t, "test/last/1", "actor_counter"))
			sup.Strategy = tc.strategy
			if err := sys.DeploySupervisor(context.Background(), sup); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"test/first/1", "test/last/1"} {
				send(t, sys, id, "x")
				send(t, sys, id, "y")
				// Handled before the trap: a restart (a control message)
				// overtakes queued messages, which the new instance gets.
				if got := ask(t, sys, id, "get"); !strings.HasPrefix(got, "count=2 ") {
					t.Fatalf("%s before the trap: %q", id, got)
				}
			}
			send(t, sys, "test/trapper/1", "trap")
			eventually(t, "trapper restarted", func() bool {
				return rec.count(actor.EventRestarted, "test/trapper/1") == 1
			})
			for id, want := range map[string]string{"test/first/1": tc.wantFirst, "test/last/1": tc.wantLast} {
				eventually(t, id+" "+want, func() bool { return strings.HasPrefix(ask(t, sys, id, "get"), want) })
			}
		})
	}
}

func TestIntensityEscalates(t *testing.T) {
	sys, rec := newSystem(t)
	inner := actor.SupervisorSpec{Name: "inner", MaxRestarts: 1, Period: time.Minute, BackoffMin: time.Millisecond,
		Children: []actor.Child{spec(t, "test/trapper/1", "actor_trapper")}}
	outer := actor.SupervisorSpec{Name: "outer", MaxRestarts: 1, Period: time.Minute, BackoffMin: time.Millisecond,
		Children: []actor.Child{inner}}
	if err := sys.DeploySupervisor(context.Background(), outer); err != nil {
		t.Fatal(err)
	}
	trapOnce := func(n int) {
		_, err := sys.Request(context.Background(), "test/trapper/1", []byte("trap"), "")
		if !errors.Is(err, actor.ErrActorFailed) {
			t.Fatalf("trap %d: %v", n, err)
		}
	}
	// 1: inner restarts the trapper. 2: inner gives up, outer restarts the
	// inner subtree. 3: inner restarts again (fresh history).
	for n := 1; n <= 3; n++ {
		trapOnce(n)
		eventually(t, fmt.Sprintf("restart %d", n), func() bool {
			return rec.count(actor.EventRestarted, "test/trapper/1") == n
		})
	}
	if rec.count(actor.EventFailed, "supervisor/inner") != 1 {
		t.Fatal("inner did not give up once")
	}
	// 4: inner gives up again, and so does outer (2 restarts > 1): the tree
	// fails and its actor is gone.
	trapOnce(4)
	eventually(t, "trapper failed", func() bool { return rec.find(actor.EventFailed, "test/trapper/1") != nil })
	if rec.find(actor.EventFailed, "supervisor/outer") == nil {
		t.Fatal("outer did not give up")
	}
	if err := sys.Send(context.Background(), "test/trapper/1", []byte("x"), ""); !errors.Is(err, actor.ErrUnknownActor) {
		t.Fatalf("send to failed actor: %v", err)
	}
}

// The delay before each restart grows from BackoffMin and stays under
// BackoffMax: 20, 40, 40, ... ms. The lower bounds are exact (a restart
// never comes before its delay); the upper bound is generous: with no cap
// the 8 delays would add up to 5.1 s, capped they make 300 ms.
func TestBackoffGrows(t *testing.T) {
	sys, rec := newSystem(t)
	sup := actor.SupervisorSpec{Name: "s", MaxRestarts: 20, Period: time.Minute, BackoffMin: 20 * time.Millisecond,
		BackoffMax: 40 * time.Millisecond, Children: []actor.Child{spec(t, "test/trapper/1", "actor_trapper")}}
	if err := sys.DeploySupervisor(context.Background(), sup); err != nil {
		t.Fatal(err)
	}
	var gaps []time.Duration
	var total time.Duration
	for n := 1; n <= 8; n++ {
		start := time.Now()
		send(t, sys, "test/trapper/1", "trap")
		eventually(t, "restart", func() bool { return rec.count(actor.EventRestarted, "test/trapper/1") == n })
		gaps = append(gaps, time.Since(start))
		total += gaps[n-1]
	}
	for i, min := range []time.Duration{20, 40, 40, 40, 40, 40, 40, 40} {
		if gaps[i] < min*time.Millisecond {
			t.Fatalf("restart %d after %v, before its %v backoff (gaps %v)", i+1, gaps[i], min*time.Millisecond, gaps)
		}
	}
	if total > 2*time.Second {
		t.Fatalf("8 restarts took %v (gaps %v): the backoff is not capped at 40ms", total, gaps)
	}
}

func TestGracefulShutdownDrainsAndCallsShutdown(t *testing.T) {
	rec := &recorder{}
	sys := actor.NewSystem(eng0(t), actor.Options{Observer: rec.observe,
		Logger: slog.New(slog.NewTextHandler(rec, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	deploy(t, sys, spec(t, "test/counter/1", "actor_counter"))
	deploy(t, sys, spec(t, "test/echo/1", "actor_echo"))
	for i := 1; i <= 1000; i++ {
		send(t, sys, "test/counter/1", fmt.Sprintf("seq:%d", i))
	}
	// Requests in flight while shutting down: each gets its reply or a
	// clear refusal, none hangs.
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				_, err := sys.Request(context.Background(), "test/echo/1", []byte("x"), "")
				if err != nil && !errors.Is(err, actor.ErrClosed) && !errors.Is(err, actor.ErrUnknownActor) &&
					!errors.Is(err, actor.ErrActorStopped) {
					errs <- err
				}
			}
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sys.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("request during shutdown: %v", err)
	}
	ev := rec.find(actor.EventStopped, "test/counter/1")
	if ev == nil || ev.Stats == nil || ev.Stats.Handled != 1000 {
		t.Fatalf("counter stopped with %+v", ev)
	}
	if !strings.Contains(rec.logText(), "shutdown") {
		t.Fatal("the shutdown export did not run (no log)")
	}
	if _, total := sys.DeadLetters(); total != 0 {
		t.Fatalf("%d dead letters after a graceful shutdown", total)
	}
	if err := sys.Send(context.Background(), "test/echo/1", nil, ""); err == nil {
		t.Fatal("send after shutdown succeeded")
	}
}

func TestShutdownDeadlineTurnsTheRestIntoDeadLetters(t *testing.T) {
	sys, rec := newSystem(t)
	s := spec(t, "test/counter/1", "actor_counter")
	s.MailboxSize = 20_000
	deploy(t, sys, s)
	const n = 20_000
	for i := 1; i <= n; i++ {
		send(t, sys, "test/counter/1", "x")
	}
	// Far too short to handle 20,000 messages (each takes microseconds).
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if err := sys.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("shutdown: %v", err)
	}
	ev := rec.find(actor.EventStopped, "test/counter/1")
	if ev == nil || ev.Stats == nil {
		t.Fatal("no stopped event")
	}
	_, dead := sys.DeadLetters()
	if dead == 0 || ev.Stats.Handled+dead != n {
		t.Fatalf("handled %d + dead letters %d != %d sent", ev.Stats.Handled, dead, n)
	}
}

func TestLoggingGoesToSlog(t *testing.T) {
	sys, rec := newSystem(t)
	deploy(t, sys, spec(t, "test/agent/1", "actor_agent"))
	send(t, sys, "test/agent/1", "log|warn|disk almost full")
	eventually(t, "log line", func() bool {
		l := rec.logText()
		return strings.Contains(l, "level=WARN") && strings.Contains(l, "disk almost full") &&
			strings.Contains(l, "actor=test/agent/1")
	})
}

func TestStopOneActor(t *testing.T) {
	sys, rec := newSystem(t)
	deploy(t, sys, spec(t, "test/counter/1", "actor_counter"))
	deploy(t, sys, spec(t, "test/echo/1", "actor_echo"))
	for i := 1; i <= 500; i++ {
		send(t, sys, "test/counter/1", fmt.Sprintf("seq:%d", i))
	}
	if err := sys.Stop(context.Background(), "test/counter/1"); err != nil {
		t.Fatal(err)
	}
	ev := rec.find(actor.EventStopped, "test/counter/1")
	if ev == nil || ev.Stats.Handled != 500 {
		t.Fatalf("stopped event %+v: the queue was not drained", ev)
	}
	if err := sys.Send(context.Background(), "test/counter/1", nil, ""); !errors.Is(err, actor.ErrUnknownActor) {
		t.Fatalf("send after stop: %v", err)
	}
	if err := sys.Stop(context.Background(), "test/counter/1"); !errors.Is(err, actor.ErrUnknownActor) {
		t.Fatalf("second stop: %v", err)
	}
	// The others carry on, and a stopped actor is not restarted.
	if got := ask(t, sys, "test/echo/1", "still here"); got != "still here" {
		t.Fatal(got)
	}
	time.Sleep(20 * time.Millisecond)
	if rec.count(actor.EventRestarted, "test/counter/1") != 0 {
		t.Fatal("a stopped actor was restarted")
	}
}

func TestTransientIsRestartedAfterATrap(t *testing.T) {
	sys, rec := newSystem(t)
	s := spec(t, "test/trapper/1", "actor_trapper")
	s.Restart = actor.Transient
	if err := sys.DeploySupervisor(context.Background(), fastRestarts(s)); err != nil {
		t.Fatal(err)
	}
	send(t, sys, "test/trapper/1", "trap")
	eventually(t, "restart", func() bool { return rec.count(actor.EventRestarted, "test/trapper/1") == 1 })
	if got := ask(t, sys, "test/trapper/1", "x"); got != "x" {
		t.Fatal(got)
	}
}

func TestActorsRunInParallel(t *testing.T) {
	// Two actors handle their messages at the same time: there is no lock
	// that runs one component at a time (the original had one). A 1 MiB
	// payload read as list<u8> keeps a handler busy for tens of
	// milliseconds (not UTF-8, so that world 0.2.0 actors read it that way
	// too, rather than as text at copy speed).
	sys, _ := newSystem(t)
	for _, id := range []string{"test/silent/1", "test/silent/2"} {
		deploy(t, sys, spec(t, id, "actor_silent"))
	}
	payload := bytes.Repeat([]byte{0xff}, 1<<20)
	for round := 0; round < 20; round++ {
		for _, id := range []actor.ID{"test/silent/1", "test/silent/2"} {
			if err := sys.Send(context.Background(), id, payload, ""); err != nil {
				t.Fatal(err)
			}
		}
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			a, _ := sys.Stats("test/silent/1")
			b, _ := sys.Stats("test/silent/2")
			if a.Busy && b.Busy {
				return // both inside a guest call at once
			}
			if !a.Busy && !b.Busy && a.MailboxDepth == 0 && b.MailboxDepth == 0 &&
				a.Handled == uint64(round+1) && b.Handled == uint64(round+1) {
				break // this round is over without an overlap; try again
			}
			time.Sleep(50 * time.Microsecond)
		}
	}
	t.Fatal("the two actors were never busy at the same time in 20 rounds")
}

func TestSpinningHandlerIsStoppedByTheMessageTimeout(t *testing.T) {
	rec := &recorder{}
	sys := actor.NewSystem(eng0(t), actor.Options{Observer: rec.observe, MessageTimeout: 30 * time.Millisecond})
	defer sys.Shutdown(context.Background())
	if err := sys.DeploySupervisor(context.Background(),
		fastRestarts(spec(t, "test/trapper/1", "actor_trapper"))); err != nil {
		t.Fatal(err)
	}
	_, err := sys.Request(context.Background(), "test/trapper/1", []byte("spin"), "")
	var trap *engine.Trap
	if !errors.As(err, &trap) || trap.Kind != engine.TrapTimeout {
		t.Fatalf("err = %v, want a timeout trap", err)
	}
	// Restarted, and serving again.
	if got := ask(t, sys, "test/trapper/1", "ok?"); got != "ok?" {
		t.Fatal(got)
	}
	if rec.count(actor.EventRestarted, "test/trapper/1") != 1 {
		t.Fatal("not restarted")
	}
}
