package actor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/security"
	"github.com/airsstack/airssys-wasm-go/storage/keyvalue"
	"github.com/airsstack/airssys-wasm-go/wit"
)

// The exports of the actor world.
const (
	actorIface     = "airssys:actor/actor@0.1.0#"
	exportInit     = actorIface + "init"
	exportHandle   = actorIface + "handle-message"
	exportReply    = actorIface + "handle-reply"
	exportHealth   = actorIface + "health"
	exportShutdown = actorIface + "shutdown"
)

type envKind uint8

const (
	envMessage envKind = iota
	envReply
	envRestart
	envStop
	envHealth
	envUpdate
)

type envelope struct {
	kind  envKind
	msg   Message
	corr  uint64        // envReply
	reply replyResult   // envReply
	start time.Time     // envReply: when the request was made
	trace string        // envReply: the span the request was made under ("": none)
	delay time.Duration // envRestart
	// envStop
	graceful bool
	reason   error
	health   chan Health // envHealth
	// envUpdate: the prepared incarnation, its spec, and where to say it
	// took over
	inc     *incarnation
	spec    Spec
	updated chan error
	// done, for a message from DeliverDurable, is called once: true
	// when the actor was given the message (whatever came of it), false
	// when it never was (the actor stopped first): then it is not a dead
	// letter here, the durable mailbox keeps it.
	done func(handled bool)
}

// cell is one actor: a mailbox that lives as long as the actor and the
// instance that handles it, replaced on restart. One goroutine (run) owns
// the instance; everything else talks to it through the mailbox (user
// messages, bounded) and the control queue (restarts, stops and replies,
// which overtake user messages).
type cell struct {
	sys  *System
	id   ID
	spec Spec // as deployed; never changes
	// ver is the version an update installed (nil: spec's), prev the one
	// before it (Rollback's target). Written by run, under instMu.
	ver, prev *version
	sup       *supervisor

	mbox *mailbox

	// dirs are the actor's WASI directories, opened at its first start and
	// closed when it ends: every instance (restarts included) gets these
	// very directories, whatever happens to their paths (see pinDirs).
	dirs []*os.File

	ctrlMu  sync.Mutex
	ctrl    []*envelope  // restarts and stops
	replies []*envelope  // replies to this actor's requests
	queued  atomic.Int32 // len(ctrl) + len(replies), read without the lock
	note    chan struct{}

	stopping chan struct{} // closed when a stop is requested
	stopOnce sync.Once
	done     chan struct{} // closed when the actor has ended
	stopErr  error         // how it ended, set before done closes
	once     sync.Once

	// owned by run: the live incarnation (nil while restarting), also
	// read under instMu by other goroutines (Interrupt, Stats)
	inc  *incarnation
	rec  wit.Record // reused message record (world 0.1.0)
	meta wit.Record
	// logb is the logging budget of the actor, across incarnations (an
	// update's init may log while the live one does).
	logMu sync.Mutex
	logb  logBudget

	state      atomic.Uint32
	busy       atomic.Bool
	handled    atomic.Uint64
	replied    atomic.Uint64
	errs       atomic.Uint64
	failed     atomic.Uint64
	dead       atomic.Uint64
	restarts   atomic.Uint64
	pendingOut atomic.Int32
	logLines   atomic.Uint64     // wasi:logging lines dropped
	logBytes   atomic.Uint64     // and bytes
	denied     atomic.Uint64     // capability calls the grants refused
	kvCount    keyvalue.Counters // key-value operations and bytes, all instances
	traps      [trapKinds]atomic.Uint64
	times      *handleHist // Options.HandleTimes; nil when off
	abort      atomic.Bool
	// cur is the envelope being delivered (the actor's goroutine only).
	cur    *envelope
	instMu sync.Mutex // guards inst for Interrupt from other goroutines
}

