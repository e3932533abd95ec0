// The agent actor in Go (testdata/goactor_agent.wasm): the command
// protocol of the C agent testdata/src/actors2/agent2.c (actor2_agent2.wasm),
// plus the commands of the C trapper and counter (testdata/src/actors), so
// that the same behaviour tests run against both. Commands are text
// payloads; <data> is everything after the last field named (it may hold
// more "|").
//
// Those of agent2.c, replies and all:
//
//	"send|<target>|<data>"    send(target, data, "text/plain"); "sent" or
//	                          "error:<send-error>"
//	"ask|<target>|<data>"     request(target, data, "text/plain", timeout);
//	                          "asked:<correlation-id>" or "error:<send-error>"
//	"pub|<topic>|<data>"      publish(topic, data, "text/plain"); "published"
//	                          or "error:<send-error>"
//	"cancel|<target>|<data>"  request as ask, then cancel-request at once;
//	                          "cancelled:true", "cancelled:false" or
//	                          "error:<send-error>"
//	"fwd|<target>"            send(target, payload() of this message, its
//	                          content type, no headers): the command itself
//	                          goes on, by handle; "sent" or "error:<send-error>"
//	"askfwd|<target>"         request(target, payload() of this message, its
//	                          content type, timeout); "asked:<id>" or
//	                          "error:<send-error>"
//	"hsend|<target>|<name>|<value>|<data>"  send(target, data, "text/plain",
//	                          headers [(name, value)]); "sent" or
//	                          "error:<send-error>"
//	"mirror|<status>|<content-type>"  a reply whose body is payload() of
//	                          this message (the command itself), with that
//	                          status (decimal u16) and content type, and
//	                          header ("x-mirror", "1")
//	"self"                    self-id
//	"replies"                 the recorded reply outcomes, oldest first,
//	                          joined by "\n" ("" when none)
//	"pending"                 the correlation ids of requests still waiting
//	                          for handle-reply, joined by ","
//	"log|<level>|<text>"      log(level, "agent", text); none. An unknown
//	                          level logs nothing and replies
//	                          "error:unknown-level"
//	anything else             "got:" + payload (bytes when not UTF-8)
//
// A payload that is not UTF-8 is parsed as well, and <data> that is not
// UTF-8 is sent as bytes; a target, topic, header or content type that is
// not is refused: "error:" + guest.ErrFieldNotUTF8's text (agent2.c passes
// it on, and the host traps).
//
// handle-reply records "<correlation-id>:ok:<reply payload>", followed by
// ":status=<status>" when the reply's status is not 0, or
// "<correlation-id>:err:<reason>" (the last 32 are kept); a reply whose
// payload is "panic" makes it panic("panic in handle-reply") instead.
//
// Those of the trapper and counter, and the Go ones:
//
//	"trap"          a WebAssembly trap (a load past the end of linear memory:
//	                memory out of bounds; the C trapper's is unreachable)
//	"panic"         panic("panic on purpose"); "panic|<text>" panic(text)
//	"fail"          err("failed on purpose") (as the C silent actor)
//	"spin"          loops forever (for per-message timeouts)
//	"degrade", "sick", "heal"  health becomes degraded, unhealthy, healthy;
//	                none
//	"panic-health"  health panics("panic in health") from now on; none
//	"handled"       "handled=<n>": messages this instance handled, this one
//	                included (the C trapper's "get")
//	"seq:<n>"       (n decimal u64) errors++ unless n == last + 1; last = n
//	                (1 is expected first); none
//	"get"           "count=<c> errors=<e> last=<l>" as the C counter: c
//	                counts every message of this instance but "get"
//
// shutdown logs "shutdown after <n> messages" (info, context: self-id).
// Config: "timeout-ms" (decimal u32, default 1000) for ask, cancel and
// askfwd; init fails with "invalid timeout-ms: <value>" otherwise. With
// "panic-init", init panics with its value.
package main

import (
	"errors"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/airsstack/airssys-wasm-go/guest"
)

const (
	keepReplies = 32
	keepPending = 32
)

