package actor_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/storage"
)

// The key-value actor in C (actor2_kv: src/actorskv/kvagent.c) and in Go
// (goactor_counter: src/goactor/counter, with the guest package's
// key-value bindings) speak one command protocol; the tests here run the
// same commands against both.
var kvActors = []string{"actor2_kv", "goactor_counter"}

func eachKVActor(t *testing.T, f func(t *testing.T, comp string)) {
	for _, comp := range kvActors {
		t.Run(comp, func(t *testing.T) { f(t, comp) })
	}
}

func kvSpecOf(t *testing.T, id, comp string, owner storage.Owner) actor.Spec {
	s := spec(t, id, comp)
	s.Owner = owner
	return s
}

// kvStep is a command and its reply; a want ending in "*" is a prefix.
type kvStep struct{ cmd, want string }

// runKVSteps sends every step to actor id and returns the replies.
func runKVSteps(t *testing.T, sys *actor.System, id string, steps []kvStep) []string {
	t.Helper()
	var got []string
	for _, s := range steps {
		r := ask(t, sys, id, s.cmd)
		want, prefix := strings.CutSuffix(s.want, "*")
		if r != want && !(prefix && strings.HasPrefix(r, want)) {
			t.Fatalf("%.60q: %.200q, want %q", s.cmd, r, s.want)
		}
		got = append(got, r)
	}
	return got
}

// noFailures: no call of the actor trapped.
func noFailures(t *testing.T, sys *actor.System, id string) {
	t.Helper()
	if st, err := sys.Stats(actor.ID(id)); err != nil || st.Failed != 0 || st.Restarts != 0 || st.Handles != 0 {
		t.Fatalf("stats %+v, %v", st, err)
	}
}

