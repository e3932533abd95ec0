package lattice

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/airsstack/airssys-wasm-go/actor"
)

// Durable mailboxes (Config.Durable): the mailbox of an actor whose app
// file asks for durability is a subject of one JetStream stream per
// lattice, so that what was sent to it outlives the host that ran it.
//
//	stream   airssys_<lattice>_mbox, subjects <prefix>.mbox.<id>.<from-host>
//	         (file storage, work-queue retention: a message is removed
//	         once acknowledged; duplicates window MailboxConfig.Dedupe;
//	         at most MaxPerActor messages per actor from each host, then
//	         a send is mailbox-full; MaxBytes in all; MaxAge; the first
//	         host that needs the stream makes it with its settings)
//	consumer one durable pull consumer per actor id (named by a hash of
//	         the id), filtered on <prefix>.mbox.<id>.*, explicit acks,
//	         at most the actor's mailbox size unacknowledged
//
// A send to a durable actor, from any host (its own included: the actor
// system hands it to Remote), is a JetStream publish with a message id
// (Nats-Msg-Id: <host>.<nuid>); it returns once the stream has stored it
// (with replicas, a majority of them): that is the lattice's
// acknowledgement. The host that runs the actor consumes its subject:
// each message goes into the actor's local mailbox (DeliverDurable) and is
// acknowledged to the stream only once the actor has handled it (or
// trapped on it: then it is a dead letter as on one host, and not
// redelivered). A message still in the local mailbox when the actor stops
// (placed on another host, its host shutting down) is given back (a nak:
// redelivered at once, to whichever host runs the actor now). While a
// message waits or is handled, the consumer tells the stream it is in
// progress, so only a host that died (or lost its connection) has its
// messages redelivered, MailboxConfig.AckWait after the last word.
//
// What that gives: at least once. Every acknowledged send is handled, or
// dead-lettered (too large, refused by the receiving host, or delivered
// MaxDeliver times without being handled), never silently lost while the
// stream keeps a majority of its replicas and its MaxAge. A message can be
// handled twice when its host dies (or is cut off) after the actor handled
// it and before the acknowledgement reached the stream, or when a
// publisher retries a send whose acknowledgement was lost outside the
// duplicates window; the actor sees the message's id in its header
// "airssys-msg-id" and its delivery count in "airssys-delivery" (1 the
// first time), so it can tell. Order: per sender, in order, except after a
// redelivery.

// MailboxConfig is the durable mailboxes' stream.
type MailboxConfig struct {
	// Replicas of the stream when this host creates it (default 1).
	Replicas int
	// MaxPerActor bounds the messages waiting for one actor from one
	// sending host (default 10,000): past it a send is mailbox-full.
	MaxPerActor int64
	// MaxBytes bounds the stream (default 1 GiB).
	MaxBytes int64
	// MaxAge drops messages no host took in that time (default 7 days),
	// each then lost: the one case of loss the stream does not report.
	MaxAge time.Duration
	// AckWait is how long a message handed to a host may go without word
	// before the stream gives it to another (default 2s).
	AckWait time.Duration
	// MaxDeliver: a message delivered this often without being handled is
	// dead-lettered (default 10).
	MaxDeliver int
	// Dedupe is the window in which a message id seen twice is stored once
	// (default 2 minutes).
	Dedupe time.Duration
	// CheckStored, when set, checks the sender of a stored message as it
	// is consumed (host: the sending host, from the subject, which the
	// servers' permissions fixed when it was stored). It replaces the
	// node's Config.CheckSender there: a message may be consumed long
	// after it was sent, when its sending host has stopped, so what holds
	// only while a host is live (the apps its heartbeats carry) must not
	// be asked. Nil: the node's CheckSender.
	CheckStored func(host string, sender actor.ID) error
}

func (c *MailboxConfig) defaults() {
	if c.Replicas <= 0 {
		c.Replicas = 1
	}
	if c.MaxPerActor <= 0 {
		c.MaxPerActor = 10_000
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = 1 << 30
	}
	if c.MaxAge <= 0 {
		c.MaxAge = 7 * 24 * time.Hour
	}
	if c.AckWait <= 0 {
		c.AckWait = 2 * time.Second
	}
	if c.MaxDeliver <= 0 {
		c.MaxDeliver = 10
	}
	if c.Dedupe <= 0 {
		c.Dedupe = 2 * time.Minute
	}
}

