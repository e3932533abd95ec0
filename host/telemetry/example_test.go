package telemetry_test

import (
	"context"
	"net/http"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/host/gateway"
	"github.com/airsstack/airssys-wasm-go/host/telemetry"
)

// How a host wires telemetry: tracing before the system (its Tracer is an
// actor option), metrics after it, both hooks into the gateway, and
// /metrics on the admin side only.
func Example() {
	ctx := context.Background()
	eng, _ := engine.New(engine.Config{})
	labels := func(id actor.ID) (app, component, version string, ok bool) {
		return "shop", "orders", "1.2.0", true // the host's view of what id runs
	}

	tr, err := telemetry.NewTracing(ctx, telemetry.TracingOptions{
		Endpoint: "", // host.toml's telemetry.otlp-endpoint; "" is off
		Sample:   0.01,
		Labels:   labels,
	})
	if err != nil {
		panic(err)
	}
	defer tr.Shutdown(ctx)

	opts := actor.Options{HandleTimes: true}
	if t := tr.Tracer(); t != nil {
		opts.Tracer, opts.TraceSample = t, tr.Sample()
	}
	sys := actor.NewSystem(eng, opts)
	defer sys.Shutdown(ctx)

	m, err := telemetry.NewMetrics(telemetry.MetricsOptions{System: sys, Labels: labels, Engine: eng})
	if err != nil {
		panic(err)
	}
	gw, _ := gateway.New(sys, nil, gateway.Options{Observe: m.ObserveRequest, Trace: tr.GatewayTrace()})
	_ = gw // served on the gateway's listener

	admin := http.NewServeMux()
	admin.Handle("GET /metrics", m.Handler()) // the admin listeners only
}
