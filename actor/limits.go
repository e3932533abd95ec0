package actor

import (
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// Bounds on what senders and guests choose: sizes checked where a message
// enters the host, the waits of a component's host call, and the byte
// budget of each actor's logging.

// checkSizes checks the sizes a sender chose against the system's caps,
// before anything is looked up, audited or queued. target is the target id
// ("" for a publish), topic the topic ("" for a send).
func (s *System) checkSizes(target, topic string, payload []byte, ct string) error {
	m := Message{Payload: payload, ContentType: ct}
	return s.checkMessage(target, topic, &m)
}

// checkMessage is checkSizes for a message that may carry headers.
func (s *System) checkMessage(target, topic string, m *Message) error {
	o := &s.opts
	switch {
	case len(target) > maxIDBytes:
		return fmt.Errorf("%w: target id of %d bytes (an id has at most %d)", ErrTooLarge, len(target), maxIDBytes)
	case len(topic) > o.MaxTopicBytes:
		return fmt.Errorf("%w: topic of %d bytes (limit %d)", ErrTooLarge, len(topic), o.MaxTopicBytes)
	}
	if !utf8.ValidString(topic) {
		return fmt.Errorf("%w: topic %q", ErrNotUTF8, topic)
	}
	if err := s.checkFields(m); err != nil {
		return err
	}
	if n := m.size() + len(topic); n > o.MaxMessageBytes {
		return fmt.Errorf("%w: %d bytes (limit %d)", ErrTooLarge, n, o.MaxMessageBytes)
	}
	return nil
}

// checkFields checks a message's content type and headers.
func (s *System) checkFields(m *Message) error {
	o := &s.opts
	if len(m.ContentType) > o.MaxContentTypeBytes {
		return fmt.Errorf("%w: content type of %d bytes (limit %d)", ErrTooLarge, len(m.ContentType),
			o.MaxContentTypeBytes)
	}
	if !utf8.ValidString(m.ContentType) {
		return fmt.Errorf("%w: content type %q", ErrNotUTF8, m.ContentType)
	}
	for _, h := range m.Headers {
		if !utf8.ValidString(h.Name) || !utf8.ValidString(h.Value) {
			return fmt.Errorf("%w: header %q", ErrNotUTF8, h.Name)
		}
	}
	if len(m.Headers) > o.MaxHeaders {
		return fmt.Errorf("%w: %d headers (limit %d)", ErrTooLarge, len(m.Headers), o.MaxHeaders)
	}
	if n := headerBytes(m.Headers); n > o.MaxHeaderBytes {
		return fmt.Errorf("%w: headers of %d bytes (limit %d)", ErrTooLarge, n, o.MaxHeaderBytes)
	}
	return nil
}

// checkReply checks a reply on its way back to the requester.
func (s *System) checkReply(m *Message) error {
	if err := s.checkFields(m); err != nil {
		return fmt.Errorf("reply: %w", err)
	}
	if n := m.size(); n > s.opts.MaxMessageBytes {
		return fmt.Errorf("%w: reply of %d bytes (limit %d)", ErrTooLarge, n, s.opts.MaxMessageBytes)
	}
	return nil
}

// size is the size of a message as the caps count it: what its sender
// chose (ids are bounded by their grammar).
func (m *Message) size() int {
	return len(m.Payload) + len(m.ContentType) + len(m.Topic) + headerBytes(m.Headers)
}

func headerBytes(h []Header) int {
	n := 0
	for _, x := range h {
		n += len(x.Name) + len(x.Value)
	}
	return n
}

// fitsActor checks a message against an actor's own cap
// (Spec.MaxMessageBytes, from the grants' max-message).
func (c *cell) fitsActor(n int) error {
	if c.spec.MaxMessageBytes > 0 && n > c.spec.MaxMessageBytes {
		return fmt.Errorf("%w: %d bytes (%s accepts %d)", ErrTooLarge, n, c.id, c.spec.MaxMessageBytes)
	}
	return nil
}

// truncMarkerBytes bounds the length of the marker cut appends.
const truncMarkerBytes = len(" [truncated 18446744073709551615 bytes]")

// cut shortens s to at most max bytes, on a UTF-8 character boundary, and
// appends " [truncated N bytes]". It returns s itself when it fits, and the
// number of bytes cut. A cut string is a fresh copy: it does not keep the
// long one alive.
func cut(s string, max int) (string, int) {
	if len(s) <= max {
		return s, 0
	}
	n := max
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	dropped := len(s) - n
	return s[:n] + " [truncated " + strconv.Itoa(dropped) + " bytes]", dropped
}

// hostWait bounds how long one host call of a component (send, request or
// publish) waits for room in full Block mailboxes: SendTimeout for the whole
// call however many mailboxes it meets, never past the deadline of the
// handler making the call, and not at all once the sending actor is asked
// to stop (which Stop and Shutdown do first).
type hostWait struct {
	sender   *cell
	inc      *incarnation // the sender's incarnation making the call
	deadline time.Time    // set when the call first has to wait
}

// until returns the deadline of the call, fixing it on first use.
func (w *hostWait) until() time.Time {
	if w.deadline.IsZero() {
		w.deadline = time.Now().Add(w.sender.sys.opts.SendTimeout)
		if w.inc == nil {
			return w.deadline
		}
		if d := w.inc.callDeadline; !d.IsZero() && d.Before(w.deadline) {
			w.deadline = d
		}
	}
	return w.deadline
}

// logBudget is an actor's token bucket for wasi:logging, in bytes. It is
// used only by the goroutine that runs the actor's guest calls.
type logBudget struct {
	tokens     float64
	last       time.Time
	lines      uint64 // dropped since the last report
	bytes      uint64
	lastReport time.Time
}

// logAllow charges a line of cost bytes; false means drop it.
func (c *cell) logAllow(now time.Time, cost int) bool {
	o := &c.sys.opts
	if o.LogBytesPerSecond < 0 {
		return true
	}
	c.logMu.Lock()
	defer c.logMu.Unlock()
	b := &c.logb
	if b.last.IsZero() {
		b.tokens = float64(o.LogBurstBytes)
	} else if el := now.Sub(b.last); el > 0 {
		b.tokens += el.Seconds() * float64(o.LogBytesPerSecond)
		if b.tokens > float64(o.LogBurstBytes) {
			b.tokens = float64(o.LogBurstBytes)
		}
	}
	b.last = now
	if b.tokens < float64(cost) {
		return false
	}
	b.tokens -= float64(cost)
	return true
}

// logDropped counts a dropped line of n bytes and reports the drops when
// the last report is a second old.
func (c *cell) logDropped(now time.Time, n int) {
	c.logLines.Add(1)
	c.logBytes.Add(uint64(n))
	c.logMu.Lock()
	c.logb.lines++
	c.logb.bytes += uint64(n)
	due := now.Sub(c.logb.lastReport) >= time.Second
	c.logMu.Unlock()
	if due {
		c.reportLogDrops(now)
	}
}

// logReportDue reports whether dropped lines wait for a report a second
// old.
func (c *cell) logReportDue(now time.Time) bool {
	c.logMu.Lock()
	defer c.logMu.Unlock()
	return c.logb.lines > 0 && now.Sub(c.logb.lastReport) >= time.Second
}

// reportLogDrops writes one warning with the lines dropped since the last
// one, if any.
func (c *cell) reportLogDrops(now time.Time) {
	c.logMu.Lock()
	b := &c.logb
	lines, bytes := b.lines, b.bytes
	if lines == 0 {
		c.logMu.Unlock()
		return
	}
	b.lines, b.bytes, b.lastReport = 0, 0, now
	c.logMu.Unlock()
	c.sys.log.Warn("wasi:logging lines dropped", "actor", string(c.id), "lines", lines, "bytes", bytes,
		"limit_bytes_per_second", c.sys.opts.LogBytesPerSecond)
}
