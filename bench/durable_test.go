package bench

// BenchmarkLatticeDurableSend (issue 14): sends of 100 bytes from Go on
// host a to a durable actor (Spec.Durable: its mailbox is a JetStream
// stream) on host b, one embedded server with JetStream, in-process
// connections with the hosts' permissions. A send returns once the stream
// stored it; the benchmark runs until b's actor handled every one (b
// acknowledges each to the stream after handling). The floor, in the same
// run: bare JetStream publishes (nats.go, acknowledged) of the same
// payload to the same stream, no consumer. Variants: senders=1 (one at a
// time: the latency of a stored send) and senders=64 (throughput), each
// with the server's default sync and with sync always (fsync before every
// acknowledgement: the durable mode's setting).

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/lattice"
)

func BenchmarkLatticeDurableSend(b *testing.B) {
	for _, sync := range []bool{false, true} {
		for _, senders := range []int{1, 64} {
			name := fmt.Sprintf("sync-always=%v/senders=%d", sync, senders)
			b.Run(name+"/durable", func(b *testing.B) { ldDurable(b, sync, senders, false) })
			b.Run(name+"/bare-js", func(b *testing.B) { ldDurable(b, sync, senders, true) })
		}
	}
}

func ldDurable(b *testing.B, syncAlways bool, senders int, bare bool) {
	srv, err := lattice.StartServer(context.Background(), lattice.ServerConfig{Lattice: "bench", Hosts: ltKeys(b),
		JetStreamDir: b.TempDir(), SyncAlways: syncAlways})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Shutdown)
	l := &ltLattice{srv: srv, kind: "inproc"}
	e := newEngine(b, engine.Config{})
	c := compile(b, e, fixture(b, "actor2_echotext.wasm"))
	durable := func(id actor.ID) bool { return id == ltEcho }
	join := func(name string) (*actor.System, *lattice.Durable) {
		nc := l.connect(b, name)
		n, err := lattice.New(nc, lattice.Config{Lattice: "bench", Host: name})
		if err != nil {
			b.Fatal(err)
		}
		d, err := lattice.NewDurable(n, durable, lattice.MailboxConfig{})
		if err != nil {
			b.Fatal(err)
		}
		sys := actor.NewSystem(e, actor.Options{Remote: d, RequestTimeout: 10 * time.Second})
		if err := d.Attach(sys); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			sys.Shutdown(ctx)
			d.Close()
			nc.Close()
		})
		return sys, d
	}
	sa, _ := join("a")
	sb, db := join("b")
	if err := sb.Deploy(context.Background(), actor.Spec{ID: ltEcho, Component: c, Durable: true}); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	// Warm up: the stream made, the consumer running.
	for range 100 {
		if err := sa.Send(ctx, ltEcho, ltPayload, "text/plain"); err != nil {
			b.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for db.MailboxStats().Handled < 100 {
		if time.Now().After(deadline) {
			b.Fatal("warm-up messages never handled")
		}
		time.Sleep(time.Millisecond)
	}
	var send func() error
	if bare {
		js, err := jetstream.New(l.connect(b, "a"))
		if err != nil {
			b.Fatal(err)
		}
		send = func() error {
			_, err := js.Publish(ctx, "airssys.bench.mbox.bare.a", ltPayload)
			return err
		}
	} else {
		send = func() error { return sa.Send(ctx, ltEcho, ltPayload, "text/plain") }
	}
	h0 := db.MailboxStats().Handled
	var errs atomic.Int64
	b.ResetTimer()
	cpu0 := ltCPU()
	var wg sync.WaitGroup
	for s := range senders {
		n := b.N / senders
		if s == 0 {
			n += b.N % senders
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n {
				if send() != nil {
					errs.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	stored := b.Elapsed()
	if !bare {
		deadline := time.Now().Add(60 * time.Second)
		for db.MailboxStats().Handled-h0 < uint64(b.N)-uint64(errs.Load()) {
			if time.Now().After(deadline) {
				b.Fatalf("handled %d of %d", db.MailboxStats().Handled-h0, b.N)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/stored.Seconds(), "stored-msg/s")
	if !bare {
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handled-msg/s")
	}
	b.ReportMetric(float64(ltCPU()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-us/msg")
	b.ReportMetric(float64(errs.Load()), "send-errors")
}
