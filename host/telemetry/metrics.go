package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/storage"
)

// LabelFunc names what an actor runs: its app, its component and the
// component's version; ok is false for an actor the host does not know
// (its series then have empty labels). Metrics ask it once per actor per
// scrape, and traces once per sampled message: it must be cheap and safe
// from any goroutine.
type LabelFunc func(id actor.ID) (app, component, version string, ok bool)

// StorageOwner is a key-value owner and its quota, for the storage
// series.
type StorageOwner struct {
	Owner storage.Owner
	// Limits is the owner's quota; a zero field is the storage default.
	Limits storage.Limits
}

// MetricsOptions configure NewMetrics. Only System is required.
type MetricsOptions struct {
	System *actor.System
	// Labels names each actor's app, component and version.
	Labels LabelFunc
	// PerActor adds an "actor" label to the per-component series: one
	// series per actor instead of one per app, component and version.
	PerActor bool
	// Engine, when set, gives the compile cache's hits and misses.
	Engine *engine.Engine
	// Storage, when set, gives the key-value store's usage against quota
	// per owner and its commit counters.
	Storage *storage.DB
	// Owners lists the owners to report with their quotas; nil: every
	// owner with data, against the default quota.
	Owners func() []StorageOwner
	// RetiredFor is how long the summed counts of a label set with no
	// actors left are still reported (default 15 minutes), so that a
	// counter does not drop when the last actor of a version goes; after
	// that the series ends.
	RetiredFor time.Duration
	// StorageTimeout bounds the storage reads of one scrape (default 5s).
	StorageTimeout time.Duration
	// Logger hears of series a scrape could not read (default: discard).
	Logger *slog.Logger
}

// Metrics is the host's Prometheus registry: the actor, host, storage and
// gateway series, with Go's and the process's.
//
// The per-component series are sums over actors of counters the runtime
// keeps per actor. To keep those sums from going down, which Prometheus
// would read as a reset, the collector remembers each actor's counts at
// the previous scrape: when an actor is gone, or runs another version or
// under other labels, the counts it had are kept under its old labels
// (for RetiredFor once no actor has them), and only what it counts from
// then on goes to its new labels. Messages handled between the last
// scrape and the change are counted under the new labels (or, for an
// actor gone, not at all).
type Metrics struct {
	reg      *prometheus.Registry
	col      *collector
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// Gateway latency buckets, in seconds.
var gatewayBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// NewMetrics builds the registry.
func NewMetrics(o MetricsOptions) (*Metrics, error) {
	if o.System == nil {
		return nil, errors.New("telemetry: MetricsOptions.System is required")
	}
	if o.RetiredFor <= 0 {
		o.RetiredFor = 15 * time.Minute
	}
	if o.StorageTimeout <= 0 {
		o.StorageTimeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{reg: prometheus.NewRegistry(), col: newCollector(o)}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "airssys_gateway_requests_total",
		Help: "HTTP requests the gateway answered, by route pattern and status."}, []string{"route", "status"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "airssys_gateway_request_duration_seconds",
		Help:    "Time from a request's arrival at the gateway to its response, by route pattern.",
		Buckets: gatewayBuckets}, []string{"route"})
	for _, c := range []prometheus.Collector{m.col, m.requests, m.latency, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		if err := m.reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Registry is the registry, for more collectors or a test's Gather.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in Prometheus's formats (for /metrics on the
// admin listeners). A series that cannot be read (the store closed) is
// left out of the scrape and logged.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError,
		ErrorLog: errorLog{m.col.o.Logger}})
}

// errorLog is promhttp's error log on a slog.Logger.
type errorLog struct{ l *slog.Logger }

