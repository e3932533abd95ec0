package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/actor"
)

// appHost is a host that allows dir, holding ok.wasm; out.wasm is a file
// outside it and dir/escape.wasm a symlink to it.
func appHost(t *testing.T) (h *Host, dir, out string) {
	t.Helper()
	root := t.TempDir()
	dir, outDir := filepath.Join(root, "apps"), filepath.Join(root, "out")
	for _, d := range []string{dir, outDir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	out = filepath.Join(outDir, "out.wasm")
	for _, f := range []string{filepath.Join(dir, "ok.wasm"), out} {
		if err := os.WriteFile(f, []byte("\x00asm"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(out, filepath.Join(dir, "escape.wasm")); err != nil {
		t.Fatal(err)
	}
	h = Defaults()
	h.AllowPaths = []string{dir}
	return h, dir, out
}

const (
	appHead = "[app]\nname = \"shop\"\n"
	okActor = "[[actor]]\nid = \"shop/a/1\"\ncomponent = { store = \"a@1.0.0\" }\n"
)

// TestAppErrors: every check of an app file, each alone, reported with
// its line (the one marked #!, 0 for none) and key.
func TestAppErrors(t *testing.T) {
	h, dir, out := appHost(t)
	for _, c := range []struct{ name, text, key, msg string }{
		// The file.
		{"syntax", appHead + "[[actor] #!\n", "", "expected"},
		{"no app table", okActor, "app", "missing table [app]"},
		{"no name", "[app] #!\n", "app", "missing required key name"},
		{"bad name", "[app]\nname = \"Shop\" #!\n", "app.name", "not a kebab-case name"},
		{"name type", "[app]\nname = 1 #!\n", "app.name", "wrong type: an integer, want a string"},
		{"unknown top key", appHead + "colour = \"red\" #!\n", "app.colour", "unknown key"},
		{"unknown table", "colour = \"red\" #!\n" + appHead, "colour", "unknown key"},
		{"actor not a table", "actor = 5 #!\n" + appHead, "actor", "wrong type: an integer, want an array of tables"},
		{"duplicate key", appHead + "[[actor]]\nid = \"shop/a/1\"\nid = \"shop/a/2\" #!\n", "actor[0].id", "already defined"},

		// Nothing can be granted.
		{"capabilities table", appHead + "[capabilities] #!\nlogging = true\n", "capabilities", cannotGrant},
		{"actor capabilities", appHead + okActor + "[actor.capabilities.messaging] #!\nsend = [\"*/*/*\"]\n",
			"actor[0].capabilities.messaging", cannotGrant},
		{"actor env", appHead + okActor + "env = [\"HOME\"] #!\n", "actor[0].env", cannotGrant},
		{"actor filesystem", appHead + okActor + "filesystem = [{ host = \"/\" }] #!\n", "actor[0].filesystem", cannotGrant},
		{"actor storage", appHead + okActor + "[actor.storage] #!\nbuckets = [\"x\"]\n", "actor[0].storage", cannotGrant},
		{"actor network", appHead + okActor + "network = true #!\n", "actor[0].network", cannotGrant},
		{"actor subscribe", appHead + okActor + "subscribe = [\"a\"] #!\n", "actor[0].subscribe", "its subscriptions"},
		{"resources logging", appHead + okActor + "[actor.resources]\nlogging = true #!\n", "actor[0].resources.logging", cannotGrant},
		{"component grants", appHead + "[[actor]]\nid = \"a/b/c\"\ncomponent = { store = \"a@1.0.0\", grants = 1 } #!\n",
			"actor[0].component.grants", cannotGrant},
		{"policy table", appHead + "[trust.dev] #!\nenv = [\"*\"]\n", "trust.dev", cannotGrant},

		// Actors.
		{"no id", appHead + "[[actor]] #!\ncomponent = { store = \"a@1.0.0\" }\n", "actor[0]", "missing required key id"},
		{"id type", appHead + "[[actor]]\nid = 1 #!\ncomponent = { store = \"a@1.0.0\" }\n", "actor[0].id", "wrong type"},
		{"two segments", appHead + "[[actor]]\nid = \"shop/a\" #!\ncomponent = { store = \"a@1.0.0\" }\n", "actor[0].id",
			"not an actor id"},
		{"bad character", appHead + "[[actor]]\nid = \"shop/a b/1\" #!\ncomponent = { store = \"a@1.0.0\" }\n", "actor[0].id",
			"not an actor id"},
		{"dot-dot", appHead + "[[actor]]\nid = \"shop/../1\" #!\ncomponent = { store = \"a@1.0.0\" }\n", "actor[0].id",
			"not an actor id"},
		{"star inside", appHead + "[[actor]]\nid = \"shop/*/1\" #!\ncomponent = { store = \"a@1.0.0\" }\n", "actor[0].id",
			"only the instance may be *"},
		{"star pattern base", appHead + "[[actor]]\nid = \"*/a/*\" #!\ncomponent = { store = \"a@1.0.0\" }\n", "actor[0].id",
			"not an actor id"},
		{"one id, instances", appHead + "[[actor]]\nid = \"shop/a/main\" #!\ninstances = 3\ncomponent = { store = \"a@1.0.0\" }\n",
			"actor[0].id", `write "shop/a/*"`},
		{"duplicate id", appHead + okActor + okActor[:len("[[actor]]\n")] + "id = \"shop/a/1\" #!\ncomponent = { store = \"b@1.0.0\" }\n",
			"actor[1].id", "shop/a/1 is already an id of actor[0]"},
		{"duplicate by instances", appHead + "[[actor]]\nid = \"shop/a/*\"\ninstances = 2\ncomponent = { store = \"a@1.0.0\" }\n" +
			"[[actor]]\nid = \"shop/a/2\" #!\ncomponent = { store = \"b@1.0.0\" }\n", "actor[1].id", "shop/a/2 is already an id of actor[0]"},
		{"zero instances", appHead + "[[actor]]\nid = \"shop/a/*\"\ninstances = 0 #!\ncomponent = { store = \"a@1.0.0\" }\n",
			"actor[0].instances", "0 is not between 1 and 1024"},
		{"too many instances", appHead + "[[actor]]\nid = \"shop/a/*\"\ninstances = 1025 #!\ncomponent = { store = \"a@1.0.0\" }\n",
			"actor[0].instances", "1025 is not between 1 and 1024"},
		{"too many actors", appHead + manyActors(4, 1024) + "[[actor]]\nid = \"shop/x/*\"\ninstances = 2 #!\ncomponent = { store = \"a@1.0.0\" }\n",
			"actor[4].instances", "4098 actors with those before: at most 4096"},
		{"no component", appHead + "[[actor]] #!\nid = \"shop/a/1\"\n", "actor[0]", "missing required key component"},
		{"component string", appHead + "[[actor]]\nid = \"shop/a/1\"\ncomponent = \"a@1.0.0\" #!\n", "actor[0].component",
			"wrong type: a string, want a table"},
		{"component empty", appHead + "[[actor]]\nid = \"shop/a/1\"\ncomponent = {} #!\n", "actor[0].component",
			"set one of store, oci or path"},
		{"component two", appHead + "[[actor]]\nid = \"shop/a/1\"\ncomponent = { store = \"a@1.0.0\", oci = \"r.io/a:1\" } #!\n",
			"actor[0].component", "sets oci and store"},
		{"component unknown", appHead + "[[actor]]\nid = \"shop/a/1\"\n[actor.component]\nstore = \"a@1.0.0\"\nurl = \"x\" #!\n",
			"actor[0].component.url", "unknown key"},
		{"store no version", appHead + "[[actor]]\nid = \"shop/a/1\"\ncomponent = { store = \"a\" } #!\n",
			"actor[0].component.store", "a version is required"},
		{"store bad version", appHead + "[[actor]]\nid = \"shop/a/1\"\ncomponent = { store = \"a@1.2\" } #!\n",
			"actor[0].component.store", "not a semantic version"},
		{"store bad name", appHead + "[[actor]]\nid = \"shop/a/1\"\ncomponent = { store = \"A_b@1.2.0\" } #!\n",
			"actor[0].component.store", "not a kebab-case component name"},
		{"oci bad", appHead + "[[actor]]\nid = \"shop/a/1\"\ncomponent = { oci = \"not a ref\" } #!\n",
			"actor[0].component.oci", "not a reference"},
		{"oci no tag", appHead + "[[actor]]\nid = \"shop/a/1\"\ncomponent = { oci = \"ghcr.io/acme/a\" } #!\n",
			"actor[0].component.oci", "no tag or digest"},
		{"oci bad digest", appHead + "[[actor]]\nid = \"shop/a/1\"\ncomponent = { oci = \"ghcr.io/acme/a@sha256:00\" } #!\n",
			"actor[0].component.oci", "not a reference"},
		{"path outside", appHead + "[[actor]]\nid = \"shop/a/1\"\ncomponent = { path = \"" + out + "\" } #!\n",
			"actor[0].component.path", "not under [apps] allow-paths"},
		{"path escapes", appHead + "[[actor]]\nid = \"shop/a/1\"\ncomponent = { path = \"" + dir + "/escape.wasm\" } #!\n",
			"actor[0].component.path", "leads to " + out},
		{"path dot-dot", appHead + "[[actor]]\nid = \"shop/a/1\"\ncomponent = { path = \"" + dir + "/../out/out.wasm\" } #!\n",
			"actor[0].component.path", "not a clean absolute path"},
		{"path relative", appHead + "[[actor]]\nid = \"shop/a/1\"\ncomponent = { path = \"ok.wasm\" } #!\n",
			"actor[0].component.path", "not a clean absolute path"},
		{"path missing", appHead + "[[actor]]\nid = \"shop/a/1\"\ncomponent = { path = \"" + dir + "/none.wasm\" } #!\n",
			"actor[0].component.path", "no such file"},
		{"config not table", appHead + okActor + "config = [\"a\"] #!\n", "actor[0].config", "want a table of strings"},
		{"config key", appHead + okActor + "config = { \"a b\" = \"x\" } #!\n", "actor[0].config.a b", "not a configuration key"},
		{"config value", appHead + okActor + "[actor.config]\nport = 8080 #!\n", "actor[0].config.port", "wrong type: an integer"},
		{"subscription", appHead + okActor + "subscriptions = [\"a..b\"] #!\n", "actor[0].subscriptions", "empty token"},
		{"subscription twice", appHead + okActor + "subscriptions = [\"a.*\", \"a.*\"] #!\n", "actor[0].subscriptions", "listed twice"},
		{"mailbox", appHead + okActor + "mailbox = 0 #!\n", "actor[0].mailbox", "not between 1 and 16777216"},
		{"overflow", appHead + okActor + "overflow = \"drop\" #!\n", "actor[0].overflow", "not block or reject"},
		{"storage", "[app]\nname = \"shop\"\nstorage = \"cloud\" #!\n" + okActor, "app.storage", "not local or lattice"},
		{"durable type", appHead + okActor + "durable = \"yes\" #!\n", "actor[0].durable", "want true or false"},
		{"placement labels type", appHead + okActor + "[actor.placement]\nlabels = [\"a\"] #!\n", "actor[0].placement.labels", "a table of strings"},
		{"placement label name", appHead + okActor + "[actor.placement]\nlabels = { \"a b\" = \"x\" } #!\n", "actor[0].placement.labels.a b", "not a label name"},
		{"placement label value", appHead + okActor + "[actor.placement]\nlabels = { zone = 1 } #!\n", "actor[0].placement.labels.zone", "want a string"},
		{"placement cap", appHead + okActor + "[actor.placement]\nmax-per-host = 0 #!\n", "actor[0].placement.max-per-host", ""},
		{"restart", appHead + okActor + "restart = \"always\" #!\n", "actor[0].restart", "not permanent, transient or temporary"},
		{"memory", appHead + okActor + "[actor.resources]\nmemory = \"lots\" #!\n", "actor[0].resources.memory", "not a size"},
		{"fuel", appHead + okActor + "[actor.resources]\nfuel-per-message = 0 #!\n", "actor[0].resources.fuel-per-message", "must be positive"},
		{"timeout", appHead + okActor + "[actor.resources]\ntimeout-per-message = \"0s\" #!\n",
			"actor[0].resources.timeout-per-message", "must be positive"},
		{"max-message over memory", appHead + okActor + "[actor.resources]\nmemory = \"1MiB\"\nmax-message = \"2MiB\" #!\n",
			"actor[0].resources.max-message", "larger than resources.memory"},
		{"mailbox in resources", appHead + okActor + "[actor.resources]\nmailbox = 5 #!\n", "actor[0].resources.mailbox", "unknown key"},
		{"second actor's unknown key", appHead + okActor + "[[actor]]\nid = \"shop/b/1\"\ncomponent = { store = \"b@1.0.0\" }\ncolour = 1 #!\n",
			"actor[1].colour", "unknown key"},
		{"second actor's config", appHead + okActor + "[[actor]]\nid = \"shop/b/1\"\ncomponent = { store = \"b@1.0.0\" }\n[actor.config]\nport = 1 #!\n",
			"actor[1].config.port", "wrong type"},
		{"second actor's key", appHead + okActor + "[[actor]]\nid = \"shop/b/1\"\ncomponent = { store = \"b@1.0.0\" }\nrestart = 1 #!\n",
			"actor[1].restart", "wrong type"},

		// Supervision.
		{"strategy", appHead + "[supervisor]\nstrategy = \"all-for-one\" #!\n", "supervisor.strategy", "not one-for-one"},
		{"max-restarts", appHead + "[supervisor]\nmax-restarts = 0 #!\n", "supervisor.max-restarts", "0 is not between 1"},
		{"period", appHead + "[supervisor]\nperiod = \"forever\" #!\n", "supervisor.period", "not a duration"},
		{"backoff", appHead + "[supervisor]\nbackoff-min = \"1m\"\nbackoff-max = \"1s\" #!\n", "supervisor.backoff-max",
			"shorter than backoff-min"},
		{"backoff-min over default max", appHead + "[supervisor]\nbackoff-min = \"1h\" #!\n", "supervisor.backoff-min",
			"shorter than backoff-min 1h0m0s"},
		{"supervisor unknown", appHead + "[supervisor]\nname = \"x\" #!\n", "supervisor.name", "unknown key"},

		// Routes.
		{"no method", appHead + okActor + "[[route]] #!\npath = \"/a\"\nactor = \"shop/a/1\"\n", "route[0]", "missing required key method"},
		{"lower-case method", appHead + okActor + route("get", "/a", "shop/a/1"), "route[0].method", `"get" is not one of GET`},
		{"CONNECT", appHead + okActor + route("CONNECT", "/a", "shop/a/1"), "route[0].method", "is not one of"},
		{"no path", appHead + okActor + "[[route]] #!\nmethod = \"GET\"\nactor = \"shop/a/1\"\n", "route[0]", "missing required key path"},
		{"relative path", appHead + okActor + route("GET", "!a", "shop/a/1"), "route[0].path", "does not start with /"},
		{"empty segment", appHead + okActor + route("GET", "!/a//b", "shop/a/1"), "route[0].path", "empty segment"},
		{"dot-dot segment", appHead + okActor + route("GET", "!/a/../b", "shop/a/1"), "route[0].path", `".." segment`},
		{"open brace", appHead + okActor + route("GET", "!/a/{id", "shop/a/1"), "route[0].path", "a wildcard is a whole segment"},
		{"partial wildcard", appHead + okActor + route("GET", "!/a/x{id}", "shop/a/1"), "route[0].path", "may not appear"},
		{"wildcard name", appHead + okActor + route("GET", "!/a/{1d}", "shop/a/1"), "route[0].path", "not a wildcard name"},
		{"wildcard twice", appHead + okActor + route("GET", "!/a/{x}/{x}", "shop/a/1"), "route[0].path", "{x} is used twice"},
		{"rest not last", appHead + okActor + route("GET", "!/a/{x...}/b", "shop/a/1"), "route[0].path", "must end the path"},
		{"end not last", appHead + okActor + route("GET", "!/a/{$}/b", "shop/a/1"), "route[0].path", "{$} must end the path"},
		{"escape", appHead + okActor + route("GET", "!/a/%20", "shop/a/1"), "route[0].path", "may not appear"},
		{"query", appHead + okActor + route("GET", "!/a?b=c", "shop/a/1"), "route[0].path", "may not appear"},
		{"long path", appHead + okActor + route("GET", "!/"+strings.Repeat("a", MaxRoutePath), "shop/a/1"), "route[0].path",
			"at most 1024"},
		{"unknown actor", appHead + okActor + route("GET", "/a", "shop/b/1"), "route[0].actor", "not the id of an [[actor]]"},
		{"instance past count", appHead + "[[actor]]\nid = \"shop/a/*\"\ninstances = 2\ncomponent = { store = \"a@1.0.0\" }\n" +
			route("GET", "/a", "shop/a/3"), "route[0].actor", "not the id"},
		{"no actor", appHead + okActor + "[[route]] #!\nmethod = \"GET\"\npath = \"/a\"\n", "route[0]", "missing required key actor"},
		{"same route", appHead + okActor + "[[route]]\nmethod = \"GET\"\npath = \"/a\"\nactor = \"shop/a/1\"\n" +
			route("GET", "!/a", "shop/a/1"), "route[1].path", "GET /a is already route[0]"},
		{"conflict", appHead + okActor + "[[route]]\nmethod = \"GET\"\npath = \"/a/{x}\"\nactor = \"shop/a/1\"\n" +
			route("GET", "!/a/{y}", "shop/a/1"), "route[1].path", "conflicts with route[0] (GET /a/{x})"},
		{"route timeout", appHead + okActor + route("GET", "/a", "shop/a/1")[:len("[[route]]\n")] + "method = \"GET\"\npath = \"/a\"\nactor = \"shop/a/1\"\ntimeout = \"-1s\" #!\n",
			"route[0].timeout", "must be positive"},
		{"header name", appHead + okActor + routeWith("headers = [\"x request\"]"), "route[0].headers", "not a header name"},
		{"hop header", appHead + okActor + routeWith("headers = [\"Connection\"]"), "route[0].headers", "belongs to the connection"},
		{"header twice", appHead + okActor + routeWith("headers = [\"X-A\", \"x-a\"]"), "route[0].headers", "listed twice"},
		{"expose-errors", appHead + okActor + routeWith("expose-errors = \"yes\""), "route[0].expose-errors", "want true or false"},
		{"route unknown", appHead + okActor + routeWith("host = \"example.com\""), "route[0].host", "unknown key"},
		{"too many routes", appHead + okActor + manyRoutes(MaxRoutes) + "[[route]] #!\nmethod = \"GET\"\npath = \"/x\"\nactor = \"shop/a/1\"\n", "route[1024]", "1025 routes: at most 1024"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseApp("app.toml", []byte(c.text), h)
			wantOne(t, err, "app.toml", markedLine(c.text), c.key, c.msg)
		})
	}
}

// route is a [[route]] table with the line of the wrong field marked: the
// method's when it is not upper case or is CONNECT, else the path's when it
// is written with a leading "!" (not part of it), else the actor's.
func route(method, path, actor string) string {
	mark := [3]string{}
	switch {
	case method != strings.ToUpper(method) || method == "CONNECT":
		mark[0] = " #!"
	case strings.HasPrefix(path, "!"):
		path, mark[1] = path[1:], " #!"
	default:
		mark[2] = " #!"
	}
	return fmt.Sprintf("[[route]]\nmethod = %q%s\npath = %q%s\nactor = %q%s\n", method, mark[0], path, mark[1],
		actor, mark[2])
}

// routeWith is a good route with one more line, marked.
func routeWith(line string) string {
	return "[[route]]\nmethod = \"GET\"\npath = \"/a\"\nactor = \"shop/a/1\"\n" + line + " #!\n"
}

func manyActors(n, instances int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "[[actor]]\nid = \"shop/m%d/*\"\ninstances = %d\ncomponent = { store = \"a@1.0.0\" }\n", i, instances)
	}
	return b.String()
}

func manyRoutes(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "[[route]]\nmethod = \"GET\"\npath = \"/r%d\"\nactor = \"shop/a/1\"\n", i)
	}
	return b.String()
}

