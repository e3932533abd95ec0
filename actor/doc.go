// Package actor runs WebAssembly components as supervised actors that talk
// only through messages, on top of package engine.
//
// The contract is the WIT world airssys:actor/component@0.1.0 in
// wit/airssys-actor: a component exports init, handle-message,
// handle-reply, health and shutdown, and imports messaging (send, request,
// publish, self-id) and wasi:logging.
//
// Design, in a few lines:
//
//   - System (system.go) owns the registry of actors, the topic
//     subscriptions, the table of outstanding requests (by correlation id)
//     and the dead letters. Send, Request, Publish, Stop and Shutdown are
//     safe from any goroutine.
//   - Each actor is a cell (cell.go): a bounded mailbox (a channel, the
//     overflow policy chosen per actor) that lives as long as the actor,
//     a control queue (restarts, stops and replies to the actor's own
//     requests, which overtake user messages), and one goroutine that owns
//     the engine.Instance and handles one message at a time. Actors run in
//     parallel; messages from one sender to one receiver keep their order.
//   - A trap discards the instance, records the message as a dead letter
//     with the trap (it is not redelivered), answers a pending request with
//     an error, and hands the decision to the supervisor. The mailbox and
//     everything queued in it survive the restart.
//   - Supervisors (supervisor.go) are data, not goroutines: a failing child
//     calls childFailed on its own goroutine, which applies the strategy
//     (one-for-one, one-for-all, rest-for-one) and the restart intensity
//     (default at most 3 restarts in 60 s, exponential backoff 100 ms to
//     30 s), or gives up and escalates to the parent. Past the root the
//     tree's actors stop as failed.
//   - A component's request returns a correlation id at once; the reply (or
//     a timeout, or the responder's failure) comes back later through
//     handle-reply, so no actor blocks inside the host. Go's Request waits
//     on a channel instead.
//   - Host functions (host.go) find their actor through the context every
//     guest call gets (a value in a never-cancelled context, so calls pay no
//     cancellation cost); a running call is stopped with
//     engine.Instance.Interrupt.
package actor
