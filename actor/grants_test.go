package actor

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/security"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Environment variables and WASI directories reach an actor only when
// granted. Checked on the engine.InstanceConfig the actor is instantiated
// with (what applyGrants makes of its Spec): no actor fixture uses WASI, so
// a guest cannot look for itself.
func TestGrantsFilterEnvAndDirs(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"granted", "secret"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	policy := `[trust.unknown]
env = ["*"]
filesystem = [{ host = "` + root + `/**", access = "read-write" }]
`
	manifest := `[component]
name = "probe"
version = "1.0.0"
[resources]
memory = "4MiB"
[capabilities]
env = ["LANG"]
[[capabilities.filesystem]]
host = "` + filepath.Join(root, "granted") + `"
guest = "/data"
`
	p, err := security.ParsePolicy("policy.toml", []byte(policy))
	if err != nil {
		t.Fatal(err)
	}
	adm, err := security.Admit(p, []byte("component"), []byte(manifest), "Component.toml", nil)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	audit := &lockedBuffer{}
	s := NewSystem(eng, Options{Audit: security.NewAudit(audit)})
	spec := Spec{ID: "test/probe/1", Grants: adm.Grants, Limits: engine.InstanceConfig{WASI: engine.WASI{
		Env: map[string]string{"LANG": "C", "SECRET": "hunter2"},
		Dirs: []engine.Dir{{HostPath: filepath.Join(root, "secret"), GuestPath: "/secret"},
			{HostPath: root, GuestPath: "/root"}},
	}}}
	got, err := s.applyGrants(spec)
	if err != nil {
		t.Fatal(err)
	}
	w := got.Limits.WASI
	if len(w.Env) != 1 || w.Env["LANG"] != "C" {
		t.Errorf("env %v, want only LANG", w.Env)
	}
	if len(w.Dirs) != 1 || w.Dirs[0].GuestPath != "/data" || !w.Dirs[0].ReadOnly {
		t.Errorf("dirs %+v, want only /data, read-only", w.Dirs)
	}
	if out := audit.String(); !strings.Contains(out, `"target":"SECRET"`) {
		t.Errorf("the refused variable was not audited:\n%s", out)
	}
	// The caller's Spec is not changed behind its back.
	if len(spec.Limits.WASI.Env) != 2 || len(spec.Limits.WASI.Dirs) != 2 {
		t.Errorf("the caller's spec changed: %+v", spec.Limits.WASI)
	}
}
