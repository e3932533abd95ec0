package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/airsstack/airssys-wasm-go/host/admin"
)

// snapshot is what a stream sends every interval (event "snapshot"): the
// host, its lattice, its apps with their actors, the recent dead letters
// and the store.
type snapshot struct {
	Time time.Time `json:"time"`
	// Status is the host's, without its lattice: that is Lattice.
	Status admin.Status `json:"status"`
	// Lattice is the host's lattice with at most maxLatticeHosts of its
	// hosts (nil, and absent, when the host runs without one).
	Lattice     *latticeView      `json:"lattice,omitempty"`
	Apps        []appView         `json:"apps"`
	DeadLetters admin.DeadLetters `json:"dead_letters"`
	Components  []admin.Component `json:"components"`
	// Errors are the Backend calls that failed for this snapshot.
	Errors []string `json:"errors,omitempty"`
}

// appView is an app as the page shows it (its actors with their rates).
type appView struct {
	Name     string        `json:"name"`
	Digest   string        `json:"digest"`
	Deployed time.Time     `json:"deployed"`
	Actors   []actorView   `json:"actors"`
	Routes   []admin.Route `json:"routes"`
}

// actorView is an actor and the rate at which it handles messages. Every
// field of admin.Actor comes along as it is, so the fields the host may
// add later reach the page with no change here: the page charts
// handle_p50_us and handle_p99_us (handle time in µs) when they are there.
type actorView struct {
	admin.Actor
	// Rate is the messages handled per second since the previous snapshot
	// (from Handled's difference; 0 in the first one).
	Rate float64 `json:"rate"`
}

// latticeView is the lattice as the page gets it: its hosts cut to
// maxLatticeHosts (this host always among them), and how many it has.
type latticeView struct {
	admin.Lattice
	TotalHosts int `json:"total_hosts"`
}

// maxLatticeHosts bounds the hosts a snapshot carries (a snapshot goes to
// every page every interval; a lattice of thousands of hosts is not read
// on one page). The page says when the list is cut.
const maxLatticeHosts = 256

// viewLattice is l as a snapshot carries it: at most limit hosts, in l's
// order (this host first, then by name, as the host gives them), with
// this host kept when it would fall past the cut.
func viewLattice(l *admin.Lattice, limit int) *latticeView {
	if l == nil {
		return nil
	}
	v := &latticeView{Lattice: *l, TotalHosts: len(l.Hosts)}
	if len(l.Hosts) <= limit {
		v.Hosts = append([]admin.LatticeHost{}, l.Hosts...)
		return v
	}
	v.Hosts = append(make([]admin.LatticeHost, 0, limit), l.Hosts[:limit]...)
	for i, h := range l.Hosts {
		if h.Self {
			if i >= limit {
				v.Hosts[limit-1] = h
			}
			break
		}
	}
	return v
}

// hub makes one snapshot per interval for every stream open (the Backend
// is asked once, whatever the number of streams), and only while one is.
type hub struct {
	b admin.Backend
	o Options

	mu      sync.Mutex
	subs    map[*sub]struct{}
	running bool
	last    []byte // the latest snapshot event
	lastAt  time.Time

	// The loop's own (one loop runs at a time): Handled per actor at
	// prevAt, for the rates.
	prev   map[string]uint64
	prevAt time.Time
}

// sub is a stream's place in the hub.
type sub struct {
	ch   chan []byte   // snapshot events
	gone chan struct{} // closed when the hub drops the stream
}

// subBuffer is how many snapshots a stream may be behind before it is
// dropped.
const subBuffer = 2

func newHub(b admin.Backend, o Options) *hub {
	return &hub{b: b, o: o, subs: map[*sub]struct{}{}}
}

