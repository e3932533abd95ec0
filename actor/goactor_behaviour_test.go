package actor_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/engine"
)

// Behaviour tests of the Go actors (testdata/src/goactor) against the C
// and JavaScript ones: the expectations of the C agent's tests
// (actor2_agent2.wasm in world2_test.go and actor_test.go) run for each
// agent, C and Go (goactor_agent.wasm speaks agent2's protocol, plus the
// commands of the C trapper and counter), and the Go router
// (goactor_router.wasm) forwards like the C forward and JavaScript router
// actors.

// behAgents are the agents the behaviour tests run against.
var behAgents = []struct{ lang, comp string }{{"C", "actor2_agent2"}, {"Go", "goactor_agent"}}

func forEachAgent(t *testing.T, f func(t *testing.T, comp string)) {
	for _, a := range behAgents {
		t.Run(a.lang, func(t *testing.T) { f(t, a.comp) })
	}
}

// behAsked asks agent to run cmd, a request ("ask|...", "askfwd|..."),
// and returns its correlation id.
func behAsked(t *testing.T, sys *actor.System, agent, cmd string) string {
	t.Helper()
	r := ask(t, sys, agent, cmd)
	id, ok := strings.CutPrefix(r, "asked:")
	if !ok {
		t.Fatalf("%s to %s: %q", cmd, agent, r)
	}
	return id
}

// behRecv is the next message of sub, within 10s.
func behRecv(t *testing.T, sub *actor.Subscription) actor.Message {
	t.Helper()
	select {
	case m := <-sub.C:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("nothing published")
	}
	return actor.Message{}
}

func behSubscribe(t *testing.T, sys *actor.System, pattern string) *actor.Subscription {
	t.Helper()
	sub, err := sys.Subscribe(pattern, 16)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Close)
	return sub
}

// behIdle waits until id has handled n messages and is not in a call, then
// checks it failed none and holds no handle.
func behIdle(t *testing.T, sys *actor.System, id string, n uint64) {
	t.Helper()
	eventually(t, fmt.Sprintf("%s to handle %d", id, n), func() bool {
		st, _ := sys.Stats(actor.ID(id))
		return st.Handled+st.Errors >= n && !st.Busy && st.MailboxDepth == 0
	})
	if st, _ := sys.Stats(actor.ID(id)); st.Handled+st.Errors != n || st.Failed != 0 || st.Handles != 0 {
		t.Fatalf("%s: want %d messages handled, no failure, no handle left: %+v", id, n, st)
	}
}

// behQuiet waits until id is not in a call with nothing queued, then
// checks it failed none and holds no handle.
func behQuiet(t *testing.T, sys *actor.System, id string) {
	t.Helper()
	eventually(t, id+" idle", func() bool {
		st, _ := sys.Stats(actor.ID(id))
		return !st.Busy && st.MailboxDepth == 0
	})
	if st, _ := sys.Stats(actor.ID(id)); st.Failed != 0 || st.Handles != 0 {
		t.Fatalf("%s: %+v", id, st)
	}
}

func skipJS(t *testing.T) {
	if testing.Short() {
		t.Skip("compiling the JavaScript component takes seconds")
	}
}

