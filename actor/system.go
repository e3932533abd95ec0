package actor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/security"
	"github.com/airsstack/airssys-wasm-go/storage"
	"github.com/airsstack/airssys-wasm-go/wit"
)

// Options configure a System. The zero value is usable: every limit has a
// default, given next to it (and as a Default* constant).
type Options struct {
	// Logger receives the components' wasi:logging output and the
	// system's own events (default: discard).
	Logger *slog.Logger
	// Observer, when set, is called synchronously with every lifecycle
	// event. It must not block.
	Observer func(Event)
	// Remote, when set, reaches the actors of other hosts (package
	// lattice): messages to ids not served here and every publish go to it
	// (see Remote). Nil: this system alone.
	Remote Remote

	// MaxMessageBytes caps a whole message: payload, content type and
	// topic together (default 1 MiB). Sender and reply-to are actor ids,
	// at most 386 bytes each; a longer target id is refused as too large.
	// Replies are capped too, on their way back to the requester.
	MaxMessageBytes int
	// MaxContentTypeBytes caps a content type (default 1 KiB).
	MaxContentTypeBytes int
	// MaxTopicBytes caps a topic (default 1 KiB).
	MaxTopicBytes int
	// MaxErrorBytes caps the error string a handler (handle-message or
	// init) returns (default 4 KiB). A longer one is cut, on a character
	// boundary, and ends with " [truncated N bytes]": it is a diagnostic,
	// so its beginning is worth keeping, and the handler has already run.
	MaxErrorBytes int

	// MemoryLimit is the linear memory limit (bytes) of an actor whose
	// Spec.Limits.MemoryLimit is 0 and whose grants set none (default
	// 128 MiB; negative: no limit).
	MemoryLimit int64
	// MessageTimeout bounds the handling of one message (and init) for
	// actors whose Spec.Limits sets no timeout (default 10s). A handler that
	// runs longer traps with a timeout and its actor is restarted.
	MessageTimeout time.Duration
	// SendTimeout bounds how long one send, request or publish of a
	// component waits for room in full Block mailboxes, all of them
	// together (default 1s). The wait also ends at the sending handler's
	// own deadline (its MessageTimeout) and at once when the sending actor
	// is stopped (send-error closed). Go senders wait for their context.
	SendTimeout time.Duration
	// RequestTimeout applies to Go requests whose context has no deadline
	// (default 5s).
	RequestTimeout time.Duration
	// MaxPendingRequests bounds the requests one actor has in flight
	// (default 1024). Past it, a component's request fails with
	// mailbox-full (world 0.1.0 has no value of its own for it).
	MaxPendingRequests int
	// DeadLetterLimit is how many dead letters are kept (default 1000); the
	// counters keep counting past it.
	DeadLetterLimit int
	// DeadLetterBytes bounds the payload bytes the kept dead letters hold
	// together (default 16 MiB): past it, the oldest letters lose their
	// payload (DeadLetter.PayloadDropped), so a guest that makes its
	// messages fail cannot park DeadLetterLimit times the largest message in
	// host memory.
	DeadLetterBytes int

	// LogBytesPerSecond and LogBurstBytes bound each actor's wasi:logging
	// output with a token bucket (defaults 64 KiB/s and 256 KiB; a negative
	// rate means no bound). A line costs its message and context plus 64
	// bytes; lines over the budget are dropped, counted in Stats and
	// reported by a warning at most once a second ("wasi:logging lines
	// dropped", with lines and bytes) and when the actor ends.
	LogBytesPerSecond int
	LogBurstBytes     int
	// MaxLogMessageBytes and MaxLogContextBytes cut a log line's message
	// and context (defaults 4 KiB and 256 bytes), with the marker
	// " [truncated N bytes]".
	MaxLogMessageBytes int
	MaxLogContextBytes int

	// MaxHeaders and MaxHeaderBytes cap a message's headers: how many, and
	// their names and values together (defaults 64 and 8 KiB). Headers
	// count toward MaxMessageBytes too.
	MaxHeaders     int
	MaxHeaderBytes int
	// MaxHandles and MaxHandleBytes cap the live handles of one world 0.2.0
	// instance (messages and payloads it has not dropped) and the payload
	// bytes they hold (defaults 1000 and 64 MiB). A guest call that would go
	// past either traps, and the actor restarts with none: a component that
	// never drops its handles cannot grow host memory.
	MaxHandles     int
	MaxHandleBytes int

	// Storage, when set, is the key-value database behind wasi:keyvalue
	// (package storage): each actor reaches its owner's data (Spec.Owner)
	// within its grants. Without it, opening a bucket is refused.
	Storage *storage.DB

	// HostName names Go-side senders: messages from Send, Request and
	// Publish carry Sender "host/<HostName>" (default "go").
	HostName string
	// Audit, when set, records deploys, denials (rate-limited), traps,
	// restarts and stops.
	Audit *security.Audit

	// Tracer, when set, traces message handling (see Tracer).
	Tracer Tracer
	// TraceSample is the share (0 to 1) of messages that carry no trace
	// context for which the runtime starts a trace (0: none; only messages
	// whose traceparent is sampled are traced).
	TraceSample float64
	// HandleTimes keeps a histogram of each actor's handling times
	// (Stats.HandleTime); off, the runtime reads no clock per message.
	HandleTimes bool
}

