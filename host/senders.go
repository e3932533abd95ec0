package host

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/host/config"
)

// Which host may send as which actor. NATS permissions make the sending
// host in a lattice message's subject unforgeable (package lattice); this
// host then accepts a message from actor X sent by host H only when
//
//   - X is an id of an app this host admitted itself (under its own
//     policy: a component this host refuses cannot message its actors
//     either), and
//   - H has that app deployed (its heartbeats say so): a host runs only
//     the apps it deployed, so it cannot speak for the actors of others.
//
// Senders "host/..." are the hosts' own (the gateway, the admin API, Go
// callers): any host of the lattice may use them. What this does not
// stop: a host (or a stolen host key) sending as any actor of an app it
// has deployed, including actors placed on another host.
//
// The per-message cost is two atomic loads and three map lookups: the id
// index is rebuilt when this host's apps change (reindex, under op), the
// host-to-apps view when a sender's host is not in it (at most every
// hostAppsRefresh) or when it is older than that.

// ErrSenderRefused is a lattice message whose sender the sending host
// may not claim.
var ErrSenderRefused = errors.New("host: the sending host may not send as this actor")

// senderIndex maps every id of the apps this host admitted to its app.
type senderIndex map[actor.ID]string

// hostApps is, per host, the apps it has deployed, as its heartbeats say.
type hostApps struct {
	at   time.Time
	apps map[string]map[string]bool // host -> app names
}

const hostAppsRefresh = 100 * time.Millisecond

// senderCheck is the Service's state for checkRemoteSender.
type senderCheck struct {
	ids     atomic.Pointer[senderIndex]
	durable atomic.Pointer[map[actor.ID]bool] // ids whose mailbox is durable
	hosts   atomic.Pointer[hostApps]
	refresh sync.Mutex
}

// reindex rebuilds the id index from s.apps (after a change to them),
// with the app about to start (its actors' mailboxes must be known to be
// durable before they start), if any.
func (s *Service) reindex(starting ...*config.App) {
	idx := senderIndex{}
	durable := map[actor.ID]bool{}
	s.mu.RLock()
	apps := map[string]*config.App{}
	for name, run := range s.apps {
		apps[name] = run.app
	}
	for _, a := range starting {
		apps[a.Name] = a
	}
	for name, app := range apps {
		for i := range app.Actors {
			def := &app.Actors[i]
			for _, id := range def.IDs() {
				idx[id] = name
				if def.Durable && s.cfg.Lattice.Shared() {
					durable[id] = true
				}
			}
		}
	}
	s.mu.RUnlock()
	s.senders.ids.Store(&idx)
	s.senders.durable.Store(&durable)
}

// checkRemoteSender says whether host may send as sender (see above).
func (s *Service) checkRemoteSender(host string, sender actor.ID) error {
	if strings.HasPrefix(string(sender), "host/") {
		return nil
	}
	var app string
	if idx := s.senders.ids.Load(); idx != nil {
		app = (*idx)[sender]
	}
	if app == "" {
		return fmt.Errorf("%w: %s is no actor of an app this host admitted", ErrSenderRefused, sender)
	}
	if host == s.cfg.Lattice.Host {
		return nil
	}
	if s.hostHasApp(host, app) {
		return nil
	}
	return fmt.Errorf("%w: host %s has not deployed app %s, whose actor %s is", ErrSenderRefused, host, app, sender)
}

// checkStoredSender is checkRemoteSender for a message a durable mailbox
// stored: the sending host was fixed by the servers when it was stored,
// and it may have stopped since, so only the sender's app is checked (an
// app this host admitted).
func (s *Service) checkStoredSender(host string, sender actor.ID) error {
	if strings.HasPrefix(string(sender), "host/") {
		return nil
	}
	if idx := s.senders.ids.Load(); idx != nil && (*idx)[sender] != "" {
		return nil
	}
	return fmt.Errorf("%w: %s is no actor of an app this host admitted", ErrSenderRefused, sender)
}

// hostHasApp says whether host has app deployed, refreshing the view of
// the hosts' apps when it is stale or does not say.
func (s *Service) hostHasApp(host, app string) bool {
	ha := s.senders.hosts.Load()
	if ha != nil && ha.apps[host][app] && time.Since(ha.at) < hostAppsRefresh {
		return true
	}
	if ha != nil && time.Since(ha.at) < hostAppsRefresh {
		return false // fresh, and it does not say so
	}
	s.senders.refresh.Lock()
	defer s.senders.refresh.Unlock()
	if cur := s.senders.hosts.Load(); cur == ha || cur == nil || time.Since(cur.at) >= hostAppsRefresh {
		next := &hostApps{at: time.Now(), apps: map[string]map[string]bool{}}
		if s.lat != nil && s.lat.node != nil {
			for _, h := range s.lat.node.Hosts() {
				m := map[string]bool{}
				for a := range h.Apps {
					m[a] = true
				}
				next.apps[h.Name] = m
			}
		}
		s.senders.hosts.Store(next)
	}
	return s.senders.hosts.Load().apps[host][app]
}

// durableMailbox says whether id's app file asks for a durable mailbox
// (and the host shares a lattice): the lattice node's Config.Durable.
func (s *Service) durableMailbox(id actor.ID) bool {
	idx := s.senders.durable.Load()
	return idx != nil && (*idx)[id]
}
