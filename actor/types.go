package actor

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/security"
	"github.com/airsstack/airssys-wasm-go/storage"
)

// ID names an actor: "namespace/name/instance", three segments. A segment
// is 1 to 128 bytes of ASCII letters, digits, '-', '_' and '.', and is
// neither "." nor ".." (ids become storage keys and file names). An id is
// therefore at most 386 bytes long.
type ID string

// maxIDBytes is the length of the longest valid ID.
const maxIDBytes = 3*128 + 2

// ParseID validates s as an actor id.
func ParseID(s string) (ID, error) {
	if len(s) > maxIDBytes {
		return "", fmt.Errorf("%w: %d bytes (at most %d)", ErrBadID, len(s), maxIDBytes)
	}
	parts := strings.Split(s, "/")
	if len(parts) != 3 {
		return "", fmt.Errorf("%w: %q is not namespace/name/instance", ErrBadID, s)
	}
	for _, p := range parts {
		if p == "" || len(p) > 128 {
			return "", fmt.Errorf("%w: %q has an empty or overlong segment", ErrBadID, s)
		}
		if p == "." || p == ".." {
			return "", fmt.Errorf("%w: %q has a %q segment", ErrBadID, s, p)
		}
		for _, r := range p {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' ||
				r == '.') {
				return "", fmt.Errorf("%w: %q contains %q", ErrBadID, s, r)
			}
		}
	}
	return ID(s), nil
}

// Message is what actors exchange. The system never copies a Payload: a
// payload sent, forwarded or published is shared by everyone who receives
// it, so it must not be changed once sent.
type Message struct {
	Sender        ID // a component id, or "host/<name>" for Go senders
	Payload       []byte
	CorrelationID uint64 // requests and their replies; 0 otherwise
	ReplyTo       ID     // who a reply should go to, for requests
	Timestamp     time.Time
	ContentType   string
	Topic         string // set on published messages
	// Headers travel with the message, in order (world 0.2.0 components
	// read and set them; W3C trace context is carried on to what a handler
	// sends). Bounded by Options.MaxHeaders and MaxHeaderBytes.
	Headers []Header
	// Status is set on replies by world 0.2.0 responders (0: not set).
	Status uint16
}

// Header is one message header. Names compare without regard to ASCII
// case.
type Header struct {
	Name, Value string
}

// Header returns the value of the first header named name.
func (m *Message) Header(name string) (string, bool) {
	for _, h := range m.Headers {
		if strings.EqualFold(h.Name, name) {
			return h.Value, true
		}
	}
	return "", false
}

// Overflow says what a full mailbox does with one more message.
type Overflow uint8

const (
	// Block makes the sender wait for room, until its context ends (Go
	// senders) or Options.SendTimeout passes (component senders, which must
	// not deadlock each other), then fail with ErrMailboxFull.
	Block Overflow = iota
	// Reject fails the send at once with ErrMailboxFull.
	Reject
)

// RestartPolicy says when a supervisor restarts a child.
type RestartPolicy uint8

const (
	// Permanent children are always restarted.
	Permanent RestartPolicy = iota
	// Transient children are restarted when they fail (a trap), not when
	// they end normally (a WASI exit with status 0).
	Transient
	// Temporary children are never restarted; a failure stops them.
	Temporary
)

// Strategy is how a supervisor reacts to a failed child.
type Strategy uint8

const (
	// OneForOne restarts only the failed child.
	OneForOne Strategy = iota
	// OneForAll restarts every child.
	OneForAll
	// RestForOne restarts the failed child and the children started after it.
	RestForOne
)

func (s Strategy) String() string {
	return [...]string{"one-for-one", "one-for-all", "rest-for-one"}[s]
}