// Defaults of Options.
const (
	DefaultMaxMessageBytes     = 1 << 20
	DefaultMaxContentTypeBytes = 1 << 10
	DefaultMaxTopicBytes       = 1 << 10
	DefaultMaxErrorBytes       = 4 << 10
	DefaultMemoryLimit         = 128 << 20
	DefaultMessageTimeout      = 10 * time.Second
	DefaultSendTimeout         = time.Second
	DefaultRequestTimeout      = 5 * time.Second
	DefaultMaxPendingRequests  = 1024
	DefaultDeadLetterLimit     = 1000
	DefaultDeadLetterBytes     = 16 << 20
	DefaultLogBytesPerSecond   = 64 << 10
	DefaultLogBurstBytes       = 256 << 10
	DefaultMaxLogMessageBytes  = 4 << 10
	DefaultMaxLogContextBytes  = 256
	DefaultMaxHeaders          = 64
	DefaultMaxHeaderBytes      = 8 << 10
	DefaultMaxHandles          = 1000
	DefaultMaxHandleBytes      = 64 << 20
)

// logLineCost is what a log line costs beyond its message and context (the
// time, level, actor id and keys of the line written).
const logLineCost = 64

// System runs components as supervised actors that message each other.
type System struct {
	eng  *engine.Engine
	opts Options
	log  *slog.Logger
	host *engine.Host
	self ID // sender id of Go-side messages
	// The resource types of world 0.2.0 in host.
	msgType, payType *engine.ResourceType

	mu      sync.RWMutex
	cells   map[ID]*cell
	subs    []subscription
	roots   []*supervisor
	closing bool

	corr    atomic.Uint64
	pending sync.Map // correlation id -> *pending

	deadMu    sync.Mutex
	dead      []DeadLetter // ring of the last DeadLetterLimit
	deadNext  int
	deadBytes int // payload bytes held by dead (at most DeadLetterBytes)
	deadTotal atomic.Uint64

	latency histogram // component-to-component request round trips
}

type subscription struct {
	pattern string
	cell    *cell
	goSub   *Subscription
}

// orDefault sets *v to def when it is zero or negative.
func orDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// NewSystem creates a system on eng.
func NewSystem(eng *engine.Engine, opts Options) *System {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	orDefault(&opts.MaxMessageBytes, DefaultMaxMessageBytes)
	orDefault(&opts.MaxContentTypeBytes, DefaultMaxContentTypeBytes)
	orDefault(&opts.MaxTopicBytes, DefaultMaxTopicBytes)
	orDefault(&opts.MaxErrorBytes, DefaultMaxErrorBytes)
	if opts.MemoryLimit == 0 {
		opts.MemoryLimit = DefaultMemoryLimit
	}
	orDefault(&opts.MessageTimeout, DefaultMessageTimeout)
	orDefault(&opts.SendTimeout, DefaultSendTimeout)
	orDefault(&opts.RequestTimeout, DefaultRequestTimeout)
	orDefault(&opts.MaxPendingRequests, DefaultMaxPendingRequests)
	orDefault(&opts.DeadLetterLimit, DefaultDeadLetterLimit)
	orDefault(&opts.DeadLetterBytes, DefaultDeadLetterBytes)
	if opts.LogBytesPerSecond == 0 {
		opts.LogBytesPerSecond = DefaultLogBytesPerSecond
	}
	orDefault(&opts.LogBurstBytes, DefaultLogBurstBytes)
	orDefault(&opts.MaxLogMessageBytes, DefaultMaxLogMessageBytes)
	orDefault(&opts.MaxLogContextBytes, DefaultMaxLogContextBytes)
	orDefault(&opts.MaxHeaders, DefaultMaxHeaders)
	orDefault(&opts.MaxHeaderBytes, DefaultMaxHeaderBytes)
	orDefault(&opts.MaxHandles, DefaultMaxHandles)
	orDefault(&opts.MaxHandleBytes, DefaultMaxHandleBytes)
	// The longest line must fit in the bucket, or it could never be written.
	longest := opts.MaxLogMessageBytes + opts.MaxLogContextBytes + 2*truncMarkerBytes + maxIDBytes + logLineCost
	if opts.LogBurstBytes < longest {
		opts.LogBurstBytes = longest
	}
	if opts.HostName == "" {
		opts.HostName = "go"
	}
	s := &System{eng: eng, opts: opts, log: opts.Logger, cells: map[ID]*cell{},
		self: ID("host/" + opts.HostName)}
	s.host = s.newHost()
	return s
}