// TestBehaviourRequestReply: each agent's requests to C and Go responders
// (echoes, agents, a silent one, an erring one, a status setter) come back
// to handle-reply with the reply, its status, the responder's error or a
// timeout; refusals are values; cancel-request holds back a reply; pending
// requests are listed until answered. The C agent asks the Go agent and
// the other way round.
func TestBehaviourRequestReply(t *testing.T) {
	forEachAgent(t, func(t *testing.T, comp string) {
		sys, rec := newSystem(t)
		deploy(t, sys, spec(t, "t/agent/1", comp, "timeout-ms", "300"))
		deploy(t, sys, spec(t, "t/slow/1", comp, "timeout-ms", "60000"))
		deploy(t, sys, spec(t, "t/cagent/1", "actor2_agent2"))
		deploy(t, sys, spec(t, "t/goagent/1", "goactor_agent"))
		deploy(t, sys, spec(t, "t/echo/1", "actor2_echo"))
		deploy(t, sys, spec(t, "t/goecho/1", "goactor_echo"))
		deploy(t, sys, spec(t, "t/silent/1", "actor_silent"))
		deploy(t, sys, spec(t, "t/inspect/1", "actor2_inspect"))
		const a = "t/agent/1"
		for _, c := range []struct{ cmd, want string }{
			{"ask|t/echo/1|hello", ":ok:hello"},
			{"ask|t/goecho/1|héllo|with|bars", ":ok:héllo|with|bars"},
			{"ask|t/cagent/1|hello", ":ok:got:hello"},
			{"ask|t/goagent/1|hello", ":ok:got:hello"},
			{"ask|t/goagent/1|mirror|202|text/x", ":ok:mirror|202|text/x:status=202"},
			{"ask|t/inspect/1|x", ":ok:1 "},
			{"ask|t/silent/1|fail", ":err:failed on purpose"},
			{"ask|t/goagent/1|fail", ":err:failed on purpose"},
			{"ask|t/silent/1|anyone?", ":err:timeout"},
		} {
			id := behAsked(t, sys, a, c.cmd)
			agentReplies(t, sys, a, id+c.want)
		}
		agentReplies(t, sys, a, ":status=200") // the inspect actor's
		// The other way round: the C and Go agents ask this one.
		for _, peer := range []string{"t/cagent/1", "t/goagent/1"} {
			id := behAsked(t, sys, peer, "ask|t/agent/1|from "+peer)
			agentReplies(t, sys, peer, id+":ok:got:from "+peer)
		}
		// A request to an agent that crashes on it: an error, not a timeout.
		id := behAsked(t, sys, a, "ask|t/goagent/1|panic")
		if got := agentReplies(t, sys, a, id+":err:"); strings.Contains(got, id+":err:timeout") {
			t.Fatalf("a crashed responder's requester timed out: %q", got)
		}
		// Refusals are values, not traps.
		for cmd, want := range map[string]string{
			"ask|no/such/actor|x":    "error:unknown-target",
			"send|no/such/actor|x":   "error:unknown-target",
			"cancel|no/such/actor|x": "error:unknown-target",
			"self":                   a,
			"log|loud|x":             "error:unknown-level",
			"fwd":                    "got:fwd",
			"mirror|x|y":             "got:mirror|x|y",
			"hsend|t/echo/1|x":       "got:hsend|t/echo/1|x",
			"nonsense":               "got:nonsense",
			"":                       "got:",
		} {
			if got := ask(t, sys, a, cmd); got != want {
				t.Errorf("%q: %q, want %q", cmd, got, want)
			}
		}
		if got := ask(t, sys, a, "log|warn|disk almost full"); got != "" {
			t.Errorf("log: %q", got)
		}
		eventually(t, "the log line", func() bool {
			return strings.Contains(rec.logText(), `level=WARN msg="disk almost full" actor=t/agent/1 context=agent`)
		})
		// Pending requests are listed until their outcome arrives.
		id1 := behAsked(t, sys, "t/slow/1", "ask|t/silent/1|one")
		id2 := behAsked(t, sys, "t/slow/1", "ask|t/silent/1|two")
		if got := ask(t, sys, "t/slow/1", "pending"); got != id1+","+id2 {
			t.Fatalf("pending %q, want %s,%s", got, id1, id2)
		}
		id3 := behAsked(t, sys, a, "ask|t/echo/1|done")
		agentReplies(t, sys, a, id3+":ok:done")
		if got := ask(t, sys, a, "pending"); got != "" {
			t.Fatalf("pending after every outcome: %q", got)
		}
		// A cancelled request's reply is never delivered.
		cancelled, falses := false, 0
		for i := 0; i < 50 && !cancelled; i++ {
			switch got := ask(t, sys, a, "cancel|t/echo/1|gone"); got {
			case "cancelled:true":
				cancelled = true
			case "cancelled:false":
				falses++
			default:
				t.Fatalf("cancel: %q", got)
			}
		}
		if !cancelled {
			t.Fatal("cancel-request never won against the echo in 50 tries")
		}
		marker := behAsked(t, sys, a, "ask|t/echo/1|marker")
		replies := agentReplies(t, sys, a, marker+":ok:marker")
		if n := strings.Count(replies, ":ok:gone"); n != falses {
			t.Fatalf("%d replies to cancelled requests, want %d: %q", n, falses, replies)
		}
		// The last 32 outcomes are kept, oldest first.
		for i := range 40 {
			behAsked(t, sys, a, fmt.Sprintf("ask|t/echo/1|r%d", i))
		}
		replies = agentReplies(t, sys, a, ":ok:r39")
		lines := strings.Split(replies, "\n")
		if len(lines) != 32 || !strings.HasSuffix(lines[0], ":ok:r8") {
			t.Fatalf("%d outcomes kept, the first %q: %q", len(lines), lines[0], replies)
		}
	})
}

