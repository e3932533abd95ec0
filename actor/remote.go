package actor

import (
	"context"
	"fmt"
	"time"
)

// Remote carries messages to actors of other hosts (package lattice
// implements it over NATS). A System with Options.Remote set calls it:
//
//   - Send for a message to an id no local actor has (a local actor is
//     always reached in-process), on the sender's goroutine, after the
//     system checked the sizes against its own caps;
//   - Publish for every publish made on this host, after the local
//     fan-out (Deliver and DeliverPublish, which bring messages in from
//     other hosts, never call it: no echo, no loops);
//   - Local when an actor id starts being served here (true) and when it
//     stops being served (false), outside the system's locks.
//
// None may block past ctx; none may keep m's slices without copying them.
type Remote interface {
	// Send delivers m (its Sender and Timestamp set by this system) to
	// actor to on another host. For a request, reply is not nil and must
	// be called once with the outcome (a late call after the request ended
	// is harmless); for a send it is nil. An id no host runs is
	// ErrUnknownActor, when the mode can tell.
	Send(ctx context.Context, to ID, m Message, reply func(Message, error)) error
	// Publish forwards a publish (m.Topic set) to the other hosts.
	Publish(ctx context.Context, m Message) error
	// Local says whether id is served by this system now.
	Local(id ID, served bool)
}

// Deliver hands the system a message that came from another host for its
// actor to. m.Sender is the remote sender as its host asserted it;
// Payload, ContentType, Headers and Timestamp are kept; Topic,
// CorrelationID and ReplyTo are the system's to set. It is checked against
// this system's caps like any message. A full Block mailbox waits until
// ctx ends. For a request (reply not nil) the outcome is given to reply,
// once: the reply, the responder's error, a failure, or ErrRequestTimeout
// after timeout (Options.RequestTimeout when 0). The message is never
// forwarded to Remote: an id this system does not run is ErrUnknownActor.
func (s *System) Deliver(ctx context.Context, to ID, m Message, timeout time.Duration, reply func(Message, error)) error {
	if m.Sender == "" {
		return fmt.Errorf("actor: deliver to %s: no sender", to)
	}
	m = incoming(m)
	if err := s.checkMessage(string(to), "", &m); err != nil {
		return err
	}
	if reply == nil {
		return s.deliverLocal(ctx, m.Sender, to, m)
	}
	p := &pending{fn: reply, start: time.Now()}
	corr := s.corr.Add(1)
	s.pending.Store(corr, p)
	if timeout <= 0 {
		timeout = s.opts.RequestTimeout
	}
	p.timer = time.AfterFunc(timeout, func() {
		s.complete(corr, nil, fmt.Errorf("%w: %s after %v", ErrRequestTimeout, to, timeout))
	})
	m.CorrelationID, m.ReplyTo = corr, m.Sender
	if err := s.deliverLocal(ctx, m.Sender, to, m); err != nil {
		if _, ok := s.pending.LoadAndDelete(corr); ok {
			p.timer.Stop()
		}
		return err
	}
	return nil
}

// DeliverDurable hands the system a message of actor to's durable
// mailbox (Spec.Durable; m.Sender as for Deliver). It is pushed into the
// actor's local mailbox, waiting for room until ctx ends whatever the
// actor's Overflow (the durable mailbox holds the rest); done
// is then called once, true when the actor was given the message, false
// when it stopped before (the caller gives the message back to the
// durable mailbox). An error means done will not be called.
func (s *System) DeliverDurable(ctx context.Context, to ID, m Message, done func(handled bool)) error {
	if m.Sender == "" {
		return fmt.Errorf("actor: deliver to %s: no sender", to)
	}
	if done == nil {
		return fmt.Errorf("actor: deliver to %s: no done", to)
	}
	m = incoming(m)
	if err := s.checkMessage(string(to), "", &m); err != nil {
		return err
	}
	c, err := s.localCell(to)
	if err != nil {
		return err
	}
	if err := c.fitsActor(m.size()); err != nil {
		return err
	}
	return c.push(ctx, &envelope{msg: m, done: done}, nil)
}

// DeliverPublish hands the system a publish that came from another host:
// the actors and Go subscriptions here whose patterns match m.Topic get
// it, as for a local publish, and it goes no further.
func (s *System) DeliverPublish(ctx context.Context, m Message) error {
	if m.Sender == "" {
		return fmt.Errorf("actor: deliver publish to %q: no sender", m.Topic)
	}
	topic := m.Topic
	m = incoming(m)
	if err := s.checkMessage("", topic, &m); err != nil {
		return err
	}
	if err := ValidTopic(topic); err != nil {
		return err
	}
	m.Topic = topic
	return s.publishLocal(ctx, m.Sender, m, nil)
}

// deliverLocal is send restricted to this system's actors.
func (s *System) deliverLocal(ctx context.Context, from, to ID, m Message) error {
	c, err := s.localCell(to)
	if err != nil {
		return err
	}
	return s.pushTo(ctx, c, from, m, nil)
}

// localCell is this system's actor to, for a message from another host.
func (s *System) localCell(to ID) (*cell, error) {
	s.mu.RLock()
	closing := s.closing
	c := s.cells[to]
	s.mu.RUnlock()
	if closing {
		return nil, ErrClosed
	}
	if c == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownActor, to)
	}
	return c, nil
}

// incoming keeps of a message from another host what it may set: the
// rest (topic, correlation, reply-to, status) is this system's.
func incoming(m Message) Message {
	return Message{Sender: m.Sender, Payload: m.Payload, ContentType: m.ContentType, Headers: m.Headers, Timestamp: m.Timestamp}
}

// sendRemote hands a message for an id not served here to Remote.
func (s *System) sendRemote(ctx context.Context, from, to ID, m Message) error {
	m.Sender = from
	if m.Timestamp.IsZero() {
		m.Timestamp = time.Now()
	}
	var reply func(Message, error)
	if corr := m.CorrelationID; corr != 0 && m.ReplyTo != "" {
		reply = func(r Message, err error) {
			if err != nil {
				s.complete(corr, nil, err)
				return
			}
			s.complete(corr, &r, nil)
		}
	}
	return s.opts.Remote.Send(ctx, to, m, reply)
}

// served tells Remote about ids that start or stop being served here.
func (s *System) served(ids []ID, on bool) {
	if r := s.opts.Remote; r != nil {
		for _, id := range ids {
			r.Local(id, on)
		}
	}
}

// RecordDeadLetter records m, which could not be delivered to to, among
// this system's dead letters (a lattice's report of a message lost on its
// way to another host).
func (s *System) RecordDeadLetter(to ID, m Message, reason error) { s.deadLetter(to, m, reason) }