func (s *System) emit(kind EventKind, id ID, err error) { s.emitStats(kind, id, err, nil) }

func (s *System) emitStats(kind EventKind, id ID, err error, st *Stats) {
	if a := s.opts.Audit; a != nil && kind != EventStarted {
		reason := ""
		if err != nil {
			reason = err.Error()
		}
		a.Event(kind.String(), string(id), reason)
	}
	if s.opts.Observer != nil {
		s.opts.Observer(Event{Time: time.Now(), Kind: kind, Actor: id, Err: err, Stats: st})
	}
	if err != nil {
		s.log.Info("actor "+kind.String(), "actor", string(id), "err", err)
	} else {
		s.log.Debug("actor "+kind.String(), "actor", string(id))
	}
}

// Deploy starts one actor under its own one-for-one supervisor with the
// default intensity (3 restarts in 60s). It returns once the actor's init
// has run.
func (s *System) Deploy(ctx context.Context, spec Spec) error {
	return s.DeploySupervisor(ctx, SupervisorSpec{Name: string(spec.ID), Children: []Child{spec}})
}

// DeploySupervisor starts a supervision tree, children in order. If any
// child fails to start, the children already started are stopped and the
// error is returned. Two running top-level supervisors cannot have the
// same name (ErrExists).
func (s *System) DeploySupervisor(ctx context.Context, spec SupervisorSpec) error {
	sup, err := s.buildSupervisor(spec, nil)
	if err != nil {
		return err
	}
	if s.liveRoot(spec.Name) != nil {
		return fmt.Errorf("%w: a supervisor named %q runs", ErrExists, spec.Name)
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ErrClosed
	}
	for _, c := range sup.cells() {
		if _, dup := s.cells[c.id]; dup {
			s.mu.Unlock()
			return fmt.Errorf("%w: %s", ErrExists, c.id)
		}
	}
	for _, c := range sup.cells() {
		s.cells[c.id] = c
		for _, p := range c.spec.Subscriptions {
			s.subs = append(s.subs, subscription{pattern: p, cell: c})
		}
	}
	s.roots = append(s.roots, sup)
	s.mu.Unlock()
	cells := sup.cells()
	if s.opts.Remote != nil {
		ids := make([]ID, len(cells))
		for i, c := range cells {
			ids[i] = c.id
		}
		s.served(ids, true)
	}
	for _, c := range cells {
		s.emit(EventDeployed, c.id, nil)
	}
	errs := make([]error, len(cells))
	if n := min(spec.StartConcurrency, len(cells)); n > 1 {
		// Up to n inits at once; the first error (in start order) is kept
		// and stops the starting of the rest.
		var wg sync.WaitGroup
		var failed atomic.Bool
		next := make(chan int)
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					if failed.Load() {
						errs[i] = errNotStarted
						continue
					}
					if errs[i] = cells[i].startFirst(ctx); errs[i] != nil {
						failed.Store(true)
					}
				}
			}()
		}
		for i := range cells {
			next <- i
		}
		close(next)
		wg.Wait()
	} else {
		for i, c := range cells {
			if errs[i] = c.startFirst(ctx); errs[i] != nil {
				for j := i + 1; j < len(cells); j++ {
					errs[j] = errNotStarted
				}
				break
			}
		}
	}
	for i, err := range errs {
		if err == nil || err == errNotStarted {
			continue
		}
		for j, c := range cells {
			if errs[j] == nil {
				c.stop(context.Background(), false)
			}
		}
		for _, c := range cells {
			s.unregister(c)
		}
		s.removeRoot(sup)
		return fmt.Errorf("%w: %s: %w", ErrStartupFailed, cells[i].id, err)
	}
	return nil
}

// errNotStarted marks the children a failed DeploySupervisor never
// started.
var errNotStarted = errors.New("actor: not started")

