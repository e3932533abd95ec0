package bench

// Benchmarks of the lattice (issue 14, first slice): two hosts (two
// actor Systems, each with its own lattice.Node and its own connection to
// one embedded NATS server) in this process, with bare nats.go on the same
// server and the same connections measured in the same run as the floor.
//
//	BenchmarkLatticeRequestReply    Go on host a requests the echo actor of
//	                                host b; bare nats.go request/reply; one
//	                                local actor hop (b requests its own echo)
//	BenchmarkLatticeSendThroughput  100-byte sends from Go on a to an actor
//	                                on b, fire and forget and acknowledged;
//	                                bare nats.go publish -> subscribe
//	BenchmarkLatticeLocalPath       requests and sends to a local actor on a
//	                                System with a Node attached (an embedded
//	                                server, no peer) against one without
//
// Two connection kinds: "inproc" (Server.Connect, no socket: one host
// alone, or tests) and "tcp" (a client listener on loopback: what separate
// machines use). The echo is testdata/actor2_echotext.wasm (world 0.2.0,
// one host call, text(), and a text reply): the cheapest real handler.
// BENCHMARKING.md ("Issue 14") has the figures.

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/lattice"
)

// ltPayload is 100 bytes of text.
var ltPayload = []byte(strings.Repeat("0123456789", 10))

const ltEcho = "b/echo/1"

// ltHost is one host of the benchmark lattice.
type ltHost struct {
	sys  *actor.System
	node *lattice.Node
	nc   *nats.Conn
}

// ltLattice is an embedded server and how hosts connect to it.
type ltLattice struct {
	srv  *lattice.Server
	kind string // inproc, tcp
}

// ltSeed is bench host name's nkey seed (derived from its name).
func ltSeed(b *testing.B, name string) []byte {
	b.Helper()
	raw := sha256.Sum256([]byte("airssys lattice bench host " + name))
	seed, err := nkeys.EncodeSeed(nkeys.PrefixByteUser, raw[:])
	if err != nil {
		b.Fatal(err)
	}
	return seed
}

// ltKeys are the bench hosts a and b with their public keys: the server
// admits them with a host's permissions, as a lattice's servers do.
func ltKeys(b *testing.B) []lattice.HostKey {
	b.Helper()
	var out []lattice.HostKey
	for _, name := range []string{"a", "b"} {
		kp, err := nkeys.FromSeed(ltSeed(b, name))
		if err != nil {
			b.Fatal(err)
		}
		pub, err := kp.PublicKey()
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, lattice.HostKey{Host: name, PublicKey: pub})
	}
	return out
}

func ltStart(b *testing.B, kind string) *ltLattice {
	b.Helper()
	cfg := lattice.ServerConfig{Lattice: "bench", Hosts: ltKeys(b)}
	if kind == "tcp" {
		// A free port: nats-server reads port 0 as its default 4222.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		cfg.Listen = l.Addr().String()
		l.Close()
	}
	srv, err := lattice.StartServer(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Shutdown)
	return &ltLattice{srv: srv, kind: kind}
}

func (l *ltLattice) connect(b *testing.B, name string) *nats.Conn {
	b.Helper()
	opts, err := lattice.HostOptions("bench", name, ltSeed(b, name))
	if err != nil {
		b.Fatal(err)
	}
	var nc *nats.Conn
	if l.kind == "tcp" {
		nc, err = nats.Connect(l.srv.ClientURL(), append(opts, nats.Name(name))...)
	} else {
		nc, err = l.srv.Connect(name, opts...)
	}
	if err != nil {
		b.Fatal(err)
	}
	return nc
}

// host joins a host named name (its own connection, Node and System).
func (l *ltLattice) host(b *testing.B, e *engine.Engine, name string, mode lattice.Mode) *ltHost {
	b.Helper()
	nc := l.connect(b, name)
	n, err := lattice.New(nc, lattice.Config{Lattice: "bench", Host: name, Mode: mode})
	if err != nil {
		b.Fatal(err)
	}
	sys := actor.NewSystem(e, actor.Options{Remote: n, RequestTimeout: 10 * time.Second})
	if err := n.Attach(sys); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		sys.Shutdown(ctx)
		n.Close()
		nc.Close()
	})
	return &ltHost{sys: sys, node: n, nc: nc}
}

