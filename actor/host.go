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
			m := Message{Payload: bytesArg(args[1]), ContentType: args[2].(string)}
			if err := inc.send(ctx, args[0].(string), m); err != nil {
				return sendError(err), nil
			}
			return wit.Ok(nil), nil
		},
		"request": func(ctx context.Context, args []any) (any, error) {
			inc := incFrom(ctx)
			if inc == nil {
				return nil, errNotInActor
			}
			m := Message{Payload: bytesArg(args[1]), ContentType: args[2].(string)}
			timeout := time.Duration(args[3].(uint32)) * time.Millisecond
			corr, err := inc.request(ctx, args[0].(string), m, timeout)
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
			m := Message{Payload: bytesArg(args[1]), ContentType: args[2].(string)}
			if err := inc.publish(ctx, args[0].(string), m); err != nil {
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
			c.denied.Add(1)
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
		if sp := inc.span; len(sp) == 55 {
			// Handling a traced message: the line names its trace and span
			// (the traceparent's ids), so logs and traces meet.
			s.log.Log(ctx, lvl, msg, "actor", string(c.id), "context", context, "trace_id", sp[3:35], "span_id", sp[36:52])
			return nil, nil
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