// Spec describes one actor to deploy.
type Spec struct {
	ID        ID
	Component *engine.Component
	// Config is passed to the component's init.
	Config map[string]string
	// Limits applies to every message handled (fuel, timeout) and to the
	// instance (memory, WASI). Its Host is ignored: actors get the actor
	// world's imports. A zero Timeout gets Options.MessageTimeout and a
	// zero MemoryLimit gets Options.MemoryLimit (unless the grants set
	// them).
	Limits engine.InstanceConfig
	// MailboxSize bounds the mailbox (default 1024).
	MailboxSize int
	Overflow    Overflow
	// Subscriptions are topic patterns ("a.b", "a.*", "a.>").
	Subscriptions []string
	Restart       RestartPolicy
	// MaxMessageBytes refuses larger messages to this actor (too-large),
	// and larger replies to its requests, counted like
	// Options.MaxMessageBytes; 0 uses Options.MaxMessageBytes.
	MaxMessageBytes int
	// Grants, when set, are the capabilities the security policy gave this
	// component (security.Admit): every messaging call is checked against
	// them, its WASI directories, environment and configuration come only
	// from them, and its resources from the manifest. Nil means no policy:
	// everything is allowed.
	Grants *security.Grants
	// Owner is whose key-value data the actor reaches through wasi:keyvalue
	// (Options.Storage): its component's identity. With Grants it comes
	// from them (the publisher key that signed the component and its
	// manifest name) and this field is ignored; the grants say which
	// buckets and operations, and the quota. Without Grants (no policy)
	// set it to give the actor every bucket of that owner; left empty, the
	// actor has no storage. Never derive it from the actor id: an id is
	// the deployer's choice, an identity is not.
	Owner storage.Owner
	// Storage, when set, is the backend of this actor's key-value data
	// instead of Options.Storage (an app that keeps its data in the
	// lattice's JetStream rather than this host's file). Its owner and
	// grants are as above.
	Storage storage.Backend
	// Durable makes the actor's mailbox for sends the Remote's (a
	// JetStream stream in a lattice): every send to it, from this host
	// too, goes to Remote.Send, which keeps it until the actor handled it
	// (DeliverDurable). Requests and publishes are not affected. Without
	// a Remote it changes nothing.
	Durable bool
}

// SupervisorSpec describes a supervision tree node.
type SupervisorSpec struct {
	Name     string
	Strategy Strategy
	// MaxRestarts within Period before the supervisor gives up and
	// escalates to its parent (defaults 3 and 60s).
	MaxRestarts int
	Period      time.Duration
	// BackoffMin and BackoffMax bound the exponential delay before a
	// restart (defaults 100ms and 30s).
	BackoffMin time.Duration
	BackoffMax time.Duration
	// Children start in order: each is a Spec or a SupervisorSpec.
	Children []Child
	// StartConcurrency, above 1, lets DeploySupervisor start (instantiate
	// and init) up to that many actors of the tree at once: a host
	// bringing back many actors uses every core. Their inits then run in
	// no set order (each actor is registered before any starts, so a
	// message sent in an init waits in its target's mailbox). 0 or 1:
	// one after the other, in order.
	StartConcurrency int
}

// Child is a Spec or a SupervisorSpec (pointers to either also work).
type Child interface{ isChild() }

func (Spec) isChild()           {}
func (SupervisorSpec) isChild() {}

// State is where an actor is in its life.
type State uint8

// Actor states.
const (
	Starting State = iota
	Running
	Restarting
	Stopped
	Failed
)

func (s State) String() string {
	return [...]string{"starting", "running", "restarting", "stopped", "failed"}[s]
}

// EventKind names a lifecycle event.
type EventKind uint8

// Lifecycle events.
const (
	EventDeployed EventKind = iota
	EventStarted
	EventTrapped
	EventRestarted
	EventStopped
	EventFailed
	// EventUpdated: a new version of the component took over (Update,
	// Rollback).
	EventUpdated
)

func (k EventKind) String() string {
	return [...]string{"deployed", "started", "trapped", "restarted", "stopped", "failed", "updated"}[k]
}

// Event is a lifecycle event of an actor (or, for failed, of a supervisor:
// Actor is then "supervisor/<name>").
type Event struct {
	Time  time.Time
	Kind  EventKind
	Actor ID
	Err   error
	// Stats are the actor's final counters, on stopped and failed events.
	Stats *Stats
}

// Health is what an actor's health export reports.
type Health string

// Health values.
const (
	Healthy   Health = "healthy"
	Degraded  Health = "degraded"
	Unhealthy Health = "unhealthy"
	// Unknown: the actor is restarting, or its health export trapped.
	Unknown Health = "unknown"
)