// TestBehaviourRequestReplyWithJavaScript: each agent asks the JavaScript
// JSON actor and gets its full reply (status 200); a message from the
// JavaScript router reaches the agent, which acts on it.
func TestBehaviourRequestReplyWithJavaScript(t *testing.T) {
	skipJS(t)
	forEachAgent(t, func(t *testing.T, comp string) {
		sys, _ := newSystem(t)
		deploy(t, sys, spec(t, "t/agent/1", comp))
		deploy(t, sys, spec(t, "t/json/1", "actor2_js", "role", "json"))
		deploy(t, sys, spec(t, "t/jsrouter/1", "actor2_js", "role", "router", "next", "t/agent/1"))
		id := behAsked(t, sys, "t/agent/1", `ask|t/json/1|{"q":[1,"é"]}`)
		agentReplies(t, sys, "t/agent/1", id+`:ok:{"got":{"q":[1,"é"]},"from":"t/agent/1","n":1}:status=200`)
		id = behAsked(t, sys, "t/agent/1", `ask|t/json/1|{nope`)
		agentReplies(t, sys, "t/agent/1", id+":err:bad json")
		// JavaScript to the agent: the router forwards the command.
		send(t, sys, "t/jsrouter/1", `ask|t/json/1|"via js"`)
		agentReplies(t, sys, "t/agent/1", `:ok:{"got":"via js","from":"t/agent/1","n":3}:status=200`)
		behIdle(t, sys, "t/jsrouter/1", 1)
	})
}

// TestBehaviourForwardingByHandle: a payload forwarded by handle through
// Go routers, C forwarders and the JavaScript router arrives as the very
// bytes the Go side sent (no one copied them), with its content type and
// headers; the x-route header picks the next hop; the agents' fwd and
// askfwd pass on the command itself.
func TestBehaviourForwardingByHandle(t *testing.T) {
	sys, _ := newSystem(t)
	deploy(t, sys, spec(t, "t/cf/4", "actor2_forward", "topic", "chain.out"))
	deploy(t, sys, spec(t, "t/gr/3", "goactor_router", "next", "t/cf/4"))
	deploy(t, sys, spec(t, "t/cf/2", "actor2_forward", "next", "t/gr/3"))
	deploy(t, sys, spec(t, "t/gr/1", "goactor_router", "next", "t/cf/2"))
	deploy(t, sys, spec(t, "t/echo/1", "actor2_echo"))
	sub := behSubscribe(t, sys, "chain.out")
	payload := make([]byte, 900<<10)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	sum := fnvHex(payload)
	hdr := []actor.Header{{Name: "x-a", Value: "1"}, {Name: "x-b", Value: "2"}}
	through := func(t *testing.T, first string, hops []string) {
		t.Helper()
		if err := sys.SendMessage(context.Background(), actor.ID(first), actor.Message{Payload: payload,
			ContentType: "application/octet-stream", Headers: hdr}); err != nil {
			t.Fatal(err)
		}
		m := behRecv(t, sub)
		if len(m.Payload) != len(payload) || fnvHex(m.Payload) != sum {
			t.Fatal("the payload changed on the way")
		}
		if unsafe.SliceData(m.Payload) != unsafe.SliceData(payload) {
			t.Fatalf("the payload was copied on the way through %v", hops)
		}
		if m.Sender != "t/cf/4" || m.ContentType != "application/octet-stream" || len(m.Headers) != 2 ||
			m.Headers[0] != hdr[0] || m.Headers[1] != hdr[1] {
			t.Fatalf("forwarded message: sender %s type %q headers %v", m.Sender, m.ContentType, m.Headers)
		}
	}
	through(t, "t/gr/1", []string{"t/gr/1", "t/cf/2", "t/gr/3", "t/cf/4"})
	for _, id := range []string{"t/gr/1", "t/cf/2", "t/gr/3", "t/cf/4"} {
		behIdle(t, sys, id, 1)
	}
	// x-route overrides next.
	if err := sys.SendMessage(context.Background(), "t/gr/1", actor.Message{Payload: []byte("short cut"),
		Headers: []actor.Header{{Name: "X-Route", Value: "t/cf/4"}}}); err != nil {
		t.Fatal(err)
	}
	if m := behRecv(t, sub); string(m.Payload) != "short cut" || m.Sender != "t/cf/4" {
		t.Fatalf("x-route: %q from %s", m.Payload, m.Sender)
	}
	behIdle(t, sys, "t/cf/2", 1)
	// A refused forward is the router's error; a router needs next.
	deploy(t, sys, spec(t, "t/gr/9", "goactor_router", "next", "no/such/actor"))
	var he *actor.HandlerError
	if _, err := askErr(sys, "t/gr/9", "x", 5*time.Second); !errors.As(err, &he) || he.Message != "unknown-target" {
		t.Fatalf("forward to nobody: %v", err)
	}
	err := sys.Deploy(context.Background(), spec(t, "t/gr/10", "goactor_router"))
	if err == nil || !strings.Contains(err.Error(), "router: config next required") {
		t.Fatalf("router without next: %v", err)
	}
	// The agents' fwd and askfwd: the command goes on by handle.
	forEachAgent(t, func(t *testing.T, comp string) {
		id := "t/" + strings.ReplaceAll(comp, "_", "") + "/1"
		deploy(t, sys, spec(t, id, comp))
		cmd := []byte("fwd|t/cf/4")
		r := request(t, sys, id, actor.Message{Payload: cmd, ContentType: "text/x-cmd",
			Headers: []actor.Header{{Name: "x-not-forwarded", Value: "1"}}})
		if string(r.Payload) != "sent" {
			t.Fatalf("fwd: %q", r.Payload)
		}
		m := behRecv(t, sub)
		if string(m.Payload) != string(cmd) || unsafe.SliceData(m.Payload) != unsafe.SliceData(cmd) ||
			m.ContentType != "text/x-cmd" || len(m.Headers) != 0 {
			t.Fatalf("fwd arrived as %q type %q headers %v (copied: %v)", m.Payload, m.ContentType, m.Headers,
				unsafe.SliceData(m.Payload) != unsafe.SliceData(cmd))
		}
		cid := behAsked(t, sys, id, "askfwd|t/echo/1")
		agentReplies(t, sys, id, cid+":ok:askfwd|t/echo/1")
		if got := ask(t, sys, id, "fwd|no/such/actor"); got != "error:unknown-target" {
			t.Fatalf("fwd to nobody: %q", got)
		}
		behQuiet(t, sys, id)
	})
	// Go router -> JavaScript router -> Go router -> C forward.
	t.Run("JavaScript", func(t *testing.T) {
		skipJS(t)
		deploy(t, sys, spec(t, "t/gr/7", "goactor_router", "next", "t/cf/4"))
		deploy(t, sys, spec(t, "t/jsr/6", "actor2_js", "role", "router", "next", "t/gr/7"))
		deploy(t, sys, spec(t, "t/gr/5", "goactor_router", "next", "t/jsr/6"))
		through(t, "t/gr/5", []string{"t/gr/5", "t/jsr/6", "t/gr/7", "t/cf/4"})
		for _, id := range []string{"t/gr/5", "t/jsr/6", "t/gr/7"} {
			behIdle(t, sys, id, 1)
		}
	})
}