type agent struct {
	timeout     time.Duration
	replies     []string // the last keepReplies outcomes
	pending     []uint64 // the last keepPending requests not answered yet
	health      guest.HealthStatus
	panicHealth bool   // "panic-health" was handled
	handled     uint64 // every message
	count       uint64 // every message but "get"
	errors      uint64
	last        uint64
}

var text = &guest.SendOptions{ContentType: "text/plain"}

func (a *agent) Init(config []guest.Header) error {
	if v, ok := guest.Config(config, "panic-init"); ok {
		panic(v)
	}
	a.timeout = time.Second
	if v, ok := guest.Config(config, "timeout-ms"); ok {
		ms, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return errors.New("invalid timeout-ms: " + v)
		}
		a.timeout = time.Duration(ms) * time.Millisecond
	}
	return nil
}

func (a *agent) Health() guest.HealthStatus {
	if a.panicHealth {
		panic("panic in health")
	}
	return a.health
}

func (a *agent) Shutdown() {
	guest.Log(guest.Info, guest.SelfID(), "shutdown after "+strconv.FormatUint(a.handled, 10)+" messages")
}

func (a *agent) HandleReply(id uint64, reply *guest.Message, err error) {
	if i := indexOf(a.pending, id); i >= 0 {
		a.pending = append(a.pending[:i], a.pending[i+1:]...)
	}
	var b strings.Builder
	b.WriteString(strconv.FormatUint(id, 10))
	if err != nil {
		b.WriteString(":err:")
		b.WriteString(err.Error())
	} else {
		p := payloadString(reply)
		if p == "panic" {
			panic("panic in handle-reply")
		}
		b.WriteString(":ok:")
		b.WriteString(p)
		if st := reply.Metadata().Status; st != 0 {
			b.WriteString(":status=")
			b.WriteString(strconv.FormatUint(uint64(st), 10))
		}
	}
	if len(a.replies) == keepReplies {
		a.replies = append(a.replies[:0], a.replies[1:]...)
	}
	a.replies = append(a.replies, b.String())
}

func indexOf(s []uint64, v uint64) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// payloadString is the payload as a Go string: its text, or its bytes when
// it is not UTF-8.
func payloadString(m *guest.Message) string {
	if s, err := m.Text(); err == nil {
		return s
	}
	return string(m.Bytes())
}

func outcome(err error, ok string) *guest.Reply {
	if err != nil {
		return guest.TextReply("error:" + err.Error())
	}
	return guest.TextReply(ok)
}

func (a *agent) asked(id uint64, err error) *guest.Reply {
	if err != nil {
		return outcome(err, "")
	}
	if len(a.pending) == keepPending {
		a.pending = append(a.pending[:0], a.pending[1:]...)
	}
	a.pending = append(a.pending, id)
	return guest.TextReply("asked:" + strconv.FormatUint(id, 10))
}

// trap makes a WebAssembly trap, not a Go panic: a load far past the end of
// linear memory (Go's wasm port checks nil pointers, not bounds).
func trap() {
	p := (*byte)(unsafe.Add(unsafe.Pointer(nil), uintptr(0xfffffff0)))
	if *p == 42 {
		panic("the load did not trap")
	}
}

var levels = map[string]guest.Level{"trace": guest.Trace, "debug": guest.Debug, "info": guest.Info,
	"warn": guest.Warn, "error": guest.Error, "critical": guest.Critical}

