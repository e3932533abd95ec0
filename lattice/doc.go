// Package lattice makes several hosts one platform over NATS (issue 14):
// an actor is reachable by its id from any host, a publish reaches
// subscribers on every host, apps are placed over hosts (Place; package
// host runs the shared desired state) and survive a host's death, and
// actors that ask for it have durable mailboxes (Durable).
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
//   - Durable wraps a Node with durable mailboxes (mailbox.go): the System
//     is given the Durable as its Remote; sends to the ids its isDurable
//     names go to a JetStream stream, everything else to the Node.
//
// Subjects, under a prefix made of the lattice name (airssys.<lattice>):
//
//	<prefix>.actor.<id>.<host>  messages to actor <id> from host <host>
//	                      (the id one token, escaped: '.', '*', '>', '%'
//	                      and spaces become %XX); served by a queue
//	                      subscription on <prefix>.actor.<id>.* (group
//	                      "actor"), so one host answers
//	<prefix>.topic.<host>.<t>  publishes to topic <t> (topics are
//	                      NATS-style subjects already) from <host>; a
//	                      host drops its own publishes (no echo)
//	<prefix>.hosts.<host> heartbeats
//	_INBOX.airssys.<lattice>.<host>.>  the host's inbox (InboxPrefix):
//	                      replies and acks
//	<prefix>.lost.<host>.<sender>.<to>  loss reports of the host's
//	                      fire-and-forget sends (their reply subject)
//	<prefix>.mbox.<id>.<host>  durable messages to <id> from <host>: the
//	                      subjects of the stream airssys_<lattice>_mbox
//	<prefix>.admin.actors.<host>  what <host> runs (package host's ps)
//
// Security. Each host connects with its own key (an nkey user, HostKey)
// and may do on NATS only what HostPermissions allows: publish with its
// own name in the subject, answer what it receives (allow_responses,
// once, within ResponseExpires), subscribe to the lattice's subjects and
// its own inbox, use the JetStream API of the lattice's streams only. So
// the host named in a subject is the host that sent it: on receipt the
// node asks Config.CheckSender whether that host may send as the sender
// the message claims, and a heartbeat whose body names another host than
// its subject is ignored. An embedded server with a listener admits only
// ServerConfig.Hosts; its routes are authenticated with a cluster secret;
// a listener or route off loopback needs TLS (mutual, one CA). An external
// cluster's operator gives the hosts the same permissions
// (AuthorizationConfig). docs/lattice.md has the threat model.
//
// Message metadata travels in NATS headers: the sender (set by the sending
// host, never by the component), content type, status, correlation, the
// message's own headers (prefixed) and the trace context. Requests use
// NATS request/reply: "no responders" is unknown-target.
//
// What a cross-host message promises. A local send is synchronous: the
// sender learns unknown-target or mailbox-full at once. Across hosts that
// needs a round trip per send, so the lattice has modes (Config.Mode):
//
//   - FireAndForget (default): at most once. The send returns when NATS
//     has the message. Losses the lattice can see come back to the
//     sending host without a round trip per send: every send carries a
//     reply subject of its host, to which the NATS server answers "no
//     responders" when no host serves the id, and the receiving host
//     answers only when it refuses the message (mailbox full, too large,
//     stopping). Each such loss is counted (Stats.LostUnknown,
//     LostRefused) and is a dead letter on the sending host. What NATS
//     drops itself (a slow consumer; a connection lost with messages in
//     its buffers) is counted by the connection, not per message.
//   - Acknowledged: the send returns once the receiving host put the
//     message into the mailbox, or with the error a local send would give
//     (unknown-target, mailbox-full, too-large, closed), or with a timeout
//     when no acknowledgement came (then the message may or may not have
//     arrived: at most once still, but never silently). At most
//     Config.MaxInFlight sends wait at once: flow control.
//   - Durable, per actor (its app file says durable = true; Durable and
//     mailbox.go): the actor's mailbox is a JetStream stream subject. A
//     send (from any host, its own too) returns once the stream stored
//     it, with replicas once a majority has it; the host running the
//     actor acknowledges each message only after the actor handled it.
//     At least once: every acknowledged send is handled or dead-lettered
//     (refused, too large, MaxDeliver deliveries), across the death of
//     the host that ran the actor; duplicates of a send retried by its
//     publisher are removed by message id (Nats-Msg-Id, within
//     MailboxConfig.Dedupe); a message handled on a host that died before
//     its acknowledgement reached the stream is handled again, and the
//     actor sees its id and delivery count in the headers
//     airssys-msg-id and airssys-delivery.
//
// Requests are NATS request/reply in every mode: the reply, the
// responder's error (*actor.HandlerError), unknown-target ("no
// responders"), or a timeout. A host alone (no other host heard from)
// sends nothing to NATS: a publish stays local and a send to an id it
// does not serve fails at once, as without a lattice.
//
// Membership: every host publishes a heartbeat on <prefix>.hosts.<host>
// (Config.Heartbeat, with its load); a host not heard from for three of
// its heartbeats is gone, and a stopping host says so.
//
// Placement (Place): an app's actor ids are assigned to hosts by
// rendezvous hashing over the live hosts that have the same version of
// the app deployed (their heartbeats carry it), with labels and a cap per
// host; every host computes the same assignment, with no coordinator, and
// runs its share (package host). When a host joins, leaves or dies
// (OnChange), the others reconcile again: a dead host's actors start on
// the survivors about a second after its last heartbeat. Until the hosts
// hear each other (a start, a partition), each runs what it thinks is its
// share: an actor may run on two hosts for that long; messages to it go
// to one of them (queue group), and the duplicate stops when the hosts
// meet again.
//
// What it does not do: order across senders or after a redelivery;
// durable publishes or requests (a request is answered or fails, it is
// never stored); move an actor's state other than its key-value data
// (storage/jskv, per app) when it changes hosts.
//
// Goroutines: NATS delivers each subscription's messages on its own
// goroutine; the handler pushes into the local mailbox (bounded: a full
// mailbox is an error back to an acknowledged sender, a counted loss
// otherwise) and never runs guest code itself. Durable mailboxes: one
// worker goroutine per host makes and stops consumers (never on the
// actor system's goroutines); each consumer delivers on nats.go's
// goroutine and has a keep-alive goroutine that tells the stream which
// messages are in progress.
package lattice