// ltTwoHosts: hosts a and b, b running the echo; a reaches it (retried
// for a while: a host may need to hear of its peers first), then both
// warm up.
func ltTwoHosts(b *testing.B, kind string, mode lattice.Mode) (*ltLattice, *ltHost, *ltHost) {
	b.Helper()
	e := newEngine(b, engine.Config{})
	c := compile(b, e, fixture(b, "actor2_echotext.wasm"))
	l := ltStart(b, kind)
	ha, hb := l.host(b, e, "a", mode), l.host(b, e, "b", lattice.FireAndForget)
	deployEcho(b, hb.sys, c, ltEcho)
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := ha.sys.Request(ctx, ltEcho, ltPayload, "text/plain")
		if err == nil {
			break
		}
		if !errors.Is(err, actor.ErrUnknownActor) || time.Now().After(deadline) {
			b.Fatalf("a cannot reach %s: %v", ltEcho, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	for range 1000 {
		ltRequest(b, ha.sys, ltEcho)
		ltRequest(b, hb.sys, ltEcho)
	}
	return l, ha, hb
}

func ltRequest(b *testing.B, sys *actor.System, id actor.ID) {
	m, err := sys.Request(context.Background(), id, ltPayload, "text/plain")
	if err != nil || len(m.Payload) != len(ltPayload) {
		b.Fatalf("request %s: %d bytes, %v", id, len(m.Payload), err)
	}
}

// ltCPU is the process's CPU time so far (user and system).
func ltCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ltQuantile is the q-quantile of d (sorted in place), in units of unit.
func ltQuantile(d []time.Duration, q float64, unit time.Duration) float64 {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return float64(d[int(q*float64(len(d)-1))]) / float64(unit)
}

// BenchmarkLatticeRequestReply: one request at a time, four variants
// taking turns in batches of 500 (the order rotated every round) so that
// all see the same machine:
//
//	cross     Go on a: a.sys.Request to b's echo (a's Node, NATS
//	          request/reply through the server, b's Node, b's mailbox,
//	          the actor, back)
//	nats      bare nats.go: a's connection requests a plain subscriber on
//	          b's connection that responds with the data (the floor)
//	local     b.sys.Request to its own echo: one local actor hop
//	nats-hdr  bare nats.go again, each way with five headers of the size
//	          the lattice's carry (about 190 bytes): what headers cost
//
// It reports p50 and p99 of each, the process's CPU time per request
// (cpu-us: both hosts, the server and the caller), and cross p50 / (nats
// p50 + local p50) against the 1.3x: from the pooled p50s
// (x-target) and as the median over rounds of the same ratio within each
// round (x-target-paired).
func BenchmarkLatticeRequestReply(b *testing.B) {
	for _, kind := range []string{"inproc", "tcp"} {
		b.Run("conn="+kind, func(b *testing.B) {
			_, ha, hb := ltTwoHosts(b, kind, lattice.FireAndForget)
			// The subjects a host may use: a's publish under its name, b's
			// queue subscription (the floor pays the same permissions).
			sub, err := hb.nc.QueueSubscribe("airssys.bench.actor.bare.*", "actor", func(m *nats.Msg) {
				if m.Header == nil {
					m.Respond(m.Data)
					return
				}
				m.RespondMsg(&nats.Msg{Header: ltHeaders(), Data: m.Data})
			})
			if err != nil {
				b.Fatal(err)
			}
			defer sub.Unsubscribe()
			hb.nc.Flush()
			bare := func() {
				m, err := ha.nc.Request("airssys.bench.actor.bare.a", ltPayload, 10*time.Second)
				if err != nil || len(m.Data) != len(ltPayload) {
					b.Fatalf("bare request: %v", err)
				}
			}
			bareHdr := func() {
				m, err := ha.nc.RequestMsg(&nats.Msg{Subject: "airssys.bench.actor.bare.a", Header: ltHeaders(), Data: ltPayload}, 10*time.Second)
				if err != nil || len(m.Data) != len(ltPayload) || len(m.Header) == 0 {
					b.Fatalf("bare request with headers: %v", err)
				}
			}
			for range 1000 {
				bare()
				bareHdr()
			}
			variants := []struct {
				name string
				do   func()
			}{
				{"cross", func() { ltRequest(b, ha.sys, ltEcho) }},
				{"nats", bare},
				{"local", func() { ltRequest(b, hb.sys, ltEcho) }},
				{"nats-hdr", bareHdr},
			}
			const batch = 500
			rounds := max(1, (b.N+batch-1)/batch)
			times := make([][]time.Duration, len(variants))
			cpu := make([]time.Duration, len(variants))
			var paired []float64
			b.ResetTimer()
			for r := range rounds {
				var p50 [4]float64
				for k := range variants {
					i := (r + k) % len(variants)
					round := make([]time.Duration, batch)
					c0 := ltCPU()
					for j := range round {
						t0 := time.Now()
						variants[i].do()
						round[j] = time.Since(t0)
					}
					cpu[i] += ltCPU() - c0
					times[i] = append(times[i], round...)
					p50[i] = ltQuantile(round, 0.5, time.Nanosecond)
				}
				paired = append(paired, p50[0]/(p50[1]+p50[2]))
			}
			b.StopTimer()
			p := make([]float64, len(variants))
			for i, v := range variants {
				p[i] = ltQuantile(times[i], 0.5, time.Microsecond)
				b.ReportMetric(p[i], v.name+"-p50-us")
				b.ReportMetric(ltQuantile(times[i], 0.99, time.Microsecond), v.name+"-p99-us")
				b.ReportMetric(float64(cpu[i])/float64(time.Microsecond)/float64(len(times[i])), v.name+"-cpu-us")
			}
			b.ReportMetric(p[0]/(p[1]+p[2]), "x-target")
			slices.Sort(paired)
			b.ReportMetric(paired[len(paired)/2], "x-target-paired")
			if st := ha.node.Stats(); st.LostUnknown+st.LostRefused+st.Dropped != 0 {
				b.Fatalf("losses on a: %+v", st)
			}
		})
	}
}

// ltHeaders are headers of the size and number a lattice request carries
// (kind, sender, time, content type, timeout; the host is in the subject).
func ltHeaders() nats.Header {
	return nats.Header{"Airssys-Kind": {"request"}, "Airssys-Sender": {"host%2Fgo"},
		"Airssys-Time": {"1796226000123456789"}, "Airssys-Type": {"text%2Fplain"}, "Airssys-Timeout": {"30000"}}
}

// ltLosses is what the lattice counted as lost between a and b.
func ltLosses(ha, hb *ltHost) (lost uint64, sa, sb lattice.Stats) {
	sa, sb = ha.node.Stats(), hb.node.Stats()
	return sa.LostUnknown + sa.LostRefused + sb.RefusedIn + sb.Dropped + sa.Dropped, sa, sb
}

// BenchmarkLatticeSendThroughput: b.N sends of 100 bytes of text from Go
// on a (sys.Send) to b's echo (a send is handled, its reply dropped),
// timed until b's actor has handled every one, or the lattice counted the
// rest as lost (a's LostUnknown and LostRefused, b's RefusedIn, either
// side's Dropped), or 60 s passed:
//
//	fire-and-forget  one Go sender, a core NATS publish per send
//	ack/senders=N    Acknowledged: every send waits for b's ack that the
//	                 message is in the mailbox; N Go senders, so up to N
//	                 in flight, at most Config.MaxInFlight (1024): with
//	                 2048 senders flow control holds half of them back
//	nats             bare nats.go: a's connection publishes 100-byte
//	                 messages, a subscriber on b's connection counts them
//	                 (the floor: no headers, no actor)
//
// msg/s is delivered messages (handled, or received for nats) over the
// whole time; lost is the count of messages lost in the run; cpu-us/msg
// is the process's CPU time (both hosts, the server, the senders) per
// message, steadier than msg/s on a shared machine.
func BenchmarkLatticeSendThroughput(b *testing.B) {
	for _, kind := range []string{"inproc", "tcp"} {
		b.Run("conn="+kind+"/fire-and-forget", func(b *testing.B) {
			ltSendThroughput(b, kind, lattice.FireAndForget, 1)
		})
		for _, senders := range []int{1, 64, 2048} {
			b.Run(fmt.Sprintf("conn=%s/ack/senders=%d", kind, senders), func(b *testing.B) {
				ltSendThroughput(b, kind, lattice.Acknowledged, senders)
			})
		}
		b.Run("conn="+kind+"/nats", func(b *testing.B) {
			l := ltStart(b, kind)
			pub, sub := l.connect(b, "a"), l.connect(b, "b")
			defer pub.Close()
			defer sub.Close()
			var got atomic.Int64
			s, err := sub.QueueSubscribe("airssys.bench.actor.count.*", "actor", func(*nats.Msg) { got.Add(1) })
			if err != nil {
				b.Fatal(err)
			}
			sub.Flush()
			b.ResetTimer()
			cpu0 := ltCPU()
			for range b.N {
				if err := pub.Publish("airssys.bench.actor.count.a", ltPayload); err != nil {
					b.Fatal(err)
				}
			}
			pub.Flush()
			deadline := time.Now().Add(60 * time.Second)
			var dropped int
			for {
				dropped, _ = s.Dropped()
				if got.Load()+int64(dropped) >= int64(b.N) || time.Now().After(deadline) {
					break
				}
				time.Sleep(100 * time.Microsecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(got.Load())/b.Elapsed().Seconds(), "msg/s")
			b.ReportMetric(float64(ltCPU()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-us/msg")
			b.ReportMetric(float64(int64(b.N)-got.Load()), "lost")
		})
	}
}

func ltSendThroughput(b *testing.B, kind string, mode lattice.Mode, senders int) {
	_, ha, hb := ltTwoHosts(b, kind, mode)
	st0, _ := hb.sys.Stats(ltEcho)
	lost0, _, _ := ltLosses(ha, hb)
	ctx := context.Background()
	var sendErrs atomic.Int64
	var firstErr atomic.Value
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
				if err := ha.sys.Send(ctx, ltEcho, ltPayload, "text/plain"); err != nil {
					sendErrs.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	wg.Wait()
	sendDone := b.Elapsed()
	deadline := time.Now().Add(60 * time.Second)
	var handled, lost uint64
	var sa, sb lattice.Stats
	for {
		st, _ := hb.sys.Stats(ltEcho)
		handled = st.Handled - st0.Handled
		lost, sa, sb = ltLosses(ha, hb)
		lost -= lost0
		if handled+lost+uint64(sendErrs.Load()) >= uint64(b.N) {
			break
		}
		if time.Now().After(deadline) {
			b.Logf("timed out: handled %d, lost %d, send errors %d of %d", handled, lost, sendErrs.Load(), b.N)
			break
		}
		time.Sleep(100 * time.Microsecond)
	}
	b.StopTimer()
	cpu := ltCPU() - cpu0
	if err := firstErr.Load(); err != nil {
		b.Logf("%d sends failed, the first: %v", sendErrs.Load(), err)
	}
	if lost > 0 {
		b.Logf("losses: a %+v, b %+v", sa, sb)
	}
	b.ReportMetric(float64(handled)/b.Elapsed().Seconds(), "msg/s")
	b.ReportMetric(float64(b.N)/sendDone.Seconds(), "offered-msg/s")
	b.ReportMetric(float64(cpu)/float64(time.Microsecond)/float64(b.N), "cpu-us/msg")
	b.ReportMetric(float64(lost), "lost")
	b.ReportMetric(float64(sendErrs.Load()), "send-errors")
}

// BenchmarkLatticeLocalPath: what the lattice costs a host's local
// messages. Three Systems on one engine, each with its own echo:
//
//	alone        no Options.Remote (the reference)
//	alone-again  the same, a System of its own: the noise floor of the
//	             ratios
//	lattice      Options.Remote set to a Node attached to an embedded
//	             server (in-process connection, no listener, no peer)
//
// Rounds of batches, the order rotated every round: 500 requests one at a
// time (req), then 500 sends followed by one request whose reply comes
// after all of them were handled (send). Each variant reports its request
// p50 and its send rate and, against alone in the same round, the median
// over rounds of the ratio of its request p50 (req-x-alone) and of its
// send batch's time (send-x-alone): 1.00 is no cost.
func BenchmarkLatticeLocalPath(b *testing.B) {
	e := newEngine(b, engine.Config{})
	c := compile(b, e, fixture(b, "actor2_echotext.wasm"))
	l := ltStart(b, "inproc")
	newSys := func(remote bool) *actor.System {
		opts := actor.Options{RequestTimeout: 10 * time.Second}
		var n *lattice.Node
		var nc *nats.Conn
		if remote {
			nc = l.connect(b, "a")
			var err error
			if n, err = lattice.New(nc, lattice.Config{Lattice: "bench", Host: "a"}); err != nil {
				b.Fatal(err)
			}
			opts.Remote = n
		}
		sys := actor.NewSystem(e, opts)
		if n != nil {
			if err := n.Attach(sys); err != nil {
				b.Fatal(err)
			}
		}
		b.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			sys.Shutdown(ctx)
			if n != nil {
				n.Close()
				nc.Close()
			}
		})
		deployEcho(b, sys, c, "local/echo/1")
		for range 1000 {
			ltRequest(b, sys, "local/echo/1")
		}
		return sys
	}
	variants := []struct {
		name string
		sys  *actor.System
	}{{"alone", newSys(false)}, {"alone-again", newSys(false)}, {"lattice", newSys(true)}}
	const batch = 500
	rounds := max(1, (b.N+batch-1)/batch)
	reqTimes := make([][]time.Duration, len(variants))
	reqP50 := make([][]time.Duration, len(variants))
	sendBatch := make([][]time.Duration, len(variants))
	ctx := context.Background()
	b.ResetTimer()
	for r := range rounds {
		for k := range variants {
			i := (r + k) % len(variants)
			sys := variants[i].sys
			round := make([]time.Duration, batch)
			for j := range round {
				t := time.Now()
				ltRequest(b, sys, "local/echo/1")
				round[j] = time.Since(t)
			}
			reqTimes[i] = append(reqTimes[i], round...)
			reqP50[i] = append(reqP50[i], time.Duration(ltQuantile(round, 0.5, 1)))
			t1 := time.Now()
			for range batch {
				if err := sys.Send(ctx, "local/echo/1", ltPayload, "text/plain"); err != nil {
					b.Fatal(err)
				}
			}
			ltRequest(b, sys, "local/echo/1")
			sendBatch[i] = append(sendBatch[i], time.Since(t1))
		}
	}
	b.StopTimer()
	ratio := func(ts [][]time.Duration, i int) float64 {
		rs := make([]float64, len(ts[i]))
		for r := range rs {
			rs[r] = float64(ts[i][r]) / float64(ts[0][r])
		}
		slices.Sort(rs)
		return rs[len(rs)/2]
	}
	for i, v := range variants {
		b.ReportMetric(ltQuantile(reqTimes[i], 0.5, time.Microsecond), v.name+"-req-p50-us")
		var total time.Duration
		for _, t := range sendBatch[i] {
			total += t
		}
		b.ReportMetric(float64(len(sendBatch[i])*(batch+1))/total.Seconds(), v.name+"-send-msg/s")
		if i > 0 {
			b.ReportMetric(ratio(reqP50, i), v.name+"-req-x-alone")
			b.ReportMetric(ratio(sendBatch, i), v.name+"-send-x-alone")
		}
	}
	for _, v := range variants {
		if st, _ := v.sys.Stats("local/echo/1"); st.Errors+st.Failed != 0 {
			b.Fatalf("%s: %+v", v.name, st)
		}
	}
}
