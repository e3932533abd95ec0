package actor

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync/atomic"
	"time"

	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/storage/keyvalue"
	"github.com/airsstack/airssys-wasm-go/wit"
)

// incarnation is one instance of an actor with everything that belongs to
// that instance alone: the spec it was made from (component, grants,
// limits), the world it speaks, its handle table and storage session, the
// message it is handling and the deadline of its guest call. A restart or
// an update makes a new one; the cell (mailbox, supervision, counters)
// stays. Until it is activated an incarnation is used only by the
// goroutine preparing it; then only by the cell's goroutine.
type incarnation struct {
	c     *cell
	spec  Spec
	world world
	names worldExports
	ctx   context.Context // carries the incarnation (and so the cell) and its storage session

	inst          *engine.Instance
	handle, onRep *engine.Func

	handles      handleTable
	live         atomic.Int32 // len of handles, for Stats
	kv           *keyvalue.Session
	cur          *Message
	callDeadline time.Time
	callStart    time.Time // set by beginCall only without a timeout
	// span is the traceparent of the span of the message being handled
	// ("": not traced); kvTrace is the key-value session's Trace hook
	// while it is set (made once, on the first traced message).
	span    string
	kvTrace func(name, bucket string) func(error)
}

type incKey struct{}

// incFrom finds the incarnation whose guest made a host call.
func incFrom(ctx context.Context) *incarnation {
	inc, _ := ctx.Value(incKey{}).(*incarnation)
	return inc
}

// cellFrom finds the actor whose guest made a host call.
func cellFrom(ctx context.Context) *cell {
	if inc := incFrom(ctx); inc != nil {
		return inc.c
	}
	return nil
}

// newIncarnation prepares an incarnation of spec (not yet instantiated);
// base is the context its first calls run on (the deployer's, for a first
// start).
func (c *cell) newIncarnation(base context.Context, spec Spec) (*incarnation, error) {
	w, err := worldOf(spec.Component)
	if err != nil {
		return nil, err
	}
	inc := &incarnation{c: c, spec: spec, world: w, names: exportsOf[w], kv: c.sys.storageSession(c, spec)}
	if inc.kv != nil {
		// Read on the actor's goroutine, which makes the guest calls.
		inc.kv.CallDeadline = func() time.Time { return inc.callDeadline }
	}
	inc.ctx = inc.values(context.Background())
	_ = base
	return inc, nil
}

// values adds what host functions need to ctx: the incarnation, and its
// storage session.
func (inc *incarnation) values(ctx context.Context) context.Context {
	ctx = context.WithValue(ctx, incKey{}, inc)
	if inc.kv != nil {
		ctx = keyvalue.WithSession(ctx, inc.kv)
	}
	return ctx
}

// beginCall notes when the guest call about to start times out (and,
// without a timeout, when it starts if handling times are kept: see
// handleStart).
func (inc *incarnation) beginCall() {
	if t := inc.spec.Limits.Timeout; t > 0 {
		inc.callDeadline = time.Now().Add(t)
	} else if inc.c.times != nil {
		inc.callStart = time.Now()
	}
}

// instantiate makes the instance and runs init, on ctx (which must carry
// the incarnation).
func (inc *incarnation) instantiate(ctx context.Context) error {
	c := inc.c
	cfg := inc.spec.Limits
	cfg.Host = c.sys.host
	inst, err := inc.spec.Component.Instantiate(ctx, cfg)
	if err != nil {
		return err
	}
	handle, err1 := inst.Func(inc.names.handle)
	onRep, err2 := inst.Func(inc.names.reply)
	if err := errors.Join(err1, err2); err != nil {
		inst.Close()
		return fmt.Errorf("%w: %w", ErrNotAnActor, err)
	}
	keys := make([]string, 0, len(inc.spec.Config))
	for k := range inc.spec.Config {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	config := make([]any, len(keys))
	for i, k := range keys {
		config[i] = wit.Tuple{k, inc.spec.Config[k]}
	}
	inc.beginCall()
	res, err := inst.Call(ctx, inc.names.init, config)
	if err == nil {
		if r, ok := res.(wit.Result); ok && r.IsErr {
			text, _ := r.Value.(string)
			text, _ = cut(text, c.sys.opts.MaxErrorBytes)
			err = fmt.Errorf("init: %s", text)
		}
	}
	if err != nil {
		inst.Close()
		return err
	}
	inc.inst, inc.handle, inc.onRep = inst, handle, onRep
	return nil
}

// health asks the instance for its health.
func (inc *incarnation) health() Health {
	inc.beginCall()
	v, err := inc.inst.Call(inc.ctx, inc.names.health)
	if err != nil {
		return Unhealthy
	}
	if e, ok := v.(wit.Enum); ok {
		return Health(e)
	}
	return Unhealthy
}

// close drops the instance, calling shutdown first when asked, and forgets
// every handle.
func (inc *incarnation) close(callShutdown bool) {
	if inc.inst == nil {
		return
	}
	if callShutdown && inc.inst.Trapped() == nil {
		inc.beginCall()
		if _, err := inc.inst.Call(inc.ctx, inc.names.shutdown); err != nil {
			inc.c.sys.log.Warn("actor shutdown export failed", "actor", string(inc.c.id), "err", err)
		}
	}
	inc.inst.Close()
	inc.handles = handleTable{}
	inc.live.Store(0)
	if inc.kv != nil {
		inc.kv.Reset()
	}
}