// TestGoKVEveryCommand: every command of the protocol, the bad ones and
// the host's refusals give the same replies from the C and the Go actor,
// byte for byte (error texts included), and the writes are the data the
// Go API reads.
func TestGoKVEveryCommand(t *testing.T) {
	long := strings.Repeat("k", storage.MaxKeyBytes+1)
	steps := []kvStep{
		{"open|orders", "ok"},
		{"get|orders|a", "none"},
		{"get64|orders|a", "none"},
		{"set|orders|a|one|with|bars", "ok"},
		{"get|orders|a", "some:one|with|bars"},
		{"set|orders|empty|", "ok"},
		{"get|orders|empty", "some:"},
		{"set|orders|héllo|wörld", "ok"},
		{"get|orders|héllo", "some:wörld"},
		{"exists|orders|a", "true"},
		{"exists|orders|b", "false"},
		{"setmany|orders|b=2,c=3", "ok"},
		{"setmany|orders|", "ok"},
		{"getmany|orders|a,x,c", "a=one|with|bars,x=none,c=3"},
		{"getmany|orders|", ""},
		{"list|orders|", "a,b,c,empty,héllo;"},
		{"list|orders", "a,b,c,empty,héllo;"},
		{"list|orders|c", "empty,héllo;"}, // a cursor is the last key of a page
		{"delmany|orders|b,c,never", "ok"},
		{"delmany|orders|", "ok"},
		{"del|orders|a", "ok"},
		{"del|orders|a", "ok"},
		{"get|orders|a", "none"},
		{"list|orders|", "empty,héllo;"},
		{"list|nothing-here|", ";"},
		{"inc|counters|n|5", "5"},
		{"inc|counters|n|-7", "-2"},
		{"count|counters|n", "-1"},
		{"inc|counters|n|0", "-1"},
		{"inc|counters|big|9223372036854775807", "9223372036854775807"},
		{"inc|counters|big|1", "error:other:*"}, // overflow
		{"inc|counters|low|-9223372036854775808", "-9223372036854775808"},
		{"get|counters|n", "some:-1"},           // stored as decimal text
		{"inc|orders|héllo|1", "error:other:*"}, // not a number
		{"cas|cas|k|v1", "swapped:none"},
		{"cas|cas|k|v2", "swapped:v1"},
		{"cas|cas|k|", "swapped:v2"},
		{"get|cas|k", "some:"},
		{"usage", "*"},
		// Refusals from the host: values, never traps.
		{"open|" + strings.Repeat("b", storage.MaxBucketBytes+1), "error:no-such-store"},
		{"get|" + strings.Repeat("b", storage.MaxBucketBytes+1) + "|k", "error:no-such-store"},
		{"open|", "error:no-such-store"},
		{"get|orders|" + long, "error:other:*"},
		{"set|orders|" + long + "|v", "error:other:*"},
		{"set|orders|a\x00b|v", "error:other:*"},
		{"set|orders||v", "error:other:*"},
		{"setmany|orders|ok=1,=2", "error:other:*"},
		// Bad commands.
		{"", "bad-command"},
		{"open", "bad-command"},
		{"usage|x", "bad-command"},
		{"nope|orders|a", "bad-command"},
		{"get|orders", "bad-command"},
		{"set|orders|novalue", "bad-command"},
		{"inc|orders|n", "bad-command"},
		{"inc|orders|n|", "bad-command"},
		{"inc|orders|n|+1", "bad-command"},
		{"inc|orders|n|--1", "bad-command"},
		{"inc|orders|n|1x", "bad-command"},
		{"inc|orders|n|9223372036854775808", "bad-command"},
		{"inc|orders|n|-9223372036854775809", "bad-command"},
		{"cas|orders|k", "bad-command"},
		{"setmany|orders|a=1,b", "bad-command"},
		{"get|orders|empty", "some:"}, // nothing written by the bad ones
		{"exists|orders|ok", "false"},
	}
	replies := map[string][]string{}
	eachKVActor(t, func(t *testing.T, comp string) {
		db, _ := kvDB(t)
		sys, _ := kvSystem(t, db)
		deploy(t, sys, kvSpecOf(t, "app/kv/1", comp, billing))
		replies[comp] = runKVSteps(t, sys, "app/kv/1", steps)

		ctx := context.Background()
		if v, ok, _ := db.Get(ctx, billing, "cas", "k"); !ok || len(v) != 0 {
			t.Fatalf("Go API sees %q %v", v, ok)
		}
		if err := db.Set(ctx, billing, "orders", "from-go", []byte("hi"), storage.Limits{}); err != nil {
			t.Fatal(err)
		}
		if got := ask(t, sys, "app/kv/1", "get|orders|from-go"); got != "some:hi" {
			t.Fatal(got)
		}
		u, _ := db.Usage(ctx, billing)
		want := strings.Join([]string{itoa(u.Bytes), itoa(u.Keys), itoa(storage.DefaultMaxBytes),
			itoa(storage.DefaultMaxKeys), itoa(storage.DefaultMaxValueBytes)}, " ")
		if got := ask(t, sys, "app/kv/1", "usage"); got != want {
			t.Fatalf("usage %q, want %q", got, want)
		}
		// Not UTF-8: a bad command, not a trap.
		r := request(t, sys, "app/kv/1", actor.Message{Payload: []byte{'g', 'e', 't', '|', 0xff}})
		if string(r.Payload) != "bad-command" {
			t.Fatalf("a payload that is not UTF-8: %q", r.Payload)
		}
		// get64: the value itself.
		r = request(t, sys, "app/kv/1", actor.Message{Payload: []byte("get64|orders|héllo")})
		if string(r.Payload) != "wörld" {
			t.Fatalf("get64: %q", r.Payload)
		}
		noFailures(t, sys, "app/kv/1")
	})
	if len(replies) == 2 {
		c, g := replies[kvActors[0]], replies[kvActors[1]]
		for i := range steps {
			if c[i] != g[i] {
				t.Errorf("%.60q: C replied %q, Go %q", steps[i].cmd, c[i], g[i])
			}
		}
	}
}

