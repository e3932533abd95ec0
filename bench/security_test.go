package bench

// Benchmarks of the capability checks (issue 4): the cost a check adds to
// a host call, and a storm of denied calls through the audit log.

import (
	"bytes"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/security"
)

func benchGrants(b *testing.B) *security.Grants {
	p, err := security.ParsePolicy("policy.toml", []byte(`[trust.unknown]
send = ["*/*/*"]
publish = [">"]
`))
	if err != nil {
		b.Fatal(err)
	}
	man := []byte(`[component]
name = "bench"
version = "1.0.0"
[resources]
memory = "1MiB"
[capabilities.messaging]
send = ["payments/gateway/1", "orders/*/*", "audit/log/1"]
publish = ["billing.>", "orders.created"]
`)
	a, err := security.Admit(p, nil, man, "Component.toml", nil)
	if err != nil {
		b.Fatal(err)
	}
	return a.Grants
}

var sink bool

// BenchmarkCapabilityCheck: one check as done at a host-function entry.
func BenchmarkCapabilityCheck(b *testing.B) {
	g := benchGrants(b)
	for _, c := range []struct {
		name  string
		check func() bool
	}{
		{"send-exact", func() bool { return g.AllowSend("payments/gateway/1") }},
		{"send-wildcard", func() bool { return g.AllowSend("orders/eu/7") }},
		{"send-denied", func() bool { return g.AllowSend("evil/x/1") }},
		{"publish-wildcard", func() bool { return g.AllowPublish("billing.eu.invoice") }},
		{"publish-denied", func() bool { return g.AllowPublish("secrets.dump") }},
	} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				sink = c.check()
			}
		})
	}
}

// BenchmarkDeniedStorm: 1,000,000 denied calls (check + audit) from one
// component; reports the log lines written.
func BenchmarkDeniedStorm(b *testing.B) {
	g := benchGrants(b)
	for i := 0; i < b.N; i++ {
		var log bytes.Buffer
		audit := security.NewAudit(&log)
		start := time.Now()
		for n := 0; n < 1_000_000; n++ {
			if !g.AllowSend("evil/x/1") {
				audit.Denied("evil/x/1", "send", "victim/y/1", "not granted")
			}
		}
		el := time.Since(start)
		b.ReportMetric(float64(el.Nanoseconds())/1e6, "ns/denied-call")
		b.ReportMetric(float64(bytes.Count(log.Bytes(), []byte("\n"))), "log-lines")
	}
}
