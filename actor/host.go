package actor

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/storage/keyvalue"
	"github.com/airsstack/airssys-wasm-go/wit"
)

const (
	messagingIface = "airssys:actor/messaging@0.1.0"
	loggingIface   = "wasi:logging/logging@0.1.0-draft"
)

var errNotInActor = errors.New("actor: host function called outside an actor")

// newHost builds the imports of the actor world once per system; each call
// finds its actor through the context the cell passes to every guest call.
// Every messaging call checks the sizes first (nothing oversized is
// audited, looked up or queued), then the grants.
func (s *System) newHost() *engine.Host {
	h := engine.NewHost()
	h.Interface(messagingIface, map[string]engine.HostFunc{
		"send": func(ctx context.Context, args []any) (any, error) {
			inc := incFrom(ctx)
			if inc == nil {
				return nil, errNotInActor
			}
			c := inc.c
			target, payload, ct := args[0].(string), bytesArg(args[1]), args[2].(string)
			if err := s.checkSizes(target, "", payload, ct); err != nil {
				return sendError(err), nil
			}
			if g := inc.spec.Grants; g != nil && !g.AllowSend(target) {
				s.opts.Audit.Denied(string(c.id), "send", target, "not granted")
				return sendError(ErrDenied), nil
			}
			m := Message{Payload: payload, ContentType: ct}
			inc.addTrace(&m)
			err := s.send(ctx, c.id, ID(target), m, &hostWait{sender: c, inc: inc})
			if err != nil {
				return sendError(err), nil
			}
			return wit.Ok(nil), nil
		},
		"request": func(ctx context.Context, args []any) (any, error) {
			inc := incFrom(ctx)
			if inc == nil {
				return nil, errNotInActor
			}
			c := inc.c
			target, payload, ct := args[0].(string), bytesArg(args[1]), args[2].(string)
			timeout := time.Duration(args[3].(uint32)) * time.Millisecond
			if err := s.checkSizes(target, "", payload, ct); err != nil {
				return sendError(err), nil
			}
			if g := inc.spec.Grants; g != nil && !g.AllowRequest(target) {
				s.opts.Audit.Denied(string(c.id), "request", target, "not granted")
				return sendError(ErrDenied), nil
			}
			m := Message{Payload: payload, ContentType: ct}
			inc.addTrace(&m)
			corr, err := s.requestFrom(ctx, c, ID(target), m, timeout)
			if err != nil {
				return sendError(err), nil
			}
			return wit.Ok(corr), nil
		},
		"publish": func(ctx context.Context, args []any) (any, error) {
			inc := incFrom(ctx)
			if inc == nil {
				return nil, errNotInActor
			}
			c := inc.c
			topic, payload, ct := args[0].(string), bytesArg(args[1]), args[2].(string)
			if err := s.checkSizes("", topic, payload, ct); err != nil {
				return sendError(err), nil
			}
			if err := ValidTopic(topic); err != nil {
				return wit.Err(wit.Enum("unknown-target")), nil
			}
			if g := inc.spec.Grants; g != nil && !g.AllowPublish(topic) {
				s.opts.Audit.Denied(string(c.id), "publish", topic, "not granted")
				return sendError(ErrDenied), nil
			}
			m := Message{Payload: payload, ContentType: ct, Topic: topic}
			inc.addTrace(&m)
			if err := s.publish(ctx, c.id, m, &hostWait{sender: c, inc: inc}); err != nil {
				return sendError(err), nil
			}
			return wit.Ok(nil), nil
		},
		"self-id": func(ctx context.Context, args []any) (any, error) {
			inc := incFrom(ctx)
			if inc == nil {
				return nil, errNotInActor
			}
			c := inc.c
			return string(c.id), nil
		},
	})
	h.Func(loggingIface, "log", func(ctx context.Context, args []any) (any, error) {
		inc := incFrom(ctx)
		if inc == nil {
			return nil, errNotInActor
		}
		c := inc.c
		if g := inc.spec.Grants; g != nil && !g.AllowLogging() {
			s.opts.Audit.Denied(string(c.id), "logging", "", "not granted")
			return nil, nil
		}
		level, _ := args[0].(wit.Enum)
		lvl := slogLevel(string(level))
		if !s.log.Enabled(ctx, lvl) {
			return nil, nil // nothing written, nothing charged
		}
		context, _ := args[1].(string)
		msg, _ := args[2].(string)
		context, cutCtx := cut(context, s.opts.MaxLogContextBytes)
		msg, cutMsg := cut(msg, s.opts.MaxLogMessageBytes)
		now := time.Now()
		if !c.logAllow(now, len(msg)+len(context)+len(c.id)+logLineCost) {
			c.logDropped(now, len(msg)+len(context)+cutCtx+cutMsg)
			return nil, nil
		}
		if cutCtx+cutMsg > 0 {
			c.logBytes.Add(uint64(cutCtx + cutMsg))
		}
		if c.logReportDue(now) {
			c.reportLogDrops(now)
		}
		s.log.Log(ctx, lvl, msg, "actor", string(c.id), "context", context)
		return nil, nil
	})
	s.world2Host(h)
	keyvalue.Define(h)
	return h
}

func bytesArg(v any) []byte {
	b, _ := v.([]byte)
	return b
}

func slogLevel(l string) slog.Level {
	switch l {
	case "trace":
		return slog.LevelDebug - 4
	case "debug":
		return slog.LevelDebug
	case "info":
		return slog.LevelInfo
	case "warn":
		return slog.LevelWarn
	case "critical":
		return slog.LevelError + 4
	}
	return slog.LevelError
}