// TestGoKVListsPages: list-keys in pages of storage.ListPage, the cursor
// going out and back through the guest.
func TestGoKVListsPages(t *testing.T) {
	n := storage.ListPage + 3
	var keys, pairs []string
	for i := range n {
		keys = append(keys, fmt.Sprintf("k%05d", i))
		pairs = append(pairs, keys[i]+"="+itoa(int64(i)))
	}
	eachKVActor(t, func(t *testing.T, comp string) {
		db, _ := kvDB(t)
		sys, _ := kvSystem(t, db)
		deploy(t, sys, kvSpecOf(t, "app/kv/1", comp, billing))
		if got := ask(t, sys, "app/kv/1", "setmany|b|"+strings.Join(pairs, ",")); got != "ok" {
			t.Fatal(got)
		}
		var listed []string
		cursor := ""
		for page := 0; ; page++ {
			got := ask(t, sys, "app/kv/1", "list|b|"+cursor)
			ks, next, ok := strings.Cut(got, ";")
			if !ok || page > 2 {
				t.Fatalf("page %d: %.100q", page, got)
			}
			listed = append(listed, strings.Split(ks, ",")...)
			if next == "" {
				break
			}
			if page == 0 && len(listed) != storage.ListPage {
				t.Fatalf("first page of %d keys", len(listed))
			}
			cursor = next
		}
		if !slices.Equal(listed, keys) {
			t.Fatalf("listed %d keys, want %d in order", len(listed), len(keys))
		}
		got := ask(t, sys, "app/kv/1", "getmany|b|k00000,nope,"+keys[n-1])
		if want := "k00000=0,nope=none," + keys[n-1] + "=" + itoa(int64(n-1)); got != want {
			t.Fatalf("getmany: %q, want %q", got, want)
		}
		if got := ask(t, sys, "app/kv/1", "delmany|b|"+strings.Join(keys[:n-1], ",")); got != "ok" {
			t.Fatal(got)
		}
		if got := ask(t, sys, "app/kv/1", "list|b|"); got != keys[n-1]+";" {
			t.Fatalf("after delmany: %q", got)
		}
		noFailures(t, sys, "app/kv/1")
	})
}

// TestGoKVCounterPersists: a counter kept by the actor survives a stop and
// a new deployment, a restart, another actor id of the same owner, and
// live updates between the C and the Go actor, both ways.
func TestGoKVCounterPersists(t *testing.T) {
	eachKVActor(t, func(t *testing.T, comp string) {
		other := kvActors[0]
		if comp == other {
			other = kvActors[1]
		}
		db, _ := kvDB(t)
		sys, rec := kvSystem(t, db)
		ctx := context.Background()
		s := kvSpecOf(t, "app/kv/1", comp, billing)
		deploy(t, sys, s)
		count := func(id, want string) {
			t.Helper()
			if got := ask(t, sys, id, "count|c|n"); got != want {
				t.Fatalf("%s counts %q, want %q", id, got, want)
			}
		}
		count("app/kv/1", "1")
		count("app/kv/1", "2")
		if err := sys.Stop(ctx, "app/kv/1"); err != nil {
			t.Fatal(err)
		}
		deploy(t, sys, s)
		count("app/kv/1", "3")
		if err := sys.Restart(ctx, "app/kv/1"); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the restart", func() bool { return rec.count(actor.EventRestarted, "app/kv/1") == 1 })
		count("app/kv/1", "4")
		deploy(t, sys, kvSpecOf(t, "other/thing/7", comp, billing))
		count("other/thing/7", "5")
		count("app/kv/1", "6")
		// Live updates to the other language's actor and back.
		if err := sys.Update(ctx, "app/kv/1", component(t, other), nil); err != nil {
			t.Fatal(err)
		}
		count("app/kv/1", "7")
		if err := sys.Update(ctx, "app/kv/1", component(t, comp), nil); err != nil {
			t.Fatal(err)
		}
		count("app/kv/1", "8")
		if rec.count(actor.EventUpdated, "app/kv/1") != 2 {
			t.Fatalf("update events: %s", rec.logText())
		}
		// Another owner does not see the counter.
		deploy(t, sys, kvSpecOf(t, "app/kv/2", comp, storage.Owner{Publisher: "ed25519:BBBB", Name: "billing"}))
		count("app/kv/2", "1")
		if v, ok, _ := db.Get(ctx, billing, "c", "n"); !ok || string(v) != "8" {
			t.Fatalf("the Go API reads %q %v", v, ok)
		}
		noFailures(t, sys, "other/thing/7")
	})
}

// Not the 4 MiB of kvManifest: a Go actor collects garbage only after its
// heap grew 4 MiB (guest/abi.go), and would run out of memory.
const kvReadOnlyManifest = `[component]
name = "orders"
version = "1.0.0"
[resources]
memory = "32MiB"
[capabilities.storage]
buckets = ["orders"]
read = true
`