func newCell(s *System, spec Spec, sup *supervisor) *cell {
	c := &cell{sys: s, id: spec.ID, spec: spec, sup: sup,
		mbox: newMailbox(spec.MailboxSize),
		note: make(chan struct{}, 1), stopping: make(chan struct{}), done: make(chan struct{})}
	c.meta = wit.Record{{Name: "correlation-id"}, {Name: "reply-to"}, {Name: "timestamp-ms"},
		{Name: "content-type"}, {Name: "topic"}}
	c.rec = wit.Record{{Name: "sender"}, {Name: "payload"}, {Name: "metadata", Value: c.meta}}
	if s.opts.HandleTimes {
		c.times = &handleHist{}
	}
	return c
}

func (c *cell) setState(s State) { c.state.Store(uint32(s)) }

func (c *cell) stats() Stats {
	depth, blocked := c.mbox.counts()
	st := Stats{State: State(c.state.Load()), Busy: c.busy.Load(), MailboxDepth: depth, Handled: c.handled.Load(),
		Replies: c.replied.Load(), Errors: c.errs.Load(), Failed: c.failed.Load(), DeadLettered: c.dead.Load(),
		Restarts: c.restarts.Load(), BlockedSenders: blocked, LogLinesDropped: c.logLines.Load(),
		LogBytesDropped: c.logBytes.Load(), Handles: c.handleCount(),
		KVOps: c.kvCount.Ops.Load(), KVBytes: c.kvCount.Bytes.Load()}
	c.observeStats(&st)
	return st
}

// push puts a message in the mailbox according to the overflow policy. A
// Go sender (w == nil) waits for room until ctx ends; a component's host
// call waits within the bounds of w (see hostWait).
func (c *cell) push(ctx context.Context, env *envelope, w *hostWait) error {
	var timeout <-chan time.Time
	var senderStopping <-chan struct{}
	for waited := false; ; {
		ok, closed := c.mbox.push(env)
		switch {
		case closed:
			return fmt.Errorf("%w: %s", ErrActorStopped, c.id)
		case ok:
			c.notify()
			return nil
		case c.spec.Overflow == Reject && env.done == nil: // a durable message waits for room
			return fmt.Errorf("%w: %s (%d queued)", ErrMailboxFull, c.id, c.mbox.limit)
		}
		if !waited {
			waited = true
			if w != nil {
				senderStopping = w.sender.stopping
				select {
				case <-senderStopping:
					return fmt.Errorf("%w: %s", ErrStopping, w.sender.id)
				default:
				}
				d := time.Until(w.until())
				if d <= 0 {
					return fmt.Errorf("%w: %s (the sender's time is up)", ErrMailboxFull, c.id)
				}
				t := time.NewTimer(d)
				defer t.Stop()
				timeout = t.C
			}
			c.mbox.wait(1)
			defer c.mbox.wait(-1)
		}
		select {
		case <-c.mbox.space:
		case <-c.stopping:
			return fmt.Errorf("%w: %s", ErrActorStopped, c.id)
		case <-ctx.Done():
			c.mbox.signal() // pass a wake-up we may have taken on
			return fmt.Errorf("%w: %s: %w", ErrMailboxFull, c.id, ctx.Err())
		case <-timeout:
			c.mbox.signal()
			return fmt.Errorf("%w: %s (waited until the sender's deadline)", ErrMailboxFull, c.id)
		case <-senderStopping:
			c.mbox.signal()
			return fmt.Errorf("%w: %s", ErrStopping, w.sender.id)
		}
	}
}

func (c *cell) pushCtrl(env *envelope) {
	c.ctrlMu.Lock()
	c.ctrl = append(c.ctrl, env)
	c.queued.Add(1)
	c.ctrlMu.Unlock()
	c.notify()
}

func (c *cell) pushReply(env *envelope) {
	c.ctrlMu.Lock()
	c.replies = append(c.replies, env)
	c.queued.Add(1)
	c.ctrlMu.Unlock()
	c.notify()
}

func (c *cell) notify() {
	select {
	case c.note <- struct{}{}:
	default:
	}
}

func (c *cell) popCtrl() *envelope { return c.popFrom(&c.ctrl) }

func (c *cell) popReply() *envelope { return c.popFrom(&c.replies) }

