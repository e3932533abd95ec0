package telemetry

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/storage"
)

var (
	engOnce sync.Once
	eng     *engine.Engine
	compMu  sync.Mutex
	comps   = map[string]*engine.Component{}
)

func testEngine(t testing.TB) *engine.Engine {
	engOnce.Do(func() {
		var err error
		if eng, err = engine.New(engine.Config{}); err != nil {
			panic(err)
		}
	})
	return eng
}

func component(t testing.TB, name string) *engine.Component {
	t.Helper()
	e := testEngine(t)
	compMu.Lock()
	defer compMu.Unlock()
	if c, ok := comps[name]; ok {
		return c
	}
	c, err := e.CompileFile(context.Background(), filepath.Join("..", "..", "testdata", name+".wasm"))
	if err != nil {
		t.Fatalf("compile %s: %v", name, err)
	}
	comps[name] = c
	return c
}

func newSystem(t *testing.T, o actor.Options) *actor.System {
	t.Helper()
	sys := actor.NewSystem(testEngine(t), o)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		sys.Shutdown(ctx)
	})
	return sys
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
	if err := sys.DeploySupervisor(context.Background(), actor.SupervisorSpec{Name: string(s.ID),
		BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond, MaxRestarts: 100, Period: time.Minute,
		Children: []actor.Child{s}}); err != nil {
		t.Fatalf("deploy %s: %v", s.ID, err)
	}
}

func ask(t *testing.T, sys *actor.System, to, payload string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := sys.Request(ctx, actor.ID(to), []byte(payload), "text/plain")
	return string(m.Payload), err
}

func mustAsk(t *testing.T, sys *actor.System, to, payload string) string {
	t.Helper()
	s, err := ask(t, sys, to, payload)
	if err != nil {
		t.Fatalf("request %q to %s: %v", payload, to, err)
	}
	return s
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

// labels is a LabelFunc the tests change.
type labels struct {
	mu sync.Mutex
	m  map[actor.ID][3]string
}

func (l *labels) set(id actor.ID, app, comp, ver string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[actor.ID][3]string{}
	}
	l.m[id] = [3]string{app, comp, ver}
}

func (l *labels) fn(id actor.ID) (string, string, string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	v, ok := l.m[id]
	return v[0], v[1], v[2], ok
}

// scrape gathers reg into "name{k=v,...}" -> value, labels sorted;
// histograms as name_count, name_sum and name_bucket{...,le=...}
// (cumulative).
func scrape(t testing.TB, m *Metrics) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	var mfs []*dto.MetricFamily
	for _, f := range fams {
		mfs = append(mfs, f)
	}
	return families(mfs)
}

// gather is scrape through the registry's Gather (no text format).
func gather(t testing.TB, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return families(mfs)
}

func families(mfs []*dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	key := func(name string, lps []*dto.LabelPair, extra ...string) string {
		var ls []string
		for _, lp := range lps {
			ls = append(ls, lp.GetName()+"="+lp.GetValue())
		}
		ls = append(ls, extra...)
		sort.Strings(ls)
		return name + "{" + strings.Join(ls, ",") + "}"
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			switch {
			case m.Counter != nil:
				out[key(name, m.GetLabel())] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[key(name, m.GetLabel())] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				h := m.GetHistogram()
				out[key(name+"_count", m.GetLabel())] = float64(h.GetSampleCount())
				out[key(name+"_sum", m.GetLabel())] = h.GetSampleSum()
				for _, b := range h.GetBucket() {
					out[key(name+"_bucket", m.GetLabel(), fmt.Sprintf("le=%g", b.GetUpperBound()))] =
						float64(b.GetCumulativeCount())
				}
			case m.Untyped != nil:
				out[key(name, m.GetLabel())] = m.GetUntyped().GetValue()
			}
		}
	}
	return out
}

// series formats a key of scrape's map.
func series(name string, kv ...string) string {
	var ls []string
	for i := 0; i+1 < len(kv); i += 2 {
		ls = append(ls, kv[i]+"="+kv[i+1])
	}
	sort.Strings(ls)
	return name + "{" + strings.Join(ls, ",") + "}"
}

// withPrefix lists the keys of got that start with prefix, sorted.
func withPrefix(got map[string]float64, prefix string) []string {
	var out []string
	for k := range got {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func expect(t *testing.T, got map[string]float64, want map[string]float64) {
	t.Helper()
	for k, v := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: missing (have %v)", k, withPrefix(got, k[:strings.IndexByte(k, '{')]))
			continue
		}
		if g != v {
			t.Errorf("%s = %v, want %v", k, g, v)
		}
	}
}

func kvDB(t *testing.T) *storage.DB {
	t.Helper()
	db, err := storage.Open(filepath.Join(t.TempDir(), "kv.db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
