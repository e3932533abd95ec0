package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/host/gateway"
)

// BenchmarkGateway: wrk (Debian's, `apt-get install wrk`) loads the HTTP
// gateway with a 100-byte JSON echo (POST, routed to actor2_echotext, which
// reads the text and replies with it) and, in the same run, a plain
// net/http handler doing the same echo, each for 5 s with 2 threads and 16
// connections. wrk shares the 2 cores with the server. Run with
// -benchtime=1x.
func BenchmarkGateway(b *testing.B) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		b.Skip("wrk is not installed (apt-get install wrk)")
	}
	e := newEngine(b, engine.Config{})
	sys := actor.NewSystem(e, actor.Options{})
	defer sys.Shutdown(context.Background())
	if err := sys.Deploy(context.Background(), actor.Spec{ID: "bench/echo/1", Component: compile(b, e,
		fixture(b, "actor2_echotext.wasm")), MailboxSize: 4096}); err != nil {
		b.Fatal(err)
	}
	g, err := gateway.New(sys, []gateway.Route{{Method: "POST", Pattern: "/echo", Actor: "bench/echo/1"}},
		gateway.Options{})
	if err != nil {
		b.Fatal(err)
	}
	plain := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
		w.Write(body)
	})
	body := `{"id":12345,"name":"a widget","tags":["x","y"],"price":9.99,"note":"0123456789abcdefghij"}`
	body += strings.Repeat(" ", 100-len(body))
	script := filepath.Join(b.TempDir(), "post.lua")
	os.WriteFile(script, []byte(fmt.Sprintf("wrk.method = \"POST\"\nwrk.body = %q\n"+
		"wrk.headers[\"Content-Type\"] = \"application/json\"\n", body)), 0o600)
	load := func(h http.Handler) (rps, p99ms float64) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		out, err := exec.Command(wrk, "-t2", "-c16", "-d5s", "--latency", "-s", script,
			"http://"+ln.Addr().String()+"/echo").CombinedOutput()
		if err != nil {
			b.Fatalf("wrk: %v\n%s", err, out)
		}
		if strings.Contains(string(out), "Non-2xx") {
			b.Fatalf("errors under load:\n%s", out)
		}
		rps = parseFloat(b, `Requests/sec:\s+([0-9.]+)`, string(out))
		p99ms = wrkDuration(b, regexp.MustCompile(`99%\s+([0-9.]+)(us|ms|s)`).FindStringSubmatch(string(out)))
		return rps, p99ms
	}
	b.ResetTimer()
	gRPS, gP99 := load(g)
	pRPS, pP99 := load(plain)
	b.StopTimer()
	b.ReportMetric(gRPS, "gateway-req/s")
	b.ReportMetric(gP99, "gateway-p99-ms")
	b.ReportMetric(pRPS, "nethttp-req/s")
	b.ReportMetric(pP99, "nethttp-p99-ms")
	b.ReportMetric(gRPS/pRPS, "gateway/nethttp-x")
}

func parseFloat(b *testing.B, re, s string) float64 {
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	if m == nil {
		b.Fatalf("no %s in:\n%s", re, s)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

func wrkDuration(b *testing.B, m []string) float64 {
	if m == nil {
		b.Fatal("no latency percentiles in wrk's output")
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	switch m[2] {
	case "us":
		return v / 1000
	case "s":
		return v * 1000
	}
	return v
}