// Headers a durable message carries to the actor.
const (
	HeaderMsgID    = "airssys-msg-id"
	HeaderDelivery = "airssys-delivery"
)

// ErrMailboxUnavailable is a durable send the stream did not take (no
// stream yet, no quorum of its servers).
var ErrMailboxUnavailable = errors.New("lattice: the durable mailbox is not reachable")

// mailboxes is a node's part of the durable mailboxes.
type mailboxes struct {
	n      *Node
	cfg    MailboxConfig
	stream string
	js     jetstream.JetStream

	ready atomic.Bool // the stream exists

	mu    sync.Mutex
	cons  map[actor.ID]*mailboxConsumer
	start sync.Mutex // serializes ensureStream

	// want is what local asked for each id (served or not), not yet
	// applied; the worker applies it (consumers are made over the
	// network, never on the actor system's goroutines).
	wantMu sync.Mutex
	want   map[actor.ID]bool
	poke   chan struct{}
	stop   chan struct{}
	done   chan struct{}
	sys    atomic.Pointer[actor.System]

	handled, redelivered, givenBack, deadLettered atomic.Uint64
	draining                                      sync.WaitGroup // consumers stopping
}

// mailboxConsumer consumes one actor's mailbox on this host.
type mailboxConsumer struct {
	id       actor.ID
	cc       jetstream.ConsumeContext
	quit     chan struct{} // no more deliveries: a wait for room ends
	stop     chan struct{} // the keep-alive ends
	done     chan struct{}
	mu       sync.Mutex
	inFlight map[uint64]jetstream.Msg // by stream sequence: waiting or being handled
}

