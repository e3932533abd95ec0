// Command service is the host-as-a-service demo (`make demo`): it runs the
// airssys-wasm binary the way an operator would, on a fresh data directory,
// and an HTTP client against it:
//
//  1. keygen, a policy that trusts that key, sign three components;
//  2. serve (a child process), component install, deploy an app: an HTTP
//     JSON API of counters kept in key-value storage (C actors, two
//     instances) and an audit actor that hears every change by topic;
//  3. real HTTP requests through the gateway, ps;
//  4. a live update to counter 1.1.0 while requests flow: none fails, and
//     the answers move from version 1.0.0 to 1.1.0 with the counts intact;
//  5. logs and metrics, then SIGTERM: the host drains and stops.
//
// Usage: go run ./examples/service -bin ./airssys-wasm (make demo builds it).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	bin := flag.String("bin", "./airssys-wasm", "the airssys-wasm binary")
	fixtures := flag.String("testdata", "testdata", "the directory of the bundled components")
	keep := flag.Bool("keep", false, "keep the demo's directory")
	flag.Parse()
	if err := run(*bin, *fixtures, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "service demo:", err)
		os.Exit(1)
	}
}

type demo struct {
	bin, dir, host string
	gateway        string
}

func step(format string, args ...any) { fmt.Printf("\n== "+format+"\n", args...) }

// cli runs the binary, showing the command and its output.
func (d *demo) cli(args ...string) (string, error) {
	shown := append([]string{"airssys-wasm"}, args...)
	fmt.Printf("$ %s\n", strings.Join(shown, " "))
	if d.host != "" && len(args) > 0 && !slices(args[0], "keygen", "sign", "serve") {
		args = append(args, "--host", d.host)
	}
	cmd := exec.Command(d.bin, args...)
	cmd.Dir = d.dir
	out, err := cmd.CombinedOutput()
	fmt.Print(indent(string(out)))
	if err != nil {
		return string(out), fmt.Errorf("airssys-wasm %s: %w", args[0], err)
	}
	return string(out), nil
}

func slices(s string, in ...string) bool {
	for _, x := range in {
		if s == x {
			return true
		}
	}
	return false
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ") + "\n"
}

