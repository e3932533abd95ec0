package config

import (
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/actor"
)

// schemaBlock returns the one block of SCHEMA.md fenced as "```toml <title>".
// The host.toml and app examples carry a title after "toml" so that
// security's schema test, which counts the blocks fenced "```toml" alone,
// still sees its two.
func schemaBlock(t *testing.T, title string) string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "SCHEMA.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```toml "+regexp.QuoteMeta(title)+"\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	if len(blocks) != 1 {
		t.Fatalf("%d blocks fenced ```toml %s in SCHEMA.md, want 1", len(blocks), title)
	}
	return blocks[0][1]
}

// TestSchemaHostExample: SCHEMA.md's host.toml parses into what it says.
func TestSchemaHostExample(t *testing.T) {
	h, err := Parse("SCHEMA.md host.toml", []byte(schemaBlock(t, "host.toml")))
	if err != nil {
		t.Fatalf("the host.toml example does not parse: %v", err)
	}
	want := &Host{
		File:          "SCHEMA.md host.toml",
		DataDir:       "/var/lib/airssys-wasm",
		Policy:        "/etc/airssys-wasm/policy.toml",
		AllowPaths:    []string{"/srv/apps"},
		LogLevel:      slog.LevelInfo,
		ShutdownDrain: 30 * time.Second,
		Admin: Admin{Socket: "/run/airssys-wasm/admin.sock", Listen: "10.0.0.5:7443",
			TokenFile: "/etc/airssys-wasm/admin.token", TLSCert: "/etc/airssys-wasm/admin.crt",
			TLSKey: "/etc/airssys-wasm/admin.key"},
		Gateway: Gateway{Listen: "127.0.0.1:8080", MaxBodyBytes: 1 << 20, MaxHeaderBytes: 64 << 10,
			ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second,
			IdleTimeout: 2 * time.Minute, MaxConnections: 1024},
		Registry: Registry{PlainHTTP: []string{"localhost:5000"}, Credentials: "/etc/airssys-wasm/docker-config.json"},
		Telemetry: Telemetry{MetricsPerActor: false, HandleTimes: true, OTLPEndpoint: "http://127.0.0.1:4318",
			Sample: 0.05},
		Lattice: Lattice{Name: "prod", Host: "web-1", Listen: "127.0.0.1:4222", ClusterName: "prod",
			ClusterListen: "127.0.0.1:6222", Routes: []string{"127.0.0.1:6223", "127.0.0.1:6224"},
			Labels: map[string]string{"zone": "eu-1"},
			Peers:  map[string]string{"web-2": "UA4XMDRWEFULKIWNKK6E7YI4A5B4P3SHOQGUFXBU77LBO22KPSG2TGCC"}},
	}
	if !reflect.DeepEqual(h, want) {
		t.Fatalf("the host.toml example parsed as\n%+v\nwant\n%+v", h, want)
	}
	// Its gateway settings are the documented defaults.
	if d := Defaults(); !reflect.DeepEqual(h.Gateway, d.Gateway) || h.LogLevel != d.LogLevel ||
		h.ShutdownDrain != d.ShutdownDrain {
		t.Fatalf("the example's defaults %+v are not Defaults' %+v", h.Gateway, d.Gateway)
	}
}

// TestSchemaAppExample: SCHEMA.md's app file parses into what it says,
// against a host.toml that allows the directory its path is in (made to
// exist here).
func TestSchemaAppExample(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "audit.wasm"), []byte("\x00asm"), 0o600); err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(schemaBlock(t, "app.toml"), "/srv/apps", dir)
	h := Defaults()
	h.AllowPaths = []string{dir}
	a, err := ParseApp("SCHEMA.md app.toml", []byte(text), h)
	if err != nil {
		t.Fatalf("the app example does not parse: %v", err)
	}
	want := &App{
		File:    "SCHEMA.md app.toml",
		Name:    "shop",
		Storage: StorageLocal,
		Supervisor: Supervisor{Strategy: actor.OneForOne, MaxRestarts: 3, Period: time.Minute,
			BackoffMin: 100 * time.Millisecond, BackoffMax: 30 * time.Second},
		Actors: []ActorDef{
			{ID: "shop/orders/*", Component: Source{Store: "orders@1.2.0"}, Instances: 2,
				Config: map[string]string{"region": "eu", "currency": "EUR"}, Subscriptions: []string{"orders.created"},
				Mailbox: 4096, Overflow: actor.Reject, Restart: actor.Permanent,
				Resources: Resources{MemoryBytes: 32 << 20, TimeoutPerMsg: 2 * time.Second},
				Placement: Placement{Labels: map[string]string{"zone": "eu-1"}, MaxPerHost: 1}},
			{ID: "shop/billing/main", Instances: 1, Durable: true, Component: Source{
				OCI: "ghcr.io/acme/billing@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}},
			{ID: "shop/audit/1", Instances: 1, Component: Source{Path: filepath.Join(dir, "audit.wasm")},
				Restart: actor.Transient},
		},
		Routes: []Route{
			{Method: "POST", Path: "/orders/{id}", Actor: "shop/orders/*", Timeout: 5 * time.Second,
				Headers: []string{"traceparent", "x-request-id"}},
			{Method: "GET", Path: "/invoices/{rest...}", Actor: "shop/billing/main", Timeout: 10 * time.Second,
				Headers: []string{"content-type", "accept", "traceparent", "tracestate"}},
		},
	}
	if !reflect.DeepEqual(a, want) {
		t.Fatalf("the app example parsed as\n%+v\nwant\n%+v", a, want)
	}
	if ids := a.Actors[0].IDs(); !reflect.DeepEqual(ids, []actor.ID{"shop/orders/1", "shop/orders/2"}) {
		t.Fatalf("ids %v", ids)
	}
	// Its supervisor table is the documented defaults: without it, the
	// same app.
	noSup := regexp.MustCompile(`(?s)\[supervisor\].*?\n\n`).ReplaceAllString(text, "")
	if noSup == text {
		t.Fatal("no [supervisor] table cut")
	}
	b, err := ParseApp("no supervisor", []byte(noSup), h)
	if err != nil {
		t.Fatal(err)
	}
	if b.Digest() != a.Digest() {
		t.Fatalf("the example's [supervisor] is not the defaults:\n%s\n%s", a.Canonical(), b.Canonical())
	}
	// Under a host that allows no paths, the example's path is refused.
	if _, err := ParseApp("SCHEMA.md app.toml", []byte(text), nil); err == nil ||
		!strings.Contains(err.Error(), "actor[2].component.path: ") {
		t.Fatalf("with no allow-paths: %v", err)
	}
}
