// Package lattice makes several hosts one platform over NATS (issue 14):
// an actor is reachable by its id from any host, a publish reaches
// subscribers on every host, and (later slices) apps are placed over hosts
// and survive a host's death.
//
// # Design
//
// Types and ownership:
//
//   - Server is an embedded NATS server (nats-server, in-process). A host
//     alone embeds one with no listener: the lattice costs a connection
//     object and nothing on the local message path. Several hosts run a
//     NATS cluster: embedded servers clustered across hosts (each Server
//     given routes), or an external cluster the hosts connect to.
//   - Node is one host's membership: it owns its NATS connection and the
//     subscriptions for the actors of its actor.System, and implements
//     actor.Remote, the system's way out to other hosts. The System calls
//     it only for ids it does not run itself (a local actor is reached
//     in-process, no NATS hop) and for publishes, after the local fan-out.
//
// Subjects, under a prefix made of the lattice name (airssys.<lattice>):
//
//	<prefix>.actor.<id>   messages to actor <id> (each token of the id
//	                      escaped: '.', '*', '>', '%' and spaces become
//	                      %XX), a queue group per id, so one host answers
//	<prefix>.topic.<t>    publishes to topic <t> (topics are NATS-style
//	                      subjects already); a host drops its own
//	                      publishes (no echo) by the origin header
//
// Message metadata travels in NATS headers: the sender (set by the sending
// host, never by the component), content type, status, correlation, the
// message's own headers (prefixed) and the trace context. Requests use
// NATS request/reply: "no responders" is unknown-target.
//
// What a cross-host send promises (the modes): fire-and-forget is a core
// NATS publish (at most once; a send to an id no host runs, or to a full
// mailbox, is counted as a loss by the receiving side or by nobody, and
// the counts are reported: never silent); acknowledged sends are a request
// the receiving host answers once the message is in the mailbox (the
// sender learns unknown-target and mailbox-full, one round trip per send,
// flow control by a bounded number of sends in flight); durable (JetStream
// mailboxes, at least once with de-duplication by message id) is for the
// actors that ask for it in their app file.
//
// Goroutines: NATS delivers each subscription's messages on its own
// goroutine; the handler pushes into the local mailbox (bounded: a full
// mailbox is an error back to an acknowledged sender, a counted loss
// otherwise) and never runs guest code itself.
package lattice