func (e errorLog) Println(v ...any) {
	e.l.Warn("metrics: " + strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
}

// ObserveRequest counts one gateway request (gateway.Options.Observe):
// route is the route's pattern ("" for a request no route matched).
func (m *Metrics) ObserveRequest(route string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, statusLabel(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

var statusLabels = func() (s [600]string) {
	for i := range s {
		s[i] = strconv.Itoa(i)
	}
	return s
}()

func statusLabel(status int) string {
	if status >= 0 && status < len(statusLabels) {
		return statusLabels[status]
	}
	return strconv.Itoa(status)
}

// ---- the collector ---------------------------------------------------------

// counts are the cumulative numbers of one actor (or a sum of actors).
type counts struct {
	handled, errors, failed, dead, restarts, denied, kvOps, kvBytes uint64
	traps                                                           map[engine.TrapKind]uint64
	hist                                                            hist
}

// hist is a handle-time histogram: counts per bucket (not cumulative), the
// last one past the last bound.
type hist struct {
	bounds []time.Duration
	counts []uint64
	sum    time.Duration
	count  uint64
}

func countsOf(st *actor.Stats) counts {
	c := counts{handled: st.Handled, errors: st.Errors, failed: st.Failed, dead: st.DeadLettered,
		restarts: st.Restarts, kvOps: st.KVOps, kvBytes: st.KVBytes}
	countsOfObserved(&c, st)
	return c
}

// below reports whether any counter of c is lower than in o: c belongs to
// a new actor under an old id.
func (c *counts) below(o *counts) bool {
	if c.handled < o.handled || c.errors < o.errors || c.failed < o.failed || c.dead < o.dead ||
		c.restarts < o.restarts || c.denied < o.denied || c.hist.count < o.hist.count ||
		c.kvOps < o.kvOps || c.kvBytes < o.kvBytes {
		return true
	}
	for k, n := range o.traps {
		if c.traps[k] < n {
			return true
		}
	}
	return false
}

// add adds sign*(x - base) to c (sign +1 or -1 is not needed: x >= base).
func (c *counts) addDiff(x, base *counts) {
	c.handled += x.handled - base.handled
	c.errors += x.errors - base.errors
	c.failed += x.failed - base.failed
	c.dead += x.dead - base.dead
	c.restarts += x.restarts - base.restarts
	c.denied += x.denied - base.denied
	c.kvOps += x.kvOps - base.kvOps
	c.kvBytes += x.kvBytes - base.kvBytes
	for k, n := range x.traps {
		if d := n - base.traps[k]; d > 0 {
			if c.traps == nil {
				c.traps = map[engine.TrapKind]uint64{}
			}
			c.traps[k] += d
		}
	}
	if x.hist.counts == nil {
		return
	}
	if c.hist.counts == nil {
		c.hist.bounds = x.hist.bounds
		c.hist.counts = make([]uint64, len(x.hist.counts))
	} else if !slices.Equal(c.hist.bounds, x.hist.bounds) {
		return // another runtime's buckets: not summed
	}
	sameBase := base.hist.counts != nil && slices.Equal(base.hist.bounds, x.hist.bounds)
	for i, n := range x.hist.counts {
		if sameBase {
			n -= base.hist.counts[i]
		}
		c.hist.counts[i] += n
	}
	if sameBase {
		c.hist.sum += x.hist.sum - base.hist.sum
		c.hist.count += x.hist.count - base.hist.count
	} else {
		c.hist.sum += x.hist.sum
		c.hist.count += x.hist.count
	}
}

type labelKey struct{ app, component, version, actor string }

// track is what the collector remembers of one actor between scrapes.
type track struct {
	key        labelKey
	base, last counts // counts when it took key, and at the last scrape
	gen        uint64
}

type retired struct {
	counts
	lastLive time.Time // when an actor last had these labels
}

// labelSums are one label set's numbers in a scrape.
type labelSums struct {
	counts
	depth, actors int
}

type collector struct {
	o     MetricsOptions
	descs struct {
		handled, errors, failed, traps, restarts, depth, dead, denied, handle, actors *prometheus.Desc
		kvOps, kvOpBytes                                                              *prometheus.Desc
		live, cacheHits, cacheMisses, allDead                                         *prometheus.Desc
		kvBytes, kvKeys, kvMaxBytes, kvMaxKeys, kvCommits, kvWrites                   *prometheus.Desc
	}

	mu      sync.Mutex // one scrape at a time
	gen     uint64
	tracks  map[actor.ID]*track
	retired map[labelKey]*retired
}

func newCollector(o MetricsOptions) *collector {
	c := &collector{o: o, tracks: map[actor.ID]*track{}, retired: map[labelKey]*retired{}}
	l := []string{"app", "component", "version"}
	if o.PerActor {
		l = append(l, "actor")
	}
	d := &c.descs
	nd := func(name, help string, labels []string) *prometheus.Desc {
		return prometheus.NewDesc("airssys_"+name, help, labels, nil)
	}
	d.handled = nd("messages_handled_total", "Messages handled successfully.", l)
	d.errors = nd("handler_errors_total", "Messages whose handler returned an error.", l)
	d.failed = nd("messages_failed_total", "Messages whose handling trapped or whose reply was invalid.", l)
	d.traps = nd("traps_total", "Guest traps, by kind.", append(slices.Clone(l), "kind"))
	d.restarts = nd("restarts_total", "Restarts of actors.", l)
	d.depth = nd("mailbox_depth", "Messages waiting in mailboxes.", l)
	d.dead = nd("dead_letters_total", "Messages to actors that became dead letters.", l)
	d.denied = nd("denied_calls_total", "Host calls refused by the capability grants.", l)
	d.kvOps = nd("keyvalue_operations_total", "Key-value operations the grants allowed.", l)
	d.kvOpBytes = nd("keyvalue_bytes_total", "Bytes of keys and values key-value operations read or wrote.", l)
	d.handle = nd("handle_seconds", "Time to handle a message.", l)
	d.actors = nd("actors", "Actors deployed.", l)
	d.live = nd("live_instances", "Actors running (instantiated and serving their mailbox).", nil)
	d.allDead = nd("host_dead_letters_total", "Dead letters of the whole host, to ids that do not exist too.", nil)
	d.cacheHits = nd("compile_cache_hits_total", "Compiles served from the compile cache.", nil)
	d.cacheMisses = nd("compile_cache_misses_total", "Compiles that ran the compiler.", nil)
	ol := []string{"publisher", "component"}
	d.kvBytes = nd("storage_used_bytes", "Bytes of keys and values an owner's key-value data takes.", ol)
	d.kvKeys = nd("storage_used_keys", "Keys an owner's key-value data holds.", ol)
	d.kvMaxBytes = nd("storage_quota_bytes", "An owner's quota of key and value bytes.", ol)
	d.kvMaxKeys = nd("storage_quota_keys", "An owner's quota of keys.", ol)
	d.kvCommits = nd("storage_commits_total", "Key-value transactions committed (one fsync each).", nil)
	d.kvWrites = nd("storage_writes_total", "Key-value writes acknowledged.", nil)
	return c
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	d := &c.descs
	for _, x := range []*prometheus.Desc{d.handled, d.errors, d.failed, d.traps, d.restarts, d.depth, d.dead,
		d.denied, d.kvOps, d.kvOpBytes, d.handle, d.actors, d.live, d.allDead} {
		ch <- x
	}
	if c.o.Engine != nil {
		ch <- d.cacheHits
		ch <- d.cacheMisses
	}
	if c.o.Storage != nil {
		for _, x := range []*prometheus.Desc{d.kvBytes, d.kvKeys, d.kvMaxBytes, d.kvMaxKeys, d.kvCommits, d.kvWrites} {
			ch <- x
		}
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	sums, live := c.scan(now)
	d := &c.descs
	counter := func(desc *prometheus.Desc, v uint64, lv []string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(v), lv...)
	}
	gauge := func(desc *prometheus.Desc, v float64, lv []string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, lv...)
	}
	for k, s := range sums {
		lv := []string{k.app, k.component, k.version}
		if c.o.PerActor {
			lv = append(lv, k.actor)
		}
		counter(d.handled, s.handled, lv)
		counter(d.errors, s.errors, lv)
		counter(d.failed, s.failed, lv)
		counter(d.restarts, s.restarts, lv)
		counter(d.dead, s.dead, lv)
		counter(d.denied, s.denied, lv)
		counter(d.kvOps, s.kvOps, lv)
		counter(d.kvOpBytes, s.kvBytes, lv)
		gauge(d.depth, float64(s.depth), lv)
		gauge(d.actors, float64(s.actors), lv)
		for kind, n := range s.traps {
			counter(d.traps, n, append(lv[:len(lv):len(lv)], trapLabel(kind)))
		}
		if h := s.hist; h.counts != nil {
			buckets := make(map[float64]uint64, len(h.bounds))
			var cum uint64
			for i, b := range h.bounds {
				cum += h.counts[i]
				buckets[b.Seconds()] = cum
			}
			ch <- prometheus.MustNewConstHistogram(d.handle, h.count, h.sum.Seconds(), buckets, lv...)
		}
	}
	gauge(d.live, float64(live), nil)
	counter(d.allDead, c.o.System.DeadLetterTotal(), nil)
	if e := c.o.Engine; e != nil {
		cs := e.CacheStats()
		counter(d.cacheHits, cs.Hits, nil)
		counter(d.cacheMisses, cs.Misses, nil)
	}
	if db := c.o.Storage; db != nil {
		c.collectStorage(ch, db)
	}
}

// scan reads every actor's stats once and sums them by label set.
func (c *collector) scan(now time.Time) (map[labelKey]*labelSums, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	sums := map[labelKey]*labelSums{}
	get := func(k labelKey) *labelSums {
		s := sums[k]
		if s == nil {
			s = &labelSums{}
			sums[k] = s
		}
		return s
	}
	live := 0
	sys := c.o.System
	for _, id := range sys.Actors() {
		st, err := sys.Stats(id)
		if err != nil {
			continue // gone since Actors
		}
		if st.State == actor.Running {
			live++
		}
		var k labelKey
		if c.o.Labels != nil {
			k.app, k.component, k.version, _ = c.o.Labels(id)
		}
		if c.o.PerActor {
			k.actor = string(id)
		}
		cur := countsOf(&st)
		t := c.tracks[id]
		switch {
		case t == nil:
			t = &track{key: k}
			c.tracks[id] = t
		case cur.below(&t.last): // a new actor under an old id
			c.retire(t, now)
			t.key, t.base = k, counts{}
		case t.key != k: // another version (or app): its counts so far stay with the old labels
			c.retire(t, now)
			t.key, t.base = k, t.last
		}
		t.last, t.gen = cur, c.gen
		s := get(k)
		s.addDiff(&cur, &t.base)
		s.depth += st.MailboxDepth
		s.actors++
	}
	for id, t := range c.tracks {
		if t.gen != c.gen {
			c.retire(t, now)
			delete(c.tracks, id)
		}
	}
	for k, r := range c.retired {
		if _, ok := sums[k]; ok {
			r.lastLive = now
		} else if now.Sub(r.lastLive) > c.o.RetiredFor {
			delete(c.retired, k)
			continue
		}
		get(k).addDiff(&r.counts, &counts{})
	}
	return sums, live
}

// retire keeps what t counted under its labels (summed series only: a
// per-actor series ends with its actor).
func (c *collector) retire(t *track, now time.Time) {
	if c.o.PerActor {
		return
	}
	r := c.retired[t.key]
	if r == nil {
		r = &retired{}
		c.retired[t.key] = r
	}
	r.addDiff(&t.last, &t.base)
	r.lastLive = now
}

func (c *collector) collectStorage(ch chan<- prometheus.Metric, db *storage.DB) {
	d := &c.descs
	ctx, cancel := context.WithTimeout(context.Background(), c.o.StorageTimeout)
	defer cancel()
	var owners []StorageOwner
	if c.o.Owners != nil {
		owners = c.o.Owners()
	} else {
		os, err := db.Owners(ctx)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(d.kvBytes, err)
		}
		for _, o := range os {
			owners = append(owners, StorageOwner{Owner: o})
		}
	}
	for _, o := range owners {
		u, err := db.Usage(ctx, o.Owner)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(d.kvBytes, err)
			continue
		}
		lim := o.Limits
		if lim.MaxBytes <= 0 {
			lim.MaxBytes = storage.DefaultMaxBytes
		}
		if lim.MaxKeys <= 0 {
			lim.MaxKeys = storage.DefaultMaxKeys
		}
		lv := []string{o.Owner.Publisher, o.Owner.Name}
		ch <- prometheus.MustNewConstMetric(d.kvBytes, prometheus.GaugeValue, float64(u.Bytes), lv...)
		ch <- prometheus.MustNewConstMetric(d.kvKeys, prometheus.GaugeValue, float64(u.Keys), lv...)
		ch <- prometheus.MustNewConstMetric(d.kvMaxBytes, prometheus.GaugeValue, float64(lim.MaxBytes), lv...)
		ch <- prometheus.MustNewConstMetric(d.kvMaxKeys, prometheus.GaugeValue, float64(lim.MaxKeys), lv...)
	}
	st := db.Stats()
	ch <- prometheus.MustNewConstMetric(d.kvCommits, prometheus.CounterValue, float64(st.Commits))
	ch <- prometheus.MustNewConstMetric(d.kvWrites, prometheus.CounterValue, float64(st.Writes))
}

// trapLabel is a trap kind as a label value: "out of fuel" -> "out_of_fuel".
func trapLabel(k engine.TrapKind) string { return strings.ReplaceAll(k.String(), " ", "_") }