// popFrom takes the oldest entry of a control-side queue; the common case
// (nothing queued) costs one atomic load.
func (c *cell) popFrom(q *[]*envelope) *envelope {
	if c.queued.Load() == 0 {
		return nil
	}
	c.ctrlMu.Lock()
	defer c.ctrlMu.Unlock()
	if len(*q) == 0 {
		return nil
	}
	e := (*q)[0]
	(*q)[0] = nil
	*q = (*q)[1:]
	c.queued.Add(-1)
	return e
}

// startFirst instantiates the actor for the first time and starts its
// goroutine; an error leaves nothing running.
// Its guest calls (instantiation and init) run on ctx, so the deployer's
// deadline or cancellation stops them; ctx also carries the cell, for the
// host functions init calls.
func (c *cell) startFirst(ctx context.Context) error {
	c.setState(Starting)
	err := c.pinDirs()
	if err == nil {
		err = c.start(ctx)
	}
	if err != nil {
		c.setState(Failed)
		c.finish(err)
		return err
	}
	go c.run()
	return nil
}

// pinDirs opens the actor's directories once. Admission resolved and
// checked their paths, but a guest allowed to write above a granted
// directory could rename it and leave a symlink in its place; a restart
// that opened the path again would follow it out of the admitted tree. With
// the directory itself (engine.Dir.Handle, opened with no symlink anywhere
// in its path) a restart gets what was admitted. Directories the Spec
// gives without grants are resolved once here, as the deployer named them.
func (c *cell) pinDirs() error {
	dirs := slices.Clone(c.spec.Limits.WASI.Dirs)
	for i, d := range dirs {
		if d.Handle != nil {
			continue // the deployer opened it
		}
		path, err := filepath.Abs(d.HostPath)
		if err == nil {
			path, err = filepath.EvalSymlinks(path)
		}
		var h *os.File
		if err == nil {
			h, err = security.OpenDir(path)
		}
		if err != nil {
			c.closeDirs()
			return fmt.Errorf("directory %s: %w", d.HostPath, err)
		}
		c.dirs = append(c.dirs, h)
		dirs[i].Handle = h
	}
	c.spec.Limits.WASI.Dirs = dirs
	return nil
}

func (c *cell) closeDirs() {
	for _, h := range c.dirs {
		h.Close()
	}
	c.dirs = nil
}

// start makes a fresh incarnation of c.spec and runs its init, on base's
// deadline and cancellation (the deployer's context for a first start).
func (c *cell) start(base context.Context) error {
	inc, err := c.newIncarnation(base, c.liveSpec())
	if err != nil {
		return err
	}
	if err := inc.instantiate(inc.values(base)); err != nil {
		return err
	}
	c.activate(inc)
	c.setState(Running)
	c.sys.emit(EventStarted, c.id, nil)
	return nil
}

// activate makes inc the live incarnation.
func (c *cell) activate(inc *incarnation) {
	c.instMu.Lock()
	c.inc = inc
	c.instMu.Unlock()
}

// handleCount is the live incarnation's handles, for Stats.
func (c *cell) handleCount() int {
	c.instMu.Lock()
	defer c.instMu.Unlock()
	if c.inc == nil {
		return 0
	}
	return int(c.inc.live.Load())
}

// closeInstance drops the live incarnation, calling shutdown first when
// asked.
func (c *cell) closeInstance(callShutdown bool) {
	inc := c.inc
	if inc == nil {
		return
	}
	c.activate(nil)
	inc.close(callShutdown)
}

func (c *cell) interrupt() {
	c.instMu.Lock()
	if c.inc != nil {
		c.inc.inst.Interrupt()
	}
	c.instMu.Unlock()
}

// run is the actor's goroutine.
func (c *cell) run() {
	for {
		if env := c.popCtrl(); env != nil {
			if c.control(env) {
				return
			}
			continue
		}
		if c.inc == nil { // waiting for a restart or stop
			<-c.note
			continue
		}
		if r := c.popReply(); r != nil {
			c.deliverReply(r)
			continue
		}
		if env := c.mbox.pop(); env != nil {
			c.deliver(env)
			continue
		}
		<-c.note
	}
}

