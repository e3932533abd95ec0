package bench

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/host"
	"github.com/airsstack/airssys-wasm-go/host/admin"
	"github.com/airsstack/airssys-wasm-go/host/config"
	"github.com/airsstack/airssys-wasm-go/security"
)

// hostBench is a data directory whose policy trusts key.
type hostBench struct {
	dir string
	key security.PrivateKey
	cfg *config.Host
}

func newHostBench(b *testing.B) *hostBench {
	b.Helper()
	_, priv, err := security.GenerateKey()
	if err != nil {
		b.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "awb")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	pol := filepath.Join(dir, "policy.toml")
	os.WriteFile(pol, []byte(fmt.Sprintf("[policy]\nrequire-signatures = true\n[trust.trusted]\nlogging = true\nconfig = [\"*\"]\n"+
		"[[publisher]]\nname = \"bench\"\nkey = %q\n", priv.Public().String())), 0o600)
	hb := &hostBench{dir: dir, key: priv}
	cfg, err := config.Parse("host.toml", []byte(fmt.Sprintf("[host]\ndata-dir = %q\npolicy = %q\n[gateway]\nlisten = \"127.0.0.1:0\"\n",
		filepath.Join(dir, "data"), pol)))
	if err != nil {
		b.Fatal(err)
	}
	hb.cfg = cfg
	return hb
}

func (hb *hostBench) open(b *testing.B) *host.Service {
	b.Helper()
	s, err := host.Open(context.Background(), hb.cfg, host.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func (hb *hostBench) install(b *testing.B, be admin.Backend, wasm, name, memory string) {
	b.Helper()
	w := fixture(b, wasm)
	m := []byte(fmt.Sprintf("[component]\nname = %q\nversion = \"1.0.0\"\n[resources]\nmemory = %q\n"+
		"[capabilities]\nlogging = true\nconfig = [\"role\"]\n", name, memory))
	sig := security.Sign(hb.key, w, m)
	if _, err := be.Install(context.Background(), admin.InstallRequest{Wasm: w, Manifest: m, Signature: sig.Marshal()}); err != nil {
		b.Fatal(err)
	}
}

// appOf is an app with n instances of component per [[actor]] of at most
// 1,000 (the app file's limit is 1,024).
func appOf(name, component string, n int, config string) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "[app]\nname = %q\n", name)
	for i := 0; n > 0; i++ {
		k := min(n, 1000)
		fmt.Fprintf(&sb, "[[actor]]\nid = \"%s/a%d/*\"\ncomponent = { store = \"%s@1.0.0\" }\ninstances = %d\n%s",
			name, i, component, k, config)
		n -= k
	}
	return sb.String()
}

// startToReady opens the data directory, restores its apps and opens the
// listeners: a host's start, timed until it is ready. stop ends it.
func (hb *hostBench) startToReady(b *testing.B) (took time.Duration, s *host.Service, stop func()) {
	b.Helper()
	start := time.Now()
	s = hb.open(b)
	if _, err := s.Restore(context.Background()); err != nil {
		b.Fatal(err)
	}
	ready := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, func(host.Addrs) { close(ready) }) }()
	select {
	case <-ready:
	case err := <-done:
		b.Fatal(err)
	}
	took = time.Since(start)
	return took, s, func() {
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHostStart: a host's start to ready (open the data directory,
// restore its apps, listen) from a warm compile cache, with 1,000 C actors
// (actor2_echo) and with 20 JavaScript actors (actor2_js,
// componentize-js). Targets: 1,000 C actors in at most 200 ms; at most
// 5 ms per JavaScript actor.
func BenchmarkHostStart(b *testing.B) {
	cases := []struct {
		name, wasm, memory, config string
		n                          int
	}{
		{"c-actors=1000", "actor2_echo.wasm", "16MiB", "", 1000},
		{"js-actors=20", "actor2_js.wasm", "256MiB", "[actor.config]\nrole = \"json\"\n", 20},
		{"js-actors=100", "actor2_js.wasm", "256MiB", "[actor.config]\nrole = \"json\"\n", 100},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			hb := newHostBench(b)
			s := hb.open(b)
			hb.install(b, s, c.wasm, "comp", c.memory)
			if _, err := s.Deploy(context.Background(), "app.toml", []byte(appOf("bench", "comp", c.n, c.config)), nil); err != nil {
				b.Fatal(err)
			}
			s.Shutdown(context.Background())
			var total time.Duration
			for i := 0; i < b.N; i++ {
				took, s, stop := hb.startToReady(b)
				if st, _ := s.Status(context.Background()); st.Actors != c.n {
					b.Fatalf("%d actors running, want %d", st.Actors, c.n)
				}
				total += took
				stop()
			}
			per := total / time.Duration(b.N)
			b.ReportMetric(float64(per.Microseconds())/1000, "ms-to-ready")
			b.ReportMetric(float64(per.Microseconds())/1000/float64(c.n), "ms/actor")
		})
	}
}