func run(bin, fixtures string, keep bool) error {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	fixtures, _ = filepath.Abs(fixtures)
	dir, err := os.MkdirTemp("", "airssys-service-demo")
	if err != nil {
		return err
	}
	if keep {
		fmt.Println("demo directory:", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	d := &demo{bin: bin, dir: dir}

	step("1. a publisher key, a policy that trusts it, three signed components")
	if _, err := d.cli("keygen", "demo"); err != nil {
		return err
	}
	pub, err := os.ReadFile(filepath.Join(dir, "demo.pub"))
	if err != nil {
		return err
	}
	policy := fmt.Sprintf(`[policy]
require-signatures = true

[trust.trusted]
logging = true
storage-buckets = ["default"]
storage-read = true
storage-write = true
publish = ["counters.>"]
subscribe = ["counters.>"]

[[publisher]]
name = "demo"
key = %q
`, strings.TrimSpace(string(pub)))
	if err := os.WriteFile(filepath.Join(dir, "policy.toml"), []byte(policy), 0o600); err != nil {
		return err
	}
	comps := []struct{ dir, wasm, name, version, caps string }{
		{"counter-1.0.0", "demo_counter_v1.wasm", "counter", "1.0.0", `publish = ["counters.changed"]`},
		{"counter-1.1.0", "demo_counter_v2.wasm", "counter", "1.1.0", `publish = ["counters.changed"]`},
		{"audit-1.0.0", "demo_audit.wasm", "audit", "1.0.0", `subscribe = ["counters.changed"]`},
	}
	for _, c := range comps {
		cd := filepath.Join(dir, c.dir)
		os.MkdirAll(cd, 0o700)
		wasm, err := os.ReadFile(filepath.Join(fixtures, c.wasm))
		if err != nil {
			return err
		}
		os.WriteFile(filepath.Join(cd, c.name+".wasm"), wasm, 0o600)
		manifest := fmt.Sprintf(`[component]
name = %q
version = %q

[resources]
memory = "16MiB"
timeout-per-message = "2s"

[capabilities]
logging = true

[capabilities.messaging]
%s

[capabilities.storage]
buckets = ["default"]
read = true
write = true
`, c.name, c.version, c.caps)
		os.WriteFile(filepath.Join(cd, "Component.toml"), []byte(manifest), 0o600)
		if _, err := d.cli("sign", "--key", "demo.key", "--manifest", c.dir+"/Component.toml", c.dir+"/"+c.name+".wasm"); err != nil {
			return err
		}
	}

	step("2. serve, install, deploy")
	hostToml := fmt.Sprintf("[host]\ndata-dir = %q\npolicy = %q\nshutdown-drain = \"10s\"\n\n[gateway]\nlisten = \"127.0.0.1:0\"\n",
		filepath.Join(dir, "data"), filepath.Join(dir, "policy.toml"))
	os.WriteFile(filepath.Join(dir, "host.toml"), []byte(hostToml), 0o600)
	fmt.Println("$ airssys-wasm serve --config host.toml &")
	srv := exec.Command(bin, "serve", "--config", filepath.Join(dir, "host.toml"))
	logs, _ := srv.StderrPipe()
	if err := srv.Start(); err != nil {
		return err
	}
	defer srv.Process.Kill()
	var hostLog strings.Builder
	var logMu sync.Mutex
	ready := make(chan string, 1)
	exited := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(logs)
		for sc.Scan() {
			logMu.Lock()
			hostLog.WriteString(sc.Text() + "\n")
			logMu.Unlock()
			if rest, ok := strings.CutPrefix(sc.Text(), "airssys-wasm serve: admin "); ok {
				ready <- rest
			}
		}
		exited <- srv.Wait()
	}()
	select {
	case line := <-ready:
		fmt.Println(indent("airssys-wasm serve: admin " + line))
		sock, gw, _ := strings.Cut(line, ", gateway ")
		d.host, d.gateway = "unix:"+sock, gw
	case err := <-exited:
		return fmt.Errorf("serve exited: %v\n%s", err, hostLog.String())
	case <-time.After(30 * time.Second):
		return errors.New("serve did not start")
	}
	for _, c := range comps {
		if _, err := d.cli("component", "install", c.dir+"/"+c.name+".wasm"); err != nil {
			return err
		}
	}
	app := func(version string) string {
		return fmt.Sprintf(`[app]
name = "shop"

[[actor]]
id = "shop/counter/*"
component = { store = "counter@%s" }
instances = 2

[[actor]]
id = "shop/audit/1"
component = { store = "audit@1.0.0" }
subscriptions = ["counters.changed"]

[[route]]
method = "POST"
path = "/api/counters/{name}"
actor = "shop/counter/*"

[[route]]
method = "GET"
path = "/api/counters/{name}"
actor = "shop/counter/*"

[[route]]
method = "GET"
path = "/api/audit"
actor = "shop/audit/1"
`, version)
	}
	os.WriteFile(filepath.Join(dir, "shop.toml"), []byte(app("1.0.0")), 0o600)
	fmt.Print(indent(app("1.0.0")))
	if _, err := d.cli("deploy", "shop.toml"); err != nil {
		return err
	}

	step("3. HTTP through the gateway (%s)", d.gateway)
	hc := &http.Client{Timeout: 10 * time.Second}
	call := func(method, path string) (int, string, error) {
		req, _ := http.NewRequest(method, "http://"+d.gateway+path, nil)
		r, err := hc.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, string(b), nil
	}
	for _, c := range [][2]string{{"POST", "/api/counters/apples"}, {"POST", "/api/counters/apples"},
		{"POST", "/api/counters/pears"}, {"GET", "/api/counters/apples"}, {"DELETE", "/api/counters/apples"},
		{"GET", "/api/audit"}} {
		code, body, err := call(c[0], c[1])
		if err != nil {
			return err
		}
		fmt.Printf("$ curl -X %s %s\n  %d %s\n", c[0], c[1], code, strings.TrimSpace(body))
	}
	if _, err := d.cli("ps"); err != nil {
		return err
	}

	step("4. a live update to counter 1.1.0 while requests flow")
	var mu sync.Mutex
	versions := map[string]int{}
	var failed []string
	sent := 0
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				code, body, err := call("POST", "/api/counters/load")
				mu.Lock()
				sent++
				var v struct{ Version string }
				switch {
				case err != nil:
					failed = append(failed, err.Error())
				case code != 200 || json.Unmarshal([]byte(body), &v) != nil:
					failed = append(failed, fmt.Sprintf("%d %s", code, body))
				default:
					versions[v.Version]++
				}
				mu.Unlock()
			}
		}()
	}
	time.Sleep(300 * time.Millisecond) // let the load run a while first (a demo, not a test)
	os.WriteFile(filepath.Join(dir, "shop.toml"), []byte(app("1.1.0")), 0o600)
	if _, err := d.cli("deploy", "shop.toml"); err != nil {
		close(stop)
		wg.Wait()
		return err
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	fmt.Printf("  %d requests during the update, %d failed; answered by version: %v\n", sent, len(failed), versions)
	if len(failed) > 0 {
		return fmt.Errorf("requests failed during the live update, e.g. %s", failed[0])
	}
	code, body, err := call("GET", "/api/counters/load")
	if err != nil {
		return err
	}
	fmt.Printf("$ curl %s\n  %d %s\n", "/api/counters/load", code, strings.TrimSpace(body))
	var got struct{ Count int }
	json.Unmarshal([]byte(body), &got)
	if got.Count != sent {
		return fmt.Errorf("the counter says %d after %d increments: data lost in the update", got.Count, sent)
	}
	code, body, _ = call("GET", "/api/audit")
	fmt.Printf("$ curl %s\n  %d %s\n", "/api/audit", code, strings.TrimSpace(body))
	if _, err := d.cli("ps"); err != nil {
		return err
	}
	if _, err := d.cli("logs", "--tail", "5"); err != nil {
		return err
	}
	// Prometheus metrics, on the admin socket only (never the gateway's).
	sock := strings.TrimPrefix(d.host, "unix:")
	uc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}}}
	fmt.Printf("$ curl --unix-socket %s http://admin/metrics | grep counter\n", filepath.Base(sock))
	mr, err := uc.Get("http://admin/metrics")
	if err != nil {
		return err
	}
	metrics, _ := io.ReadAll(mr.Body)
	mr.Body.Close()
	shown := 0
	for _, l := range strings.Split(string(metrics), "\n") {
		if strings.Contains(l, `component="counter",version="1.1.0"`) && !strings.HasPrefix(l, "airssys_handle_seconds_bucket") {
			fmt.Println("  " + l)
			shown++
		}
	}
	if shown == 0 {
		return errors.New("/metrics has no series of the counter")
	}

	step("5. SIGTERM: the host drains and stops")
	fmt.Println("$ kill -TERM <serve>")
	srv.Process.Signal(syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	select {
	case err := <-exited:
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
	case <-ctx.Done():
		return errors.New("serve did not stop")
	}
	logMu.Lock()
	for _, l := range strings.Split(hostLog.String(), "\n") {
		if strings.Contains(l, `"msg":"host stopping`) || strings.Contains(l, `"msg":"host stopped"`) {
			fmt.Println(indent(l))
		}
	}
	logMu.Unlock()
	fmt.Println("\nThe service demo is done.")
	return nil
}
