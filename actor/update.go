package actor

import (
	"context"
	"errors"
	"fmt"

	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/security"
)

// Live update: a new version of an actor's component takes over between
// two messages, with no restart.
//
//   - Update prepares the new version on the caller's goroutine (a new
//     incarnation: instantiate, init, health) while the live one keeps
//     handling messages; its host calls use the new incarnation's own
//     handle table and storage session, so the two never share state.
//   - Then it queues an update on the actor's control queue, which
//     overtakes user messages: the actor's goroutine switches to the new
//     incarnation between two messages (a pointer swap) and the old one
//     runs its shutdown export and closes on a goroutine of its own.
//   - The mailbox belongs to the actor: messages queued for it are handled
//     by the new version, in order, none lost, none handled twice.
//     Requests in flight to the actor are answered by whichever version
//     handles them. Outcomes of requests the old version made are handed
//     to the new version's handle-reply (as after a restart): a version
//     must accept correlation ids it does not know, and the 0.1.0 and
//     0.2.0 glue both ignore them.
//   - A new version that fails to start (init fails, traps) or does not
//     report healthy is discarded: the old one never stopped
//     (ErrUpdateFailed). Restarts after an update start the new version;
//     Rollback goes back to the version before the last update the same
//     way.
//   - The resources, directories, environment and configuration of the
//     deployment stay as they were; the grants (capabilities, storage) are
//     the new version's when given, and the owner of its data follows
//     them. World versions may differ (0.1.0 to 0.2.0).

// ErrUpdateFailed is returned when a new version did not start; the version
// that was running keeps running.
var ErrUpdateFailed = errors.New("actor: update failed; the running version is unchanged")

// ErrNoRollback is returned by Rollback for an actor that was never updated.
var ErrNoRollback = errors.New("actor: no earlier version to roll back to")

// Update makes comp the actor's component, with grants when not nil (run
// security.Admit on the new version first: the policy is checked at every
// update), without stopping it. It returns once the new version handles
// the actor's messages, or with ErrUpdateFailed (wrapping why) while the
// old version goes on.
func (s *System) Update(ctx context.Context, id ID, comp *engine.Component, grants *security.Grants) error {
	c := s.lookup(id)
	if c == nil {
		return fmt.Errorf("%w: %s", ErrUnknownActor, id)
	}
	if comp == nil {
		return fmt.Errorf("%w: %s: no component", ErrUpdateFailed, id)
	}
	spec := c.liveSpec()
	spec.Component = comp
	if grants != nil {
		spec.Grants = grants
	}
	return c.update(ctx, spec)
}

// Rollback returns the actor to the version it ran before its last update
// (Update's guarantees), and makes the current one the next rollback's
// target.
func (s *System) Rollback(ctx context.Context, id ID) error {
	c := s.lookup(id)
	if c == nil {
		return fmt.Errorf("%w: %s", ErrUnknownActor, id)
	}
	c.instMu.Lock()
	prev := c.prev
	c.instMu.Unlock()
	if prev == nil {
		return fmt.Errorf("%w: %s", ErrNoRollback, id)
	}
	spec := c.spec
	spec.Component, spec.Grants = prev.comp, prev.grants
	return c.update(ctx, spec)
}

// version is what an update changes of a deployment.
type version struct {
	comp   *engine.Component
	grants *security.Grants
}

// liveSpec is the spec of the version the actor runs (from any
// goroutine).
func (c *cell) liveSpec() Spec {
	spec := c.spec
	c.instMu.Lock()
	if v := c.ver; v != nil {
		spec.Component, spec.Grants = v.comp, v.grants
	}
	c.instMu.Unlock()
	return spec
}

func (c *cell) update(ctx context.Context, spec Spec) error {
	inc, err := c.prepare(ctx, spec)
	if err != nil {
		return err
	}
	return c.commitUpdate(inc, spec)
}

// prepare makes and starts an incarnation of spec beside the live one.
func (c *cell) prepare(ctx context.Context, spec Spec) (*incarnation, error) {
	inc, err := c.newIncarnation(ctx, spec)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrUpdateFailed, c.id, err)
	}
	if err := inc.instantiate(inc.values(ctx)); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrUpdateFailed, c.id, err)
	}
	if h := inc.health(); h != Healthy {
		inc.close(false)
		return nil, fmt.Errorf("%w: %s: the new version reports %s", ErrUpdateFailed, c.id, h)
	}
	return inc, nil
}

// commitUpdate hands a prepared incarnation to the actor's goroutine and
// waits for the switch.
func (c *cell) commitUpdate(inc *incarnation, spec Spec) error {
	done := make(chan error, 1)
	c.pushCtrl(&envelope{kind: envUpdate, inc: inc, spec: spec, updated: done})
	select {
	case err := <-done:
		return err
	case <-c.done:
		select {
		case err := <-done:
			return err
		default:
		}
		inc.close(false)
		return fmt.Errorf("%w: %s", ErrActorStopped, c.id)
	}
}

// Change is one actor's new version, for UpdateAll.
type Change struct {
	ID        ID
	Component *engine.Component
	Grants    *security.Grants // nil: keep the actor's
}

// UpdateAll updates several actors (a supervision tree, say) as one step:
// every new version is prepared first, while the old ones run; if any
// fails to start, none is switched and every actor keeps its version
// (ErrUpdateFailed naming the first failure). Then each switches between
// two of its messages.
func (s *System) UpdateAll(ctx context.Context, changes []Change) error {
	type prepared struct {
		c    *cell
		inc  *incarnation
		spec Spec
	}
	var ready []prepared
	discard := func() {
		for _, p := range ready {
			p.inc.close(false)
		}
	}
	for _, ch := range changes {
		c := s.lookup(ch.ID)
		if c == nil {
			discard()
			return fmt.Errorf("%w: %w: %s", ErrUpdateFailed, ErrUnknownActor, ch.ID)
		}
		if ch.Component == nil {
			discard()
			return fmt.Errorf("%w: %s: no component", ErrUpdateFailed, ch.ID)
		}
		spec := c.liveSpec()
		spec.Component = ch.Component
		if ch.Grants != nil {
			spec.Grants = ch.Grants
		}
		inc, err := c.prepare(ctx, spec)
		if err != nil {
			discard()
			return err
		}
		ready = append(ready, prepared{c, inc, spec})
	}
	var first error
	for _, p := range ready {
		if err := p.c.commitUpdate(p.inc, p.spec); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// switchTo makes a prepared incarnation the live one: on the actor's
// goroutine, between two messages.
func (c *cell) switchTo(env *envelope) {
	select {
	case <-c.stopping:
		env.inc.close(false)
		env.updated <- fmt.Errorf("%w: %s", ErrStopping, c.id)
		return
	default:
	}
	old := c.inc
	c.instMu.Lock()
	prev := c.ver
	if prev == nil {
		prev = &version{comp: c.spec.Component, grants: c.spec.Grants}
	}
	c.ver, c.prev, c.inc = &version{comp: env.spec.Component, grants: env.spec.Grants}, prev, env.inc
	c.instMu.Unlock()
	c.setState(Running)
	env.updated <- nil
	c.sys.emit(EventUpdated, c.id, nil)
	if old != nil {
		go old.close(true)
	}
}
