package actor

import (
	"fmt"
	"strings"

	"github.com/airsstack/airssys-wasm-go/engine"
)

// applyGrants makes a spec match its security grants exactly: resources
// from the manifest, WASI directories only as granted, environment and
// configuration filtered to the granted names, subscriptions checked.
func (s *System) applyGrants(spec Spec) (Spec, error) {
	g := spec.Grants
	var denied []string
	for _, p := range spec.Subscriptions {
		if !g.AllowSubscribe(p) {
			denied = append(denied, "subscribe to "+p)
		}
	}
	if len(denied) > 0 {
		for _, d := range denied {
			s.opts.Audit.Denied(string(spec.ID), "subscribe", d, "not granted")
		}
		return spec, fmt.Errorf("%w: %s: %s", ErrDenied, spec.ID, strings.Join(denied, ", "))
	}
	ecfg := s.eng.Config()
	r := g.Resources
	lim := spec.Limits
	if r.MemoryBytes > 0 {
		lim.MemoryLimit = r.MemoryBytes
	}
	if r.FuelPerMessage > 0 && ecfg.ConsumeFuel {
		lim.Fuel = r.FuelPerMessage
	}
	if r.TimeoutPerMsg > 0 && !ecfg.DisableEpochInterruption {
		lim.Timeout = r.TimeoutPerMsg
	}
	if r.Mailbox > 0 {
		spec.MailboxSize = r.Mailbox
	}
	if r.MaxMessageBytes > 0 {
		spec.MaxMessageBytes = int(r.MaxMessageBytes)
	}
	// WASI: exactly the granted directories and variables.
	w := lim.WASI
	w.Dirs = nil
	for _, f := range g.Caps.Filesystem {
		w.Dirs = append(w.Dirs, engine.Dir{HostPath: f.Host, GuestPath: f.Guest, ReadOnly: !f.ReadWrite})
	}
	env := map[string]string{}
	for k, v := range lim.WASI.Env {
		if g.AllowEnv(k) {
			env[k] = v
		} else {
			s.opts.Audit.Denied(string(spec.ID), "env", k, "not granted: left out")
		}
	}
	w.Env = env
	lim.WASI = w
	spec.Limits = lim
	cfg := map[string]string{}
	for k, v := range spec.Config {
		if g.AllowConfig(k) {
			cfg[k] = v
		} else {
			s.opts.Audit.Denied(string(spec.ID), "config", k, "not granted: left out")
		}
	}
	spec.Config = cfg
	s.opts.Audit.Event("grant", string(spec.ID), "deployed with grants", "trust", string(g.Trust),
		"component", g.Component)
	return spec, nil
}