func newMailboxes(n *Node, cfg MailboxConfig) (*mailboxes, error) {
	cfg.defaults()
	js, err := jetstream.New(n.conn)
	if err != nil {
		return nil, fmt.Errorf("lattice: mailboxes: %w", err)
	}
	mb := &mailboxes{n: n, cfg: cfg, js: js, stream: "airssys_" + n.cfg.Lattice + "_mbox",
		cons: map[actor.ID]*mailboxConsumer{}, want: map[actor.ID]bool{}, poke: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	go mb.work()
	return mb, nil
}

// local records that id (durable) starts or stops being served here.
func (mb *mailboxes) local(id actor.ID, served bool) {
	mb.wantMu.Lock()
	mb.want[id] = served
	mb.wantMu.Unlock()
	select {
	case mb.poke <- struct{}{}:
	default:
	}
}

// work applies what local asked, retrying a consumer the stream could
// not make yet (no quorum) every retry interval, until close.
func (mb *mailboxes) work() {
	defer close(mb.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-mb.stop
		cancel()
	}()
	retry := time.NewTimer(time.Hour)
	defer retry.Stop()
	wait := 50 * time.Millisecond
	for {
		select {
		case <-mb.stop:
			return
		case <-mb.poke:
		case <-retry.C:
		}
		mb.wantMu.Lock()
		todo := mb.want
		mb.want = map[actor.ID]bool{}
		mb.wantMu.Unlock()
		failed := false
		for id, on := range todo {
			if !on {
				mb.unserve(id)
				continue
			}
			ok := false
			if sys := mb.sys.Load(); sys != nil {
				sctx, scancel := context.WithTimeout(ctx, 2*time.Second)
				err := mb.serve(sctx, sys, id)
				scancel()
				if ok = err == nil; !ok {
					mb.n.log.Warn("lattice: durable mailbox not consumed yet", "actor", string(id), "err", err)
				}
			}
			if !ok {
				failed = true
				mb.wantMu.Lock()
				if _, newer := mb.want[id]; !newer {
					mb.want[id] = true
				}
				mb.wantMu.Unlock()
			}
		}
		if failed {
			retry.Reset(wait)
			wait = min(2*wait, 2*time.Second)
		} else {
			wait = 50 * time.Millisecond
		}
	}
}

// subject is where messages to id from this host go.
func (mb *mailboxes) subject(id actor.ID) string {
	return mb.n.prefix + ".mbox." + escapeToken(string(id)) + "." + escapeToken(mb.n.cfg.Host)
}

// ensureStream makes the stream if no host made it yet.
func (mb *mailboxes) ensureStream(ctx context.Context) error {
	if mb.ready.Load() {
		return nil
	}
	mb.start.Lock()
	defer mb.start.Unlock()
	if mb.ready.Load() {
		return nil
	}
	cfg := jetstream.StreamConfig{
		Name:                 mb.stream,
		Description:          "airssys-wasm durable mailboxes of lattice " + mb.n.cfg.Lattice,
		Subjects:             []string{mb.n.prefix + ".mbox.*.*"},
		Retention:            jetstream.WorkQueuePolicy,
		Storage:              jetstream.FileStorage,
		Replicas:             mb.cfg.Replicas,
		MaxBytes:             mb.cfg.MaxBytes,
		MaxAge:               mb.cfg.MaxAge,
		MaxMsgSize:           int32(min(mb.n.conn.MaxPayload(), 1<<30)),
		Duplicates:           mb.cfg.Dedupe,
		Discard:              jetstream.DiscardNew,
		DiscardNewPerSubject: true,
		// Per subject: one actor's messages from one host.
		MaxMsgsPerSubject: mb.cfg.MaxPerActor,
	}
	_, err := mb.js.Stream(ctx, mb.stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = mb.js.CreateStream(ctx, cfg)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("%w: stream %s: %v", ErrMailboxUnavailable, mb.stream, err)
	}
	mb.ready.Store(true)
	return nil
}

// send stores m for actor to in the stream; it returns once stored.
func (mb *mailboxes) send(ctx context.Context, to actor.ID, m actor.Message) error {
	if err := mb.ensureStream(ctx); err != nil {
		return err
	}
	h := mb.n.encode("send", m)
	id := escapeToken(mb.n.cfg.Host) + "." + nuid.Next()
	msg := &nats.Msg{Subject: mb.subject(to), Header: h, Data: m.Payload}
	// A publish to a stream whose leader just died gets no answer until
	// another is elected: each attempt waits sendAttempt, and the next
	// carries the same message id, so the stream stores it once. At most
	// sendAttempts attempts, within ctx.
	var err error
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, sendAttempt)
		_, err = mb.js.PublishMsg(actx, msg, jetstream.WithMsgID(id))
		cancel()
		retry := errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
			errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded)
		if err == nil || attempt == sendAttempts-1 || ctx.Err() != nil || !retry {
			break
		}
		if !errors.Is(err, context.DeadlineExceeded) { // an answer at once: wait a little
			t := time.NewTimer(time.Duration(50<<min(attempt, 4)) * time.Millisecond)
			select {
			case <-t.C:
			case <-ctx.Done():
			}
			t.Stop()
		}
	}
	var apiErr *jetstream.APIError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &apiErr) && strings.Contains(apiErr.Description, "maximum messages per subject"):
		return fmt.Errorf("%w: %s: %d messages wait for it", actor.ErrMailboxFull, to, mb.cfg.MaxPerActor)
	case errors.As(err, &apiErr) && strings.Contains(apiErr.Description, "message size"):
		return fmt.Errorf("%w: %s", actor.ErrTooLarge, to)
	}
	return fmt.Errorf("%w: %s: %v", ErrMailboxUnavailable, to, err)
}

// mailboxPending bounds the messages of one actor a host holds without
// having acknowledged them (waiting in its local mailbox, or handled).
const mailboxPending = 256

// sendAttempt bounds one publish of a durable send, sendAttempts their
// number: a send gives up after about sendAttempts seconds without a
// stream that answers (then the message may or may not be stored: an
// error, never silence).
const (
	sendAttempt  = time.Second
	sendAttempts = 10
)

// consumerName is the durable consumer of id's mailbox.
func consumerName(id actor.ID) string {
	sum := sha256.Sum256([]byte(id))
	return "mbox_" + hex.EncodeToString(sum[:12])
}

