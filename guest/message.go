//go:build wasip1

package guest

import "unicode/utf8"

// Message is a received message (a host resource). Its methods read from
// the host lazily and cache what they read.
type Message struct {
	handle  uint32
	kept    bool
	dropped bool

	sender      *string
	meta        *Metadata
	text        *string
	textErr     error
	bytes       []byte
	bytesRead   bool
	lengthKnown bool
	length      uint64
}

// Metadata is what travels with every message besides payload and headers.
type Metadata struct {
	CorrelationID uint64
	ReplyTo       string // "" when none
	HasReplyTo    bool
	TimestampMS   uint64
	ContentType   string
	Topic         string // "" when none
	HasTopic      bool
	Status        uint16
}

func newMessage(h uint32) *Message { return &Message{handle: h} }

// Handle is the message's resource handle.
func (m *Message) Handle() uint32 { return m.handle }

// Keep keeps the message's handle past the call that received it: the
// guest must call Drop later (it counts against the host's handle cap).
func (m *Message) Keep() { m.kept = true }

// Drop releases the message. Its methods must not be called afterwards.
func (m *Message) Drop() {
	if !m.dropped {
		m.dropped = true
		importMsgDrop(m.handle)
	}
}

// release drops the handle at the end of the call unless it was kept.
func (m *Message) release() {
	if !m.kept {
		m.Drop()
	}
}

// Sender is the sender's component id, or "host/<name>".
func (m *Message) Sender() string {
	if m.sender == nil {
		importMsgSender(m.handle, iretPtr())
		s := iretString(0)
		m.sender = &s
	}
	return *m.sender
}

// Metadata reads the message's metadata (once).
func (m *Message) Metadata() Metadata {
	if m.meta == nil {
		importMsgMetadata(m.handle, iretPtr())
		md := &Metadata{
			CorrelationID: iretU64(0),
			HasReplyTo:    iretU8(8) != 0,
			TimestampMS:   iretU64(24),
			ContentType:   iretString(32),
			HasTopic:      iretU8(40) != 0,
			Status:        iretU16(52),
		}
		if md.HasReplyTo {
			md.ReplyTo = iretString(12)
		}
		if md.HasTopic {
			md.Topic = iretString(44)
		}
		m.meta = md
	}
	return *m.meta
}

// Header is the value of the first header named name (ASCII case
// ignored).
func (m *Message) Header(name string) (string, bool) {
	if !utf8.ValidString(name) {
		return "", false // no header has that name
	}
	importMsgHeader(m.handle, strPtr(name), uint32(len(name)), iretPtr())
	keepAlive(name)
	if iretU8(0) == 0 {
		return "", false
	}
	return iretString(4), true
}

// Headers are all the headers, in order.
func (m *Message) Headers() []Header {
	importMsgHeaders(m.handle, iretPtr())
	return liftKV(iretU32(0), iretU32(4))
}

// Len is the payload's length in bytes.
func (m *Message) Len() uint64 {
	if !m.lengthKnown {
		m.length = importMsgLen(m.handle)
		m.lengthKnown = true
	}
	return m.length
}

// Text is the payload as text (one copy from the host), or ErrNotUTF8.
func (m *Message) Text() (string, error) {
	if m.text == nil && m.textErr == nil {
		importMsgText(m.handle, iretPtr())
		if iretU8(0) == 0 {
			s := iretString(4)
			m.text = &s
		} else {
			m.textErr = readError(iretU8(4))
		}
	}
	if m.textErr != nil {
		return "", m.textErr
	}
	return *m.text, nil
}

// Bytes is the payload's bytes. The slice is the guest's own (the host
// copied it in); do not change it when Text was read from the same bytes.
func (m *Message) Bytes() []byte {
	if !m.bytesRead {
		importMsgBytes(m.handle, iretPtr())
		m.bytes = bytesAt(iretU32(0), iretU32(4))
		m.bytesRead = true
	}
	return m.bytes
}

// Range reads length bytes of the payload from offset.
func (m *Message) Range(offset uint64, length uint32) ([]byte, error) {
	importMsgRange(m.handle, offset, length, iretPtr())
	if iretU8(0) != 0 {
		return nil, readError(iretU8(4))
	}
	return bytesAt(iretU32(4), iretU32(8)), nil
}

// Payload is the message's payload as an outgoing payload (no copy), to
// forward it.
func (m *Message) Payload() Payload { return Payload{importMsgPayload(m.handle)} }

func readError(code uint8) error {
	if code == 0 {
		return ErrNotUTF8
	}
	return ErrOutOfRange
}