func (s *System) buildSupervisor(spec SupervisorSpec, parent *supervisor) (*supervisor, error) {
	sup := newSupervisor(s, spec, parent)
	seen := map[ID]bool{}
	for _, ch := range spec.Children {
		switch c := ch.(type) {
		case Spec:
			if err := s.addCell(sup, c, seen); err != nil {
				return nil, err
			}
		case *Spec:
			if err := s.addCell(sup, *c, seen); err != nil {
				return nil, err
			}
		case SupervisorSpec:
			child, err := s.buildSupervisor(c, sup)
			if err != nil {
				return nil, err
			}
			sup.children = append(sup.children, child)
		case *SupervisorSpec:
			child, err := s.buildSupervisor(*c, sup)
			if err != nil {
				return nil, err
			}
			sup.children = append(sup.children, child)
		default:
			return nil, fmt.Errorf("actor: supervisor %q: child of type %T", spec.Name, ch)
		}
	}
	return sup, nil
}

func (s *System) addCell(sup *supervisor, spec Spec, seen map[ID]bool) error {
	if _, err := ParseID(string(spec.ID)); err != nil {
		return err
	}
	if seen[spec.ID] {
		return fmt.Errorf("%w: %s twice in one tree", ErrExists, spec.ID)
	}
	seen[spec.ID] = true
	if spec.Component == nil {
		return fmt.Errorf("actor: %s: no component", spec.ID)
	}
	for _, p := range spec.Subscriptions {
		if err := ValidPattern(p); err != nil {
			return fmt.Errorf("actor: %s: %w", spec.ID, err)
		}
	}
	if spec.Grants != nil {
		var err error
		if spec, err = s.applyGrants(spec); err != nil {
			return err
		}
	}
	if spec.MailboxSize <= 0 {
		spec.MailboxSize = 1024
	}
	if spec.Limits.MemoryLimit == 0 && s.opts.MemoryLimit > 0 {
		spec.Limits.MemoryLimit = s.opts.MemoryLimit
	}
	if spec.Limits.Timeout == 0 && s.eng != nil && !s.eng.Config().DisableEpochInterruption {
		spec.Limits.Timeout = s.opts.MessageTimeout
	}
	if _, err := worldOf(spec.Component); err != nil {
		return fmt.Errorf("actor: %s: %w", spec.ID, err)
	}
	sup.children = append(sup.children, newCell(s, spec, sup))
	return nil
}

func (s *System) lookup(id ID) *cell {
	s.mu.RLock()
	c := s.cells[id]
	s.mu.RUnlock()
	return c
}

// unregister removes a cell from lookups and subscriptions.
func (s *System) unregister(c *cell) {
	s.mu.Lock()
	gone := s.cells[c.id] == c
	if gone {
		delete(s.cells, c.id)
	}
	defer func() {
		if gone {
			s.served([]ID{c.id}, false)
		}
	}()
	subs := s.subs[:0]
	for _, sub := range s.subs {
		if sub.cell != c {
			subs = append(subs, sub)
		}
	}
	s.subs = subs
	s.mu.Unlock()
}

func (s *System) removeRoot(sup *supervisor) {
	s.mu.Lock()
	for i, r := range s.roots {
		if r == sup {
			s.roots = append(s.roots[:i], s.roots[i+1:]...)
			break
		}
	}
	s.mu.Unlock()
}

// Send delivers payload to an actor, fire and forget. With a Block
// mailbox it waits for room until ctx ends. A message over the caps of
// Options (or the target's Spec.MaxMessageBytes) fails with ErrTooLarge.
func (s *System) Send(ctx context.Context, to ID, payload []byte, contentType string) error {
	return s.SendMessage(ctx, to, Message{Payload: payload, ContentType: contentType})
}

// SendMessage is Send for a message with headers: m's Payload, ContentType
// and Headers are sent (the other fields are the system's to set). The
// payload is not copied: it must not change afterwards.
func (s *System) SendMessage(ctx context.Context, to ID, m Message) error {
	m = Message{Payload: m.Payload, ContentType: m.ContentType, Headers: m.Headers}
	if err := s.checkMessage(string(to), "", &m); err != nil {
		return err
	}
	return s.send(ctx, s.self, to, m, nil)
}

// send is the common path of every delivery; the caller has checked the
// sizes (checkSizes). A full Block mailbox waits for ctx (Go senders, w ==
// nil) or within the bounds of w (components).
func (s *System) send(ctx context.Context, from, to ID, m Message, w *hostWait) error {
	s.mu.RLock()
	closing := s.closing
	c := s.cells[to]
	s.mu.RUnlock()
	if closing && w == nil {
		return ErrClosed
	}
	if c == nil {
		if s.opts.Remote != nil && !closing {
			return s.sendRemote(ctx, from, to, m)
		}
		return fmt.Errorf("%w: %s", ErrUnknownActor, to)
	}
	if c.spec.Durable && m.CorrelationID == 0 && s.opts.Remote != nil && !closing {
		return s.sendRemote(ctx, from, to, m) // its mailbox is the Remote's
	}
	return s.pushTo(ctx, c, from, m, w)
}

