package host

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/airsstack/airssys-wasm-go/host/telemetry"
)

// demoApp is examples/service's app: counters (key-value, events on a
// topic) and an audit actor subscribed to them.
const demoApp = `[app]
name = "shop"

[[actor]]
id = "shop/counter/1"
component = { store = "counter@1.0.0" }

[[actor]]
id = "shop/audit/1"
component = { store = "audit@1.0.0" }
subscriptions = ["counters.changed"]

[[route]]
method = "POST"
path = "/api/counters/{name}"
actor = "shop/counter/1"
`

// TestTraceOfARequestThroughActors: with tracing on (sample 1), an HTTP
// request through the gateway to the counter, whose event the audit actor
// handles, is one trace: the gateway's span, the counter's handling under
// it, its key-value calls and the audit's handling under that.
func TestTraceOfARequestThroughActors(t *testing.T) {
	f := newFixture(t)
	f.cfg = f.config(t, "[telemetry]\nsample = 1\n")
	f.writePolicy(t, fmt.Sprintf(messagingPolicy, f.key.Public().String()))
	rec := tracetest.NewSpanRecorder()
	s := f.open(t, Options{Tracing: telemetry.TracingOptions{SpanProcessor: rec}})
	for _, c := range []struct{ wasm, name, caps string }{
		{"demo_counter_v1", "counter", "[capabilities.messaging]\npublish = [\"counters.changed\"]\n"},
		{"demo_audit", "audit", "[capabilities.messaging]\nsubscribe = [\"counters.changed\"]\n"},
	} {
		f.installManifest(t, s, c.wasm, manifestFor(c.name, "1.0.0", c.caps), true)
	}
	deploy(t, s, demoApp)
	if code, body := post(t, s.Gateway(), "/api/counters/apples", ""); code != 200 {
		t.Fatalf("POST: %d %s", code, body)
	}
	// The audit's handling ends after the reply: wait for it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := 0
		for _, sp := range rec.Ended() {
			if strings.Contains(sp.Name(), "shop/audit/1") {
				n++
			}
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no span of the audit actor: %d spans", len(rec.Ended()))
		}
		time.Sleep(5 * time.Millisecond)
	}
	spans := rec.Ended()
	byID := map[string]string{} // span id -> name
	trace := spans[0].SpanContext().TraceID()
	for _, sp := range spans {
		if sp.SpanContext().TraceID() != trace {
			t.Fatalf("more than one trace: %s in %s", sp.Name(), sp.SpanContext().TraceID())
		}
		byID[sp.SpanContext().SpanID().String()] = sp.Name()
	}
	parent := map[string]string{} // name -> parent's name
	for _, sp := range spans {
		parent[sp.Name()] = byID[sp.Parent().SpanID().String()]
	}
	var gw, counter, audit string
	for name := range parent {
		switch {
		case strings.Contains(name, "shop/counter/1"):
			counter = name
		case strings.Contains(name, "shop/audit/1"):
			audit = name
		case strings.Contains(name, "/api/counters/"):
			gw = name
		}
	}
	if gw == "" || counter == "" || audit == "" {
		t.Fatalf("spans: %v", parent)
	}
	if parent[gw] != "" || parent[counter] != gw || parent[audit] != counter {
		t.Fatalf("links: gateway %q <- counter %q (parent %q) <- audit %q (parent %q)", gw, counter, parent[counter], audit, parent[audit])
	}
	// The key-value calls are counted per component too (/metrics).
	st, _ := s.System().Stats("shop/counter/1")
	if st.KVOps == 0 || st.KVBytes < uint64(len("apples")) {
		t.Fatalf("key-value counts: %d operations, %d bytes", st.KVOps, st.KVBytes)
	}
	mrec := httptest.NewRecorder()
	s.metrics.ServeHTTP(mrec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{
		fmt.Sprintf(`airssys_keyvalue_operations_total{app="shop",component="counter",version="1.0.0"} %d`, st.KVOps),
		fmt.Sprintf(`airssys_keyvalue_bytes_total{app="shop",component="counter",version="1.0.0"} %d`, st.KVBytes),
	} {
		if !strings.Contains(mrec.Body.String(), want) {
			t.Errorf("no %s in /metrics", want)
		}
	}
	kv := 0
	for name, p := range parent {
		if strings.HasPrefix(name, "keyvalue.") && (p == counter || p == audit) {
			kv++
		}
	}
	if kv == 0 {
		t.Fatalf("no key-value span under the handlings: %v", parent)
	}
}

// messagingPolicy trusts the fixture's key with storage and the demo's
// topic.
const messagingPolicy = `[policy]
require-signatures = true

[trust.trusted]
logging = true
config = ["*"]
storage-buckets = ["default"]
storage-read = true
storage-write = true
storage-delete = true
publish = ["counters.>"]
subscribe = ["counters.>"]

[[publisher]]
name = "test"
key = %q
`

// TestMetricsOnTheAdminSocket: /metrics is served on the admin listeners
// with the per-component series, and not on the gateway's.
func TestMetricsOnTheAdminSocket(t *testing.T) {
	f := newFixture(t)
	sock := shortSocket(t)
	f.cfg = f.config(t, fmt.Sprintf("[admin]\nsocket = %q\n[gateway]\nlisten = \"127.0.0.1:0\"\n", sock))
	s := f.open(t, Options{})
	f.install(t, s, "actor2_echo", "echo", "1.0.0")
	deploy(t, s, echoAppFile("1.0.0", 2, ""))
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan Addrs, 1)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, func(a Addrs) { ready <- a }) }()
	var addrs Addrs
	select {
	case addrs = <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	defer func() {
		cancel()
		<-done
	}()
	for i := 0; i < 5; i++ {
		r, err := http.Post("http://"+addrs.Gateway+"/echo", "text/plain", strings.NewReader("x"))
		if err != nil || r.StatusCode != 200 {
			t.Fatalf("gateway: %v %v", r, err)
		}
		r.Body.Close()
	}
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	r, err := hc.Get("http://admin/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	for _, want := range []string{
		`airssys_messages_handled_total{app="demo",component="echo",version="1.0.0"} 5`,
		`airssys_gateway_requests_total{route="POST /echo",status="200"} 5`,
		`airssys_actors{app="demo",component="echo",version="1.0.0"} 2`,
		"go_goroutines",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("no %s in /metrics", want)
		}
	}
	if want := fmt.Sprintf("airssys_host_dead_letters_total %d\n", s.System().DeadLetterTotal()); !strings.Contains(string(body), want) {
		t.Errorf("no %q in /metrics", want)
	}
	if r, err := http.Get("http://" + addrs.Gateway + "/metrics"); err != nil || r.StatusCode != http.StatusNotFound {
		t.Fatalf("the gateway serves /metrics: %v %v", r, err)
	}
}

// shortSocket is a socket path short enough for the system's limit.
func shortSocket(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "hs")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "s", "admin.sock")
}