// control handles a restart or stop; true means the goroutine ends.
func (c *cell) control(env *envelope) bool {
	switch env.kind {
	case envRestart:
		c.closeInstance(true)
		c.setState(Restarting)
		if env.delay > 0 {
			t := time.NewTimer(env.delay)
			select {
			case <-t.C:
			case <-c.stopping:
				t.Stop()
				return false // a stop is queued; handle it next
			}
		}
		if err := c.start(context.Background()); err != nil {
			c.countTrap(err)
			c.sys.emit(EventTrapped, c.id, err)
			c.sup.childFailed(c, err)
			return false
		}
		c.restarts.Add(1)
		c.sys.emit(EventRestarted, c.id, nil)
	case envHealth:
		h := Unknown
		if inc := c.inc; inc != nil {
			inc.beginCall()
			if v, err := inc.inst.Call(inc.ctx, inc.names.health); err == nil {
				if e, ok := v.(wit.Enum); ok {
					h = Health(e)
				}
			} else {
				c.failed.Add(1)
				env.health <- Unknown
				c.fail(err)
				return false
			}
		}
		env.health <- h
	case envUpdate:
		c.switchTo(env)
	case envStop:
		c.closeMailbox()
		if env.graceful {
			c.drain()
			c.closeInstance(true)
			c.setState(Stopped)
		} else {
			c.closeInstance(false)
			c.setState(Failed)
		}
		c.finish(env.reason)
		return true
	}
	return false
}

// drain handles what is left in the mailbox (the mailbox is closed to new
// messages) unless the stop was forced.
func (c *cell) drain() {
	for !c.abort.Load() {
		if r := c.popReply(); r != nil && c.inc != nil {
			c.deliverReply(r)
			continue
		}
		env := c.mbox.pop()
		if env == nil {
			return
		}
		if c.inc == nil {
			c.reject(env, ErrActorStopped)
			continue
		}
		c.deliver(env)
	}
}

// requestStop wakes everything that waits on the actor: a restart backoff,
// senders blocked on a full mailbox.
func (c *cell) requestStop() {
	c.stopOnce.Do(func() { close(c.stopping) })
}

// closeMailbox takes the actor out of the system and refuses new messages;
// what is queued stays queued.
func (c *cell) closeMailbox() {
	c.sys.unregister(c)
	c.requestStop() // blocked senders give up
	c.mbox.close()
}

// finish ends the actor: what is left in the mailbox becomes dead letters,
// requests waiting on this actor get an error.
func (c *cell) finish(reason error) {
	c.once.Do(func() {
		c.closeMailbox()
		why := fmt.Errorf("%w: %s", ErrActorStopped, c.id)
		kind := EventStopped
		if State(c.state.Load()) == Failed {
			why = fmt.Errorf("%w: %s: %v", ErrActorFailed, c.id, reason)
			kind = EventFailed
		}
		for env := c.mbox.pop(); env != nil; env = c.mbox.pop() {
			c.reject(env, why)
		}
		c.stopErr = reason
		c.closeDirs() // no instance is left to use them
		c.reportLogDrops(time.Now())
		st := c.stats()
		c.sys.emitStats(kind, c.id, reason, &st)
		close(c.done)
	})
}

// reject records an undelivered message and answers its request; a
// message of a durable mailbox goes back to it instead.
func (c *cell) reject(env *envelope, why error) {
	if env.done != nil {
		env.done(false)
		return
	}
	c.dead.Add(1)
	c.sys.deadLetter(c.id, env.msg, why)
	if env.msg.CorrelationID != 0 && env.msg.ReplyTo != "" {
		c.sys.complete(env.msg.CorrelationID, nil, why)
	}
}