// join adds a stream; it gets the latest snapshot at once when it is
// fresh, else the next one, which a hub that was idle makes at once.
func (h *hub) join() *sub {
	s := &sub{ch: make(chan []byte, subBuffer), gone: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.subs[s] = struct{}{}
	if h.last != nil && time.Since(h.lastAt) < h.o.Interval {
		s.ch <- h.last
	}
	if !h.running {
		h.running = true
		go h.loop()
	}
	return s
}

func (h *hub) leave(s *sub) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
}

// loop makes a snapshot every interval and hands it to every stream; a
// stream whose buffer is full is dropped. It ends when no stream is left.
func (h *hub) loop() {
	t := time.NewTicker(h.o.Interval)
	defer t.Stop()
	for {
		frame := h.snapshot()
		h.mu.Lock()
		if len(h.subs) == 0 {
			h.running = false
			h.mu.Unlock()
			return
		}
		h.last, h.lastAt = frame, time.Now()
		for s := range h.subs {
			select {
			case s.ch <- frame:
			default:
				delete(h.subs, s)
				close(s.gone)
			}
		}
		h.mu.Unlock()
		select {
		case <-t.C:
		case <-h.o.Context.Done():
			h.mu.Lock()
			h.running = false
			h.mu.Unlock()
			return
		}
	}
}

// snapshotTimeout bounds the Backend calls of one snapshot.
const snapshotTimeout = 10 * time.Second

// snapshot asks the Backend and encodes the snapshot event.
func (h *hub) snapshot() []byte {
	ctx, cancel := context.WithTimeout(h.o.Context, snapshotTimeout)
	defer cancel()
	s := snapshot{Time: time.Now()}
	note := func(what string, err error) {
		if err != nil {
			s.Errors = append(s.Errors, what+": "+err.Error())
		}
	}
	var err error
	s.Status, err = h.b.Status(ctx)
	note("status", err)
	s.Lattice, s.Status.Lattice = viewLattice(s.Status.Lattice, maxLatticeHosts), nil
	apps, err := h.b.Apps(ctx)
	note("apps", err)
	s.DeadLetters, err = h.b.DeadLetters(ctx, h.o.DeadLetters)
	note("dead letters", err)
	if s.DeadLetters.Letters == nil {
		s.DeadLetters.Letters = []admin.DeadLetter{}
	}
	s.Components, err = h.b.Components(ctx)
	note("components", err)
	if s.Components == nil {
		s.Components = []admin.Component{}
	}

	now := time.Now()
	dt := now.Sub(h.prevAt).Seconds()
	next := make(map[string]uint64, len(h.prev))
	s.Apps = make([]appView, 0, len(apps))
	for _, a := range apps {
		v := appView{Name: a.Name, Digest: a.Digest, Deployed: a.Deployed, Actors: make([]actorView, len(a.Actors)),
			Routes: a.Routes}
		if v.Routes == nil {
			v.Routes = []admin.Route{}
		}
		for i, act := range a.Actors {
			av := actorView{Actor: act}
			if p, ok := h.prev[act.ID]; ok && act.Handled >= p && dt > 0 {
				av.Rate = math.Round(float64(act.Handled-p)/dt*100) / 100
			}
			next[act.ID] = act.Handled
			v.Actors[i] = av
		}
		s.Apps = append(s.Apps, v)
	}
	h.prev, h.prevAt = next, now
	return event("snapshot", s)
}

// event is one server-sent event: its name and its data, JSON on one line
// (encoding/json escapes new lines, and <, > and & too: guest text is
// data, never markup).
func event(name string, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"error": "encoding the event: " + err.Error()})
		name = "failure"
	}
	out := make([]byte, 0, len(b)+len(name)+16)
	out = append(out, "event: "...)
	out = append(out, name...)
	out = append(out, "\ndata: "...)
	out = append(out, b...)
	return append(out, "\n\n"...)
}

// healthEvent is the data of event "health".
type healthEvent struct {
	ID     string `json:"id"`
	Health string `json:"health,omitempty"`
	Error  string `json:"error,omitempty"`
}

