package actor

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// ErrNoSupervisor: DeployChild names no running top-level supervisor.
var ErrNoSupervisor = errors.New("actor: no such supervisor")

// DeployChild starts one more actor under a running top-level supervisor
// (one DeploySupervisor started, by its Name), as its last child: a host
// that reconciles an app to a new file adds the actors the file added
// without restarting the others. It returns once the actor's init has
// run; if the init fails the actor is not added.
func (s *System) DeployChild(ctx context.Context, parent string, spec Spec) error {
	sup := s.liveRoot(parent)
	if sup == nil {
		return fmt.Errorf("%w: %q", ErrNoSupervisor, parent)
	}
	// Build the cell as a tree of one, then move it under sup.
	tmp := newSupervisor(s, SupervisorSpec{Name: parent}, nil)
	if err := s.addCell(tmp, spec, map[ID]bool{}); err != nil {
		return err
	}
	c := tmp.children[0].(*cell)
	c.sup = sup
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ErrClosed
	}
	if _, dup := s.cells[c.id]; dup {
		s.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrExists, c.id)
	}
	s.cells[c.id] = c
	for _, p := range c.spec.Subscriptions {
		s.subs = append(s.subs, subscription{pattern: p, cell: c})
	}
	s.mu.Unlock()
	s.served([]ID{c.id}, true)
	sup.mu.Lock()
	// A root with no child left has been (or is being) removed.
	gone := sup.done || len(sup.children) == 0
	if !gone {
		sup.children = append(sup.children, c)
	}
	sup.mu.Unlock()
	if gone {
		s.unregister(c)
		return fmt.Errorf("%w: %q has stopped", ErrNoSupervisor, parent)
	}
	s.emit(EventDeployed, c.id, nil)
	if err := c.startFirst(ctx); err != nil {
		sup.remove(c)
		s.unregister(c)
		return fmt.Errorf("%w: %s: %w", ErrStartupFailed, c.id, err)
	}
	return nil
}

// Restart replaces an actor's instance with a fresh one, as a supervisor
// would after a trap but without counting toward its intensity: an
// operator's restart. Queued messages stay queued; the message being
// handled finishes first. It returns once the restart is queued.
func (s *System) Restart(ctx context.Context, id ID) error {
	c := s.lookup(id)
	if c == nil {
		return fmt.Errorf("%w: %s", ErrUnknownActor, id)
	}
	if st := State(c.state.Load()); st == Stopped || st == Failed {
		return fmt.Errorf("%w: %s", ErrActorStopped, id)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c.restart(0)
	return nil
}

// liveRoot is the running top-level supervisor named name, or nil.
func (s *System) liveRoot(name string) *supervisor {
	s.mu.RLock()
	roots := slices.Clone(s.roots)
	s.mu.RUnlock()
	for _, r := range slices.Backward(roots) {
		if r.spec.Name == name && r.live() {
			return r
		}
	}
	return nil
}