// TestAppErrorsAtOnce: every problem of a file comes in one error, in the
// order of the file, unknown keys and checks together.
func TestAppErrorsAtOnce(t *testing.T) {
	text := `[app]
name = "Shop"

[[actor]]
id = "shop/a"
component = { store = "a" }
capabilities = { logging = true }

[[actor]]
id = "shop/b/1"
component = { store = "b@1.0.0" }
instances = 0

[[route]]
method = "FETCH"
path = "/a"
actor = "shop/c/1"
`
	_, err := ParseApp("app.toml", []byte(text), nil)
	want := []string{
		"app.toml:2: app.name: ",
		"app.toml:5: actor[0].id: ",
		"app.toml:6: actor[0].component.store: ",
		"app.toml:7: actor[0].capabilities: an app file cannot grant",
		"app.toml:12: actor[1].instances: ",
		"app.toml:15: route[0].method: ",
		"app.toml:17: route[0].actor: ",
	}
	es := Errors(err)
	if len(es) != len(want) {
		t.Fatalf("%d problems, want %d:\n%v", len(es), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(es[i].Error(), w) {
			t.Errorf("problem %d: %q, want %q...", i, es[i].Error(), w)
		}
	}
}

// TestAppGood: a small app with the defaults, a route to one instance of
// several, and what IDs gives.
func TestAppGood(t *testing.T) {
	h, dir, _ := appHost(t)
	text := appHead + `
[[actor]]
id = "shop/w/*"
instances = 3
component = { path = "` + dir + `/ok.wasm" }

[[actor]]
id = "shop/one/main"
component = { oci = "localhost:5000/one:1.0.0" }

[[route]]
method = "GET"
path = "/w/{id}"
actor = "shop/w/2"

[[route]]
method = "DELETE"
path = "/"
actor = "shop/one/main"
headers = ["X-Request-Id"]
expose-errors = true

[[route]]
method = "PUT"
path = "/w/{$}"
actor = "shop/w/*"
headers = []
`
	a, err := ParseApp("app.toml", []byte(text), h)
	if err != nil {
		t.Fatal(err)
	}
	want := &App{File: "app.toml", Name: "shop", Storage: StorageLocal,
		Supervisor: Supervisor{Strategy: actor.OneForOne, MaxRestarts: DefaultMaxRestarts, Period: DefaultPeriod,
			BackoffMin: DefaultBackoffMin, BackoffMax: DefaultBackoffMax},
		Actors: []ActorDef{
			{ID: "shop/w/*", Instances: 3, Component: Source{Path: dir + "/ok.wasm"}},
			{ID: "shop/one/main", Instances: 1, Component: Source{OCI: "localhost:5000/one:1.0.0"}},
		},
		Routes: []Route{
			{Method: "GET", Path: "/w/{id}", Actor: "shop/w/2", Timeout: 10 * time.Second,
				Headers: []string{"content-type", "accept", "traceparent", "tracestate"}},
			{Method: "DELETE", Path: "/", Actor: "shop/one/main", Timeout: 10 * time.Second,
				Headers: []string{"x-request-id"}, ExposeErrors: true},
			{Method: "PUT", Path: "/w/{$}", Actor: "shop/w/*", Timeout: 10 * time.Second, Headers: []string{}},
		},
	}
	if !reflect.DeepEqual(a, want) {
		t.Fatalf("parsed as\n%+v\nwant\n%+v", a, want)
	}
	if ids := a.Actors[0].IDs(); !reflect.DeepEqual(ids, []actor.ID{"shop/w/1", "shop/w/2", "shop/w/3"}) {
		t.Fatalf("IDs %v", ids)
	}
	if ids := a.Actors[1].IDs(); !reflect.DeepEqual(ids, []actor.ID{"shop/one/main"}) {
		t.Fatalf("IDs %v", ids)
	}
	for _, d := range a.Actors {
		for _, id := range d.IDs() {
			if _, err := actor.ParseID(string(id)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The largest app allowed parses.
	if _, err := ParseApp("big", []byte(appHead+manyActors(4, MaxInstances)+manyRoutes(MaxRoutes)[:0]), h); err != nil {
		t.Fatalf("%d actors: %v", 4*MaxInstances, err)
	}
	// LoadApp reads a file.
	path := filepath.Join(t.TempDir(), "app.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := LoadApp(path, h)
	if err != nil || b.Digest() != a.Digest() || b.File != path {
		t.Fatalf("LoadApp: %+v, %v", b, err)
	}
}

// TestAppPlacementAndDurable: [actor.placement] and durable are read, and
// change the digest only when set (apps written before keep theirs).
func TestAppPlacementAndDurable(t *testing.T) {
	h, dir, _ := appHost(t)
	base := appHead + "[[actor]]\nid = \"shop/w/*\"\ninstances = 4\ncomponent = { path = \"" + dir + "/ok.wasm\" }\n"
	plain, err := ParseApp("app.toml", []byte(base), h)
	if err != nil {
		t.Fatal(err)
	}
	a, err := ParseApp("app.toml", []byte(base+"durable = true\n[actor.placement]\nlabels = { zone = \"eu-1\" }\nmax-per-host = 2\n"), h)
	if err != nil {
		t.Fatal(err)
	}
	d := a.Actors[0]
	if !d.Durable || d.Placement.MaxPerHost != 2 || len(d.Placement.Labels) != 1 || d.Placement.Labels["zone"] != "eu-1" {
		t.Fatalf("%+v", d)
	}
	if plain.Actors[0].Durable || plain.Actors[0].Placement.MaxPerHost != 0 || plain.Actors[0].Placement.Labels != nil {
		t.Fatalf("unset: %+v", plain.Actors[0])
	}
	if a.Digest() == plain.Digest() {
		t.Error("placement and durable do not change the digest")
	}
	if strings.Contains(string(plain.Canonical()), "placement") || strings.Contains(string(plain.Canonical()), "durable") {
		t.Errorf("an app without them has them in its canonical form (its digest changed): %s", plain.Canonical())
	}
	if plain.Storage != StorageLocal {
		t.Errorf("default storage %q", plain.Storage)
	}
	lat, err := ParseApp("app.toml", []byte(strings.Replace(base, "[app]\n", "[app]\nstorage = \"lattice\"\n", 1)), h)
	if err != nil || lat.Storage != StorageLattice || lat.Digest() == plain.Digest() {
		t.Errorf("storage = lattice: %+v, %v", lat, err)
	}
	loc, err := ParseApp("app.toml", []byte(strings.Replace(base, "[app]\n", "[app]\nstorage = \"local\"\n", 1)), h)
	if err != nil || loc.Digest() != plain.Digest() {
		t.Errorf("storage = local written out changes the digest: %v", err)
	}
	onlyDurable, err := ParseApp("app.toml", []byte(base+"durable = true\n"), h)
	if err != nil || onlyDurable.Digest() == plain.Digest() {
		t.Errorf("durable alone does not change the digest: %v", err)
	}
}
