package lattice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/airsstack/airssys-wasm-go/actor"
)

// Mode is what a cross-host send promises.
type Mode int

const (
	// FireAndForget publishes the message (core NATS, at most once). A
	// send never waits for the other host. The losses the lattice can see
	// are counted and reported, never silent: a send to an id no host
	// serves (the NATS server answers "no responders" to the sender's
	// loss inbox), a refusal by the receiving host (mailbox full, too
	// large, stopping: it answers on the same inbox), each a dead letter
	// here and in Stats. What a slow consumer drops on the receiving
	// host is counted there (Stats.Dropped), not per message; messages
	// lost with a connection or a route that dies (in the server's or
	// the client's buffers) are counted by nobody.
	FireAndForget Mode = iota
	// Acknowledged waits for the receiving host to put the message into
	// the mailbox: the sender gets unknown-target, mailbox-full and the
	// others as a local send would, one round trip per send, and at most
	// Config.MaxInFlight sends wait at once (flow control: the next
	// waits for room until its context ends).
	Acknowledged
)

// Config is a node's place in the lattice.
type Config struct {
	// Lattice is the lattice's name (subjects airssys.<name>.>), default
	// "default".
	Lattice string
	// Host is this host's name, unique in the lattice.
	Host string
	// Mode of sends to other hosts (default FireAndForget). Requests are
	// always NATS request/reply.
	Mode Mode
	// AckTimeout bounds an acknowledged send's wait for its ack (default
	// 5s).
	AckTimeout time.Duration
	// MaxInFlight caps acknowledged sends waiting at once (default 1024).
	MaxInFlight int
	// DeliverWait bounds how long a message from another host waits for
	// room in a full Block mailbox here (default 100ms); past it, it is
	// refused as mailbox-full.
	DeliverWait time.Duration
	// RequestTimeout bounds a request from another host here, and how long
	// this node waits for the reply to one of its own (default 30s).
	RequestTimeout time.Duration
	// Heartbeat is how often this host says it is alive (default 250ms);
	// a host not heard from for three heartbeats of its own is gone.
	Heartbeat time.Duration
	// Load, when set, is what this host reports of itself in its
	// heartbeats (Hosts shows it).
	Load func() Load
	// Labels describe this host to placement (Constraint.Labels): at most
	// 32, keys and values at most 128 bytes each.
	Labels map[string]string
	// Apps, when set, is what this host has deployed (app name to its
	// digest) as its heartbeats tell the others: placement of an app is
	// over the hosts that have the same version of it (CandidatesFor). At
	// most 256 are sent.
	Apps func() map[string]string
	// CheckSender, when set, says whether host may send as actor sender:
	// every message and publish from another host passes it before it is
	// delivered here (host is the sending host as the NATS subject names
	// it, which the servers' permissions make unforgeable; sender is the
	// id the message claims). An error refuses the message: it is counted
	// (Stats.SenderRefused, RefusedIn), a request or acknowledged send is
	// answered with it (as actor.ErrDenied), and the actor never sees the
	// message. Nil accepts every sender. It runs on NATS's delivery
	// goroutines: it must be fast and must not block.
	CheckSender func(host string, sender actor.ID) error
	// OnChange, when set, is called when a host joins or leaves the
	// lattice or another host's apps change (on the node's own goroutines:
	// it must not block).
	OnChange func()
	Logger   *slog.Logger
}

// Load is what a host reports of itself.
type Load struct {
	Actors int     `json:"actors"`
	Rate   float64 `json:"rate,omitempty"` // messages handled per second
}

// HostInfo is a host of the lattice as its heartbeats tell.
type HostInfo struct {
	Name     string            `json:"name"`
	Labels   map[string]string `json:"labels,omitempty"`
	Apps     map[string]string `json:"apps,omitempty"`
	Self     bool              `json:"self,omitempty"`
	Started  time.Time         `json:"started"`
	LastSeen time.Time         `json:"last_seen"`
	Load     Load              `json:"load"`
}

// Stats are a node's counters since it started.
type Stats struct {
	SentOut, RequestsOut, PublishedOut uint64 // messages this host sent to others
	DeliveredIn, RequestsIn, PublishIn uint64 // messages from others delivered here
	LostUnknown                        uint64 // fire-and-forget sends to ids no host serves
	LostRefused                        uint64 // fire-and-forget sends the receiving host refused
	RefusedIn                          uint64 // messages from others refused here
	SenderRefused                      uint64 // of those, refused by Config.CheckSender
	ForeignBeats                       uint64 // heartbeats naming another host than their subject, ignored
	Dropped                            uint64 // messages NATS dropped for this connection (slow consumer)
}

