package actor

import (
	"context"
	"time"
)

// What a component's send, request and publish do, whichever world it
// speaks: the sizes first (nothing oversized is audited, looked up or
// queued), then the grants, then the trace context and the delivery. An
// error is a refusal, which the caller turns into its world's send-error.

func (inc *incarnation) send(ctx context.Context, target string, m Message) error {
	c, s := inc.c, inc.c.sys
	if err := s.checkMessage(target, "", &m); err != nil {
		return err
	}
	if g := inc.spec.Grants; g != nil && !g.AllowSend(target) {
		c.denied.Add(1)
		s.opts.Audit.Denied(string(c.id), "send", target, "not granted")
		return ErrDenied
	}
	inc.addTrace(&m)
	return s.send(ctx, c.id, ID(target), m, &hostWait{sender: c, inc: inc})
}

func (inc *incarnation) request(ctx context.Context, target string, m Message, timeout time.Duration) (uint64, error) {
	c, s := inc.c, inc.c.sys
	if err := s.checkMessage(target, "", &m); err != nil {
		return 0, err
	}
	if g := inc.spec.Grants; g != nil && !g.AllowRequest(target) {
		c.denied.Add(1)
		s.opts.Audit.Denied(string(c.id), "request", target, "not granted")
		return 0, ErrDenied
	}
	inc.addTrace(&m)
	return s.requestFrom(ctx, c, ID(target), m, timeout, inc.span)
}

// publish: a topic that is not a valid subject is refused as an unknown
// target (the default of sendError).
func (inc *incarnation) publish(ctx context.Context, topic string, m Message) error {
	c, s := inc.c, inc.c.sys
	if err := s.checkMessage("", topic, &m); err != nil {
		return err
	}
	if err := ValidTopic(topic); err != nil {
		return err
	}
	if g := inc.spec.Grants; g != nil && !g.AllowPublish(topic) {
		c.denied.Add(1)
		s.opts.Audit.Denied(string(c.id), "publish", topic, "not granted")
		return ErrDenied
	}
	inc.addTrace(&m)
	m.Topic = topic
	return s.publish(ctx, c.id, m, &hostWait{sender: c, inc: inc})
}