const kvSmallValuePolicy = `[trust.unknown]
storage-buckets = ["*"]
storage-read = true
storage-write = true
storage-delete = true
storage-max-bytes = "4KiB"
storage-max-value = "1KiB"
`

// TestGoKVRefusals: an actor without storage, and actors whose grants
// leave out buckets, operations or bytes, get error values (the same from
// both actors), never traps, and nothing is written.
func TestGoKVRefusals(t *testing.T) {
	eachKVActor(t, func(t *testing.T, comp string) {
		db, _ := kvDB(t)
		sys, _ := kvSystem(t, db)
		ctx := context.Background()

		// No owner, no grants: no storage.
		deploy(t, sys, spec(t, "app/none/1", comp))
		runKVSteps(t, sys, "app/none/1", []kvStep{
			{"open|default", "error:access-denied"},
			{"get|default|secret", "error:access-denied"},
			{"count|c|n", "error:access-denied"},
			{"usage", "error:other:no storage for this component"},
		})

		// Read only.
		ro := spec(t, "app/ro/1", comp)
		ro.Grants = grantsFor(t, kvReadOnlyManifest, kvPolicy)
		deploy(t, sys, ro)
		runKVSteps(t, sys, "app/ro/1", []kvStep{
			{"open|orders", "ok"},
			{"open|other", "error:access-denied"},
			{"get|orders|a", "none"},
			{"exists|orders|a", "false"},
			{"list|orders|", ";"},
			{"getmany|orders|a", "a=none"},
			{"set|orders|a|1", "error:access-denied"},
			{"del|orders|a", "error:access-denied"},
			{"inc|orders|n|1", "error:access-denied"},
			{"cas|orders|k|v", "error:access-denied"}, // a store-error from swap
			{"setmany|orders|a=1", "error:access-denied"},
			{"delmany|orders|a", "error:access-denied"},
		})

		// Read, write, no delete; a small quota.
		rw := spec(t, "app/orders/1", comp)
		rw.Grants = grantsFor(t, kvManifest, kvSmallValuePolicy)
		deploy(t, sys, rw)
		runKVSteps(t, sys, "app/orders/1", []kvStep{
			{"set|orders|a|1", "ok"},
			{"del|orders|a", "error:access-denied"},
			{"delmany|orders|a", "error:access-denied"},
			{"get|other|a", "error:access-denied"},
			{"set|orders|big|" + strings.Repeat("x", 1025), "error:other:*"},
			{"set|orders|big|" + strings.Repeat("x", 1024), "ok"},
			{"cas|orders|big|" + strings.Repeat("y", 1025), "error:other:*"},
			{"get|orders|big", "some:" + strings.Repeat("x", 1024)},
		})
		dev := storage.Owner{Name: "orders"} // unsigned: the dev space of its manifest name
		if v, ok, _ := db.Get(ctx, dev, "orders", "a"); !ok || string(v) != "1" {
			t.Fatalf("the data is not the identity's: %q %v", v, ok)
		}
		u, _ := db.Usage(ctx, dev)
		if want := fmt.Sprintf("%d %d 4096 100000 1024", u.Bytes, u.Keys); u.Keys != 2 ||
			ask(t, sys, "app/orders/1", "usage") != want {
			t.Fatalf("usage under the policy's quota: want %q", want)
		}
		for _, id := range []string{"app/none/1", "app/ro/1", "app/orders/1"} {
			noFailures(t, sys, id)
		}
	})
}

