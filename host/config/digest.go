package config

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// canonicalFormat starts every canonical form; a change to the form changes
// it, and so every digest.
const canonicalFormat = "airssys-wasm app 1"

// The canonical form: JSON with fields in a fixed order, maps with sorted
// keys (encoding/json sorts them), durations in nanoseconds, every default
// written out.
type (
	canonApp struct {
		Format     string       `json:"format"`
		Name       string       `json:"name"`
		Supervisor canonSup     `json:"supervisor"`
		Actors     []canonActor `json:"actors"`
		Routes     []canonRoute `json:"routes"`
		// Left out for local (the default), so that earlier apps keep
		// their digests.
		Storage string `json:"storage,omitempty"`
	}
	canonSup struct {
		Strategy    string `json:"strategy"`
		MaxRestarts int    `json:"max-restarts"`
		Period      int64  `json:"period"`
		BackoffMin  int64  `json:"backoff-min"`
		BackoffMax  int64  `json:"backoff-max"`
	}
	canonActor struct {
		ID            string            `json:"id"`
		Store         string            `json:"store"`
		OCI           string            `json:"oci"`
		Path          string            `json:"path"`
		Instances     int               `json:"instances"`
		Config        map[string]string `json:"config"`
		Subscriptions []string          `json:"subscriptions"`
		Mailbox       int               `json:"mailbox"`
		Overflow      string            `json:"overflow"`
		Restart       string            `json:"restart"`
		Memory        int64             `json:"memory"`
		Fuel          uint64            `json:"fuel-per-message"`
		Timeout       int64             `json:"timeout-per-message"`
		MaxMessage    int64             `json:"max-message"`
		// Left out when unset, so that apps written before placement
		// existed keep their digests.
		Labels     map[string]string `json:"placement-labels,omitempty"`
		MaxPerHost int               `json:"placement-max-per-host,omitempty"`
		Durable    bool              `json:"durable,omitempty"`
	}
	canonRoute struct {
		Method       string   `json:"method"`
		Path         string   `json:"path"`
		Actor        string   `json:"actor"`
		Timeout      int64    `json:"timeout"`
		Headers      []string `json:"headers"`
		ExposeErrors bool     `json:"expose-errors"`
	}
)

// Canonical is the app in a canonical form: what it means, and nothing of
// how it was written. Comments, white space, the order of keys, inline or
// separate tables, defaults written out or left out, the case of header
// names and the order of routes, subscriptions, headers and configuration
// keys do not change it. The order of the [[actor]] tables does (it is the
// order actors start in, which rest-for-one supervision depends on), and so
// does every value. File is not part of it.
func (a *App) Canonical() []byte {
	c := canonApp{Format: canonicalFormat, Name: a.Name, Actors: []canonActor{}, Routes: []canonRoute{}}
	if a.Storage != StorageLocal {
		c.Storage = a.Storage
	}
	s := a.Supervisor
	c.Supervisor = canonSup{Strategy: s.Strategy.String(), MaxRestarts: s.MaxRestarts, Period: int64(s.Period),
		BackoffMin: int64(s.BackoffMin), BackoffMax: int64(s.BackoffMax)}
	for _, d := range a.Actors {
		cfg := map[string]string{}
		maps.Copy(cfg, d.Config)
		subs := slices.Sorted(slices.Values(d.Subscriptions))
		if subs == nil {
			subs = []string{}
		}
		c.Actors = append(c.Actors, canonActor{ID: d.ID, Store: d.Component.Store, OCI: d.Component.OCI,
			Path: d.Component.Path, Instances: d.Instances, Config: cfg, Subscriptions: subs, Mailbox: d.Mailbox,
			Overflow: nameOf(overflows, d.Overflow), Restart: nameOf(restarts, d.Restart), Memory: d.Resources.MemoryBytes,
			Fuel: d.Resources.FuelPerMessage, Timeout: int64(d.Resources.TimeoutPerMsg),
			MaxMessage: d.Resources.MaxMessageBytes, Labels: d.Placement.Labels, MaxPerHost: d.Placement.MaxPerHost,
			Durable: d.Durable})
	}
	for _, r := range a.Routes {
		hs := make([]string, len(r.Headers))
		for i, h := range r.Headers {
			hs[i] = strings.ToLower(h)
		}
		slices.Sort(hs)
		c.Routes = append(c.Routes, canonRoute{Method: r.Method, Path: r.Path, Actor: r.Actor,
			Timeout: int64(r.Timeout), Headers: hs, ExposeErrors: r.ExposeErrors})
	}
	slices.SortFunc(c.Routes, func(x, y canonRoute) int {
		return cmp.Or(cmp.Compare(x.Path, y.Path), cmp.Compare(x.Method, y.Method))
	})
	out, err := json.Marshal(c)
	if err != nil {
		panic("config: canonical form: " + err.Error()) // strings, numbers and bools only
	}
	return out
}

// Digest is the SHA-256 of the canonical form, "sha256:<hex>": deploying
// an app whose digest is the one deployed changes nothing.
func (a *App) Digest() string {
	sum := sha256.Sum256(a.Canonical())
	return "sha256:" + hex.EncodeToString(sum[:])
}

// nameOf is the name a value is written with in app files.
func nameOf[V comparable](names map[string]V, v V) string {
	for name, x := range names {
		if x == v {
			return name
		}
	}
	return fmt.Sprint(v)
}