// TestBehaviourMirrorHeadersStatusContentType: a reply carries the status,
// content type and headers its responder set, and a payload handle as its
// body; the Go agent's replies are the C agent's, field for field; a
// header a handler sets travels with what it sends.
func TestBehaviourMirrorHeadersStatusContentType(t *testing.T) {
	sys, _ := newSystem(t)
	deploy(t, sys, spec(t, "t/cf/1", "actor2_forward", "topic", "mirror.out"))
	sub := behSubscribe(t, sys, "mirror.out")
	replies := map[string][]actor.Message{}
	forEachAgent(t, func(t *testing.T, comp string) {
		id := "t/" + strings.ReplaceAll(comp, "_", "") + "/1"
		deploy(t, sys, spec(t, id, comp))
		for _, c := range []struct {
			cmd, ct string
			status  uint16
			body    bool // the command itself
		}{
			{"mirror|201|application/x-test", "application/x-test", 201, true},
			{"mirror|0|text/x|with|bars", "text/x|with|bars", 0, true},
			{"mirror|65535|", "text/y", 65535, true}, // the request's content type
			{"mirror|65536|x", "text/y", 0, false},
			{"mirror|-1|x", "text/y", 0, false},
		} {
			cmd := []byte(c.cmd)
			r := request(t, sys, id, actor.Message{Payload: cmd, ContentType: "text/y"})
			replies[c.cmd] = append(replies[c.cmd], r)
			if !c.body {
				if string(r.Payload) != "got:"+c.cmd || r.Status != 0 || len(r.Headers) != 0 {
					t.Fatalf("%s: %q status %d headers %v", c.cmd, r.Payload, r.Status, r.Headers)
				}
				continue
			}
			if string(r.Payload) != c.cmd || r.Status != c.status || r.ContentType != c.ct {
				t.Fatalf("%s: %q status %d type %q", c.cmd, r.Payload, r.Status, r.ContentType)
			}
			if unsafe.SliceData(r.Payload) != unsafe.SliceData(cmd) {
				t.Fatalf("%s: the reply's body is a copy of the request's payload", c.cmd)
			}
			if v, ok := r.Header("X-Mirror"); !ok || v != "1" || len(r.Headers) != 1 {
				t.Fatalf("%s: headers %v", c.cmd, r.Headers)
			}
		}
		// A header set by the handler travels with what it sends.
		if got := ask(t, sys, id, "hsend|t/cf/1|x-name|a value|the data|more"); got != "sent" {
			t.Fatalf("hsend: %q", got)
		}
		m := behRecv(t, sub)
		if v, _ := m.Header("x-name"); string(m.Payload) != "the data|more" || v != "a value" ||
			len(m.Headers) != 1 || m.ContentType != "text/plain" || m.Sender != "t/cf/1" {
			t.Fatalf("hsend arrived as %q type %q headers %v", m.Payload, m.ContentType, m.Headers)
		}
		// A payload handle returned as the reply to a plain send (no one to
		// reply to) still leaves the guest's table.
		send(t, sys, id, "mirror|200|text/z")
		behIdle(t, sys, id, 7)
	})
	for cmd, rs := range replies {
		if len(rs) != 2 {
			continue
		}
		c, g := rs[0], rs[1]
		if string(c.Payload) != string(g.Payload) || c.Status != g.Status || c.ContentType != g.ContentType ||
			fmt.Sprint(c.Headers) != fmt.Sprint(g.Headers) {
			t.Errorf("%s: the C agent replied %q %d %q %v, the Go agent %q %d %q %v", cmd, c.Payload, c.Status,
				c.ContentType, c.Headers, g.Payload, g.Status, g.ContentType, g.Headers)
		}
	}
}