// serve starts consuming id's mailbox into sys (the actor runs here now).
func (mb *mailboxes) serve(ctx context.Context, sys *actor.System, id actor.ID) error {
	mb.mu.Lock()
	if mb.cons[id] != nil {
		mb.mu.Unlock()
		return nil
	}
	mb.mu.Unlock()
	if err := mb.ensureStream(ctx); err != nil {
		return err
	}
	cons, err := mb.js.CreateOrUpdateConsumer(ctx, mb.stream, jetstream.ConsumerConfig{
		Durable:       consumerName(id),
		Description:   "mailbox of " + string(id),
		FilterSubject: mb.n.prefix + ".mbox." + escapeToken(string(id)) + ".*",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       mb.cfg.AckWait,
		MaxDeliver:    -1, // counted here: the last delivery is dead-lettered, not dropped
		MaxAckPending: mailboxPending,
	})
	if err != nil {
		return fmt.Errorf("%w: consumer for %s: %v", ErrMailboxUnavailable, id, err)
	}
	c := &mailboxConsumer{id: id, quit: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{}),
		inFlight: map[uint64]jetstream.Msg{}}
	c.cc, err = cons.Consume(func(msg jetstream.Msg) { mb.onMessage(sys, c, msg) },
		jetstream.PullMaxMessages(mailboxPending),
		// A host that stops consuming leaves its pull requests at the
		// server, which may hand them messages nobody reads until AckWait:
		// short-lived requests bound that.
		jetstream.PullExpiry(time.Second),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			mb.n.log.Debug("lattice: durable mailbox", "actor", string(id), "err", err)
		}))
	if err != nil {
		return fmt.Errorf("%w: consume %s: %v", ErrMailboxUnavailable, id, err)
	}
	mb.mu.Lock()
	if old := mb.cons[id]; old != nil { // served meanwhile
		mb.mu.Unlock()
		c.cc.Stop()
		return nil
	}
	mb.cons[id] = c
	mb.mu.Unlock()
	go mb.keepAlive(c)
	return nil
}

// unserve stops consuming id's mailbox. The messages this host holds
// settle themselves: those in the actor's local mailbox are acknowledged
// as the actor handles them or given back when it stops (done), those
// still waiting for room are given back at once (quit). Until the last
// has settled (at most drainWait), they are kept in progress, so the
// stream gives none to another host meanwhile.
func (mb *mailboxes) unserve(id actor.ID) {
	mb.mu.Lock()
	c := mb.cons[id]
	delete(mb.cons, id)
	mb.mu.Unlock()
	if c == nil {
		return
	}
	c.cc.Stop()
	close(c.quit)
	mb.draining.Add(1)
	go func() {
		defer mb.draining.Done()
		deadline := time.Now().Add(drainWait)
		for time.Now().Before(deadline) {
			c.mu.Lock()
			n := len(c.inFlight)
			c.mu.Unlock()
			if n == 0 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		close(c.stop)
		<-c.done
	}()
}

// drainWait bounds how long a stopping consumer keeps the messages it
// holds in progress: past it the stream redelivers them (the actor's stop
// took that long).
const drainWait = 30 * time.Second

// keepAlive tells the stream, every AckWait/3, that the messages this
// host holds are in progress.
func (mb *mailboxes) keepAlive(c *mailboxConsumer) {
	defer close(c.done)
	t := time.NewTicker(max(mb.cfg.AckWait/3, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		c.mu.Lock()
		held := make([]jetstream.Msg, 0, len(c.inFlight))
		for _, m := range c.inFlight {
			held = append(held, m)
		}
		c.mu.Unlock()
		for _, m := range held {
			_ = m.InProgress()
		}
	}
}

// onMessage hands one stored message to the actor.
func (mb *mailboxes) onMessage(sys *actor.System, c *mailboxConsumer, msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		_ = msg.Term()
		return
	}
	nm := &nats.Msg{Subject: msg.Subject(), Header: msg.Headers(), Data: msg.Data()}
	m, err := decode(nm)
	if err == nil {
		hostToken := msg.Subject()[strings.LastIndexByte(msg.Subject(), '.')+1:]
		if mb.cfg.CheckStored != nil {
			var host string
			if host, err = unescapeToken(hostToken); err == nil && m.Sender != "" {
				err = mb.cfg.CheckStored(host, m.Sender)
			}
		} else {
			err = mb.n.checkSender(hostToken, m.Sender)
		}
	}
	if err != nil {
		mb.deadLettered.Add(1)
		sys.RecordDeadLetter(c.id, m, fmt.Errorf("lattice: durable message refused: %w", err))
		_ = msg.Term()
		return
	}
	m.Headers = append(m.Headers, actor.Header{Name: HeaderMsgID, Value: msg.Headers().Get(jetstream.MsgIDHeader)},
		actor.Header{Name: HeaderDelivery, Value: strconv.FormatUint(meta.NumDelivered, 10)})
	if meta.NumDelivered > 1 {
		mb.redelivered.Add(1)
	}
	seq := meta.Sequence.Stream
	c.mu.Lock()
	c.inFlight[seq] = msg
	c.mu.Unlock()
	settle := func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if _, ok := c.inFlight[seq]; !ok {
			return false // given back by unserve already
		}
		delete(c.inFlight, seq)
		return true
	}
	done := func(handled bool) {
		if !settle() {
			return
		}
		if handled {
			mb.handled.Add(1)
			_ = msg.Ack()
			return
		}
		mb.givenBack.Add(1)
		_ = msg.Nak()
	}
	// A full Block mailbox waits here (this consumer only: its actor's
	// messages stay in order and in the stream).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-c.quit:
			cancel()
		case <-ctx.Done():
		}
	}()
	err = sys.DeliverDurable(ctx, c.id, m, done)
	if err == nil {
		return
	}
	if !settle() {
		return
	}
	if errors.Is(err, actor.ErrTooLarge) || int(meta.NumDelivered) >= mb.cfg.MaxDeliver {
		mb.deadLettered.Add(1)
		sys.RecordDeadLetter(c.id, m, fmt.Errorf("lattice: durable message not delivered (delivery %d): %w", meta.NumDelivered, err))
		_ = msg.Term()
		return
	}
	mb.givenBack.Add(1)
	_ = msg.NakWithDelay(100 * time.Millisecond)
}

