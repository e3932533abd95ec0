package actor

import "sync"

// mailbox is a bounded FIFO of envelopes that grows on demand (an idle
// actor holds no buffer) up to its limit.
type mailbox struct {
	mu      sync.Mutex
	buf     []*envelope // ring
	head    int
	n       int
	limit   int
	closed  bool
	waiting int           // senders blocked on a full mailbox
	space   chan struct{} // a slot was freed while senders waited
}

func newMailbox(limit int) *mailbox {
	return &mailbox{limit: limit, space: make(chan struct{}, 1)}
}

// push appends e unless the mailbox is full or closed.
func (m *mailbox) push(e *envelope) (ok, closed bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false, true
	}
	if m.n == m.limit {
		return false, false
	}
	if m.n == len(m.buf) {
		m.grow()
	}
	m.buf[(m.head+m.n)%len(m.buf)] = e
	m.n++
	if m.waiting > 0 && m.n < m.limit {
		m.signal() // room for the next waiting sender too
	}
	return true, false
}

func (m *mailbox) grow() {
	size := 2 * len(m.buf)
	if size < 16 {
		size = 16
	}
	if size > m.limit {
		size = m.limit
	}
	buf := make([]*envelope, size)
	for i := 0; i < m.n; i++ {
		buf[i] = m.buf[(m.head+i)%len(m.buf)]
	}
	m.buf, m.head = buf, 0
}

// pop removes the oldest envelope, or returns nil.
func (m *mailbox) pop() *envelope {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.n == 0 {
		return nil
	}
	e := m.buf[m.head]
	m.buf[m.head] = nil
	m.head = (m.head + 1) % len(m.buf)
	m.n--
	if m.n == 0 && len(m.buf) > 1024 {
		m.buf, m.head = nil, 0 // give a big burst's buffer back
	}
	if m.waiting > 0 {
		m.signal()
	}
	return e
}

func (m *mailbox) signal() {
	select {
	case m.space <- struct{}{}:
	default:
	}
}

func (m *mailbox) wait(delta int) {
	m.mu.Lock()
	m.waiting += delta
	m.mu.Unlock()
}

func (m *mailbox) close() {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
}

func (m *mailbox) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.n
}

// counts returns the number of queued envelopes and of blocked senders.
func (m *mailbox) counts() (n, waiting int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.n, m.waiting
}
