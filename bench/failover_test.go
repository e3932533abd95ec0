package bench

import (
	"context"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/lattice"
)

// BenchmarkLatticeFailoverDetection: how long after a host dies without a
// word (its connection gone, no stopping heartbeat) the survivor hears of
// it (lattice.Config.OnChange, what a host reconciles its share on), with
// the default heartbeat (250 ms, gone after three). A failover is this
// plus the restart of the moved actors on the survivor (a C actor's
// deploy is 0.2 ms, a Go one's 2.3 ms: BENCHMARKING.md, issue 13); the
// host test TestPlacementAndFailover measures the whole at about 0.8 s for
// eight C actors. Reports p50 and p99 against the 2 s target.
func BenchmarkLatticeFailoverDetection(b *testing.B) {
	srv, err := lattice.StartServer(context.Background(), lattice.ServerConfig{})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Shutdown()
	var took []time.Duration
	for i := 0; i < b.N; i++ {
		heard := make(chan time.Time, 4)
		na, err := srv.Connect("a")
		if err != nil {
			b.Fatal(err)
		}
		a, err := lattice.New(na, lattice.Config{Lattice: "fo", Host: "a", OnChange: func() { heard <- time.Now() }})
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Attach(actor.NewSystem(nil, actor.Options{Remote: a})); err != nil {
			b.Fatal(err)
		}
		nb, err := srv.Connect("b")
		if err != nil {
			b.Fatal(err)
		}
		bn, err := lattice.New(nb, lattice.Config{Lattice: "fo", Host: "b"})
		if err != nil {
			b.Fatal(err)
		}
		if err := bn.Attach(actor.NewSystem(nil, actor.Options{Remote: bn})); err != nil {
			b.Fatal(err)
		}
		select { // b joined
		case <-heard:
		case <-time.After(10 * time.Second):
			b.Fatal("a never heard b")
		}
		// b's last heartbeat went out at a random point of its period:
		// die at a random point too, as a crash would.
		time.Sleep(time.Duration(i*37%250) * time.Millisecond)
		died := time.Now()
		nb.Close() // the connection goes; the node never says it stops
		select {
		case t := <-heard:
			took = append(took, t.Sub(died))
		case <-time.After(10 * time.Second):
			b.Fatal("a never heard b die")
		}
		bn.Close()
		a.Close()
		na.Close()
	}
	b.ReportMetric(ltQuantile(took, 0.5, time.Millisecond), "p50-ms")
	b.ReportMetric(ltQuantile(took, 0.99, time.Millisecond), "p99-ms")
	b.ReportMetric(0, "ns/op")
}