// logBuffer is how many log lines a stream may be behind; past it lines
// are counted and skipped (a line says how many), the stream goes on.
const logBuffer = 256

// events is the live stream (text/event-stream): a "snapshot" event every
// interval; with ?actor=ID, that actor's recent log lines then its new
// ones ("log" events) and its health every interval ("health"). A client
// that does not keep up (an event not taken within the write timeout, or
// two snapshots behind) is dropped; EventSource then reconnects.
func (h *handler) events(w http.ResponseWriter, r *http.Request) {
	if h.o.Context.Err() != nil {
		writeError(w, http.StatusServiceUnavailable, admin.CodeUnavailable, "the host is shutting down")
		return
	}
	select {
	case h.slots <- struct{}{}:
	default:
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, admin.CodeUnavailable,
			fmt.Sprintf("too many live dashboards (at most %d at once)", cap(h.slots)))
		return
	}
	defer func() { <-h.slots }()
	h.active.Add(1)
	defer h.active.Add(-1)

	ctx, cancel := context.WithCancel(r.Context())
	defer context.AfterFunc(h.o.Context, cancel)()
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()

	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	// write sends one event; false: the client is gone or too slow.
	write := func(frame []byte) bool {
		if err := rc.SetWriteDeadline(time.Now().Add(h.o.WriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return false
		}
		_, err := w.Write(frame)
		if err == nil {
			err = rc.Flush()
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			h.drop(r, "it took no event within the write timeout")
		}
		return err == nil
	}
	if !write([]byte("retry: 2000\n\n")) {
		return
	}

	s := h.hub.join()
	defer h.hub.leave(s)

	id := r.URL.Query().Get("actor")
	var logs chan admin.LogLine
	var health chan healthEvent
	var missed atomic.Uint64
	if id != "" {
		logs = make(chan admin.LogLine, logBuffer)
		health = make(chan healthEvent, 1)
		wg.Add(2)
		go func() {
			defer wg.Done()
			err := h.b.Logs(ctx, admin.LogQuery{Actor: id, Tail: h.o.LogTail, Follow: true}, func(l admin.LogLine) error {
				select {
				case logs <- l:
				default:
					missed.Add(1)
				}
				return nil
			})
			if err != nil && ctx.Err() == nil {
				select {
				case logs <- admin.LogLine{Time: time.Now(), Level: "ERROR", Message: "the log stream failed: " + err.Error()}:
				default:
				}
			}
		}()
		go func() {
			defer wg.Done()
			t := time.NewTicker(h.o.Interval)
			defer t.Stop()
			for {
				hctx, hcancel := context.WithTimeout(ctx, h.o.Interval)
				st, err := h.b.Health(hctx, id)
				hcancel()
				e := healthEvent{ID: id, Health: st}
				if err != nil {
					e.Error = err.Error()
				}
				select {
				case <-health: // replace a result not yet sent
				default:
				}
				health <- e
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		}()
	}

	for {
		var frame []byte
		select {
		case <-ctx.Done():
			return
		case <-s.gone:
			h.drop(r, fmt.Sprintf("it fell %d snapshots behind", subBuffer))
			return
		case frame = <-s.ch:
		case l := <-logs:
			frame = event("log", l)
			if n := missed.Swap(0); n > 0 {
				frame = append(frame, event("log", admin.LogLine{Time: time.Now(), Level: "WARN", Actor: id, Dropped: n,
					Message: fmt.Sprintf("%d lines dropped: this page fell behind", n)})...)
			}
		case e := <-health:
			frame = event("health", e)
		}
		if !write(frame) {
			return
		}
	}
}

// drop counts and logs a stream dropped for being slow.
func (h *handler) drop(r *http.Request, why string) {
	h.dropped.Add(1)
	h.o.Logger.Warn("dashboard: a slow live stream dropped", "remote", r.RemoteAddr, "why", why)
}