func (a *agent) HandleMessage(msg *guest.Message) (*guest.Reply, error) {
	a.handled++
	// A payload that is not UTF-8 is parsed all the same, as agent2.c
	// does; what is not UTF-8 in a reply or a payload goes as bytes (the
	// glue sees to it).
	p, err := msg.Text()
	if err != nil {
		p = string(msg.Bytes())
	}
	if p != "get" {
		a.count++
	}
	switch p {
	case "self":
		return guest.TextReply(guest.SelfID()), nil
	case "replies":
		return guest.TextReply(strings.Join(a.replies, "\n")), nil
	case "pending":
		ids := make([]string, len(a.pending))
		for i, id := range a.pending {
			ids[i] = strconv.FormatUint(id, 10)
		}
		return guest.TextReply(strings.Join(ids, ",")), nil
	case "trap":
		trap()
	case "panic":
		panic("panic on purpose")
	case "fail":
		return nil, errors.New("failed on purpose")
	case "spin":
		for {
		}
	case "degrade", "sick", "heal":
		a.health = map[string]guest.HealthStatus{"degrade": guest.Degraded, "sick": guest.Unhealthy,
			"heal": guest.Healthy}[p]
		return nil, nil
	case "panic-health":
		a.panicHealth = true
		return nil, nil
	case "handled":
		return guest.TextReply("handled=" + strconv.FormatUint(a.handled, 10)), nil
	case "get":
		return guest.TextReply("count=" + strconv.FormatUint(a.count, 10) + " errors=" +
			strconv.FormatUint(a.errors, 10) + " last=" + strconv.FormatUint(a.last, 10)), nil
	}
	if n, ok := strings.CutPrefix(p, "seq:"); ok {
		if v, err := strconv.ParseUint(n, 10, 64); err == nil {
			if v != a.last+1 {
				a.errors++
			}
			a.last = v
			return nil, nil
		}
	}
	cmd, rest, ok := strings.Cut(p, "|")
	if ok {
		if r, ok := a.agent2Command(msg, cmd, rest); ok {
			return r, nil
		}
		if arg, data, ok := strings.Cut(rest, "|"); ok {
			switch cmd {
			case "send":
				return outcome(guest.Send(arg, guest.TextPayload(data), text), "sent"), nil
			case "pub":
				return outcome(guest.Publish(arg, guest.TextPayload(data), text), "published"), nil
			case "ask":
				return a.asked(guest.Request(arg, guest.TextPayload(data), text, a.timeout)), nil
			case "log":
				level, ok := levels[arg]
				if !ok {
					return guest.TextReply("error:unknown-level"), nil
				}
				guest.Log(level, "agent", data)
				return nil, nil
			}
		}
		if cmd == "panic" {
			panic(rest)
		}
	}
	return guest.TextReply("got:" + p), nil
}

// agent2Command runs the commands new in agent2 ("cancel", "fwd",
// "askfwd", "hsend", "mirror"); false for anything else. rest is what
// follows "<cmd>|".
func (a *agent) agent2Command(msg *guest.Message, cmd, rest string) (*guest.Reply, bool) {
	switch cmd {
	case "fwd", "askfwd":
		opts := &guest.SendOptions{ContentType: msg.Metadata().ContentType}
		if cmd == "fwd" {
			return outcome(guest.Send(rest, msg.Payload(), opts), "sent"), true
		}
		return a.asked(guest.Request(rest, msg.Payload(), opts, a.timeout)), true
	case "cancel":
		target, data, ok := strings.Cut(rest, "|")
		if !ok {
			return nil, false
		}
		id, err := guest.Request(target, guest.TextPayload(data), text, a.timeout)
		if err != nil {
			return outcome(err, ""), true
		}
		return guest.TextReply("cancelled:" + strconv.FormatBool(guest.CancelRequest(id))), true
	case "hsend":
		f := strings.SplitN(rest, "|", 4)
		if len(f) < 4 {
			return nil, false
		}
		opts := &guest.SendOptions{ContentType: "text/plain", Headers: []guest.Header{{Name: f[1], Value: f[2]}}}
		return outcome(guest.Send(f[0], guest.TextPayload(f[3]), opts), "sent"), true
	case "mirror":
		status, ct, ok := strings.Cut(rest, "|")
		if !ok {
			return nil, false
		}
		st, err := strconv.ParseUint(status, 10, 16)
		if err != nil {
			return nil, false
		}
		r := guest.PayloadReply(msg.Payload())
		r.ContentType = ct
		r.Status = uint16(st)
		r.Headers = []guest.Header{{Name: "x-mirror", Value: "1"}}
		return r, true
	}
	return nil, false
}

func init() { guest.Register(&agent{}) }

func main() {}