// deliver calls handle-message for one message, within its span when it
// is traced.
func (c *cell) deliver(env *envelope) {
	inc := c.inc
	m := &env.msg
	c.cur = env
	defer func() { c.cur = nil }()
	var end func(error)
	if tr := c.sys.opts.Tracer; tr != nil {
		end = c.traceHandle(inc, tr, m)
	}
	var outcome error
	if inc.world == world2 {
		outcome = c.deliver2(inc, m, end != nil)
	} else {
		outcome = c.deliver1(inc, m, end != nil)
	}
	if end != nil {
		inc.endSpan(end, outcome)
	}
	if env.done != nil {
		env.done(true)
	}
}

// deliver1 calls a 0.1.0 handle-message. It returns the outcome (the trap,
// or the handler's error when it is traced or a request).
func (c *cell) deliver1(inc *incarnation, m *Message, traced bool) error {
	c.meta[0].Value = m.CorrelationID
	c.meta[1].Value = optString(string(m.ReplyTo))
	c.meta[2].Value = uint64(m.Timestamp.UnixMilli())
	c.meta[3].Value = m.ContentType
	c.meta[4].Value = optString(m.Topic)
	c.rec[0].Value = string(m.Sender)
	c.rec[1].Value = m.Payload
	c.busy.Store(true)
	inc.cur = m
	inc.beginCall()
	res, err := inc.handle.Call(inc.ctx, c.rec)
	if c.times != nil && err == nil {
		c.times.observe(time.Since(inc.handleStart()))
	}
	inc.cur = nil
	c.busy.Store(false)
	c.rec[1].Value = nil
	isRequest := m.CorrelationID != 0 && m.ReplyTo != ""
	if err != nil {
		c.trapped(m, err)
		return err
	}
	r, _ := res.(wit.Result)
	if r.IsErr {
		return c.handlerError(m, r, traced)
	}
	c.handled.Add(1)
	if !isRequest {
		return nil
	}
	if o, ok := r.Value.(wit.Option); ok && o.IsSome {
		payload, _ := o.Value.([]byte)
		reply := &Message{Sender: c.id, Payload: payload, CorrelationID: m.CorrelationID, Timestamp: time.Now(),
			ContentType: m.ContentType}
		if inc.span != "" {
			addTraceFrom(m, inc.span, reply)
		}
		if n := reply.size(); n > c.sys.opts.MaxMessageBytes {
			c.sys.refuseReply(m.ReplyTo, reply, fmt.Errorf("%w: reply of %d bytes from %s (limit %d)", ErrTooLarge, n, c.id,
				c.sys.opts.MaxMessageBytes))
			return nil
		}
		c.sys.complete(m.CorrelationID, reply, nil)
	}
	return nil
}

// trapped records a message whose handling trapped: a dead letter, a
// failed reply to its request, and the supervisor's decision.
func (c *cell) trapped(m *Message, err error) {
	c.failed.Add(1)
	if env := c.cur; env != nil && env.done != nil && c.abort.Load() {
		// A durable message whose handling a stop cut short: it goes
		// back to its mailbox, for the actor's next host.
		env.done(false)
		env.done = nil
		c.fail(err)
		return
	}
	c.dead.Add(1)
	c.sys.deadLetter(c.id, *m, err)
	if m.CorrelationID != 0 && m.ReplyTo != "" {
		c.sys.complete(m.CorrelationID, nil, fmt.Errorf("%w: %s trapped handling the request: %w",
			ErrActorFailed, c.id, err))
	}
	c.fail(err)
}

// handlerError answers a request whose handler returned an error (cut to
// MaxErrorBytes). It returns that error for a request or when traced
// (need), nil otherwise.
func (c *cell) handlerError(m *Message, r wit.Result, need bool) error {
	c.errs.Add(1)
	isRequest := m.CorrelationID != 0 && m.ReplyTo != ""
	if !isRequest && !need {
		return nil
	}
	text, _ := r.Value.(string)
	text, _ = cut(text, c.sys.opts.MaxErrorBytes)
	he := &HandlerError{Actor: c.id, Message: text}
	if isRequest {
		c.sys.complete(m.CorrelationID, nil, he)
	}
	return he
}

