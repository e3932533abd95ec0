package state

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/airsstack/airssys-wasm-go/lattice"
)

const testLattice = "test-lattice"

func startJS(t *testing.T, dir string) *lattice.Server {
	t.Helper()
	srv, err := lattice.StartServer(ctx, lattice.ServerConfig{JetStreamDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

func connect(t *testing.T, srv *lattice.Server, name string) *nats.Conn {
	t.Helper()
	nc, err := srv.Connect(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func newKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pub(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

func openJS(t *testing.T, nc *nats.Conn, signer ed25519.PrivateKey, trusted ...ed25519.PublicKey) *JetStream {
	t.Helper()
	s, err := OpenJetStream(ctx, nc, JetStreamOptions{Lattice: testLattice, Signer: signer, Trusted: trusted})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rawKV is the bucket as any holder of the lattice's credentials sees it.
func rawKV(t *testing.T, nc *nats.Conn) jetstream.KeyValue {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := BucketName(testLattice)
	kv, err := js.KeyValue(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

func names(apps []App) []string {
	var out []string
	for _, a := range apps {
		out = append(out, a.Name)
	}
	return out
}

func TestJetStreamPutGetListDelete(t *testing.T) {
	srv := startJS(t, t.TempDir())
	defer srv.Shutdown()
	s := openJS(t, connect(t, srv, "host-a"), newKey(t))
	a := App{Name: "shop", Digest: "sha256:1", Source: []byte("name = \"shop\"\n"), Deployed: time.Unix(1, 0).UTC(),
		Resolved: map[string]string{"oci://x/y:1": "y@1.0.0"},
		Actors:   map[string]ActorState{"shop/cart": {Component: "cart@2", Previous: "cart@1"}}}
	if err := s.Put(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, App{Name: "blog", Digest: "sha256:2"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "shop")
	if err != nil || got.Digest != a.Digest || string(got.Source) != string(a.Source) || !got.Deployed.Equal(a.Deployed) ||
		got.Resolved["oci://x/y:1"] != "y@1.0.0" || got.Actors["shop/cart"] != a.Actors["shop/cart"] {
		t.Fatalf("get: %+v %v", got, err)
	}
	if _, err := s.Get(ctx, "none"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if err := s.Put(ctx, App{}); err == nil {
		t.Fatal("an app without a name was kept")
	}
	// Replacing one keeps one.
	if err := s.Put(ctx, App{Name: "blog", Digest: "sha256:3"}); err != nil {
		t.Fatal(err)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "blog" || list[0].Digest != "sha256:3" || list[1].Name != "shop" {
		t.Fatalf("list %+v %v", list, err)
	}
	if err := s.Delete(ctx, "blog"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "never-there"); err != nil {
		t.Fatalf("delete of an absent app: %v", err)
	}
	if _, err := s.Get(ctx, "blog"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted: %v", err)
	}
	if list, err := s.List(ctx); err != nil || len(list) != 1 || list[0].Name != "shop" {
		t.Fatalf("after delete: %+v %v", list, err)
	}
	// Put again after a delete.
	if err := s.Put(ctx, App{Name: "blog", Digest: "sha256:4"}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "blog"); err != nil || got.Digest != "sha256:4" {
		t.Fatalf("after re-put: %+v %v", got, err)
	}
	// A store without a signing key reads and does not write.
	ro, err := OpenJetStream(ctx, connect(t, srv, "viewer"), JetStreamOptions{Lattice: testLattice, Trusted: []ed25519.PublicKey{pub(s.signer)}})
	if err != nil {
		t.Fatal(err)
	}
	if list, err := ro.List(ctx); err != nil || len(list) != 2 {
		t.Fatalf("read-only list: %+v %v", list, err)
	}
	if err := ro.Put(ctx, App{Name: "x"}); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("read-only put: %v", err)
	}
	if err := ro.Delete(ctx, "shop"); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("read-only delete: %v", err)
	}
	ro.Close()
	if _, err := ro.Get(ctx, "shop"); !errors.Is(err, ErrClosed) {
		t.Fatalf("get after close: %v", err)
	}
}

func TestJetStreamOpenRefuses(t *testing.T) {
	srv := startJS(t, t.TempDir())
	defer srv.Shutdown()
	nc := connect(t, srv, "host-a")
	for _, name := range []string{"", "Upper", "a.b", "a b", "-x", "a_b", strings.Repeat("a", 64)} {
		if _, err := OpenJetStream(ctx, nc, JetStreamOptions{Lattice: name, Signer: newKey(t)}); err == nil {
			t.Errorf("lattice name %q accepted", name)
		}
	}
	if _, err := OpenJetStream(ctx, nc, JetStreamOptions{Lattice: testLattice}); err == nil {
		t.Error("a store that accepts no key was opened")
	}
	if _, err := OpenJetStream(ctx, nc, JetStreamOptions{Lattice: testLattice, Signer: newKey(t), Replicas: 3}); err == nil {
		t.Error("3 replicas on one server")
	}
	// A server without JetStream.
	plain, err := lattice.StartServer(ctx, lattice.ServerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Shutdown()
	if _, err := OpenJetStream(ctx, connect(t, plain, "x"), JetStreamOptions{Lattice: testLattice, Signer: newKey(t)}); err == nil {
		t.Error("opened without JetStream")
	}
}

var kvKeyRE = regexp.MustCompile(`^[-/_=.A-Za-z0-9]+$`)

func TestAppKeys(t *testing.T) {
	seen := map[string]string{}
	for _, name := range []string{"shop", "my app", "a.b", ".", "..", "a..b", ".x.", "=", "=41", "A", "a/b", "app.x",
		"*", ">", "%41", "日本語", "café", "tab\there", "nul\x00", "\xff", "-_", strings.Repeat("é", 300)} {
		k, err := appKey(name)
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		enc := strings.TrimPrefix(k, "app.")
		if !kvKeyRE.MatchString(k) || strings.Contains(enc, ".") {
			t.Errorf("%q: key %q not a valid KV key of one token", name, k)
		}
		if other, dup := seen[k]; dup {
			t.Errorf("%q and %q share key %q", name, other, k)
		}
		seen[k] = name
		back, err := keyName(k)
		if err != nil || back != name {
			t.Errorf("%q -> %q -> %q %v", name, k, back, err)
		}
	}
	if k, _ := appKey("shop"); k != "app.shop" {
		t.Errorf("shop: %q", k)
	}
	for _, k := range []string{"app.=41", "app.=4", "app.=zz", "app.a=", "shop", "app.", "app.a.b", "app.=e9"} {
		if n, err := keyName(k); err == nil {
			t.Errorf("key %q decoded to %q", k, n)
		}
	}
	if _, err := appKey(strings.Repeat("a", maxNameLen+1)); err == nil {
		t.Error("an overlong name was accepted")
	}
}

func TestJetStreamNamesNeedingEncoding(t *testing.T) {
	srv := startJS(t, t.TempDir())
	defer srv.Shutdown()
	s := openJS(t, connect(t, srv, "host-a"), newKey(t))
	want := []string{"my app", "a.b", "..", "=", "=41", "A", "日本語", "café au lait", "a/b", "*", ">", "app.x", "x y.z/é"}
	for i, n := range want {
		if err := s.Put(ctx, App{Name: n, Source: []byte{byte(i)}}); err != nil {
			t.Fatalf("put %q: %v", n, err)
		}
	}
	for i, n := range want {
		got, err := s.Get(ctx, n)
		if err != nil || got.Name != n || !bytes.Equal(got.Source, []byte{byte(i)}) {
			t.Fatalf("get %q: %+v %v", n, got, err)
		}
	}
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sorted := append([]string(nil), want...)
	sort.Strings(sorted)
	if strings.Join(names(list), "|") != strings.Join(sorted, "|") {
		t.Fatalf("list %q, want %q", names(list), sorted)
	}
	if err := s.Delete(ctx, "a.b"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "a.b"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a.b after delete: %v", err)
	}
	if _, err := s.Get(ctx, "a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a: %v", err)
	}
}

func TestJetStreamTooLarge(t *testing.T) {
	srv := startJS(t, t.TempDir())
	defer srv.Shutdown()
	s := openJS(t, connect(t, srv, "host-a"), newKey(t))
	// Source is base64 in JSON: 4/3 of its size.
	err := s.Put(ctx, App{Name: "big", Source: make([]byte, 800<<10)})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "big") {
		t.Fatalf("over the cap: %v", err)
	}
	if _, err := s.Get(ctx, "big"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a refused app was kept: %v", err)
	}
	if err := s.Put(ctx, App{Name: "fits", Source: make([]byte, 700<<10)}); err != nil {
		t.Fatalf("under the cap: %v", err)
	}
	if got, err := s.Get(ctx, "fits"); err != nil || len(got.Source) != 700<<10 {
		t.Fatalf("get: %d %v", len(got.Source), err)
	}
	// The bucket caps what others write too.
	if _, err := rawKV(t, connect(t, srv, "raw")).Put(ctx, "app.raw", make([]byte, MaxValueSize+1)); err == nil {
		t.Fatal("the bucket took a value over the cap")
	}
}

func TestJetStreamTwoHosts(t *testing.T) {
	srv := startJS(t, t.TempDir())
	defer srv.Shutdown()
	ka, kb := newKey(t), newKey(t)
	a := openJS(t, connect(t, srv, "host-a"), ka, pub(kb))
	b := openJS(t, connect(t, srv, "host-b"), kb, pub(ka))
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changes, err := b.Watch(wctx)
	if err != nil {
		t.Fatal(err)
	}
	next := func() Change {
		t.Helper()
		select {
		case c, ok := <-changes:
			if !ok {
				t.Fatal("watch ended")
			}
			return c
		case <-time.After(5 * time.Second):
			t.Fatal("no change seen")
		}
		return Change{}
	}
	if err := a.Put(ctx, App{Name: "shop x", Digest: "d1"}); err != nil {
		t.Fatal(err)
	}
	if c := next(); c.Name != "shop x" || c.Deleted || c.Err != nil || c.App.Digest != "d1" || c.Revision == 0 {
		t.Fatalf("put seen as %+v", c)
	}
	if got, err := b.Get(ctx, "shop x"); err != nil || got.Digest != "d1" {
		t.Fatalf("b get: %+v %v", got, err)
	}
	if err := b.Put(ctx, App{Name: "blog", Digest: "d2"}); err != nil {
		t.Fatal(err)
	}
	if c := next(); c.Name != "blog" || c.App.Digest != "d2" {
		t.Fatalf("b's own put seen as %+v", c)
	}
	if list, err := a.List(ctx); err != nil || strings.Join(names(list), ",") != "blog,shop x" {
		t.Fatalf("a list: %q %v", names(list), err)
	}
	if err := a.Delete(ctx, "shop x"); err != nil {
		t.Fatal(err)
	}
	if c := next(); c.Name != "shop x" || !c.Deleted || c.Err != nil {
		t.Fatalf("delete seen as %+v", c)
	}
	if _, err := b.Get(ctx, "shop x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("b after delete: %v", err)
	}
	// The watch ends with its context.
	cancel()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-changes:
			if !ok {
				goto ended
			}
		case <-deadline:
			t.Fatal("the watch did not end with its context")
		}
	}
ended:
	// And with Close.
	w2, err := b.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	select {
	case _, ok := <-w2:
		if ok {
			t.Fatal("a change after close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the watch did not end with Close")
	}
}

// TestJetStreamUnknownSigner: an entry signed by a key no host accepts
// (a holder of the lattice's credentials with a key of its own) is refused
// by Get, reported by List beside the accepted apps, and by Watch.
func TestJetStreamUnknownSigner(t *testing.T) {
	srv := startJS(t, t.TempDir())
	defer srv.Shutdown()
	ka := newKey(t)
	a := openJS(t, connect(t, srv, "host-a"), ka)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changes, err := a.Watch(wctx)
	if err != nil {
		t.Fatal(err)
	}
	evil := openJS(t, connect(t, srv, "intruder"), newKey(t)) // trusts itself only
	if err := a.Put(ctx, App{Name: "shop"}); err != nil {
		t.Fatal(err)
	}
	if err := evil.Put(ctx, App{Name: "miner", Source: []byte("runs everywhere")}); err != nil {
		t.Fatal(err)
	}
	if _, err := evil.Get(ctx, "miner"); err != nil {
		t.Fatalf("the intruder reads its own entry: %v", err)
	}
	if _, err := a.Get(ctx, "miner"); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("get: %v", err)
	}
	list, err := a.List(ctx)
	if !errors.Is(err, ErrBadSignature) || !strings.Contains(err.Error(), `"miner"`) {
		t.Fatalf("list error: %v", err)
	}
	if strings.Join(names(list), ",") != "shop" {
		t.Fatalf("list: %q", names(list))
	}
	// The intruder overwriting an accepted app: refused too, not the old
	// value, not the new.
	if err := evil.Put(ctx, App{Name: "shop", Source: []byte("evil")}); err != nil {
		t.Fatal(err)
	}
	if got, err := a.Get(ctx, "shop"); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("overwritten: %+v %v", got, err)
	}
	// In order: shop accepted, miner refused, shop's overwrite refused.
	for i, want := range []struct {
		name string
		bad  bool
	}{{"shop", false}, {"miner", true}, {"shop", true}} {
		select {
		case c := <-changes:
			if c.Name != want.name || (c.Err != nil) != want.bad || c.Deleted ||
				(want.bad && (!errors.Is(c.Err, ErrBadSignature) || c.App.Name != "")) {
				t.Fatalf("change %d: %+v, want %+v", i, c, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("change %d not seen", i)
		}
	}
}

// TestJetStreamAltered: entries changed after signing, moved to another
// name, or written raw are refused.
func TestJetStreamAltered(t *testing.T) {
	srv := startJS(t, t.TempDir())
	defer srv.Shutdown()
	nc := connect(t, srv, "host-a")
	a := openJS(t, nc, newKey(t))
	if err := a.Put(ctx, App{Name: "shop", Digest: "d1", Source: []byte("good")}); err != nil {
		t.Fatal(err)
	}
	if err := a.Put(ctx, App{Name: "blog", Digest: "d2"}); err != nil {
		t.Fatal(err)
	}
	kv := rawKV(t, connect(t, srv, "raw"))
	e, err := kv.Get(ctx, "app.shop")
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]json.RawMessage
	if err := json.Unmarshal(e.Value(), &env); err != nil {
		t.Fatal(err)
	}
	var app map[string]any
	json.Unmarshal(env["app"], &app)
	app["digest"] = "d666"
	env["app"], _ = json.Marshal(app)
	altered, _ := json.Marshal(env)
	if _, err := kv.Put(ctx, "app.shop", altered); err != nil {
		t.Fatal(err)
	}
	if got, err := a.Get(ctx, "shop"); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("altered: %+v %v", got, err)
	}
	// blog's signed entry copied under another name.
	eb, _ := kv.Get(ctx, "app.blog")
	if _, err := kv.Put(ctx, "app.news", eb.Value()); err != nil {
		t.Fatal(err)
	}
	if got, err := a.Get(ctx, "news"); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("moved: %+v %v", got, err)
	}
	// Not an envelope at all; a key not of ours.
	kv.Put(ctx, "app.junk", []byte("not json"))
	kv.Put(ctx, "other", []byte("{}"))
	if _, err := a.Get(ctx, "junk"); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("junk: %v", err)
	}
	list, err := a.List(ctx)
	if strings.Join(names(list), ",") != "blog" || !errors.Is(err, ErrBadSignature) {
		t.Fatalf("list %q %v", names(list), err)
	}
	for _, n := range []string{`"shop"`, `"news"`, `"junk"`} {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("list error does not name %s: %v", n, err)
		}
	}
	// Signed by an accepted key, but for a key that is not its name's (a
	// signer's bug, not an intruder): refused as corrupt.
	raw, _ := json.Marshal(App{Name: "blog", Digest: "d9"})
	for _, k := range []string{"app.news", "app.=62log"} {
		v, _ := json.Marshal(envelope{App: raw, Signer: pub(a.signer), Sig: ed25519.Sign(a.signer, a.signedMessage(k, raw))})
		if _, err := kv.Put(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := a.Get(ctx, "news"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("signed under another name: %+v %v", got, err)
	}
	if list, err := a.List(ctx); strings.Join(names(list), ",") != "blog" || list[0].Digest != "d2" || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("list %+v %v", list, err)
	}
	// A correct Put repairs the entry.
	if err := a.Put(ctx, App{Name: "shop", Digest: "d3"}); err != nil {
		t.Fatal(err)
	}
	if got, err := a.Get(ctx, "shop"); err != nil || got.Digest != "d3" {
		t.Fatalf("repaired: %+v %v", got, err)
	}
}

// TestJetStreamRestart: the desired state survives a restart of the NATS
// server on the same JetStream directory.
func TestJetStreamRestart(t *testing.T) {
	dir := t.TempDir()
	key := newKey(t)
	srv := startJS(t, dir)
	nc, err := srv.Connect("host-a")
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenJetStream(ctx, nc, JetStreamOptions{Lattice: testLattice, Signer: key})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"shop", "blog", "my app"} {
		if err := s.Put(ctx, App{Name: n, Digest: "d-" + n}); err != nil {
			t.Fatal(err)
		}
	}
	s.Delete(ctx, "blog")
	s.Close()
	nc.Close()
	srv.Shutdown()

	srv = startJS(t, dir)
	defer srv.Shutdown()
	s = openJS(t, connect(t, srv, "host-a"), key)
	list, err := s.List(ctx)
	if err != nil || strings.Join(names(list), ",") != "my app,shop" {
		t.Fatalf("after restart: %q %v", names(list), err)
	}
	if got, err := s.Get(ctx, "my app"); err != nil || got.Digest != "d-my app" {
		t.Fatalf("get: %+v %v", got, err)
	}
	if _, err := s.Get(ctx, "blog"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted before restart: %v", err)
	}
}

// TestJetStreamWatchEndsClean: a watch whose reader stops while many
// changes are pending leaves no goroutine behind once its context ends
// (the NATS callback blocked on a full channel is drained).
func TestJetStreamWatchEndsClean(t *testing.T) {
	srv := startJS(t, t.TempDir())
	defer srv.Shutdown()
	s := openJS(t, connect(t, srv, "host-a"), newKey(t))
	if err := s.Put(ctx, App{Name: "x"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	before := runtime.NumGoroutine()
	for round := 0; round < 3; round++ {
		wctx, cancel := context.WithCancel(ctx)
		if _, err := s.Watch(wctx); err != nil { // never read
			t.Fatal(err)
		}
		for i := 0; i < 400; i++ {
			if err := s.Put(ctx, App{Name: "a" + strconv.Itoa(i)}); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(100 * time.Millisecond)
		cancel()
	}
	var after int
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if after = runtime.NumGoroutine(); after <= before {
			return
		}
	}
	t.Fatalf("goroutines: %d before the watches, %d after", before, after)
}

// TestJetStreamKillDuringPut: a child process runs the embedded server and
// puts apps in a loop, reporting each after Put returned; after a kill -9
// at a random moment, the server restarted on the same directory has
// every reported app (the doc's claim for one server: acknowledged writes
// are in the store file, which survives the process).
func TestJetStreamKillDuringPut(t *testing.T) {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	if dir := os.Getenv("STATE_JS_CHILD_DIR"); dir != "" {
		srv, err := lattice.StartServer(ctx, lattice.ServerConfig{JetStreamDir: dir})
		if err != nil {
			os.Exit(3)
		}
		nc, err := srv.Connect("child")
		if err != nil {
			os.Exit(3)
		}
		s, err := OpenJetStream(ctx, nc, JetStreamOptions{Lattice: testLattice, Signer: key})
		if err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString("ready\n")
		for i := 0; ; i++ {
			if err := s.Put(ctx, App{Name: "app-" + strconv.Itoa(i), Digest: strconv.Itoa(i)}); err != nil {
				os.Exit(4)
			}
			os.Stdout.WriteString(strconv.Itoa(i) + "\n")
		}
	}
	for round := 0; round < 3; round++ {
		dir := t.TempDir()
		cmd := exec.Command(os.Args[0], "-test.run=^TestJetStreamKillDuringPut$")
		cmd.Env = append(os.Environ(), "STATE_JS_CHILD_DIR="+dir)
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var got []byte
		buf := make([]byte, 1<<16)
		for !bytes.Contains(got, []byte("ready\n")) {
			n, err := out.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				t.Fatalf("round %d: child: %v %q", round, err, got)
			}
		}
		deadline := time.Now().Add(time.Duration(50+round*50) * time.Millisecond)
		for time.Now().Before(deadline) {
			n, err := out.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				break
			}
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		last := -1
		for _, line := range splitLines(got) {
			if n, err := strconv.Atoi(line); err == nil {
				last = n
			}
		}
		if last < 0 {
			t.Fatalf("round %d: no put reported", round)
		}
		srv := startJS(t, dir)
		s := openJS(t, connect(t, srv, "host-a"), key)
		for i := 0; i <= last; i++ {
			if _, err := s.Get(ctx, "app-"+strconv.Itoa(i)); err != nil {
				t.Fatalf("round %d: acknowledged app %d of %d lost: %v", round, i, last, err)
			}
		}
		t.Logf("round %d: %d apps acknowledged, all there", round, last+1)
		s.Close()
		srv.Shutdown()
	}
}
