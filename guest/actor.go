//go:build wasip1

// Package guest writes actors for the airssys host in standard Go
// (GOOS=wasip1 GOARCH=wasm, -buildmode=c-shared), for the world
// airssys:actor/component@0.2.0. A guest registers its Actor in an init
// function:
//
//	func init() { guest.Register(&echo{}) }
//	func main() {}
//
// Automatic garbage collection is off inside a guest (a collection must
// not start while the host allocates into the guest); the glue collects at
// the start of export calls when the heap grew enough, and Collect forces
// one.
//
// # Panics
//
// A panic is a crash of the instance ("let it crash"), never an error
// value: the instance's state may be half-changed, so the host drops it
// and the actor's supervisor decides, as for any trap (restart, restart
// the siblings too, or give up). A panic that escapes Actor.HandleMessage,
// HandleReply, Health or Shutdown is recovered by the glue, logged through
// wasi:logging at error level (context: the actor's id) as
//
//	panic: <value> [<export>]
//
//	goroutine 1 [running]:
//	<the stack from the function that panicked>
//
// and raised again. The Go runtime then prints it to stderr and aborts (a
// library's runtime aborts rather than exits): the host sees the trap
// "unreachable", like a C actor's __builtin_trap. The message being handled
// becomes a dead letter with that trap as its reason, a request being
// handled gets an error (actor.ErrActorFailed), and the messages queued
// behind it are handled by the next instance. The trap itself carries no
// text: the panic's value and stack are in the actor's log, logged just
// before the host logs the trap (and on the guest's stderr when the
// deployer captures it: actor.Spec.Limits.WASI.Stderr). A panic in
// Actor.Init fails the start as an error would: init returns
// "panic: <value>" (logged with its stack too).
//
// Only the goroutine of the export call is covered: a panic on another
// goroutine, and the runtime's fatal errors (out of memory, a stack past
// its limit, concurrent map writes), reach stderr only before the same
// trap.
package guest

import "errors"

// Actor is what a guest implements. Embed Base for the defaults.
type Actor interface {
	// Init is called once per instance with the deployment's
	// configuration; an error fails the start.
	Init(config []Header) error
	// HandleMessage handles one message. For a request, the reply (nil: an
	// empty reply) or the error goes back to the requester. The message's
	// handle is dropped after the call unless msg.Keep was called.
	HandleMessage(msg *Message) (*Reply, error)
	// HandleReply is the outcome of an earlier Request: reply, or err
	// (a *ReplyError) when it failed.
	HandleReply(correlationID uint64, reply *Message, err error)
	Health() HealthStatus
	// Shutdown is called once before the instance is dropped on a
	// graceful stop.
	Shutdown()
}

// Base gives Actor's methods other than HandleMessage their defaults.
type Base struct{}

func (Base) Init([]Header) error                 { return nil }
func (Base) HandleReply(uint64, *Message, error) {}
func (Base) Health() HealthStatus                { return Healthy }
func (Base) Shutdown()                           {}

var registered Actor

// Register sets the guest's actor. Call it from an init function.
func Register(a Actor) { registered = a }

// HealthStatus is the world's health-status.
type HealthStatus uint32

const (
	Healthy HealthStatus = iota
	Degraded
	Unhealthy
)

// Header is a name and a value (headers, and config entries).
type Header struct {
	Name, Value string
}

// Config returns the value of the first entry named key.
func Config(config []Header, key string) (string, bool) {
	for _, kv := range config {
		if kv.Name == key {
			return kv.Value, true
		}
	}
	return "", false
}

// ReplyError is the failure of a request, as handle-reply reports it:
// "timeout", "too-large", the responder's error or the host's reason.
type ReplyError struct{ Reason string }

func (e *ReplyError) Error() string { return e.Reason }

// ErrNotUTF8 is returned by Message.Text for a payload that is not valid
// UTF-8; ErrOutOfRange by Message.Range past the payload's end.
// ErrFieldNotUTF8 refuses a target, topic, content type or header that is
// not valid UTF-8 (in a send, request or publish, or a reply, which then
// fails with it as its error), which the host would refuse with a trap.
var (
	ErrNotUTF8      = errors.New("guest: payload is not valid UTF-8")
	ErrOutOfRange   = errors.New("guest: range out of the payload")
	ErrFieldNotUTF8 = errors.New("guest: target, topic, content type or header is not valid UTF-8")
)
