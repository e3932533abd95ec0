package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/host/gateway"
	"github.com/airsstack/airssys-wasm-go/security"
	"github.com/airsstack/airssys-wasm-go/storage"
)

const agentManifest = `[component]
name = "agent"
version = "1.0.0"
[resources]
memory = "4MiB"
[capabilities]
logging = true
[capabilities.messaging]
send = ["shop/echo/*"]
`

const openPolicy = `[trust.unknown]
send = ["*/*/*"]
request = ["*/*/*"]
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

// shop deploys three echo actors (component echo 1.0.0), a trapper
// (trapper 2.0.0) and an agent whose grants allow sends to the echoes only
// (agent 1.0.0), all of app shop, and sends them known work: 10 requests to
// each echo, 5 to the trapper and one "trap" (it restarts), and one denied
// send from the agent.
func shop(t *testing.T, sys *actor.System, l *labels) {
	t.Helper()
	for _, id := range []actor.ID{"shop/echo/0", "shop/echo/1", "shop/echo/2"} {
		deploy(t, sys, spec(t, string(id), "actor2_echo"))
		l.set(id, "shop", "echo", "1.0.0")
	}
	deploy(t, sys, spec(t, "shop/trap/0", "actor2_trapper"))
	l.set("shop/trap/0", "shop", "trapper", "2.0.0")
	ag := spec(t, "shop/agent/0", "actor2_agent")
	ag.Grants = grantsFor(t, agentManifest, openPolicy)
	deploy(t, sys, ag)
	l.set("shop/agent/0", "shop", "agent", "1.0.0")

	for i := 0; i < 10; i++ {
		for _, id := range []string{"shop/echo/0", "shop/echo/1", "shop/echo/2"} {
			if got := mustAsk(t, sys, id, "hi"); got != "hi" {
				t.Fatalf("echo: %q", got)
			}
		}
	}
	for i := 0; i < 4; i++ {
		mustAsk(t, sys, "shop/trap/0", "hello")
	}
	if _, err := ask(t, sys, "shop/trap/0", "trap"); !errors.Is(err, actor.ErrActorFailed) {
		t.Fatalf("trap: %v", err)
	}
	eventually(t, "the trapper's restart", func() bool {
		st, _ := sys.Stats("shop/trap/0")
		return st.Restarts == 1 && st.State == actor.Running
	})
	mustAsk(t, sys, "shop/trap/0", "hello")
	if got := mustAsk(t, sys, "shop/agent/0", "send|shop/trap/0|x"); got != "error:denied" {
		t.Fatalf("agent: %q", got)
	}
}

func TestMetricsPerComponent(t *testing.T) {
	sys := newSystem(t, actor.Options{HandleTimes: true})
	var l labels
	m, err := NewMetrics(MetricsOptions{System: sys, Labels: l.fn})
	if err != nil {
		t.Fatal(err)
	}
	shop(t, sys, &l)
	got := scrape(t, m)
	echo := []string{"app", "shop", "component", "echo", "version", "1.0.0"}
	trap := []string{"app", "shop", "component", "trapper", "version", "2.0.0"}
	agent := []string{"app", "shop", "component", "agent", "version", "1.0.0"}
	with := func(base []string, kv ...string) []string { return append(append([]string{}, base...), kv...) }
	expect(t, got, map[string]float64{
		series("airssys_messages_handled_total", echo...):                    30,
		series("airssys_messages_handled_total", trap...):                    5,
		series("airssys_messages_handled_total", agent...):                   1,
		series("airssys_handler_errors_total", echo...):                      0,
		series("airssys_messages_failed_total", trap...):                     1,
		series("airssys_traps_total", with(trap, "kind", "unreachable")...):  1,
		series("airssys_restarts_total", trap...):                            1,
		series("airssys_restarts_total", echo...):                            0,
		series("airssys_denied_calls_total", agent...):                       1,
		series("airssys_denied_calls_total", echo...):                        0,
		series("airssys_dead_letters_total", echo...):                        0,
		series("airssys_mailbox_depth", echo...):                             0,
		series("airssys_actors", echo...):                                    3,
		series("airssys_actors", trap...):                                    1,
		series("airssys_handle_seconds_count", echo...):                      30,
		series("airssys_handle_seconds_bucket", with(echo, "le", "+Inf")...): 30,
		series("airssys_handle_seconds_count", trap...):                      5,
		series("airssys_live_instances"):                                     5,
		series("airssys_host_dead_letters_total"):                            1, // the trap's message
	})
	// Only the kinds that happened have a series.
	if ks := withPrefix(got, "airssys_traps_total{"); len(ks) != 1 {
		t.Errorf("trap series: %v", ks)
	}
	// No actor label unless asked for, and one series per label set.
	if ks := withPrefix(got, "airssys_messages_handled_total{"); len(ks) != 3 {
		t.Errorf("handled series: %v", ks)
	}
	for k := range got {
		if strings.Contains(k, "actor=") {
			t.Fatalf("per-actor series without PerActor: %s", k)
		}
	}
	// Buckets are cumulative, in seconds, and end with every observation;
	// the sum is a plausible time.
	prev := 0.0
	for _, b := range actor.HandleTimeBounds {
		k := series("airssys_handle_seconds_bucket", with(echo, "le", fmt.Sprintf("%g", b.Seconds()))...)
		v, ok := got[k]
		if !ok || v < prev {
			t.Fatalf("%s = %v (ok %v) after %v", k, v, ok, prev)
		}
		prev = v
	}
	if sum := got[series("airssys_handle_seconds_sum", echo...)]; sum <= 0 || sum > 30 {
		t.Fatalf("handle time sum %v s", sum)
	}
	// Go's and the process's collectors are there.
	for _, name := range []string{"go_goroutines{}", "go_memstats_heap_alloc_bytes{}", "process_resident_memory_bytes{}"} {
		if _, ok := got[name]; !ok {
			t.Errorf("%s missing", name)
		}
	}
	// The names follow Prometheus's conventions.
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "airssys_") {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
	}
}

func TestMetricsPerActor(t *testing.T) {
	sys := newSystem(t, actor.Options{HandleTimes: true})
	var l labels
	m, err := NewMetrics(MetricsOptions{System: sys, Labels: l.fn, PerActor: true})
	if err != nil {
		t.Fatal(err)
	}
	shop(t, sys, &l)
	got := scrape(t, m)
	for _, id := range []string{"shop/echo/0", "shop/echo/1", "shop/echo/2"} {
		lv := []string{"app", "shop", "component", "echo", "version", "1.0.0", "actor", id}
		expect(t, got, map[string]float64{
			series("airssys_messages_handled_total", lv...): 10,
			series("airssys_actors", lv...):                 1,
			series("airssys_handle_seconds_count", lv...):   10,
		})
	}
	expect(t, got, map[string]float64{
		series("airssys_traps_total", "app", "shop", "component", "trapper", "version", "2.0.0", "actor",
			"shop/trap/0", "kind", "unreachable"): 1,
	})
	if ks := withPrefix(got, "airssys_messages_handled_total{"); len(ks) != 5 {
		t.Errorf("handled series: %v", ks)
	}
}

// TestMetricsCountersStayMonotonic: a summed counter does not go down when
// an actor goes, when an actor runs another version, or when an id is
// deployed again; a label set left with no actor ends after RetiredFor.
func TestMetricsCountersStayMonotonic(t *testing.T) {
	sys := newSystem(t, actor.Options{})
	var l labels
	m, err := NewMetrics(MetricsOptions{System: sys, Labels: l.fn, RetiredFor: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	v1 := []string{"app", "shop", "component", "echo", "version", "1.0.0"}
	v2 := []string{"app", "shop", "component", "echo", "version", "1.1.0"}
	handled := func(lv []string) string { return series("airssys_messages_handled_total", lv...) }
	actors := func(lv []string) string { return series("airssys_actors", lv...) }
	for _, id := range []string{"shop/echo/0", "shop/echo/1", "shop/echo/2"} {
		deploy(t, sys, spec(t, id, "actor2_echo"))
		l.set(actor.ID(id), "shop", "echo", "1.0.0")
		for i := 0; i < 10; i++ {
			mustAsk(t, sys, id, "x")
		}
	}
	expect(t, scrape(t, m), map[string]float64{handled(v1): 30, actors(v1): 3})

	// An actor stops: its 10 stay.
	if err := sys.Stop(context.Background(), "shop/echo/0"); err != nil {
		t.Fatal(err)
	}
	expect(t, scrape(t, m), map[string]float64{handled(v1): 30, actors(v1): 2})

	// One runs 1.1.0 now: what it handled before stays with 1.0.0.
	l.set("shop/echo/1", "shop", "echo", "1.1.0")
	expect(t, scrape(t, m), map[string]float64{handled(v1): 30, handled(v2): 0, actors(v1): 1, actors(v2): 1})
	for i := 0; i < 5; i++ {
		mustAsk(t, sys, "shop/echo/1", "x")
	}
	expect(t, scrape(t, m), map[string]float64{handled(v1): 30, handled(v2): 5})

	// An id deployed again between two scrapes counts from zero, after
	// what its predecessor counted.
	if err := sys.Stop(context.Background(), "shop/echo/2"); err != nil {
		t.Fatal(err)
	}
	deploy(t, sys, spec(t, "shop/echo/2", "actor2_echo"))
	for i := 0; i < 3; i++ {
		mustAsk(t, sys, "shop/echo/2", "x")
	}
	expect(t, scrape(t, m), map[string]float64{handled(v1): 33, actors(v1): 1})

	// The last 1.0.0 actor goes: the series stays for RetiredFor, then
	// ends.
	if err := sys.Stop(context.Background(), "shop/echo/2"); err != nil {
		t.Fatal(err)
	}
	got := scrape(t, m)
	expect(t, got, map[string]float64{handled(v1): 33, actors(v1): 0, handled(v2): 5})
	time.Sleep(250 * time.Millisecond)
	got = scrape(t, m)
	if _, ok := got[handled(v1)]; ok {
		t.Fatalf("1.0.0 still reported after RetiredFor: %v", withPrefix(got, "airssys_messages_handled_total"))
	}
	expect(t, got, map[string]float64{handled(v2): 5})
}

func TestMetricsStorage(t *testing.T) {
	db, err := storage.Open(filepath.Join(t.TempDir(), "kv.db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	sys := newSystem(t, actor.Options{Storage: db})
	owner := storage.Owner{Publisher: "ed25519:AAAA", Name: "billing"}
	s := spec(t, "shop/kv/0", "actor2_kv")
	s.Owner = owner
	deploy(t, sys, s)
	for _, cmd := range []string{"set|b|k1|value-one", "set|b|k2|two"} {
		if got := mustAsk(t, sys, "shop/kv/0", cmd); got != "ok" {
			t.Fatalf("%s: %q", cmd, got)
		}
	}
	u, err := db.Usage(context.Background(), owner)
	if err != nil || u.Keys != 2 || u.Bytes == 0 {
		t.Fatalf("usage %+v %v", u, err)
	}
	lv := []string{"publisher", "ed25519:AAAA", "component", "billing"}

	// Every owner with data, against the default quota.
	m, err := NewMetrics(MetricsOptions{System: sys, Storage: db})
	if err != nil {
		t.Fatal(err)
	}
	got := scrape(t, m)
	expect(t, got, map[string]float64{
		series("airssys_storage_used_bytes", lv...):  float64(u.Bytes),
		series("airssys_storage_used_keys", lv...):   2,
		series("airssys_storage_quota_bytes", lv...): storage.DefaultMaxBytes,
		series("airssys_storage_quota_keys", lv...):  storage.DefaultMaxKeys,
	})
	st := db.Stats()
	if got[series("airssys_storage_writes_total")] != float64(st.Writes) || st.Writes < 2 ||
		got[series("airssys_storage_commits_total")] != float64(st.Commits) {
		t.Fatalf("storage counters %v %v, stats %+v", got[series("airssys_storage_writes_total")],
			got[series("airssys_storage_commits_total")], st)
	}

	// The owners the host names, with their quotas.
	m, err = NewMetrics(MetricsOptions{System: sys, Storage: db, Owners: func() []StorageOwner {
		return []StorageOwner{{Owner: owner, Limits: storage.Limits{MaxBytes: 4096, MaxKeys: 10}},
			{Owner: storage.Owner{Name: "empty"}}}
	}})
	if err != nil {
		t.Fatal(err)
	}
	got = scrape(t, m)
	expect(t, got, map[string]float64{
		series("airssys_storage_used_keys", lv...):                                   2,
		series("airssys_storage_quota_bytes", lv...):                                 4096,
		series("airssys_storage_quota_keys", lv...):                                  10,
		series("airssys_storage_used_keys", "publisher", "", "component", "empty"):   0,
		series("airssys_storage_quota_keys", "publisher", "", "component", "empty"):  storage.DefaultMaxKeys,
		series("airssys_storage_quota_bytes", "publisher", "", "component", "empty"): storage.DefaultMaxBytes,
	})

	// A store that cannot be read leaves its series out, not the scrape,
	// and is logged.
	var logged strings.Builder
	m, err = NewMetrics(MetricsOptions{System: sys, Storage: db, Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	got = scrape(t, m)
	if !strings.Contains(logged.String(), "level=WARN msg=\"metrics: ") || !strings.Contains(logged.String(), "closed") {
		t.Errorf("logged: %q", logged.String())
	}
	if _, ok := got[series("airssys_storage_used_keys", lv...)]; ok {
		t.Fatal("usage of a closed store")
	}
	expect(t, got, map[string]float64{series("airssys_live_instances"): 1})
}

func TestMetricsCompileCache(t *testing.T) {
	dir := t.TempDir()
	var hits, misses float64
	for i := 0; i < 2; i++ {
		e, err := engine.New(engine.Config{CacheDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		c, err := e.CompileFile(context.Background(), filepath.Join("..", "..", "testdata", "actor2_echo.wasm"))
		if err != nil {
			t.Fatal(err)
		}
		sys := actor.NewSystem(e, actor.Options{})
		m, err := NewMetrics(MetricsOptions{System: sys, Engine: e})
		if err != nil {
			t.Fatal(err)
		}
		got := scrape(t, m)
		hits, misses = got[series("airssys_compile_cache_hits_total")], got[series("airssys_compile_cache_misses_total")]
		if i == 0 && (hits != 0 || misses != 1) || i == 1 && (hits != 1 || misses != 0) {
			t.Fatalf("engine %d: hits %v misses %v", i, hits, misses)
		}
		sys.Shutdown(context.Background())
		c.Close()
		e.Close()
	}
}

// TestGatewayMetrics: requests by route pattern and status, with their
// latency, through the gateway's Observe hook.
func TestGatewayMetrics(t *testing.T) {
	sys := newSystem(t, actor.Options{})
	deploy(t, sys, spec(t, "shop/echo/0", "actor2_echo"))
	deploy(t, sys, spec(t, "shop/trap/0", "actor2_trapper"))
	m, err := NewMetrics(MetricsOptions{System: sys})
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(sys, []gateway.Route{
		{Method: "POST", Pattern: "/echo/{id}", Actor: "shop/echo/0"},
		{Pattern: "/trap", Actor: "shop/trap/0"},
	}, gateway.Options{Observe: m.ObserveRequest})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	defer srv.Close()
	do := func(method, path, body string, want int) {
		t.Helper()
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		rec := httptest.NewRecorder()
		gw.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Fatalf("%s %s: %d, want %d", method, path, rec.Code, want)
		}
	}
	for i := 0; i < 3; i++ {
		do("POST", "/echo/"+string(rune('a'+i)), "hi", 200)
	}
	do("POST", "/trap", "trap", 500)
	do("GET", "/nowhere", "", 404)
	do("GET", "/echo/a", "", 405)
	got := scrape(t, m)
	expect(t, got, map[string]float64{
		series("airssys_gateway_requests_total", "route", "POST /echo/{id}", "status", "200"): 3,
		series("airssys_gateway_requests_total", "route", "/trap", "status", "500"):           1,
		series("airssys_gateway_requests_total", "route", "unmatched", "status", "404"):       1,
		series("airssys_gateway_requests_total", "route", "unmatched", "status", "405"):       1,
		series("airssys_gateway_request_duration_seconds_count", "route", "POST /echo/{id}"):  3,
		series("airssys_gateway_request_duration_seconds_bucket", "route", "POST /echo/{id}",
			"le", "+Inf"): 3,
	})
	if ks := withPrefix(got, "airssys_gateway_requests_total{"); len(ks) != 4 {
		t.Fatalf("request series: %v", ks)
	}
}

// TestMetricsLiveInstances: an actor waiting for its restart is deployed
// but not live.
func TestMetricsLiveInstances(t *testing.T) {
	sys := newSystem(t, actor.Options{})
	m, err := NewMetrics(MetricsOptions{System: sys})
	if err != nil {
		t.Fatal(err)
	}
	deploy(t, sys, spec(t, "shop/echo/0", "actor2_echo"))
	if err := sys.DeploySupervisor(context.Background(), actor.SupervisorSpec{Name: "slow",
		BackoffMin: time.Minute, BackoffMax: time.Minute, Children: []actor.Child{spec(t, "shop/trap/0", "actor2_trapper")}}); err != nil {
		t.Fatal(err)
	}
	expect(t, scrape(t, m), map[string]float64{series("airssys_live_instances"): 2})
	if _, err := ask(t, sys, "shop/trap/0", "trap"); !errors.Is(err, actor.ErrActorFailed) {
		t.Fatalf("trap: %v", err)
	}
	eventually(t, "restarting", func() bool {
		st, _ := sys.Stats("shop/trap/0")
		return st.State == actor.Restarting
	})
	expect(t, scrape(t, m), map[string]float64{series("airssys_live_instances"): 1,
		series("airssys_actors", "app", "", "component", "", "version", ""): 2})
}