// pushTo puts m from sender from into c's mailbox.
func (s *System) pushTo(ctx context.Context, c *cell, from ID, m Message, w *hostWait) error {
	if err := c.fitsActor(m.size()); err != nil {
		return err
	}
	m.Sender = from
	if m.Timestamp.IsZero() {
		m.Timestamp = time.Now()
	}
	return c.push(ctx, &envelope{msg: m}, w)
}

// Request sends payload and waits for the reply, the responder's error
// (*HandlerError), a failure of the responder, or the end of ctx (or
// Options.RequestTimeout when ctx has no deadline).
func (s *System) Request(ctx context.Context, to ID, payload []byte, contentType string) (Message, error) {
	return s.RequestMessage(ctx, to, Message{Payload: payload, ContentType: contentType})
}

// RequestMessage is Request for a message with headers (see SendMessage).
// The reply carries the responder's Status and Headers (world 0.2.0).
func (s *System) RequestMessage(ctx context.Context, to ID, m Message) (Message, error) {
	call, err := s.AskMessage(ctx, to, m)
	if err != nil {
		return Message{}, err
	}
	return call.Wait(ctx)
}

// Call is a request started with Ask.
type Call struct {
	sys  *System
	to   ID
	corr uint64
	p    *pending
}

// Ask sends a request without waiting: many can be in flight from one
// goroutine. Without a deadline on ctx the request ends with
// ErrRequestTimeout after Options.RequestTimeout.
func (s *System) Ask(ctx context.Context, to ID, payload []byte, contentType string) (*Call, error) {
	return s.AskMessage(ctx, to, Message{Payload: payload, ContentType: contentType})
}

// AskMessage is Ask for a message with headers (see SendMessage).
func (s *System) AskMessage(ctx context.Context, to ID, m Message) (*Call, error) {
	m = Message{Payload: m.Payload, ContentType: m.ContentType, Headers: m.Headers}
	if err := s.checkMessage(string(to), "", &m); err != nil {
		return nil, err
	}
	p := &pending{ch: make(chan replyResult, 1), start: time.Now()}
	corr := s.corr.Add(1)
	s.pending.Store(corr, p)
	if _, ok := ctx.Deadline(); !ok {
		p.timer = time.AfterFunc(s.opts.RequestTimeout, func() {
			s.complete(corr, nil, fmt.Errorf("%w: %s after %v", ErrRequestTimeout, to, s.opts.RequestTimeout))
		})
	}
	m.CorrelationID, m.ReplyTo = corr, s.self
	err := s.send(ctx, s.self, to, m, nil)
	if err != nil {
		if _, ok := s.pending.LoadAndDelete(corr); ok && p.timer != nil {
			p.timer.Stop()
		}
		return nil, err
	}
	return &Call{sys: s, to: to, corr: corr, p: p}, nil
}

// Wait returns the outcome of the request, or ctx's error when ctx ends
// first (the request is then abandoned; a late reply is a dead letter).
func (c *Call) Wait(ctx context.Context) (Message, error) {
	select {
	case r := <-c.p.ch:
		c.p.ch <- r // Wait may be called again
		return r.msg, r.err
	case <-ctx.Done():
		if _, ok := c.sys.pending.LoadAndDelete(c.corr); ok && c.p.timer != nil {
			c.p.timer.Stop()
		}
		select {
		case r := <-c.p.ch: // completed meanwhile
			c.p.ch <- r
			return r.msg, r.err
		default:
		}
		return Message{}, fmt.Errorf("actor: request to %s: %w", c.to, ctx.Err())
	}
}

// Publish delivers payload to every actor (and Go subscription) whose
// pattern matches topic, once per actor. Every subscriber that refused it
// is recorded as a dead letter; the first refusal is returned. A message
// over the caps fails with ErrTooLarge before it reaches anyone.
func (s *System) Publish(ctx context.Context, topic string, payload []byte, contentType string) error {
	return s.PublishMessage(ctx, topic, Message{Payload: payload, ContentType: contentType})
}

// PublishMessage is Publish for a message with headers (see SendMessage).
func (s *System) PublishMessage(ctx context.Context, topic string, m Message) error {
	m = Message{Payload: m.Payload, ContentType: m.ContentType, Headers: m.Headers}
	if err := s.checkMessage("", topic, &m); err != nil {
		return err
	}
	m.Topic = topic
	return s.publish(ctx, s.self, m, nil)
}

