package actor_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/security"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const agentManifest = `[component]
name = "agent"
version = "1.0.0"
[resources]
memory = "4MiB"
[capabilities]
config = ["timeout-ms"]
logging = true
[capabilities.messaging]
send = ["test/echo/*"]
request = ["test/echo/*"]
publish = ["allowed.>"]
subscribe = ["allowed.news"]
`

const openPolicy = `[trust.unknown]
config = ["*"]
send = ["*/*/*"]
request = ["*/*/*"]
publish = [">"]
subscribe = [">"]
logging = true
`

func grantsFor(t *testing.T, manifest, policy string) *security.Grants {
	t.Helper()
	p, err := security.ParsePolicy("policy.toml", []byte(policy))
	if err != nil {
		t.Fatal(err)
	}
	a, err := security.Admit(p, []byte("component bytes"), []byte(manifest), "Component.toml", nil)
	if err != nil {
		t.Fatal(err)
	}
	return a.Grants
}

func securedSystem(t *testing.T) (*actor.System, *syncBuffer, *security.Audit) {
	t.Helper()
	log := &syncBuffer{}
	audit := security.NewAudit(log)
	sys := actor.NewSystem(eng0(t), actor.Options{Audit: audit})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		sys.Shutdown(ctx)
	})
	return sys, log, audit
}

func TestMessagingIsCheckedAgainstGrants(t *testing.T) {
	sys, log, audit := securedSystem(t)
	s := spec(t, "test/agent/1", "actor_agent", "timeout-ms", "200", "secret-key", "hunter2")
	s.Grants = grantsFor(t, agentManifest, openPolicy)
	deploy(t, sys, s)
	deploy(t, sys, spec(t, "test/echo/1", "actor_echo"))
	deploy(t, sys, spec(t, "test/silent/1", "actor_silent"))

	cases := map[string]string{
		"send|test/echo/1|hi":      "sent",
		"send|test/silent/1|hi":    "error:denied",
		"ask|test/silent/1|hi":     "error:denied",
		"pub|allowed.news|x":       "published",
		"pub|forbidden.news|x":     "error:denied",
		"send|no/such/actor|x":     "error:denied", // not granted, so not even looked up
		"ask|test/echo/1|anything": "asked:",
	}
	for cmd, want := range cases {
		if got := ask(t, sys, "test/agent/1", cmd); !strings.HasPrefix(got, want) {
			t.Errorf("%s: %q, want %q", cmd, got, want)
		}
	}
	if audit.Denials.Load() < 4 {
		t.Fatalf("%d denials audited", audit.Denials.Load())
	}
	out := log.String()
	for _, want := range []string{`"event":"denied"`, `"capability":"send"`, `"target":"test/silent/1"`,
		`"capability":"publish"`, `"target":"forbidden.news"`, `"capability":"config"`, `"target":"secret-key"`,
		`"event":"grant"`, `"event":"deployed"`} {
		if !strings.Contains(out, want) {
			t.Errorf("audit log lacks %s:\n%s", want, out)
		}
	}
}

func TestSubscriptionBeyondGrantsIsRefused(t *testing.T) {
	sys, _, _ := securedSystem(t)
	s := spec(t, "test/agent/1", "actor_agent")
	s.Grants = grantsFor(t, agentManifest, openPolicy)
	s.Subscriptions = []string{"allowed.news", "other.>"}
	err := sys.Deploy(context.Background(), s)
	if !errors.Is(err, actor.ErrDenied) || !strings.Contains(err.Error(), "other.>") {
		t.Fatalf("err = %v", err)
	}
}

func TestResourcesComeFromTheManifest(t *testing.T) {
	sys, _, _ := securedSystem(t)
	m := strings.Replace(agentManifest, `memory = "4MiB"`, "memory = \"4MiB\"\nmax-message = \"1KiB\"\nmailbox = 4", 1)
	s := spec(t, "test/agent/1", "actor_agent")
	s.Grants = grantsFor(t, m, openPolicy)
	deploy(t, sys, s)
	err := sys.Send(context.Background(), "test/agent/1", make([]byte, 2048), "")
	if !errors.Is(err, actor.ErrTooLarge) {
		t.Fatalf("2 KiB to an actor that accepts 1 KiB: %v", err)
	}
}

// TestDeniedCallStorm: a component hammering a denied call stays cheap for
// the host and the audit log stays bounded.
func TestDeniedCallStorm(t *testing.T) {
	sys, log, audit := securedSystem(t)
	s := spec(t, "test/agent/1", "actor_agent")
	s.Grants = grantsFor(t, agentManifest, openPolicy)
	deploy(t, sys, s)
	deploy(t, sys, spec(t, "test/echo/1", "actor_echo"))
	const storm = 50_000
	cmd := []byte("send|test/silent/9|x")
	start := time.Now()
	for i := 0; i < storm; i++ {
		if err := sys.Send(context.Background(), "test/agent/1", cmd, ""); err != nil {
			t.Fatal(err)
		}
	}
	// Meanwhile the host answers others promptly.
	rs := time.Now()
	if got := ask(t, sys, "test/echo/1", "still responsive"); got != "still responsive" {
		t.Fatal(got)
	}
	if d := time.Since(rs); d > time.Second {
		t.Fatalf("an unrelated request took %v during the storm", d)
	}
	eventually(t, "storm handled", func() bool {
		st, _ := sys.Stats("test/agent/1")
		return st.Handled >= storm
	})
	elapsed := time.Since(start)
	lines := strings.Count(log.String(), `"event":"denied"`)
	// 5 lines per second per (component, capability) at most.
	if max := 5*int(elapsed/time.Second+1) + 5; lines > max {
		t.Fatalf("%d denial lines for %d denials in %v (max %d)", lines, storm, elapsed, max)
	}
	if audit.Denials.Load() < storm || audit.Suppressed.Load() < storm-uint64(lines) {
		t.Fatalf("counted %d denials, %d suppressed", audit.Denials.Load(), audit.Suppressed.Load())
	}
}

func TestTrapsAndRestartsAreAudited(t *testing.T) {
	sys, log, _ := securedSystem(t)
	if err := sys.DeploySupervisor(context.Background(),
		fastRestarts(spec(t, "test/trapper/1", "actor_trapper"))); err != nil {
		t.Fatal(err)
	}
	send(t, sys, "test/trapper/1", "trap")
	eventually(t, "restart audited", func() bool {
		out := log.String()
		return strings.Contains(out, `"event":"trapped","component":"test/trapper/1"`) &&
			strings.Contains(out, `"event":"restarted","component":"test/trapper/1"`)
	})
}

// send is checked against the send grant and request against the request
// grant, each on its own.
func TestSendAndRequestGrantsAreSeparate(t *testing.T) {
	sys, _, _ := securedSystem(t)
	m := strings.Replace(agentManifest, `request = ["test/echo/*"]`, `request = ["test/silent/*"]`, 1)
	s := spec(t, "test/agent/1", "actor_agent", "timeout-ms", "200")
	s.Grants = grantsFor(t, m, openPolicy)
	deploy(t, sys, s)
	deploy(t, sys, spec(t, "test/echo/1", "actor_echo"))
	deploy(t, sys, spec(t, "test/silent/1", "actor_silent"))
	for cmd, want := range map[string]string{
		"send|test/echo/1|hi":   "sent",         // send granted
		"send|test/silent/1|hi": "error:denied", // only request granted
		"ask|test/silent/1|hi":  "asked:",       // request granted
		"ask|test/echo/1|hi":    "error:denied", // only send granted
	} {
		if got := ask(t, sys, "test/agent/1", cmd); !strings.HasPrefix(got, want) {
			t.Errorf("%s: %q, want %q", cmd, got, want)
		}
	}
}

// Without the logging grant, wasi:logging writes nothing (and the denial is
// audited); with it, the line arrives.
func TestLoggingNeedsItsGrant(t *testing.T) {
	for _, granted := range []bool{false, true} {
		t.Run(fmt.Sprint("granted=", granted), func(t *testing.T) {
			logs, auditLog := &syncBuffer{}, &syncBuffer{}
			sys := actor.NewSystem(eng0(t), actor.Options{Audit: security.NewAudit(auditLog),
				Logger: slog.New(slog.NewTextHandler(logs, nil))})
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				sys.Shutdown(ctx)
			})
			m := agentManifest
			if !granted {
				m = strings.Replace(m, "logging = true\n", "", 1)
			}
			s := spec(t, "test/agent/1", "actor_agent")
			s.Grants = grantsFor(t, m, openPolicy)
			deploy(t, sys, s)
			send(t, sys, "test/agent/1", "log|warn|the secret plan")
			ask(t, sys, "test/agent/1", "self") // handled after the log command
			if got := strings.Contains(logs.String(), "the secret plan"); got != granted {
				t.Fatalf("logged: %v, granted: %v:\n%s", got, granted, logs.String())
			}
			if denied := strings.Contains(auditLog.String(), `"capability":"logging"`); denied == granted {
				t.Fatalf("logging denial audited: %v, granted: %v", denied, granted)
			}
		})
	}
}