// Node is one host's link to the lattice: it owns nothing but its
// subscriptions (the NATS connection is the caller's, and so is the
// System). It implements actor.Remote; see the package doc.
type Node struct {
	conn   *nats.Conn
	cfg    Config
	prefix string
	log    *slog.Logger

	mu sync.Mutex
	// sys is set once by Attach; read without mu on every message.
	sys    atomic.Pointer[actor.System]
	subs   map[actor.ID]*nats.Subscription
	early  map[actor.ID]bool // Local calls before Attach
	closed bool
	own    []*nats.Subscription
	// droppedGone keeps the drops of subscriptions ended (Stats.Dropped).
	droppedGone uint64

	inbox   string // <inbox>.<n> replies to this node's requests and acks
	lost    string // <prefix>.lost.<host>: loss reports of its fire-and-forget sends
	next    atomic.Uint64
	waiting sync.Map // reply subject token -> chan *nats.Msg or func(*nats.Msg)
	slots   chan struct{}

	started  time.Time
	hostsMu  sync.Mutex
	hosts    map[string]*peer
	peers    atomic.Int32 // len(hosts), read without the lock on every send
	stopBeat chan struct{}
	beatDone chan struct{}

	sentOut, requestsOut, publishedOut, deliveredIn, requestsIn, publishIn atomic.Uint64
	lostUnknown, lostRefused, refusedIn, senderRefused, foreignBeats       atomic.Uint64
}

// Subjects a node answers on: <inbox>.<token> the reply or ack of its
// request or acknowledged send <token>; <prefix>.lost.<host>.<sender>.<to>
// the loss report of a fire-and-forget send (escaped tokens). Loss
// reports are not under the inbox: any host may publish them, so that the
// servers keep no reply permission (allow_responses) for each
// fire-and-forget message delivered, most of which are never answered.
//
// Headers of a lattice message (NATS headers; values are URL
// query-escaped where they may hold anything).
const (
	hKind    = "Airssys-Kind"    // send, ack, request, publish, reply
	hSender  = "Airssys-Sender"  // the sending actor's id, set by its host
	hTime    = "Airssys-Time"    // unix nanoseconds
	hType    = "Airssys-Type"    // content type
	hHeader  = "Airssys-Header"  // name=value, one per message header, in order
	hStatus  = "Airssys-Status"  // a reply's status
	hError   = "Airssys-Error"   // an outcome's error kind
	hReason  = "Airssys-Reason"  // its text
	hTimeout = "Airssys-Timeout" // a request's timeout, milliseconds
)