// close stops the worker and every consumer of this host.
func (mb *mailboxes) close() {
	select {
	case <-mb.stop:
	default:
		close(mb.stop)
	}
	<-mb.done
	mb.mu.Lock()
	ids := make([]actor.ID, 0, len(mb.cons))
	for id := range mb.cons {
		ids = append(ids, id)
	}
	mb.mu.Unlock()
	for _, id := range ids {
		mb.unserve(id)
	}
	mb.draining.Wait()
}

// Durable is a Node with durable mailboxes: an actor.Remote that sends to
// the actors isDurable names through their JetStream mailboxes, and
// everything else as the Node does. Make the actor system with Remote set
// to it, and Attach it (not the Node).
type Durable struct {
	*Node
	mb        *mailboxes
	isDurable func(actor.ID) bool
}

// NewDurable gives n durable mailboxes for the ids isDurable names (it is
// called on every send to an id not served here and on every start and
// stop of an actor: keep it cheap). The node's connection must reach
// JetStream.
func NewDurable(n *Node, isDurable func(actor.ID) bool, cfg MailboxConfig) (*Durable, error) {
	if n == nil || isDurable == nil {
		return nil, errors.New("lattice: durable mailboxes need a node and isDurable")
	}
	mb, err := newMailboxes(n, cfg)
	if err != nil {
		return nil, err
	}
	return &Durable{Node: n, mb: mb, isDurable: isDurable}, nil
}

// Attach starts serving sys (see Node.Attach), durable mailboxes included.
func (d *Durable) Attach(sys *actor.System) error {
	if err := d.Node.Attach(sys); err != nil {
		return err
	}
	d.mb.sys.Store(sys)
	d.mb.local("", false) // a poke: serve what started before Attach
	return nil
}

// Send implements actor.Remote: a send to a durable actor (from this host
// too) is stored in its mailbox; anything else goes as the Node sends it.
func (d *Durable) Send(ctx context.Context, to actor.ID, m actor.Message, reply func(actor.Message, error)) error {
	if reply == nil && d.isDurable(to) {
		return d.mb.send(ctx, to, m)
	}
	return d.Node.Send(ctx, to, m, reply)
}

// Local implements actor.Remote.
func (d *Durable) Local(id actor.ID, served bool) {
	d.Node.Local(id, served)
	if d.isDurable(id) {
		d.mb.local(id, served)
	}
}

// Close stops consuming (what this host held goes back to the stream),
// then closes the node.
func (d *Durable) Close() error {
	d.mb.close()
	return d.Node.Close()
}

// MailboxStats are the durable mailboxes' counters on this host.
type MailboxStats struct {
	Handled      uint64 // acknowledged after the actor was given them
	Redelivered  uint64 // received again (another delivery of a message)
	GivenBack    uint64 // returned to the stream (the actor stopped first, or no room yet)
	DeadLettered uint64 // refused, too large, or delivered MaxDeliver times
}

// MailboxStats reads them.
func (d *Durable) MailboxStats() MailboxStats {
	return MailboxStats{Handled: d.mb.handled.Load(), Redelivered: d.mb.redelivered.Load(),
		GivenBack: d.mb.givenBack.Load(), DeadLettered: d.mb.deadLettered.Load()}
}

var _ actor.Remote = (*Durable)(nil)