// TestBehaviourPublishSubscribe: each agent publishes (to Go subscribers,
// and to a C counter and a Go agent subscribed by pattern, which count
// what reaches them); a topic that is no subject is refused as a value.
func TestBehaviourPublishSubscribe(t *testing.T) {
	forEachAgent(t, func(t *testing.T, comp string) {
		sys, _ := newSystem(t)
		deploy(t, sys, spec(t, "t/agent/1", comp))
		for _, s := range []actor.Spec{spec(t, "t/csub/1", "actor2_counter"), spec(t, "t/gosub/1", "goactor_agent")} {
			s.Subscriptions = []string{"news.*"}
			deploy(t, sys, s)
		}
		sub := behSubscribe(t, sys, "news.>")
		if got := ask(t, sys, "t/agent/1", "pub|news.eu|hi|there"); got != "published" {
			t.Fatalf("publish: %q", got)
		}
		m := behRecv(t, sub)
		if string(m.Payload) != "hi|there" || m.Sender != "t/agent/1" || m.Topic != "news.eu" ||
			m.ContentType != "text/plain" {
			t.Fatalf("published %+v", m)
		}
		for _, topic := range []string{"news.eu", "news.world.asia"} {
			if err := sys.Publish(context.Background(), topic, []byte("from go"), ""); err != nil {
				t.Fatal(err)
			}
		}
		for _, id := range []string{"t/csub/1", "t/gosub/1"} {
			eventually(t, id+" count=2", func() bool { return strings.HasPrefix(ask(t, sys, id, "get"), "count=2 ") })
		}
		for _, topic := range []string{"a..b", "a.*", ".a", ""} {
			if got := ask(t, sys, "t/agent/1", "pub|"+topic+"|x"); got != "error:unknown-target" {
				t.Fatalf("publishing on %q: %q", topic, got)
			}
		}
	})
}