// publish delivers m (its Topic set); the caller has checked the sizes
// (checkMessage).
func (s *System) publish(ctx context.Context, from ID, m Message, w *hostWait) error {
	if err := ValidTopic(m.Topic); err != nil {
		return err
	}
	err := s.publishLocal(ctx, from, m, w)
	if r := s.opts.Remote; r != nil {
		m.Sender = from
		if m.Timestamp.IsZero() {
			m.Timestamp = time.Now()
		}
		if rerr := r.Publish(ctx, m); rerr != nil && err == nil {
			err = rerr
		}
	}
	return err
}

// publishLocal is publish to this system's subscribers only; the caller
// has checked the topic (ValidTopic).
func (s *System) publishLocal(ctx context.Context, from ID, m Message, w *hostWait) error {
	topic := m.Topic
	s.mu.RLock()
	if s.closing && w == nil {
		s.mu.RUnlock()
		return ErrClosed
	}
	var targets []subscription
	for _, sub := range s.subs {
		if MatchSubject(sub.pattern, topic) {
			targets = append(targets, sub)
		}
	}
	s.mu.RUnlock()
	m.Sender = from
	if m.Timestamp.IsZero() {
		m.Timestamp = time.Now()
	}
	size := m.size()
	var first error
	delivered := map[*cell]bool{}
	for _, t := range targets {
		var err error
		switch {
		case t.goSub != nil:
			err = t.goSub.deliver(m)
		case delivered[t.cell]:
			continue // one copy per actor even if several of its patterns match
		default:
			delivered[t.cell] = true
			if err = t.cell.fitsActor(size); err == nil {
				err = t.cell.push(ctx, &envelope{msg: m}, w)
			}
		}
		if err != nil {
			to := ID("")
			if t.cell != nil {
				to = t.cell.id
			}
			s.deadLetter(to, m, err)
			if first == nil {
				first = err
			}
		}
	}
	return first
}

// Subscription is a Go-side subscription to topics.
type Subscription struct {
	C       <-chan Message
	c       chan Message
	sys     *System
	pattern string
	dropped atomic.Uint64
}

func (g *Subscription) deliver(m Message) error {
	select {
	case g.c <- m:
		return nil
	default:
		g.dropped.Add(1)
		return fmt.Errorf("%w: go subscription %q", ErrMailboxFull, g.pattern)
	}
}

// Close ends the subscription.
func (g *Subscription) Close() {
	s := g.sys
	s.mu.Lock()
	subs := s.subs[:0]
	for _, sub := range s.subs {
		if sub.goSub != g {
			subs = append(subs, sub)
		}
	}
	s.subs = subs
	s.mu.Unlock()
}

// Subscribe gives Go code the messages published to topics matching
// pattern, through a channel of the given capacity. A full channel refuses
// messages (they become dead letters).
func (s *System) Subscribe(pattern string, capacity int) (*Subscription, error) {
	if err := ValidPattern(pattern); err != nil {
		return nil, err
	}
	if capacity <= 0 {
		capacity = 64
	}
	c := make(chan Message, capacity)
	g := &Subscription{C: c, c: c, sys: s, pattern: pattern}
	s.mu.Lock()
	s.subs = append(s.subs, subscription{pattern: pattern, goSub: g})
	s.mu.Unlock()
	return g, nil
}

// Stop stops one actor gracefully: it stops accepting messages, handles
// what is already queued, calls its shutdown export and is removed. It is
// not restarted. When ctx ends first, the rest of the queue becomes dead
// letters and the running call is interrupted.
func (s *System) Stop(ctx context.Context, id ID) error {
	c := s.lookup(id)
	if c == nil {
		return fmt.Errorf("%w: %s", ErrUnknownActor, id)
	}
	c.sup.remove(c)
	return c.stop(ctx, true)
}