// BenchmarkAdminListActors: GET /v1/actors over the admin API's unix
// socket (the CLI's ps) with 10,000 actors. Target: at most 100 ms.
func BenchmarkAdminListActors(b *testing.B) {
	hb := newHostBench(b)
	s := hb.open(b)
	hb.install(b, s, "actor2_echo.wasm", "comp", "16MiB")
	for i, n := range []int{4000, 4000, 2000} { // an app has at most 4,096 actors
		if _, err := s.Deploy(context.Background(), "app.toml", []byte(appOf(fmt.Sprintf("bench%d", i), "comp", n, "")), nil); err != nil {
			b.Fatal(err)
		}
	}
	s.Shutdown(context.Background())
	_, _, stop := hb.startToReady(b)
	defer stop()
	c, err := admin.Dial("unix:"+hb.cfg.Admin.Socket, admin.ClientOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		as, err := c.Actors(context.Background())
		if err != nil || len(as) != 10_000 {
			b.Fatalf("%d actors, %v", len(as), err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/list")
}

// BenchmarkRecoveryAfterKill9: `airssys-wasm serve` with 1,000 C actors
// is killed with SIGKILL and started again; timed from the start of the
// new process to its ready line (apps restored, listeners open). Target:
// at most 2 s.
func BenchmarkRecoveryAfterKill9(b *testing.B) {
	hb := newHostBench(b)
	bin := filepath.Join(hb.dir, "airssys-wasm")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/airsstack/airssys-wasm-go/cmd/airssys-wasm").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	cfgFile := filepath.Join(hb.dir, "host.toml")
	os.WriteFile(cfgFile, []byte(fmt.Sprintf("[host]\ndata-dir = %q\npolicy = %q\n[gateway]\nlisten = \"127.0.0.1:0\"\n",
		hb.cfg.DataDir, hb.cfg.Policy)), 0o600)
	start := func() (*exec.Cmd, time.Duration) {
		t0 := time.Now()
		cmd := exec.Command(bin, "serve", "--config", cfgFile)
		errp, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(errp)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "airssys-wasm serve: admin ") {
				took := time.Since(t0)
				go func() {
					for sc.Scan() {
					}
				}()
				return cmd, took
			}
		}
		b.Fatalf("serve never got ready: %v", cmd.Wait())
		return nil, 0
	}
	cmd, _ := start()
	c, err := admin.Dial("unix:"+hb.cfg.Admin.Socket, admin.ClientOptions{})
	if err != nil {
		b.Fatal(err)
	}
	hb.install(b, c, "actor2_echo.wasm", "comp", "16MiB")
	if _, err := c.Deploy(context.Background(), "app.toml", []byte(appOf("bench", "comp", 1000, "")), nil); err != nil {
		b.Fatal(err)
	}
	var total time.Duration
	for i := 0; i < b.N; i++ {
		cmd.Process.Kill()
		cmd.Wait()
		var took time.Duration
		cmd, took = start()
		total += took
		if st, err := c.Status(context.Background()); err != nil || st.Actors != 1000 || len(st.Restored) != 1 {
			b.Fatalf("after kill -9: %+v %v", st, err)
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	b.ReportMetric(float64((total/time.Duration(b.N)).Microseconds())/1000, "ms-to-ready")
}