// TestBehaviourTrapsAndRestart: a C trap, a Go trap and a Go panic while
// handling a message: the supervisor restarts the actor, the messages
// queued behind it are handled by the new instance, and the message in
// flight is a dead letter whose reason is the trap. A Go panic's value and
// stack are in the actor's log, just before the trap.
func TestBehaviourTrapsAndRestart(t *testing.T) {
	for _, c := range []struct {
		name, comp, fail, probe string
		kind                    engine.TrapKind
		logs                    []string // in the log, in order, before "actor trapped"
	}{
		{"C trap", "actor2_trapper", "trap", "get", engine.TrapUnreachable, nil},
		{"Go trap", "goactor_agent", "trap", "handled", engine.TrapMemoryOutOfBounds, nil},
		{"Go panic", "goactor_agent", "panic|boom", "handled", engine.TrapUnreachable, []string{
			`level=ERROR msg="panic: boom [handle-message]\n\ngoroutine 1 [running]:\nmain.(*agent).HandleMessage(`,
			`actor=t/x/1 context=t/x/1`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			sys, rec := newSystem(t)
			if err := sys.DeploySupervisor(context.Background(), fastRestarts(spec(t, "t/x/1", c.comp))); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{"a", "b", c.fail, "c", "d"} {
				send(t, sys, "t/x/1", p)
			}
			// The fresh instance handled c, d and this probe.
			eventually(t, "restart", func() bool { return rec.count(actor.EventRestarted, "t/x/1") == 1 })
			if got := ask(t, sys, "t/x/1", c.probe); got != "handled=3" {
				t.Fatalf("after the restart: %q, want handled=3", got)
			}
			st, _ := sys.Stats("t/x/1")
			if st.Failed != 1 || st.Restarts != 1 || st.Handled != 5 || st.Traps[c.kind] != 1 {
				t.Fatalf("stats %+v", st)
			}
			dead, total := sys.DeadLetters()
			if total != 1 || string(dead[0].Message.Payload) != c.fail {
				t.Fatalf("dead letters %d: %+v", total, dead)
			}
			var trap *engine.Trap
			if !errors.As(dead[0].Reason, &trap) || trap.Kind != c.kind {
				t.Fatalf("dead letter reason %v, want a trap %v", dead[0].Reason, c.kind)
			}
			logs := rec.logText()
			at := 0
			for _, want := range c.logs {
				i := strings.Index(logs[at:], want)
				if i < 0 {
					t.Fatalf("the log lacks %q after offset %d:\n%s", want, at, logs)
				}
				at += i + len(want)
			}
			if !strings.Contains(logs[at:], `msg="actor trapped" actor=t/x/1`) {
				t.Fatalf("the trap is not logged after the panic:\n%s", logs)
			}
			// A request that crashes the actor gets an error, and the actor
			// serves again.
			if _, err := askErr(sys, "t/x/1", c.fail, 5*time.Second); !errors.Is(err, actor.ErrActorFailed) ||
				!strings.Contains(err.Error(), c.kind.String()) {
				t.Fatalf("request that crashes: %v", err)
			}
			if got := ask(t, sys, "t/x/1", c.probe); got != "handled=1" {
				t.Fatalf("after the second restart: %q", got)
			}
		})
	}
}