// TestGoKVLargeValue: a value just under the value cap (and the message
// cap: the command carries it) goes in with set, and comes back whole
// through get, get64, getmany and cas.
func TestGoKVLargeValue(t *testing.T) {
	eachKVActor(t, func(t *testing.T, comp string) {
		db, _ := kvDB(t)
		sys, _ := kvSystem(t, db)
		deploy(t, sys, kvSpecOf(t, "app/kv/1", comp, billing))
		// The message's size counts its content type too.
		value := make([]byte, actor.DefaultMaxMessageBytes-64)
		for i := range value {
			value[i] = 'a' + byte(i%26)
		}
		big := func(cmd string, want []byte) {
			t.Helper()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			r, err := sys.Request(ctx, "app/kv/1", []byte(cmd), "")
			if err != nil {
				t.Fatalf("%.20q: %v", cmd, err)
			}
			if !bytes.Equal(r.Payload, want) {
				t.Fatalf("%.20q: %d bytes back, want %d: %.40q", cmd, len(r.Payload), len(want), r.Payload)
			}
		}
		big("set|big|k|"+string(value), []byte("ok"))
		big("get64|big|k", value)
		big("get|big|k", append([]byte("some:"), value...))
		big("getmany|big|k", append([]byte("k="), value...))
		big("cas|big|k|small", append([]byte("swapped:"), value...))
		// One byte over the value cap: only a policy's smaller cap lets a
		// message carry it (TestGoKVRefusals).
		big("set|big|k2|"+string(value[:storage.DefaultMaxValueBytes-1<<10]), []byte("ok"))
		if v, ok, _ := db.Get(context.Background(), billing, "big", "k"); !ok || string(v) != "small" {
			t.Fatalf("after cas: %.20q", v)
		}
		noFailures(t, sys, "app/kv/1")
	})
}

// TestGoKVCASFailed: a swap after a write behind the token's back fails
// with ErrCASFailed and hands back a token on the newer value, which
// swaps (the Go actor's casretry; the C actor has no such command).
func TestGoKVCASFailed(t *testing.T) {
	db, _ := kvDB(t)
	sys, _ := kvSystem(t, db)
	deploy(t, sys, kvSpecOf(t, "app/kv/1", "goactor_counter", billing))
	runKVSteps(t, sys, "app/kv/1", []kvStep{
		{"casretry|b|k|v1", "cas-failed,current:+,swapped"},
		{"get|b|k", "some:v1"},
		{"casretry|b|k|v2", "cas-failed,current:v1+,swapped"},
		{"get|b|k", "some:v2"},
		{"casretry|b|k", "bad-command"},
		// Names, keys and cursors that are not UTF-8 are refused by the
		// SDK (the host would trap the instance on such a string).
		{"badkeys|b|-", "refused=11/11"},
		{"get|b|k", "some:v2"},
	})
	noFailures(t, sys, "app/kv/1")
}

// TestGoKVDropsItsHandles: every command drops the bucket and cas handles
// it took (the host caps an instance's live handles at
// keyvalue.MaxHandles, 1000, and traps the call past it): 1001 rounds of
// each, under a read-only grant (no write, no fsync: quick), where cas's
// swap fails with a store error that consumes the token; and 1001 of the
// Go actor's casretry, whose failed swap hands a token back (not with
// -short or -race).
func TestGoKVDropsItsHandles(t *testing.T) {
	const rounds = 1001
	eachKVActor(t, func(t *testing.T, comp string) {
		db, _ := kvDB(t)
		sys, _ := kvSystem(t, db)
		ro := spec(t, "app/ro/1", comp)
		ro.Grants = grantsFor(t, kvReadOnlyManifest, kvPolicy)
		deploy(t, sys, ro)
		steps := []kvStep{
			{"open|orders", "ok"},
			{"get|orders|k", "none"},
			{"exists|orders|k", "false"},
			{"list|orders|", ";"},
			{"getmany|orders|k,x", "k=none,x=none"},
			{"cas|orders|k|v", "error:access-denied"},
			{"count|orders|n", "error:access-denied"},
		}
		for range rounds {
			runKVSteps(t, sys, "app/ro/1", steps)
		}
		noFailures(t, sys, "app/ro/1")
		// Two durable writes each: about 1.5 s, 4 s under the race
		// detector.
		if comp != "goactor_counter" || testing.Short() || raceEnabled {
			return
		}
		deploy(t, sys, kvSpecOf(t, "app/kv/1", comp, billing))
		ask(t, sys, "app/kv/1", "set|b|k|v")
		for range rounds {
			if got := ask(t, sys, "app/kv/1", "casretry|b|k|v"); got != "cas-failed,current:v+,swapped" {
				t.Fatal(got)
			}
		}
		noFailures(t, sys, "app/kv/1")
	})
}
