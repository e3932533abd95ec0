// Package actor runs WebAssembly components as supervised actors that talk
// only through messages, on top of package engine.
//
// The contract is the WIT world airssys:actor/component, in two versions
// served side by side: 0.2.0 (wit/airssys-actor-0.2.0) and 0.1.0
// (wit/airssys-actor). A component exports init, handle-message,
// handle-reply, health and shutdown, and imports messaging (send, request,
// publish, self-id; 0.2.0 adds cancel-request) and wasi:logging. Deploy
// reads which version a component exports (world2.go: worldOf) and refuses
// any other with ErrUnsupportedWorld.
//
// World 0.2.0 (world2.go) hands messages to the guest as host resources:
//
//   - Each cell has a handle table (rep -> a received *Message, or the
//     []byte of an outgoing payload), owned by the cell's goroutine: every
//     host function and every drop runs inside a guest call that goroutine
//     makes (drops are batched by the engine and run when the guest next
//     calls the host or its call returns). The table is reset whenever an
//     instance ends, so no handle outlives its instance; it is capped
//     (MaxHandles, MaxHandleBytes) and a guest call past a cap traps.
//   - handle-message and handle-reply get an own<message>; message.payload,
//     payload.share, payload.from-text and from-bytes make payload handles;
//     send, request and publish consume them. Payload bytes are never
//     copied inside the host: a received payload, the payloads taken from
//     it and the messages sent with them share one immutable []byte (the
//     garbage collector frees it after the last holder). Crossing into the
//     guest costs one copy as text, or list<u8>'s conversion per byte.
//   - A reply is a body alone (text, bytes, payload) or full(response) with
//     its own content type, status and headers; none answers a request
//     with an empty reply (0.1.0 leaves it to time out).
//   - While a handler runs, inc.cur is the message it handles: every send,
//     request or publish it makes (either world) carries that message's W3C
//     traceparent and tracestate unless it sets its own (addTrace); while a
//     traced message is handled, the traceparent is its span's instead.
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
//     engine.Instance.Interrupt. The first start (instantiation and init)
//     runs on the deployer's context instead, with the same value, so
//     Deploy's deadline or cancellation stops a looping init.
//
// Limits (limits.go), so that no guest and no caller can make the host
// grow without bound (every default is in Options and a Default* constant):
//
//   - Sizes are checked where a message enters the host (the host
//     functions and Send, Request, Publish), before anything is audited,
//     looked up or queued: the whole message (payload, content type and
//     topic, 1 MiB), the content type and the topic (1 KiB each), target
//     ids (386 bytes, the longest valid id). Replies are checked on their
//     way back (to a Go Request and to a component's handle-reply, against
//     the requester's own cap too). A handler's error string is cut to
//     4 KiB with a marker rather than refused. Over a cap: ErrTooLarge, or
//     send-error too-large for a component.
//   - Every actor gets a memory limit (Options.MemoryLimit, 128 MiB) unless
//     its Spec or its grants set one.
//   - wasi:logging is bounded per actor in bytes per second (a token
//     bucket), each message and context is cut, and what is dropped is
//     counted (Stats) and reported.
//   - A component's send, request or publish waits for room in full Block
//     mailboxes at most SendTimeout in all, never past the deadline of the
//     handler making the call, and not at all once its actor is being
//     stopped (Stop, Shutdown).
//   - A component may have MaxPendingRequests requests in flight (1024).
//     World 0.1.0's send-error has no value for going past it, so the
//     component is told mailbox-full; world 0.2.0 says too-many-requests.
//   - Headers: at most MaxHeaders (64) of MaxHeaderBytes (8 KiB) in all,
//     counted in the message's size. Content types, topics and headers
//     from Go senders must be UTF-8 (ErrNotUTF8): a component could not be
//     handed them.
//
// Instrumentation (observe.go), for a metrics or tracing adapter outside the
// package (actor depends on neither):
//
//   - Stats adds traps by kind, denied capability calls (send, request,
//     publish, logging, storage) and, with Options.HandleTimes, a histogram
//     of handling times (HandleTimeBounds), all atomics on the cell read
//     when Stats is called; nothing is allocated per message.
//   - Options.Tracer: the runtime reads the W3C traceparent of each message
//     (version 00) itself and calls the Tracer only for a sampled one, or
//     for a new root with probability TraceSample when there is none (or
//     an invalid one). The span's traceparent goes on what the handler
//     sends and on its reply (replacing the incoming one when the handler
//     copied it; tracestate unchanged); the delivery of a traced request's
//     outcome to handle-reply is a span under the requesting one; key-value
//     operations are child spans (keyvalue.Session.Trace, set only while a
//     traced message is handled). Unsampled, the Tracer is never called.
//
// IDs are "namespace/name/instance"; a segment is 1 to 128 bytes of ASCII
// letters, digits, '-', '_' and '.', and never "." or ".." (see ParseID).
package actor