// Stats are an actor's counters.
type Stats struct {
	State        State
	Busy         bool // handling a message right now
	MailboxDepth int
	Handled      uint64 // messages handled successfully
	Replies      uint64 // outcomes of this actor's requests delivered to handle-reply
	Errors       uint64 // handle-message returned err
	Failed       uint64 // messages whose handling trapped
	DeadLettered uint64 // messages recorded as dead letters
	Restarts     uint64
	// BlockedSenders are senders waiting for room in this actor's full
	// Block mailbox right now.
	BlockedSenders int
	// LogLinesDropped counts wasi:logging lines not written because the
	// actor was over its byte rate (Options.LogBytesPerSecond);
	// LogBytesDropped counts their bytes plus the bytes cut from overlong
	// messages and contexts.
	LogLinesDropped uint64
	LogBytesDropped uint64
	// Handles counts the message and payload handles the actor's current
	// instance holds (world 0.2.0; bounded by Options.MaxHandles).
	Handles int
	// KVOps and KVBytes count the key-value operations the grants allowed
	// and the bytes of keys and values they read or wrote (Options.Storage).
	KVOps, KVBytes uint64
	// Traps counts the traps by kind (engine.TrapKind); nil when none.
	// Every failure of the actor's instance counts once: a trap handling
	// a message or a reply, asking its health, or in init on a restart. A
	// failure that is no engine trap (a handle cap the runtime enforces
	// itself, an init that returned an error) counts as engine.TrapOther;
	// a WASI exit counts as engine.TrapExit whatever its code.
	Traps map[engine.TrapKind]uint64
	// Denied counts capability calls the grants refused (send, request,
	// publish, logging, storage...).
	Denied uint64
	// HandleTime is the histogram of handling times (Options.HandleTimes):
	// one observation per handle-message call that returned without a
	// trap (Handled plus Errors, for world 0.1.0; world 0.2.0 adds the
	// rare reply that could not be read), from the start of the guest call
	// to its return.
	HandleTime Histogram
}

// DeadLetter is a message that could not be delivered or handled.
type DeadLetter struct {
	Time    time.Time
	To      ID
	Message Message
	Reason  error
	// PayloadDropped: the payload (PayloadLen bytes) is not kept, to bound
	// the memory dead letters hold (Options.DeadLetterBytes).
	PayloadDropped bool
	PayloadLen     int
}

func (d *DeadLetter) dropPayload() {
	if d.Message.Payload != nil {
		d.PayloadLen, d.PayloadDropped = len(d.Message.Payload), true
		d.Message.Payload = nil
	}
}

// Errors.
var (
	ErrBadID        = errors.New("actor: bad id")
	ErrUnknownActor = errors.New("actor: unknown actor")
	ErrExists       = errors.New("actor: id already deployed")
	ErrMailboxFull  = errors.New("actor: mailbox full")
	ErrTooLarge     = errors.New("actor: message too large")
	// ErrNotUTF8 refuses a message whose content type, topic or headers
	// are not valid UTF-8 (components could not be given them).
	ErrNotUTF8        = errors.New("actor: message field is not valid UTF-8")
	ErrClosed         = errors.New("actor: system closed")
	ErrNoReply        = errors.New("actor: no reply")
	ErrRequestTimeout = errors.New("actor: request timed out")
	ErrActorFailed    = errors.New("actor: actor failed")
	ErrActorStopped   = errors.New("actor: actor stopped")
	// ErrTooManyWaits: the requesting actor already has
	// Options.MaxPendingRequests requests in flight. World 0.1.0 has no
	// send-error case for it, so a component is told mailbox-full.
	ErrTooManyWaits = errors.New("actor: too many outstanding requests")
	// ErrStopping: the sending actor is being stopped (or the system shut
	// down) while its send waited for room; a component is told closed.
	ErrStopping      = errors.New("actor: the sending actor is stopping")
	ErrNotAnActor    = errors.New("actor: component does not implement airssys:actor/actor@0.1.0")
	ErrStartupFailed = errors.New("actor: start failed")
	// ErrDenied: the security grants do not allow it.
	ErrDenied = errors.New("actor: denied by capabilities")
)

// HandlerError is a request's reply that the responder's handle-message
// returned as err(Message).
type HandlerError struct {
	Actor   ID
	Message string
}

func (e *HandlerError) Error() string {
	return fmt.Sprintf("actor: %s replied with an error: %s", e.Actor, e.Message)
}