// New makes a node on conn (not yet attached to a System).
func New(conn *nats.Conn, cfg Config) (*Node, error) {
	if conn == nil {
		return nil, errors.New("lattice: no NATS connection")
	}
	if cfg.Lattice == "" {
		cfg.Lattice = "default"
	}
	p, err := prefix(cfg.Lattice)
	if err != nil {
		return nil, err
	}
	if !validHost(cfg.Host) {
		return nil, fmt.Errorf("lattice: host name %q: not empty, no spaces, '.', '*' or '>'", cfg.Host)
	}
	if len(cfg.Labels) > 32 {
		return nil, fmt.Errorf("lattice: %d labels, at most 32", len(cfg.Labels))
	}
	for k, v := range cfg.Labels {
		if k == "" || len(k) > 128 || len(v) > 128 {
			return nil, fmt.Errorf("lattice: label %q: keys 1 to 128 bytes, values at most 128", k)
		}
	}
	if cfg.AckTimeout <= 0 {
		cfg.AckTimeout = 5 * time.Second
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 1024
	}
	if cfg.DeliverWait <= 0 {
		cfg.DeliverWait = 100 * time.Millisecond
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 250 * time.Millisecond
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if want := InboxPrefix(cfg.Lattice, cfg.Host); conn.Opts.InboxPrefix != want {
		// Servers with host permissions (HostPermissions) let a host read
		// only its own inbox: replies would never arrive.
		log.Warn("lattice: the NATS connection's inbox prefix is not this host's (HostOptions): servers that check permissions will refuse its replies",
			"inbox_prefix", conn.Opts.InboxPrefix, "want", want)
	}
	return &Node{conn: conn, cfg: cfg, prefix: p, log: log.With("lattice", cfg.Lattice, "host", cfg.Host),
		subs: map[actor.ID]*nats.Subscription{}, early: map[actor.ID]bool{}, started: time.Now(),
		hosts: map[string]*peer{}, stopBeat: make(chan struct{}), beatDone: make(chan struct{}),
		inbox: conn.NewRespInbox() + "-" + escapeToken(cfg.Host), lost: p + ".lost." + escapeToken(cfg.Host), slots: make(chan struct{}, cfg.MaxInFlight)}, nil
}

// Attach starts serving sys: its actors become reachable from the other
// hosts, publishes from them reach its subscribers. sys must have been
// made with Options.Remote set to n.
func (n *Node) Attach(sys *actor.System) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.sys.Load() != nil {
		return errors.New("lattice: node already attached")
	}
	if n.closed {
		return errors.New("lattice: node closed")
	}
	n.sys.Store(sys)
	for _, s := range []struct {
		subj string
		fn   nats.MsgHandler
	}{
		{n.inbox + ".>", n.onInbox},
		{n.lost + ".>", n.onLost},
		{n.prefix + ".topic.*.>", n.onPublish},
		{n.prefix + ".hosts.*", n.onHeartbeat},
	} {
		sub, err := n.conn.Subscribe(s.subj, s.fn)
		if err != nil {
			return fmt.Errorf("lattice: subscribe %s: %w", s.subj, err)
		}
		n.own = append(n.own, sub)
	}
	for id := range n.early {
		if err := n.serveLocked(id); err != nil {
			return err
		}
	}
	n.early = nil
	n.beat()
	go n.heartbeats()
	return n.conn.Flush()
}

// Close ends the node's subscriptions (the connection stays the
// caller's).
func (n *Node) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil
	}
	n.closed = true
	if n.sys.Load() != nil {
		close(n.stopBeat)
		<-n.beatDone
	}
	for id, s := range n.subs {
		n.droppedGone += dropped(s)
		s.Unsubscribe()
		delete(n.subs, id)
	}
	for _, s := range n.own {
		n.droppedGone += dropped(s)
		s.Unsubscribe()
	}
	n.own = nil
	return nil
}

// Stats reads the node's counters.
func (n *Node) Stats() Stats {
	st := Stats{
		SentOut: n.sentOut.Load(), RequestsOut: n.requestsOut.Load(), PublishedOut: n.publishedOut.Load(),
		DeliveredIn: n.deliveredIn.Load(), RequestsIn: n.requestsIn.Load(), PublishIn: n.publishIn.Load(),
		LostUnknown: n.lostUnknown.Load(), LostRefused: n.lostRefused.Load(), RefusedIn: n.refusedIn.Load(),
		SenderRefused: n.senderRefused.Load(), ForeignBeats: n.foreignBeats.Load(),
	}
	n.mu.Lock()
	st.Dropped = n.droppedGone
	for _, s := range n.subs {
		st.Dropped += dropped(s)
	}
	for _, s := range n.own {
		st.Dropped += dropped(s)
	}
	n.mu.Unlock()
	return st
}

// dropped is what a subscription's slow consumer dropped.
func dropped(s *nats.Subscription) uint64 {
	if d, err := s.Dropped(); err == nil && d > 0 {
		return uint64(d)
	}
	return 0
}

// Local implements actor.Remote: an id served here gets a queue
// subscription on its subject (so one host answers should two serve it).
func (n *Node) Local(id actor.ID, served bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	if n.sys.Load() == nil {
		if served {
			n.early[id] = true
		} else {
			delete(n.early, id)
		}
		return
	}
	if !served {
		if s := n.subs[id]; s != nil {
			n.droppedGone += dropped(s)
			s.Unsubscribe()
			delete(n.subs, id)
		}
		return
	}
	if err := n.serveLocked(id); err != nil {
		n.log.Error("lattice: cannot serve an actor", "actor", string(id), "err", err)
	}
}

func (n *Node) serveLocked(id actor.ID) error {
	if n.subs[id] != nil {
		return nil
	}
	base := actorSubject(n.prefix, id)
	s, err := n.conn.QueueSubscribe(base+".*", "actor", func(m *nats.Msg) {
		n.onActor(id, strings.TrimPrefix(m.Subject, base+"."), m)
	})
	if err != nil {
		return fmt.Errorf("lattice: serve %s: %w", id, err)
	}
	n.subs[id] = s
	return nil
}

