package actor

import (
	"fmt"
	"sync"
	"time"
)

// supervisor is a node of a supervision tree. It has no goroutine: a child
// that fails calls childFailed on its own goroutine, and the decision
// (restart whom, after what delay, or give up and escalate) is made there
// under the supervisor's lock, then carried out through the children's
// control queues.
type supervisor struct {
	sys      *System
	spec     SupervisorSpec
	parent   *supervisor
	mu       sync.Mutex
	children []node // in start order
	restarts []time.Time
	done     bool
}

// node is a supervisor's child: an actor (*cell) or a supervisor.
type node interface {
	restart(delay time.Duration)
	terminate(reason error)
	policy() RestartPolicy
}

func (c *cell) policy() RestartPolicy       { return c.spec.Restart }
func (s *supervisor) policy() RestartPolicy { return Permanent }

func newSupervisor(sys *System, spec SupervisorSpec, parent *supervisor) *supervisor {
	if spec.MaxRestarts <= 0 {
		spec.MaxRestarts = 3
	}
	if spec.Period <= 0 {
		spec.Period = 60 * time.Second
	}
	if spec.BackoffMin <= 0 {
		spec.BackoffMin = 100 * time.Millisecond
	}
	if spec.BackoffMax <= 0 {
		spec.BackoffMax = 30 * time.Second
	}
	if spec.BackoffMax < spec.BackoffMin {
		spec.BackoffMax = spec.BackoffMin
	}
	return &supervisor{sys: sys, spec: spec, parent: parent}
}

// live: the node can take a child (it has not given up or been emptied;
// an empty root is being removed).
func (s *supervisor) live() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.done && len(s.children) > 0
}

// cells lists every actor in the subtree, in start order.
func (s *supervisor) cells() []*cell {
	var out []*cell
	for _, ch := range s.children {
		switch n := ch.(type) {
		case *cell:
			out = append(out, n)
		case *supervisor:
			out = append(out, n.cells()...)
		}
	}
	return out
}

// remove forgets a child that stopped on purpose.
func (s *supervisor) remove(n node) {
	s.mu.Lock()
	for i, ch := range s.children {
		if ch == n {
			s.children = append(s.children[:i], s.children[i+1:]...)
			break
		}
	}
	empty := len(s.children) == 0
	s.mu.Unlock()
	if empty && s.parent != nil {
		s.parent.remove(s)
	} else if empty {
		s.sys.removeRoot(s)
	}
}

// backoff is BackoffMin doubled for each recent restart, capped.
func (s *supervisor) backoff(recent int) time.Duration {
	d := s.spec.BackoffMin
	for i := 1; i < recent && d < s.spec.BackoffMax; i++ {
		d *= 2
	}
	if d > s.spec.BackoffMax {
		d = s.spec.BackoffMax
	}
	return d
}

// childFailed applies the strategy after child n failed with err.
func (s *supervisor) childFailed(n node, err error) {
	s.mu.Lock()
	if s.done {
		s.mu.Unlock()
		return
	}
	if n.policy() == Temporary {
		// Never restarted, and its end does not count against the intensity.
		for i, ch := range s.children {
			if ch == n {
				s.children = append(s.children[:i], s.children[i+1:]...)
				break
			}
		}
		empty := len(s.children) == 0
		s.mu.Unlock()
		n.terminate(err)
		if empty { // as remove does: an empty node goes
			if s.parent != nil {
				s.parent.remove(s)
			} else {
				s.sys.removeRoot(s)
			}
		}
		return
	}
	now := time.Now()
	keep := s.restarts[:0]
	for _, t := range s.restarts {
		if now.Sub(t) < s.spec.Period {
			keep = append(keep, t)
		}
	}
	s.restarts = append(keep, now)
	if len(s.restarts) > s.spec.MaxRestarts {
		s.done = true
		children := append([]node(nil), s.children...)
		s.mu.Unlock()
		s.giveUp(children, err)
		return
	}
	delay := s.backoff(len(s.restarts))
	var targets []node
	switch s.spec.Strategy {
	case OneForOne:
		targets = []node{n}
	case OneForAll:
		targets = append(targets, s.children...)
	case RestForOne:
		for i, ch := range s.children {
			if ch == n {
				targets = append(targets, s.children[i:]...)
				break
			}
		}
	}
	s.mu.Unlock()
	for _, t := range targets {
		if t != n && t.policy() == Temporary {
			// Temporary siblings are stopped, not restarted.
			s.remove(t)
			t.terminate(fmt.Errorf("supervisor %q restarted its children", s.spec.Name))
			continue
		}
		t.restart(delay)
	}
}

// giveUp: past the restart intensity. Every child stops; the parent (if
// any) treats this whole subtree as one failed child.
func (s *supervisor) giveUp(children []node, err error) {
	reason := fmt.Errorf("supervisor %q gave up after %d restarts in %v: %w", s.spec.Name, s.spec.MaxRestarts,
		s.spec.Period, err)
	s.sys.emit(EventFailed, ID("supervisor/"+s.spec.Name), reason)
	if s.parent != nil {
		s.parent.childFailed(s, reason)
		return
	}
	for _, ch := range children {
		ch.terminate(reason)
	}
	s.sys.removeRoot(s)
}

// restart (by the parent's strategy) restarts the whole subtree with a
// fresh restart history.
func (s *supervisor) restart(delay time.Duration) {
	s.mu.Lock()
	s.restarts = nil
	s.done = false
	children := append([]node(nil), s.children...)
	s.mu.Unlock()
	for _, ch := range children {
		ch.restart(delay)
	}
}

// terminate stops the whole subtree as failed.
func (s *supervisor) terminate(reason error) {
	s.mu.Lock()
	s.done = true
	children := append([]node(nil), s.children...)
	s.mu.Unlock()
	for _, ch := range children {
		ch.terminate(reason)
	}
}