// TestGoActorPanicsOutsideHandleMessage: a panic in handle-reply or
// health crashes the actor like one in handle-message (logged, then
// restarted); one in init fails the start with the panic's value; a
// handler stuck in a loop is stopped by the message timeout; health
// follows the actor's word.
func TestGoActorPanicsOutsideHandleMessage(t *testing.T) {
	sys, rec := newSystem(t)
	deploy(t, sys, spec(t, "t/echo/1", "actor2_echo"))
	s := spec(t, "t/go/1", "goactor_agent")
	s.Limits.Timeout = 500 * time.Millisecond
	if err := sys.DeploySupervisor(context.Background(), fastRestarts(s)); err != nil {
		t.Fatal(err)
	}
	ask(t, sys, "t/go/1", "x")
	behAsked(t, sys, "t/go/1", "ask|t/echo/1|panic") // the reply makes handle-reply panic
	eventually(t, "the restart", func() bool { return rec.count(actor.EventRestarted, "t/go/1") == 1 })
	if got := ask(t, sys, "t/go/1", "handled"); got != "handled=1" {
		t.Fatalf("after the restart: %q", got)
	}
	if l := rec.logText(); !strings.Contains(l, `msg="panic: panic in handle-reply [handle-reply]\n\ngoroutine 1 [running]:\nmain.(*agent).HandleReply(`) {
		t.Fatalf("no panic logged:\n%s", l)
	}
	// A spinning handler is stopped by its timeout, and the actor restarts.
	send(t, sys, "t/go/1", "spin")
	if got := ask(t, sys, "t/go/1", "handled"); got != "handled=1" {
		t.Fatalf("after the spin: %q", got)
	}
	if st, _ := sys.Stats("t/go/1"); st.Traps[engine.TrapTimeout] != 1 || st.Restarts != 2 {
		t.Fatalf("stats %+v", st)
	}
	// Health.
	ctx := context.Background()
	for _, c := range []struct {
		cmd  string
		want actor.Health
	}{{"degrade", actor.Degraded}, {"sick", actor.Unhealthy}, {"heal", actor.Healthy}} {
		ask(t, sys, "t/go/1", c.cmd)
		if h, err := sys.Health(ctx, "t/go/1"); err != nil || h != c.want {
			t.Fatalf("%s: health %v %v", c.cmd, h, err)
		}
	}
	// A panic in health: the host reads no health, and the actor restarts.
	ask(t, sys, "t/go/1", "panic-health")
	if h, _ := sys.Health(ctx, "t/go/1"); h == actor.Healthy {
		t.Fatal("healthy while panicking")
	}
	eventually(t, "the restart after health", func() bool { return rec.count(actor.EventRestarted, "t/go/1") == 3 })
	if h, err := sys.Health(ctx, "t/go/1"); err != nil || h != actor.Healthy {
		t.Fatalf("health after the restart: %v %v", h, err)
	}
	if l := rec.logText(); !strings.Contains(l, `msg="panic: panic in health [health]\n\ngoroutine 1 [running]:\nmain.(*agent).Health(`) {
		t.Fatalf("the health panic is not logged:\n%s", l)
	}
	// Init.
	err := sys.Deploy(ctx, spec(t, "t/go/2", "goactor_agent", "panic-init", "no config for me"))
	if err == nil || !strings.Contains(err.Error(), "init: panic: no config for me") {
		t.Fatalf("deploy of an actor whose init panics: %v", err)
	}
	if l := rec.logText(); !strings.Contains(l, `msg="panic: no config for me [init]\n\ngoroutine 1 [running]:\nmain.(*agent).Init(`) {
		t.Fatalf("the init panic is not logged:\n%s", l)
	}
	err = sys.Deploy(ctx, spec(t, "t/go/3", "goactor_agent", "timeout-ms", "-1"))
	if err == nil || !strings.Contains(err.Error(), "invalid timeout-ms: -1") {
		t.Fatalf("deploy with a bad timeout: %v", err)
	}
}