// Shutdown stops every actor gracefully (see Stop) in parallel, within
// ctx. New messages from Go are refused from the start.
func (s *System) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	cells := make([]*cell, 0, len(s.cells))
	for _, c := range s.cells {
		cells = append(cells, c)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	errs := make(chan error, len(cells))
	for _, c := range cells {
		wg.Add(1)
		go func(c *cell) {
			defer wg.Done()
			if err := c.stop(ctx, true); err != nil {
				errs <- err
			}
		}(c)
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// Health asks an actor's health export. The question waits its turn behind
// control messages but overtakes queued user messages.
func (s *System) Health(ctx context.Context, id ID) (Health, error) {
	c := s.lookup(id)
	if c == nil {
		return Unknown, fmt.Errorf("%w: %s", ErrUnknownActor, id)
	}
	ch := make(chan Health, 1)
	c.pushCtrl(&envelope{kind: envHealth, health: ch})
	select {
	case h := <-ch:
		return h, nil
	case <-c.done:
		return Unknown, fmt.Errorf("%w: %s", ErrActorStopped, id)
	case <-ctx.Done():
		return Unknown, ctx.Err()
	}
}

// Stats returns an actor's counters.
func (s *System) Stats(id ID) (Stats, error) {
	c := s.lookup(id)
	if c == nil {
		return Stats{}, fmt.Errorf("%w: %s", ErrUnknownActor, id)
	}
	return c.stats(), nil
}

// Actors lists the deployed actors, sorted.
func (s *System) Actors() []ID {
	s.mu.RLock()
	out := make([]ID, 0, len(s.cells))
	for id := range s.cells {
		out = append(out, id)
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// DeadLetterTotal is how many dead letters there have been in all, to
// every actor and to ids that do not exist (cheap: no copy).
func (s *System) DeadLetterTotal() uint64 { return s.deadTotal.Load() }

// DeadLetters returns the most recent dead letters (up to
// Options.DeadLetterLimit) and how many there have been in all.
func (s *System) DeadLetters() ([]DeadLetter, uint64) {
	s.deadMu.Lock()
	defer s.deadMu.Unlock()
	out := make([]DeadLetter, 0, len(s.dead))
	if len(s.dead) == s.opts.DeadLetterLimit {
		out = append(out, s.dead[s.deadNext:]...)
		out = append(out, s.dead[:s.deadNext]...)
	} else {
		out = append(out, s.dead...)
	}
	return out, s.deadTotal.Load()
}

func (s *System) deadLetter(to ID, m Message, reason error) {
	s.deadTotal.Add(1)
	d := DeadLetter{Time: time.Now(), To: to, Message: m, Reason: reason}
	s.deadMu.Lock()
	if len(s.dead) == s.opts.DeadLetterLimit { // the oldest is overwritten below
		s.deadBytes -= len(s.dead[s.deadNext].Message.Payload)
		s.dead[s.deadNext].Message.Payload = nil
	}
	// Make room for the payload by dropping the oldest letters' payloads;
	// one larger than the whole budget is not kept at all.
	if n := len(d.Message.Payload); n > s.opts.DeadLetterBytes {
		d.dropPayload()
	} else {
		for k := 0; s.deadBytes+n > s.opts.DeadLetterBytes && k < len(s.dead); k++ {
			old := &s.dead[(s.deadNext+k)%len(s.dead)] // oldest first
			s.deadBytes -= len(old.Message.Payload)
			old.dropPayload()
		}
	}
	s.deadBytes += len(d.Message.Payload)
	if len(s.dead) < s.opts.DeadLetterLimit {
		s.dead = append(s.dead, d)
	} else {
		s.dead[s.deadNext] = d
		s.deadNext = (s.deadNext + 1) % len(s.dead)
	}
	s.deadMu.Unlock()
	s.log.Debug("dead letter", "to", string(to), "from", string(m.Sender), "reason", reason)
}

// RequestLatency returns quantiles (0..1) of component-to-component request
// round trips: from the requester's call of request to the start of its
// handle-reply.
func (s *System) RequestLatency(q ...float64) []time.Duration {
	out := make([]time.Duration, len(q))
	for i, x := range q {
		out[i] = s.latency.quantile(x)
	}
	return out
}

// ---- requests ------------------------------------------------------------

type replyResult struct {
	msg Message
	err error
}

// pending is an outstanding request: a Go waiter (ch) or a requesting
// actor (requester), which gets the outcome through handle-reply.
type pending struct {
	ch        chan replyResult
	requester *cell
	timer     *time.Timer
	start     time.Time
	trace     string               // a component's request: the span it was made under
	fn        func(Message, error) // a request from another host (Deliver)
}

// complete delivers the outcome of request corr, once.
func (s *System) complete(corr uint64, msg *Message, err error) {
	v, ok := s.pending.LoadAndDelete(corr)
	if !ok {
		if msg != nil {
			s.deadLetter("", *msg, fmt.Errorf("%w: reply after the request ended", ErrNoReply))
		}
		return
	}
	p := v.(*pending)
	if p.timer != nil {
		p.timer.Stop()
	}
	if msg != nil && p.requester != nil {
		if tooLarge := p.requester.fitsActor(msg.size()); tooLarge != nil {
			s.deadLetter(p.requester.id, withoutPayload(*msg), tooLarge)
			msg, err = nil, tooLarge
		}
	}
	r := replyResult{err: err}
	if msg != nil {
		r.msg = *msg
	}
	if p.ch != nil {
		p.ch <- r
		return
	}
	if p.fn != nil {
		p.fn(r.msg, r.err)
		return
	}
	p.requester.pendingOut.Add(-1)
	p.requester.pushReply(&envelope{kind: envReply, corr: corr, reply: r, start: p.start, trace: p.trace})
}

// refuseReply turns a reply over the caps into ErrTooLarge for its
// requester (to) and a dead letter without the payload (so that the ring of
// dead letters never holds more than the caps allow).
func (s *System) refuseReply(to ID, reply *Message, why error) {
	s.deadLetter(to, withoutPayload(*reply), why)
	s.complete(reply.CorrelationID, nil, why)
}

func withoutPayload(m Message) Message {
	m.Payload = nil
	return m
}

// requestFrom starts a request made by a component; the caller has checked
// the sizes.
// trace is the span the request is made under ("": none), for the
// delivery of its outcome.
func (s *System) requestFrom(ctx context.Context, c *cell, to ID, m Message, timeout time.Duration,
	trace string) (uint64, error) {
	if int(c.pendingOut.Load()) >= s.opts.MaxPendingRequests {
		return 0, ErrTooManyWaits
	}
	corr := s.corr.Add(1)
	p := &pending{requester: c, start: time.Now(), trace: trace}
	c.pendingOut.Add(1)
	s.pending.Store(corr, p)
	if timeout <= 0 {
		timeout = s.opts.RequestTimeout
	}
	p.timer = time.AfterFunc(timeout, func() {
		s.complete(corr, nil, errTimeout)
	})
	m.CorrelationID, m.ReplyTo = corr, c.id
	err := s.send(ctx, c.id, to, m, &hostWait{sender: c, inc: incFrom(ctx)})
	if err != nil {
		if _, ok := s.pending.LoadAndDelete(corr); ok {
			p.timer.Stop()
			c.pendingOut.Add(-1)
		}
		return 0, err
	}
	return corr, nil
}

var errTimeout = errors.New("timeout")

// cancelRequest forgets request corr of c: its outcome will not be
// delivered. False when c has no such request outstanding.
func (s *System) cancelRequest(c *cell, corr uint64) bool {
	v, ok := s.pending.Load(corr)
	if !ok || v.(*pending).requester != c {
		return false
	}
	if _, ok := s.pending.LoadAndDelete(corr); !ok {
		return false // completed meanwhile: the outcome is on its way
	}
	p := v.(*pending)
	if p.timer != nil {
		p.timer.Stop()
	}
	c.pendingOut.Add(-1)
	return true
}

// sendError maps a delivery error to the WIT send-error enum. World 0.1.0
// has no value for ErrTooManyWaits (the requester's own limit of
// outstanding requests): it is reported as mailbox-full; world 0.2.0 gives
// it a value of its own.
func sendError(err error) wit.Result {
	name := "unknown-target"
	switch {
	case errors.Is(err, ErrMailboxFull), errors.Is(err, ErrTooManyWaits):
		name = "mailbox-full"
	case errors.Is(err, ErrTooLarge):
		name = "too-large"
	case errors.Is(err, ErrClosed), errors.Is(err, ErrStopping):
		name = "closed"
	case errors.Is(err, ErrDenied):
		name = "denied"
	}
	return wit.Err(wit.Enum(name))
}

// ---- latency histogram ---------------------------------------------------

// histogram counts durations in log-spaced buckets (8 per power of two)
// from 64ns; lock-free.
type histogram struct {
	buckets [8 * 40]atomic.Uint64
}

func (h *histogram) observe(d time.Duration) {
	if d < 64 {
		d = 64
	}
	f := math.Log2(float64(d)/64) * 8
	i := int(f)
	if i >= len(h.buckets) {
		i = len(h.buckets) - 1
	}
	h.buckets[i].Add(1)
}

func (h *histogram) quantile(q float64) time.Duration {
	var total uint64
	for i := range h.buckets {
		total += h.buckets[i].Load()
	}
	if total == 0 {
		return 0
	}
	want := uint64(math.Ceil(q * float64(total)))
	if want == 0 {
		want = 1
	}
	var seen uint64
	for i := range h.buckets {
		seen += h.buckets[i].Load()
		if seen >= want {
			// the bucket's upper bound
			return time.Duration(64 * math.Exp2(float64(i+1)/8))
		}
	}
	return 0
}