// --- out -------------------------------------------------------------------------

// encode puts m's metadata into NATS headers.
func (n *Node) encode(kind string, m actor.Message) nats.Header {
	h := nats.Header{}
	h[hKind] = []string{kind}
	if m.Sender != "" {
		h[hSender] = []string{url.QueryEscape(string(m.Sender))}
	}
	if !m.Timestamp.IsZero() {
		h[hTime] = []string{strconv.FormatInt(m.Timestamp.UnixNano(), 10)}
	}
	if m.ContentType != "" {
		h[hType] = []string{url.QueryEscape(m.ContentType)}
	}
	if m.Status != 0 {
		h[hStatus] = []string{strconv.Itoa(int(m.Status))}
	}
	for _, kv := range m.Headers {
		h[hHeader] = append(h[hHeader], url.QueryEscape(kv.Name)+"="+url.QueryEscape(kv.Value))
	}
	return h
}

// decode reads a message from NATS headers and data.
func decode(msg *nats.Msg) (actor.Message, error) {
	var m actor.Message
	get := func(k string) string {
		if v := msg.Header[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	var err error
	unq := func(s string) string {
		v, e := url.QueryUnescape(s)
		if e != nil && err == nil {
			err = fmt.Errorf("lattice: bad header value %q", s)
		}
		return v
	}
	m.Sender = actor.ID(unq(get(hSender)))
	m.ContentType = unq(get(hType))
	if t := get(hTime); t != "" {
		ns, e := strconv.ParseInt(t, 10, 64)
		if e != nil {
			return m, fmt.Errorf("lattice: bad time %q", t)
		}
		m.Timestamp = time.Unix(0, ns)
	}
	if s := get(hStatus); s != "" {
		v, e := strconv.ParseUint(s, 10, 16)
		if e != nil {
			return m, fmt.Errorf("lattice: bad status %q", s)
		}
		m.Status = uint16(v)
	}
	for _, kv := range msg.Header[hHeader] {
		name, value, ok := strings.Cut(kv, "=")
		if !ok {
			return m, fmt.Errorf("lattice: bad header %q", kv)
		}
		m.Headers = append(m.Headers, actor.Header{Name: unq(name), Value: unq(value)})
	}
	m.Payload = msg.Data
	return m, err
}

// Send implements actor.Remote.
func (n *Node) Send(ctx context.Context, to actor.ID, m actor.Message, reply func(actor.Message, error)) error {
	if !n.hasPeers() {
		// A host alone: nobody else can serve the id (no NATS hop).
		return fmt.Errorf("%w: %s", actor.ErrUnknownActor, to)
	}
	subj := actorSubject(n.prefix, to) + "." + escapeToken(n.cfg.Host)
	switch {
	case reply != nil:
		n.requestsOut.Add(1)
		token := strconv.FormatUint(n.next.Add(1), 36)
		h := n.encode("request", m)
		h[hTimeout] = []string{strconv.FormatInt(n.cfg.RequestTimeout.Milliseconds(), 10)}
		var once atomic.Bool
		var timer *time.Timer
		done := func(r actor.Message, err error) {
			if once.CompareAndSwap(false, true) {
				n.waiting.Delete(token)
				if timer != nil {
					timer.Stop()
				}
				reply(r, err)
			}
		}
		n.waiting.Store(token, func(msg *nats.Msg) { done(outcome(to, msg)) })
		timer = time.AfterFunc(n.cfg.RequestTimeout, func() {
			done(actor.Message{}, fmt.Errorf("%w: %s after %v (another host)", actor.ErrRequestTimeout, to, n.cfg.RequestTimeout))
		})
		if err := n.conn.PublishMsg(&nats.Msg{Subject: subj, Reply: n.inbox + "." + token, Header: h, Data: m.Payload}); err != nil {
			n.waiting.Delete(token)
			timer.Stop()
			return fmt.Errorf("lattice: send to %s: %w", to, err)
		}
		return nil
	case n.cfg.Mode == Acknowledged:
		select {
		case n.slots <- struct{}{}:
		case <-ctx.Done():
			return fmt.Errorf("lattice: send to %s: %w", to, ctx.Err())
		}
		defer func() { <-n.slots }()
		n.sentOut.Add(1)
		token := strconv.FormatUint(n.next.Add(1), 36)
		ch := make(chan *nats.Msg, 1)
		n.waiting.Store(token, ch)
		defer n.waiting.Delete(token)
		if err := n.conn.PublishMsg(&nats.Msg{Subject: subj, Reply: n.inbox + "." + token, Header: n.encode("ack", m), Data: m.Payload}); err != nil {
			return fmt.Errorf("lattice: send to %s: %w", to, err)
		}
		t := time.NewTimer(n.cfg.AckTimeout)
		defer t.Stop()
		select {
		case msg := <-ch:
			_, err := outcome(to, msg)
			return err
		case <-t.C:
			return fmt.Errorf("%w: %s: no acknowledgement from another host in %v", actor.ErrRequestTimeout, to, n.cfg.AckTimeout)
		case <-ctx.Done():
			return fmt.Errorf("lattice: send to %s: %w", to, ctx.Err())
		}
	default:
		n.sentOut.Add(1)
		h := n.encode("send", m)
		// A loss report comes back to this subject: "no responders" from
		// the server (which carries no header of ours) or the receiving
		// host's refusal.
		lost := n.lost + "." + escapeToken(string(m.Sender)) + "." + escapeToken(string(to))
		if err := n.conn.PublishMsg(&nats.Msg{Subject: subj, Reply: lost, Header: h, Data: m.Payload}); err != nil {
			return fmt.Errorf("lattice: send to %s: %w", to, err)
		}
		return nil
	}
}

// Publish implements actor.Remote.
func (n *Node) Publish(ctx context.Context, m actor.Message) error {
	if !n.hasPeers() {
		return nil // a host alone: the local fan-out was all
	}
	n.publishedOut.Add(1)
	if err := n.conn.PublishMsg(&nats.Msg{Subject: topicSubject(n.prefix, n.cfg.Host, m.Topic), Header: n.encode("publish", m), Data: m.Payload}); err != nil {
		return fmt.Errorf("lattice: publish %s: %w", m.Topic, err)
	}
	return nil
}

// onInbox gets the replies and acks of this node's requests and sends.
func (n *Node) onInbox(msg *nats.Msg) {
	token := strings.TrimPrefix(msg.Subject, n.inbox+".")
	v, ok := n.waiting.Load(token)
	if !ok {
		return // the wait ended (timeout): a late reply
	}
	switch w := v.(type) {
	case chan *nats.Msg:
		select {
		case w <- msg:
		default:
		}
	case func(*nats.Msg):
		w(msg)
	}
}

// onLost counts a fire-and-forget send that did not arrive: "no
// responders" from the NATS server (no host serves the id), or a refusal
// by the receiving host. It becomes a dead letter here (without its
// payload, which this host did not keep).
func (n *Node) onLost(msg *nats.Msg) {
	fromTo := strings.TrimPrefix(msg.Subject, n.lost+".")
	var reason error
	if msg.Header.Get("Status") == "503" {
		n.lostUnknown.Add(1)
		reason = fmt.Errorf("%w (no host serves it)", actor.ErrUnknownActor)
	} else {
		n.lostRefused.Add(1)
		_, reason = outcome("", msg)
	}
	f, t, _ := strings.Cut(fromTo, ".")
	sender, _ := unescapeToken(f)
	to, _ := unescapeToken(t)
	sys := n.sys.Load()
	n.log.Warn("lattice: a send to another host was lost", "to", to, "from", sender, "err", reason)
	if sys != nil {
		sys.RecordDeadLetter(actor.ID(to), actor.Message{Sender: actor.ID(sender)}, fmt.Errorf("lattice: %w", reason))
	}
}

// --- in --------------------------------------------------------------------------

// onActor gets a message for local actor id from another host. It runs on
// the id's subscription goroutine: a full Block mailbox holds only this
// id's messages, DeliverWait at most.
func (n *Node) onActor(id actor.ID, hostToken string, msg *nats.Msg) {
	sys := n.sys.Load()
	if sys == nil {
		return
	}
	m, err := decode(msg) // a message without a sender is refused by Deliver
	kind := msg.Header.Get(hKind)
	respond := func(r actor.Message, err error) {
		if msg.Reply == "" {
			return
		}
		h := n.encode("reply", r)
		if err != nil {
			kind, reason := errorKind(err)
			h[hError] = []string{kind}
			h[hReason] = []string{url.QueryEscape(reason)}
			h[hSender] = msg.Header[hSender]
		}
		if perr := n.conn.PublishMsg(&nats.Msg{Subject: msg.Reply, Header: h, Data: r.Payload}); perr != nil {
			n.log.Warn("lattice: cannot answer another host", "actor", string(id), "err", perr)

		}
	}
	if err == nil && m.Sender != "" { // no sender: refused by Deliver
		err = n.checkSender(hostToken, m.Sender)
	}
	if err != nil {
		n.refusedIn.Add(1)
		respond(actor.Message{}, err)
		return
	}
	ctx := newLazyDeadline(n.cfg.DeliverWait)
	defer ctx.release()
	switch kind {
	case "request":
		n.requestsIn.Add(1)
		timeout := n.cfg.RequestTimeout
		if ms, perr := strconv.ParseInt(msg.Header.Get(hTimeout), 10, 64); perr == nil && ms > 0 && time.Duration(ms)*time.Millisecond < timeout {
			timeout = time.Duration(ms) * time.Millisecond
		}
		if err := sys.Deliver(ctx, id, m, timeout, respond); err != nil {
			n.refusedIn.Add(1)
			respond(actor.Message{}, err)
		}
	case "ack", "send":
		if err := sys.Deliver(ctx, id, m, 0, nil); err != nil {
			n.refusedIn.Add(1)
			respond(actor.Message{}, err) // for a send: a loss report to the sender's host
			return
		}
		n.deliveredIn.Add(1)
		if kind == "ack" {
			respond(actor.Message{}, nil)
		}
	default:
		n.refusedIn.Add(1)
		respond(actor.Message{}, fmt.Errorf("lattice: unknown message kind %q", kind))
	}
}

// onPublish gets every publish of the lattice; those of this host are
// already delivered here (no echo).
func (n *Node) onPublish(msg *nats.Msg) {
	hostToken, topic, _ := strings.Cut(strings.TrimPrefix(msg.Subject, n.prefix+".topic."), ".")
	if hostToken == escapeToken(n.cfg.Host) {
		return
	}
	sys := n.sys.Load()
	m, err := decode(msg)
	if err == nil && m.Sender != "" {
		err = n.checkSender(hostToken, m.Sender)
	}
	if err != nil || sys == nil || m.Sender == "" {
		n.refusedIn.Add(1)
		return
	}
	m.Topic = topic
	n.publishIn.Add(1)
	ctx := newLazyDeadline(n.cfg.DeliverWait)
	defer ctx.release()
	sys.DeliverPublish(ctx, m) // refusals are dead letters there
}

// checkSender asks Config.CheckSender whether the host of the subject
// token may send as sender; a refusal is counted and is actor.ErrDenied.
func (n *Node) checkSender(hostToken string, sender actor.ID) error {
	if n.cfg.CheckSender == nil {
		return nil
	}
	host, err := unescapeToken(hostToken)
	if err == nil {
		err = n.cfg.CheckSender(host, sender)
	}
	if err != nil {
		n.senderRefused.Add(1)
		n.log.Warn("lattice: a message from another host refused: its sender is not that host's", "from_host", host,
			"sender", string(sender), "err", err)
		return fmt.Errorf("%w: host %s may not send as %s: %v", actor.ErrDenied, host, sender, err)
	}
	return nil
}

// --- outcomes --------------------------------------------------------------------

// The error kinds an outcome carries, each the actor error a local call
// would have given.
var errorKinds = []struct {
	kind string
	err  error
}{
	{"unknown-target", actor.ErrUnknownActor},
	{"mailbox-full", actor.ErrMailboxFull},
	{"too-large", actor.ErrTooLarge},
	{"closed", actor.ErrClosed},
	{"timeout", actor.ErrRequestTimeout},
	{"failed", actor.ErrActorFailed},
	{"stopped", actor.ErrActorStopped},
	{"denied", actor.ErrDenied},
	{"no-reply", actor.ErrNoReply},
}

func errorKind(err error) (string, string) {
	var he *actor.HandlerError
	if errors.As(err, &he) {
		return "handler", he.Message
	}
	for _, k := range errorKinds {
		if errors.Is(err, k.err) {
			return k.kind, err.Error()
		}
	}
	return "other", err.Error()
}

// outcome reads a reply or an acknowledgement: the message, or the error
// it carries ("no responders" from the server: no host serves to).
func outcome(to actor.ID, msg *nats.Msg) (actor.Message, error) {
	if msg.Header.Get("Status") == "503" {
		return actor.Message{}, fmt.Errorf("%w: %s (no host serves it)", actor.ErrUnknownActor, to)
	}
	if kind := msg.Header.Get(hError); kind != "" {
		reason, _ := url.QueryUnescape(msg.Header.Get(hReason))
		if kind == "handler" {
			return actor.Message{}, &actor.HandlerError{Actor: to, Message: reason}
		}
		for _, k := range errorKinds {
			if k.kind == kind {
				return actor.Message{}, fmt.Errorf("%w: %s (another host)", k.err, reason)
			}
		}
		return actor.Message{}, fmt.Errorf("lattice: %s: %s", to, reason)
	}
	return decode(msg)
}

// --- membership ------------------------------------------------------------------

type peer struct {
	info    HostInfo
	expires time.Time
}

type heartbeat struct {
	Host     string            `json:"host"`
	Labels   map[string]string `json:"labels,omitempty"`
	Apps     map[string]string `json:"apps,omitempty"`
	Started  int64             `json:"started"`
	EveryMS  int64             `json:"every_ms"`
	Load     Load              `json:"load"`
	Stopping bool              `json:"stopping,omitempty"`
}

// beat publishes this host's heartbeat.
func (n *Node) beat() {
	hb := heartbeat{Host: n.cfg.Host, Labels: n.cfg.Labels, Started: n.started.UnixNano(), EveryMS: n.cfg.Heartbeat.Milliseconds()}
	if n.cfg.Load != nil {
		hb.Load = n.cfg.Load()
	}
	hb.Apps = n.apps()
	b, _ := json.Marshal(hb)
	if err := n.conn.Publish(n.prefix+".hosts."+escapeToken(n.cfg.Host), b); err != nil {
		n.log.Debug("lattice: heartbeat not sent", "err", err)
	}
}

// heartbeats runs until Close: a heartbeat every Config.Heartbeat, and
// peers not heard from in time forgotten.
func (n *Node) heartbeats() {
	defer close(n.beatDone)
	t := time.NewTicker(n.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-n.stopBeat:
			b, _ := json.Marshal(heartbeat{Host: n.cfg.Host, Started: n.started.UnixNano(), Stopping: true})
			n.conn.Publish(n.prefix+".hosts."+escapeToken(n.cfg.Host), b)
			n.conn.FlushTimeout(time.Second) // a lost connection does not hold the stop
			return
		case now := <-t.C:
			n.beat()
			changed := false
			n.hostsMu.Lock()
			for name, p := range n.hosts {
				if now.After(p.expires) {
					delete(n.hosts, name)
					n.peers.Store(int32(len(n.hosts)))
					n.log.Warn("lattice: a host is gone (no heartbeat)", "peer", name)
					changed = true
				}
			}
			n.hostsMu.Unlock()
			if changed {
				n.changed()
			}
		}
	}
}

func (n *Node) onHeartbeat(msg *nats.Msg) {
	var hb heartbeat
	if len(msg.Data) > 64<<10 || json.Unmarshal(msg.Data, &hb) != nil || hb.Host == "" || hb.Host == n.cfg.Host ||
		len(hb.Labels) > 32 || len(hb.Apps) > maxApps {
		return
	}
	if msg.Subject != n.prefix+".hosts."+escapeToken(hb.Host) {
		// The subject names its publisher (the servers' permissions): a
		// heartbeat for another host is a forgery.
		n.foreignBeats.Add(1)
		return
	}
	joined, left := false, false
	defer func() {
		if joined || left {
			n.changed()
		}
	}()
	every := time.Duration(hb.EveryMS) * time.Millisecond
	if every <= 0 || every > time.Minute {
		every = n.cfg.Heartbeat
	}
	n.hostsMu.Lock()
	defer n.hostsMu.Unlock()
	if hb.Stopping {
		if _, ok := n.hosts[hb.Host]; ok {
			delete(n.hosts, hb.Host)
			n.peers.Store(int32(len(n.hosts)))
			left = true
		}
		return
	}
	p := n.hosts[hb.Host]
	if p == nil {
		p = &peer{}
		n.hosts[hb.Host] = p
		n.peers.Store(int32(len(n.hosts)))
		n.log.Info("lattice: a host joined", "peer", hb.Host)
		joined = true
	}
	if !joined && !maps.Equal(p.info.Apps, hb.Apps) {
		joined = true // its apps changed: placement may differ
	}
	now := time.Now()
	p.info = HostInfo{Name: hb.Host, Labels: hb.Labels, Apps: hb.Apps, Started: time.Unix(0, hb.Started), LastSeen: now, Load: hb.Load}
	p.expires = now.Add(3 * every)
}

// Announce sends this host's heartbeat now (after its apps changed, so
// that the others place at once rather than at the next beat).
func (n *Node) Announce() {
	n.mu.Lock()
	ok := n.sys.Load() != nil && !n.closed
	n.mu.Unlock()
	if ok {
		n.beat()
	}
}

// changed tells Config.OnChange that the hosts changed.
func (n *Node) changed() {
	if n.cfg.OnChange != nil {
		n.cfg.OnChange()
	}
}

// Candidates are the live hosts, this one included, for Place.
func (n *Node) Candidates() []Candidate {
	var out []Candidate
	for _, h := range n.Hosts() {
		out = append(out, Candidate{Name: h.Name, Labels: h.Labels})
	}
	return out
}

// CandidatesFor are the live hosts that have app at digest deployed, this
// one included when it has.
func (n *Node) CandidatesFor(app, digest string) []Candidate {
	var out []Candidate
	for _, h := range n.Hosts() {
		if h.Apps[app] == digest {
			out = append(out, Candidate{Name: h.Name, Labels: h.Labels})
		}
	}
	return out
}

// maxApps caps the apps a heartbeat carries.
const maxApps = 256

// apps is this host's apps for its heartbeat (at most maxApps).
func (n *Node) apps() map[string]string {
	if n.cfg.Apps == nil {
		return nil
	}
	a := n.cfg.Apps()
	if len(a) > maxApps {
		names := slices.Sorted(maps.Keys(a))[:maxApps]
		cut := make(map[string]string, maxApps)
		for _, k := range names {
			cut[k] = a[k]
		}
		a = cut
	}
	return a
}

// hasPeers tells whether another host is alive in the lattice.
func (n *Node) hasPeers() bool { return n.peers.Load() > 0 }

// WaitHosts waits until count hosts (this one included) are alive in the
// lattice, or ctx ends.
func (n *Node) WaitHosts(ctx context.Context, count int) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for int(n.peers.Load())+1 < count {
		select {
		case <-ctx.Done():
			return fmt.Errorf("lattice: %d of %d hosts: %w", n.peers.Load()+1, count, ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// Hosts lists the lattice's live hosts, this one first, then by name.
func (n *Node) Hosts() []HostInfo {
	self := HostInfo{Name: n.cfg.Host, Labels: n.cfg.Labels, Apps: n.apps(), Self: true, Started: n.started, LastSeen: time.Now()}
	if n.cfg.Load != nil {
		self.Load = n.cfg.Load()
	}
	n.hostsMu.Lock()
	out := make([]HostInfo, 0, len(n.hosts)+1)
	for _, p := range n.hosts {
		out = append(out, p.info)
	}
	n.hostsMu.Unlock()
	slices.SortFunc(out, func(a, b HostInfo) int { return strings.Compare(a.Name, b.Name) })
	return append([]HostInfo{self}, out...)
}

// lazyDeadline is a context with a deadline whose timer is made only when
// somebody waits on Done (a sender waiting for room in a full Block
// mailbox): most deliveries never do, and a timer per message cost a
// tenth of the send rate.
type lazyDeadline struct {
	deadline time.Time
	once     sync.Once
	made     atomic.Bool
	ctx      context.Context
	cancel   context.CancelFunc
}

func newLazyDeadline(d time.Duration) *lazyDeadline {
	return &lazyDeadline{deadline: time.Now().Add(d)}
}

func (l *lazyDeadline) Deadline() (time.Time, bool) { return l.deadline, true }

func (l *lazyDeadline) Done() <-chan struct{} {
	l.once.Do(func() {
		l.ctx, l.cancel = context.WithDeadline(context.Background(), l.deadline)
		l.made.Store(true)
	})
	return l.ctx.Done()
}

func (l *lazyDeadline) Err() error {
	if !time.Now().Before(l.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

func (l *lazyDeadline) Value(any) any { return nil }

// release stops the timer, if one was made.
func (l *lazyDeadline) release() {
	if l.made.Load() {
		l.cancel()
	}
}