// TestBehaviourGracefulShutdown: a shutdown handles what is queued, runs
// each agent's shutdown export (the C glue logs "shutdown", the Go agent
// how many messages it handled), answers or refuses the requests in
// flight, and leaves no dead letter.
func TestBehaviourGracefulShutdown(t *testing.T) {
	rec := &recorder{}
	sys := actor.NewSystem(eng0(t), actor.Options{Observer: rec.observe,
		Logger: slog.New(slog.NewTextHandler(rec, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	ids := map[string]string{"t/cagent/1": "actor2_agent2", "t/goagent/1": "goactor_agent"}
	for id, comp := range ids {
		deploy(t, sys, spec(t, id, comp))
	}
	const n = 1000
	for i := 1; i <= n; i++ {
		for id := range ids {
			send(t, sys, id, fmt.Sprintf("seq:%d", i))
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				_, err := sys.Request(context.Background(), actor.ID(id), []byte("x"), "")
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
	handled := map[string]uint64{}
	for id := range ids {
		ev := rec.find(actor.EventStopped, actor.ID(id))
		if ev == nil || ev.Stats == nil || ev.Stats.Handled < n || ev.Stats.Failed != 0 {
			t.Fatalf("%s stopped with %+v", id, ev)
		}
		handled[id] = ev.Stats.Handled
	}
	logs := rec.logText()
	if want := `level=INFO msg=shutdown actor=t/cagent/1 context=t/cagent/1`; !strings.Contains(logs, want) {
		t.Errorf("the C agent's shutdown export did not run (no %q)", want)
	}
	want := fmt.Sprintf(`level=INFO msg="shutdown after %d messages" actor=t/goagent/1 context=t/goagent/1`,
		handled["t/goagent/1"])
	if !strings.Contains(logs, want) {
		t.Errorf("the Go agent's shutdown export did not run after the queue (no %q):\n%s", want, logs)
	}
	if _, total := sys.DeadLetters(); total != 0 {
		t.Fatalf("%d dead letters after a graceful shutdown", total)
	}
}

// TestBehaviourCounterState: the Go agent counts a flood of sequenced
// messages as the C counter does, in order and none lost; a gap is seen.
func TestBehaviourCounterState(t *testing.T) {
	n := 20_000
	if testing.Short() || raceEnabled {
		n = 5_000
	}
	for _, comp := range []string{"actor2_counter", "goactor_agent"} {
		t.Run(comp, func(t *testing.T) {
			sys, _ := newSystem(t)
			s := spec(t, "t/counter/1", comp)
			s.MailboxSize = 1024
			deploy(t, sys, s)
			for i := 1; i <= n; i++ {
				if err := sys.Send(context.Background(), "t/counter/1", []byte(fmt.Sprintf("seq:%d", i)), ""); err != nil {
					t.Fatalf("send %d: %v", i, err)
				}
			}
			want := fmt.Sprintf("count=%d errors=0 last=%d", n, n)
			if got := ask(t, sys, "t/counter/1", "get"); got != want {
				t.Fatalf("counter: %q, want %q", got, want)
			}
			send(t, sys, "t/counter/1", fmt.Sprintf("seq:%d", n+2))
			want = fmt.Sprintf("count=%d errors=1 last=%d", n+1, n+2)
			if got := ask(t, sys, "t/counter/1", "get"); got != want {
				t.Fatalf("counter after a gap: %q, want %q", got, want)
			}
			if _, total := sys.DeadLetters(); total != 0 {
				t.Fatalf("%d dead letters", total)
			}
		})
	}
}

// TestBehaviourBytesThatAreNotText: a payload that is not UTF-8 is parsed
// as a command all the same; what is not a command comes back after
// "got:", as bytes; data that is not UTF-8 is sent as bytes.
func TestBehaviourBytesThatAreNotText(t *testing.T) {
	forEachAgent(t, func(t *testing.T, comp string) {
		sys, _ := newSystem(t)
		deploy(t, sys, spec(t, "t/agent/1", comp))
		deploy(t, sys, spec(t, "t/echo/1", "actor2_echo"))
		sub := behSubscribe(t, sys, "bytes.>")
		for _, bad := range [][]byte{{0xff}, []byte("self\xc3"), []byte("got:\x80\x80")} {
			r := request(t, sys, "t/agent/1", actor.Message{Payload: bad, ContentType: "application/octet-stream"})
			if want := append([]byte("got:"), bad...); string(r.Payload) != string(want) {
				t.Fatalf("%q: %q, want %q", bad, r.Payload, want)
			}
		}
		id := behAsked(t, sys, "t/agent/1", "ask|t/echo/1|\xff\xfe")
		agentReplies(t, sys, "t/agent/1", id+":ok:\xff\xfe")
		if got := ask(t, sys, "t/agent/1", "pub|bytes.x|\xc3("); got != "published" {
			t.Fatalf("publish: %q", got)
		}
		if m := behRecv(t, sub); string(m.Payload) != "\xc3(" || m.ContentType != "text/plain" {
			t.Fatalf("published %q type %q", m.Payload, m.ContentType)
		}
		behQuiet(t, sys, "t/agent/1")
	})
}

// TestGoActorStringsThatAreNotUTF8: what the host takes as a string (a
// target, topic, header or content type, a log line, an error) is never
// passed to it invalid, which would trap the actor: the Go agent is told
// guest.ErrFieldNotUTF8, or the bytes are replaced.
func TestGoActorStringsThatAreNotUTF8(t *testing.T) {
	sys, rec := newSystem(t)
	deploy(t, sys, spec(t, "t/agent/1", "goactor_agent"))
	deploy(t, sys, spec(t, "t/echo/1", "actor2_echo"))
	refused := "error:guest: target, topic, content type or header is not valid UTF-8"
	for _, cmd := range []string{"send|t/echo/\xff|x", "ask|t/echo/\xff|x", "pub|a.\xff|x",
		"cancel|t/echo/\xff|x", "hsend|t/echo/1|x-\xff|v|x", "hsend|t/echo/1|x|\xff|x", "fwd|t/echo/\xff"} {
		if got := ask(t, sys, "t/agent/1", cmd); got != refused {
			t.Errorf("%q: %q", cmd, got)
		}
	}
	// A reply's content type: the reply fails with the error instead (and
	// its payload handle is dropped).
	var he *actor.HandlerError
	if _, err := askErr(sys, "t/agent/1", "mirror|200|text/\xff", 5*time.Second); !errors.As(err, &he) ||
		he.Message != strings.TrimPrefix(refused, "error:") {
		t.Fatalf("mirror with a bad content type: %v", err)
	}
	if got := ask(t, sys, "t/agent/1", "log|info|bad \xff byte"); got != "" {
		t.Fatalf("log: %q", got)
	}
	eventually(t, "the log line", func() bool { return strings.Contains(rec.logText(), "bad \ufffd byte") })
	behIdle(t, sys, "t/agent/1", 9)
}