func optString(s string) wit.Option {
	if s == "" {
		return wit.None()
	}
	return wit.Some(s)
}

// deliverReply calls handle-reply with the outcome of a request, within a
// span when the request was made under one.
func (c *cell) deliverReply(env *envelope) {
	c.sys.latency.observe(time.Since(env.start))
	inc := c.inc
	var end func(error)
	if tr := c.sys.opts.Tracer; tr != nil && env.trace != "" {
		end = c.traceReply(inc, tr, env)
	}
	outcome := c.deliverReply1(inc, env)
	if end != nil {
		inc.endSpan(end, outcome)
	}
}

// deliverReply1 delivers a request's outcome; it returns the trap, if any.
func (c *cell) deliverReply1(inc *incarnation, env *envelope) error {
	var outcome wit.Result
	if env.reply.err != nil {
		reason := env.reply.err.Error()
		var he *HandlerError
		switch {
		case errors.Is(env.reply.err, errTimeout):
			reason = "timeout"
		case errors.Is(env.reply.err, ErrTooLarge):
			reason = "too-large"
		case errors.As(env.reply.err, &he):
			reason = he.Message
		}
		outcome = wit.Err(reason)
	} else if inc.world == world2 {
		return c.deliverReply2(inc, env, outcome)
	} else {
		m := env.reply.msg
		outcome = wit.Ok(wit.Record{{Name: "sender", Value: string(m.Sender)}, {Name: "payload", Value: m.Payload},
			{Name: "metadata", Value: wit.Record{{Name: "correlation-id", Value: m.CorrelationID},
				{Name: "reply-to", Value: wit.None()}, {Name: "timestamp-ms", Value: uint64(m.Timestamp.UnixMilli())},
				{Name: "content-type", Value: m.ContentType}, {Name: "topic", Value: wit.None()}}}})
	}
	inc.beginCall()
	if _, err := inc.onRep.Call(inc.ctx, env.corr, outcome); err != nil {
		c.failed.Add(1)
		c.fail(err)
		return err
	}
	c.replied.Add(1)
	return nil
}

// fail handles a trap: the instance is discarded and the supervisor
// decides what happens next.
func (c *cell) fail(err error) {
	c.countTrap(err)
	c.sys.emit(EventTrapped, c.id, err)
	c.closeInstance(false)
	c.setState(Restarting)
	var trap *engine.Trap
	if errors.As(err, &trap) && trap.Kind == engine.TrapExit && trap.ExitCode == 0 && c.spec.Restart != Permanent {
		// A normal exit: transient and temporary actors just stop.
		c.sup.remove(c)
		c.pushCtrl(&envelope{kind: envStop, graceful: true})
		return
	}
	c.sup.childFailed(c, err)
}

// stop ends the actor and waits for it (graceful: drain first).
func (c *cell) stop(ctx context.Context, graceful bool) error {
	select {
	case <-c.done:
		return nil
	default:
	}
	c.pushCtrl(&envelope{kind: envStop, graceful: graceful})
	c.requestStop()
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
	}
	// Out of time: stop draining and interrupt the running call.
	c.abort.Store(true)
	c.interrupt()
	// The interrupt ends the running call within a tick; what takes time
	// after it is turning the queue into dead letters (100,000 messages
	// take seconds under the race detector on a loaded machine), so the
	// bound is generous: it only guards against a stop that never ends.
	select {
	case <-c.done:
	case <-time.After(stopGrace):
		return fmt.Errorf("actor: %s did not stop", c.id)
	}
	return fmt.Errorf("actor: stop %s: %w", c.id, ctx.Err())
}

// stopGrace bounds the wait for an interrupted actor to end.
const stopGrace = 30 * time.Second

// terminate stops the actor as failed (its supervisor gave up).
func (c *cell) terminate(reason error) {
	c.pushCtrl(&envelope{kind: envStop, reason: reason})
	c.requestStop()
}

// restart replaces the instance after delay.
func (c *cell) restart(delay time.Duration) {
	c.pushCtrl(&envelope{kind: envRestart, delay: delay})
}
