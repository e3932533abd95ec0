package config

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

// markedLine is the line of text holding the marker "#!" (0: none).
func markedLine(text string) int {
	for i, l := range strings.Split(text, "\n") {
		if strings.Contains(l, "#!") {
			return i + 1
		}
	}
	return 0
}

// wantOne checks that err is exactly one problem, at line with key, whose
// message contains msg, and that it is an *Error matching ErrInvalid.
func wantOne(t *testing.T, err error, file string, line int, key, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s:%d: %s: ...%s...", file, line, key, msg)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("%v does not match ErrInvalid", err)
	}
	es := Errors(err)
	if len(es) != 1 {
		t.Fatalf("%d problems, want 1:\n%v", len(es), err)
	}
	e := es[0]
	if e.File != file || e.Line != line || e.Key != key || !strings.Contains(e.Msg, msg) {
		t.Fatalf("got %q (line %d, key %q), want %s:%d: %s: ...%s...", e.Error(), e.Line, e.Key, file, line, key, msg)
	}
}

func TestDefaults(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", dir)
	data := filepath.Join(dir, "airssys-wasm")
	want := &Host{
		DataDir:       data,
		Policy:        filepath.Join(data, "policy.toml"),
		PolicyDefault: true,
		LogLevel:      slog.LevelInfo,
		ShutdownDrain: 30 * time.Second,
		Admin:         Admin{Socket: filepath.Join(data, "admin.sock")},
		Gateway: Gateway{Listen: "127.0.0.1:8080", MaxBodyBytes: 1 << 20, MaxHeaderBytes: 64 << 10,
			ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second,
			IdleTimeout: 120 * time.Second, MaxConnections: 1024},
		Telemetry: Telemetry{HandleTimes: true, Sample: 0.01},
		Lattice:   Lattice{Name: "default", Host: defaultHostName()},
	}
	if d := Defaults(); !reflect.DeepEqual(d, want) {
		t.Fatalf("Defaults() = %+v\nwant %+v", d, want)
	}
	h, err := Load("")
	if err != nil || !reflect.DeepEqual(h, want) {
		t.Fatalf("Load(\"\") = %+v, %v", h, err)
	}
	if h.CatalogDir() != filepath.Join(data, "catalog") {
		t.Fatalf("catalog %s", h.CatalogDir())
	}
	if err := Defaults().Validate(); err != nil {
		t.Fatal(err)
	}
	// An empty file, or one of comments, is the defaults.
	for _, text := range []string{"", "# nothing\n\n"} {
		h, err := Parse("host.toml", []byte(text))
		want.File = "host.toml"
		if err != nil || !reflect.DeepEqual(h, want) {
			t.Fatalf("%q parsed as %+v, %v", text, h, err)
		}
	}
	// What lives in the data directory follows it.
	h, err = Parse("host.toml", []byte("[host]\ndata-dir = \"/srv/host\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if h.Policy != "/srv/host/policy.toml" || !h.PolicyDefault || h.Admin.Socket != "/srv/host/admin.sock" {
		t.Fatalf("data-dir /srv/host: policy %s (default %v), socket %s", h.Policy, h.PolicyDefault, h.Admin.Socket)
	}
	// A named policy is not the default one.
	h, err = Parse("host.toml", []byte("[host]\npolicy = \"/etc/p.toml\"\n"))
	if err != nil || h.Policy != "/etc/p.toml" || h.PolicyDefault {
		t.Fatalf("named policy: %+v, %v", h, err)
	}
}

func TestDefaultDataDir(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_DATA_HOME", "/xdg/data")
	if d := DefaultDataDir(); d != "/xdg/data/airssys-wasm" {
		t.Fatalf("with XDG_DATA_HOME: %s", d)
	}
	if runtime.GOOS != "linux" {
		t.Skip("the home fallback is checked on Linux")
	}
	t.Setenv("XDG_DATA_HOME", "relative/data") // not absolute: ignored, as the XDG spec says
	if d := DefaultDataDir(); d != filepath.Join(home, ".local/share/airssys-wasm") {
		t.Fatalf("with a relative XDG_DATA_HOME: %s", d)
	}
	t.Setenv("XDG_DATA_HOME", "")
	t.Setenv("HOME", "")
	if d := DefaultDataDir(); d != "" {
		t.Fatalf("with no home: %q", d)
	}
	h, err := Load("")
	wantOne(t, err, "host config", 0, "host.data-dir", "no default")
	if h == nil || h.DataDir != "" {
		t.Fatalf("Load returned %+v", h)
	}
	// A data directory in the file does without a home.
	if _, err := Parse("host.toml", []byte("[host]\ndata-dir = \"/var/lib/x\"\n")); err != nil {
		t.Fatal(err)
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "host.toml")
	if err := os.WriteFile(path, []byte("[host]\ndata-dir = \"/var/lib/x\"\n[gateway]\nmax-body = \"x\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	wantOne(t, err, path, 4, "gateway.max-body", `"x" is not a size`)
	if err := os.WriteFile(path, []byte("[log]\nlevel = \"debug\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h, err := Load(path)
	if err != nil || h.LogLevel != slog.LevelDebug || h.File != path {
		t.Fatalf("%+v, %v", h, err)
	}
	if _, err := Load(filepath.Join(dir, "none.toml")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a missing file: %v", err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("a directory: %v", err)
	}
	big := filepath.Join(dir, "big.toml")
	if err := os.WriteFile(big, []byte(strings.Repeat("# \n", MaxFile/3+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("a file over MaxFile: %v", err)
	}
}

// TestHostErrors: every check of host.toml, each alone, reported with its
// line (the one marked #!, 0 for none) and key.
func TestHostErrors(t *testing.T) {
	long := "/" + strings.Repeat("d", 120)
	for _, c := range []struct{ name, text, key, msg string }{
		{"syntax", "[host #!\n", "", "expected ']'"},
		{"unknown key", "[gateway]\nport = 80 #!\n", "gateway.port", "unknown key"},
		{"unknown table", "[server] #!\nport = 80\n", "server", "unknown key"},
		{"duplicate key", "[log]\nlevel = \"info\"\nlevel = \"debug\" #!\n", "log.level", "already defined"},
		{"table as value", "host = 5 #!\n", "host", "want a table"},
		{"wrong type", "[host]\ndata-dir = 5 #!\n", "host.data-dir", "wrong type: an integer, want a string"},
		{"relative data-dir", "[host]\ndata-dir = \"data\" #!\n", "host.data-dir", "not an absolute path"},
		{"relative policy", "[host]\npolicy = \"policy.toml\" #!\n", "host.policy", "not an absolute path"},
		{"bad drain", "[host]\nshutdown-drain = \"soon\" #!\n", "host.shutdown-drain", "not a duration"},
		{"zero drain", "[host]\nshutdown-drain = \"0s\" #!\n", "host.shutdown-drain", "must be positive"},
		{"allow-paths not array", "[apps]\nallow-paths = \"/srv\" #!\n", "apps.allow-paths", "want an array of strings"},
		{"allow-paths element", "[apps]\nallow-paths = [\"/srv\", 1] #!\n", "apps.allow-paths", "element 1: wrong type"},
		{"relative allow-path", "[apps]\nallow-paths = [\"apps\"] #!\n", "apps.allow-paths", "not an absolute path"},
		{"allow everything", "[apps]\nallow-paths = [\"/\"] #!\n", "apps.allow-paths", "would allow every path"},
		{"log level", "[log]\nlevel = \"loud\" #!\n", "log.level", "not debug, info, warn or error"},
		{"relative socket", "[admin]\nsocket = \"admin.sock\" #!\n", "admin.socket", "not an absolute path"},
		{"long socket", "[admin]\nsocket = \"" + long + "\" #!\n", "admin.socket", "longest unix socket path"},
		{"long default socket", "[host]\ndata-dir = \"" + long + "\" #!\n", "admin.socket", "set a shorter admin.socket"},
		{"inline token", "[admin]\ntoken = \"s3cret\" #!\n", "admin.token", "never written in host.toml"},
		{"bad listen", "[admin]\nlisten = \"7443\" #!\ntoken-file = \"/t\"\n", "admin.listen", "not host:port"},
		{"bad port", "[admin]\nlisten = \"127.0.0.1:99999\" #!\ntoken-file = \"/t\"\n", "admin.listen", "not a port number"},
		{"bad host", "[admin]\nlisten = \"bad_host!:7443\" #!\ntoken-file = \"/t\"\n", "admin.listen", "not a host name"},
		{"listen without token", "[admin]\nlisten = \"127.0.0.1:7443\" #!\n", "admin.listen", "set admin.token-file"},
		{"public without TLS", "[admin]\nlisten = \"0.0.0.0:7443\" #!\ntoken-file = \"/t\"\n", "admin.listen",
			"not a loopback address: the admin API needs TLS"},
		{"named host without TLS", "[admin]\nlisten = \"admin.example.com:7443\" #!\ntoken-file = \"/t\"\n", "admin.listen",
			"needs TLS"},
		{"cert without key", "[admin] #!\nlisten = \"[::1]:7443\"\ntoken-file = \"/t\"\ntls-cert = \"/c\"\n", "admin",
			"set both or neither"},
		{"relative token file", "[admin]\nlisten = \"localhost:7443\"\ntoken-file = \"t\" #!\n", "admin.token-file",
			"not an absolute path"},
		{"token without listen", "[admin]\ntoken-file = \"/t\" #!\n", "admin.token-file", "set admin.listen too"},
		{"TLS without listen", "[admin]\ntls-key = \"/k\" #!\n", "admin.tls-key", "set admin.listen too"},
		{"relative data-dir alone", "[host]\ndata-dir = \"./data\" #!\n[admin]\nlisten = \"127.0.0.1:1\"\ntoken-file = \"/t\"\n",
			"host.data-dir", "not an absolute path"},
		{"bad gateway listen", "[gateway]\nlisten = \"localhost\" #!\n", "gateway.listen", "not host:port"},
		{"gateway on admin", "[admin]\nlisten = \"127.0.0.1:7443\"\ntoken-file = \"/t\"\n[gateway]\nlisten = \"127.0.0.1:7443\" #!\n",
			"gateway.listen", "is also admin.listen"},
		{"max-body", "[gateway]\nmax-body = \"lots\" #!\n", "gateway.max-body", `"lots" is not a size`},
		{"zero max-body", "[gateway]\nmax-body = 0 #!\n", "gateway.max-body", "must be positive"},
		{"max-header-bytes", "[gateway]\nmax-header-bytes = \"2MiB\" #!\n", "gateway.max-header-bytes", "not between 1 and"},
		{"read-header-timeout", "[gateway]\nread-header-timeout = \"-1s\" #!\n", "gateway.read-header-timeout", "must be positive"},
		{"read-timeout", "[gateway]\nread-timeout = true #!\n", "gateway.read-timeout", "wrong type: a boolean"},
		{"write-timeout", "[gateway]\nwrite-timeout = 0 #!\n", "gateway.write-timeout", "must be positive"},
		{"idle-timeout", "[gateway]\nidle-timeout = \"1 minute\" #!\n", "gateway.idle-timeout", "not a duration"},
		{"max-connections", "[gateway]\nmax-connections = 0 #!\n", "gateway.max-connections", "0 is not between 1 and"},
		{"public plain HTTP", "[registry]\nplain-http = [\"registry.example.com\"] #!\n", "registry.plain-http", "not a loopback registry"},
		{"plain HTTP port", "[registry]\nplain-http = [\"localhost:0\"] #!\n", "registry.plain-http", "not a port number"},
		{"relative credentials", "[registry]\ncredentials = \"config.json\" #!\n", "registry.credentials", "not an absolute path"},
		{"inline password", "[registry]\npassword = \"hunter2\" #!\n", "registry.password", "never written in host.toml"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("host.toml", []byte(c.text))
			wantOne(t, err, "host.toml", markedLine(c.text), c.key, c.msg)
		})
	}
}

// TestHostErrorsAtOnce: every problem of a file comes in one error, in the
// order of the file.
func TestHostErrorsAtOnce(t *testing.T) {
	text := `[host]
data-dir = "data"
shutdown-drain = "soon"
[gateway]
max-body = 0
colour = "blue"
[log]
level = 3
`
	_, err := Parse("host.toml", []byte(text))
	want := []string{
		"host.toml:2: host.data-dir: ",
		"host.toml:3: host.shutdown-drain: ",
		"host.toml:5: gateway.max-body: ",
		"host.toml:6: gateway.colour: unknown key",
		"host.toml:8: log.level: wrong type",
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

// TestValidate: a Host built in Go is checked as a file is, keys named.
func TestValidate(t *testing.T) {
	h := &Host{DataDir: "/var/lib/x", Policy: "/var/lib/x/policy.toml", LogLevel: slog.Level(3),
		Admin:   Admin{Socket: "/var/lib/x/admin.sock", Listen: "0.0.0.0:1", TokenFile: "/t"},
		Gateway: Defaults().Gateway, Lattice: Defaults().Lattice}
	h.Gateway.MaxConnections = -1
	err := h.Validate()
	var keys []string
	for _, e := range Errors(err) {
		keys = append(keys, e.Key)
		if e.File != "host config" || e.Line != 0 {
			t.Errorf("%v: file %q line %d", e, e.File, e.Line)
		}
	}
	if strings.Join(keys, " ") != "log.level host.shutdown-drain admin.listen gateway.max-connections" {
		t.Fatalf("keys %v:\n%v", keys, err)
	}
}

func TestCheckPath(t *testing.T) {
	root := t.TempDir()
	apps := filepath.Join(root, "apps")
	other := filepath.Join(root, "other")
	for _, d := range []string{apps, other, filepath.Join(apps, "sub")} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p string) {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(apps, "sub", "a.wasm"))
	write(filepath.Join(other, "b.wasm"))
	link := func(target, name string) {
		if err := os.Symlink(target, name); err != nil {
			t.Fatal(err)
		}
	}
	link(filepath.Join(other, "b.wasm"), filepath.Join(apps, "escape.wasm"))
	link(filepath.Join(apps, "sub", "a.wasm"), filepath.Join(apps, "inside.wasm"))
	link(filepath.Join(apps, "sub", "a.wasm"), filepath.Join(other, "in.wasm"))
	link(apps, filepath.Join(root, "apps-link")) // an allowed directory reached through a link

	h := &Host{AllowPaths: []string{apps, filepath.Join(root, "apps-link")}}
	for _, c := range []struct{ path, want, err string }{
		{filepath.Join(apps, "sub", "a.wasm"), filepath.Join(apps, "sub", "a.wasm"), ""},
		{filepath.Join(apps, "inside.wasm"), filepath.Join(apps, "sub", "a.wasm"), ""},
		{filepath.Join(root, "apps-link", "sub", "a.wasm"), filepath.Join(apps, "sub", "a.wasm"), ""},
		{filepath.Join(apps, "escape.wasm"), "", "not under [apps] allow-paths"},
		{filepath.Join(other, "b.wasm"), "", "not under [apps] allow-paths"},
		{filepath.Join(other, "in.wasm"), "", "not under [apps] allow-paths"}, // as written, outside
		{apps + "x/a.wasm", "", "not under"},                                  // a longer name, not a subdirectory
		{filepath.Join(apps, "none.wasm"), "", "no such file"},
		{filepath.Join(apps, "sub"), "", "not a regular file"},
		{"apps/a.wasm", "", "not a clean absolute path"},
		{apps + "/sub/../sub/a.wasm", "", "not a clean absolute path"},
	} {
		got, err := h.CheckPath(c.path)
		if c.err == "" && (err != nil || got != c.want) {
			t.Errorf("CheckPath(%s) = %q, %v; want %q", c.path, got, err, c.want)
		}
		if c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("CheckPath(%s) = %q, %v; want an error with %q", c.path, got, err, c.err)
		}
	}
	if _, err := (&Host{}).CheckPath(filepath.Join(apps, "sub", "a.wasm")); err == nil ||
		!strings.Contains(err.Error(), "allows no paths") {
		t.Fatalf("no allow-paths: %v", err)
	}
}

func TestTelemetryChecks(t *testing.T) {
	_, err := Parse("host.toml", []byte("[host]\ndata-dir = \"/d\"\n[telemetry]\nsample = 1.5\notlp-endpoint = \"ftp://x\"\nhandle-times = \"yes\"\n"))
	for _, want := range []string{"host.toml:4: telemetry.sample: 1.5 is not between 0 and 1",
		"host.toml:5: telemetry.otlp-endpoint:", "host.toml:6: telemetry.handle-times: wrong type"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("no %q in %v", want, err)
		}
	}
	h, err := Parse("host.toml", []byte("[host]\ndata-dir = \"/d\"\n[telemetry]\nsample = 1\nhandle-times = false\n"))
	if err != nil || h.Telemetry.Sample != 1 || h.Telemetry.HandleTimes {
		t.Fatalf("%+v %v", h.Telemetry, err)
	}
}

// TestLatticeConfig: the [lattice] section's checks: names, the mode,
// listeners and routes off loopback only with TLS, a cluster needs a name
// and a route secret, routes need a cluster listener, external servers
// exclude the embedded server's keys, TLS files exist and come in
// pieces that fit.
func TestLatticeConfig(t *testing.T) {
	h, err := Parse("h.toml", []byte("[lattice]\nname = \"edge\"\nhost = \"n1\"\nmode = \"acknowledged\"\nkey-file = \"/k/n1.key\"\n"+
		"[lattice.peers]\nn2 = \""+testPeerKey+"\"\n"))
	if err != nil || h.Lattice.Name != "edge" || h.Lattice.Host != "n1" || !h.Lattice.Acknowledged ||
		h.KeyPath() != "/k/n1.key" || len(h.Lattice.Peers) != 1 || h.Lattice.Peers["n2"] != testPeerKey {
		t.Fatalf("%+v, %v", h.Lattice, err)
	}
	if d := Defaults(); d.KeyPath() != filepath.Join(d.DataDir, "lattice.key") {
		t.Errorf("default key path %s", d.KeyPath())
	}
	// Files the keys name (their content is read when the host starts).
	dir := t.TempDir()
	file := filepath.Join(dir, "f.pem")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	secret := "\ncluster-secret-file = \"" + file + "\""
	tls := "\ntls-cert = \"" + file + "\"\ntls-key = \"" + file + "\""
	for _, good := range []string{
		"listen = \"0.0.0.0:4222\"\ncluster-listen = \"10.0.0.1:6222\"\ncluster-name = \"c\"\nroutes = [\"10.0.0.2:6222\"]" +
			secret + tls + "\ntls-ca = \"" + file + "\"",
		"servers = [\"tls://nats.example:4222\", \"nats://127.0.0.1\"]\ncredentials = \"" + file + "\"\ntls-ca = \"" + file + "\"",
		"servers = [\"nats://127.0.0.1:4222\"]",
	} {
		h, err := Parse("h.toml", []byte("[lattice]\n"+good+"\n"))
		if err != nil {
			t.Errorf("%q: %v", good, err)
		} else if !h.Lattice.Shared() {
			t.Errorf("%q: not shared", good)
		}
	}
	if h, err := Parse("h.toml", []byte("[lattice]\nservers = [\"tls://n:4222\"]\ncredentials = \""+file+"\"\ntls-ca = \""+file+"\"\n"+tls[1:]+"\n")); err != nil ||
		h.Lattice.Credentials != file || h.Lattice.TLSCA != file || h.Lattice.TLSCert != file || h.Lattice.TLSKey != file ||
		len(h.Lattice.Servers) != 1 {
		t.Fatalf("%+v, %v", h.Lattice, err)
	}
	for _, c := range []struct{ toml, key string }{
		{"name = \"Bad Name\"", "lattice.name"},
		{"host = \"a.b\"", "lattice.host"},
		{"mode = \"maybe\"", "lattice.mode"},
		{"listen = \"0.0.0.0:4222\"", "lattice.listen"},
		{"cluster-listen = \"10.0.0.1:6222\"\ncluster-name = \"c\"" + secret, "lattice.cluster-listen"},
		{"cluster-listen = \"127.0.0.1:6222\"" + secret, "lattice.cluster-name"},
		{"routes = [\"127.0.0.1:6223\"]", "lattice.routes"},
		{"cluster-listen = \"127.0.0.1:6222\"\ncluster-name = \"c\"\nroutes = [\"10.1.1.1:6222\"]" + secret, "lattice.routes"},
		{"cluster-secret-file = 7", "lattice.cluster-secret-file"},
		{"cluster-listen = \"127.0.0.1:6222\"\ncluster-name = \"c\"\ncluster-secret-file = \"" + dir + "/none\"", "lattice.cluster-secret-file"},
		{"cluster-secret-file = \"" + file + "\"", "lattice.cluster-secret-file"},
		{"listen = \"127.0.0.1:4222\"\ntls-cert = \"" + file + "\"\ntls-key = \"" + file + "\"", "lattice.tls-ca"},
		{"listen = \"0.0.0.0:4222\"\ntls-cert = \"" + file + "\"\ntls-ca = \"" + file + "\"", "lattice.tls-key"},
		{"tls-key = \"" + file + "\"\ntls-ca = \"" + file + "\"", "lattice.tls-cert"},
		{"tls-ca = \"" + file + "\"", "lattice.tls-cert"},
		{"listen = \"127.0.0.1:4222\"" + tls + "\ntls-ca = \"" + dir + "/missing.pem\"", "lattice.tls-ca"},
		{"tls-cert = [\"a\"]", "lattice.tls-cert"},
		{"servers = [\"nats://10.0.0.1:4222\"]", "lattice.servers"},
		{"servers = \"nats://127.0.0.1:4222\"", "lattice.servers"},
		{"servers = [\"http://127.0.0.1:4222\"]", "lattice.servers"},
		{"servers = [\"nats://u:p@127.0.0.1:4222\"]", "lattice.servers"},
		{"servers = [\"nats://127.0.0.1:4222\"]\nlisten = \"127.0.0.1:4223\"", "lattice.listen"},
		{"servers = [\"nats://127.0.0.1:4222\"]\nroutes = [\"127.0.0.1:6222\"]", "lattice.routes"},
		{"credentials = \"" + file + "\"", "lattice.credentials"},
		{"servers = [\"nats://127.0.0.1:4222\"]\ncredentials = \"" + dir + "/none.creds\"", "lattice.credentials"},
		{"peers = [\"n2\"]", "lattice.peers"},
		{"labels = [\"a\"]", "lattice.labels"},
		{"[lattice.labels]\nzone = 1", "lattice.labels.zone"},
		{"[lattice.labels]\n\"a b\" = \"x\"", "lattice.labels.a b"},
		{"[lattice.peers]\nn2 = \"not a key\"", "lattice.peers.n2"},
		{"[lattice.peers]\nn2 = 7", "lattice.peers.n2"},
		{"host = \"n1\"\n[lattice.peers]\nn1 = \"" + testPeerKey + "\"", "lattice.peers.n1"},
		{"[lattice.peers]\n\"a.b\" = \"" + testPeerKey + "\"", "lattice.peers.a.b"},
		{"[lattice.peers]\nn2 = \"" + strings.Replace(testPeerKey, "U", "N", 1) + "\"", "lattice.peers.n2"},
	} {
		_, err := Parse("h.toml", []byte("[lattice]\n"+c.toml+"\n"))
		es := Errors(err)
		if len(es) != 1 || es[0].Key != c.key {
			t.Errorf("%q: %v, want one problem at %s", c.toml, err, c.key)
		}
	}
}

// testPeerKey is a valid nkey user public key.
const testPeerKey = "UA4XMDRWEFULKIWNKK6E7YI4A5B4P3SHOQGUFXBU77LBO22KPSG2TGCC"
