package admin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Every Backend method crosses Client -> unix socket -> Handler -> Backend
// and back with its arguments and results intact.
func TestClientRoundTrip(t *testing.T) {
	f := newFixture()
	c, _ := startHost(t, f, HandlerOptions{})
	ctx := context.Background()
	id := "ns/name.v2/0" // '/' and '.' in one path segment

	check := func(what string, err error, wantCall string) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got := f.lastCall(); got != wantCall {
			t.Errorf("%s: backend saw %q, want %q", what, got, wantCall)
		}
	}

	st, err := c.Status(ctx)
	check("Status", err, "Status")
	if st.Version != "v-test" || st.PID != 42 || !st.Started.Equal(t0) || !reflect.DeepEqual(st.Restored, []string{"shop"}) {
		t.Errorf("Status = %+v", st)
	}

	apps, err := c.Apps(ctx)
	check("Apps", err, "Apps")
	if len(apps) != 1 || apps[0].Name != "shop" || !apps[0].Deployed.Equal(t0) {
		t.Errorf("Apps = %+v", apps)
	}
	app, err := c.App(ctx, "shop")
	check("App", err, "App shop")
	if app.Name != "shop" || app.Source != "[app]\n" || len(app.Actors) != 1 {
		t.Errorf("App = %+v", app)
	}
	// Dot segments are escaped, not cleaned away.
	app, err = c.App(ctx, "..")
	check("App ..", err, "App ..")
	if app.Name != ".." {
		t.Errorf("App(..) = %+v", app)
	}

	src := []byte("[app]\nname = \"shop\"\n")
	rep, err := c.Deploy(ctx, "shop.toml", src, nil)
	check("Deploy", err, fmt.Sprintf("Deploy shop.toml %d false", len(src)))
	if rep.App != "shop.toml" || !rep.Changed || rep.Digest != fmt.Sprintf("len=%d", len(src)) {
		t.Errorf("Deploy = %+v", rep)
	}
	rep, err = c.DeleteApp(ctx, "shop")
	check("DeleteApp", err, "DeleteApp shop")
	if rep.App != "shop" {
		t.Errorf("DeleteApp = %+v", rep)
	}

	comps, err := c.Components(ctx)
	check("Components", err, "Components")
	if comps == nil || len(comps) != 0 {
		t.Errorf("Components = %#v, want an empty list", comps)
	}
	comp, err := c.Component(ctx, "greeter", "1.2.3")
	check("Component", err, "Component greeter 1.2.3")
	if comp.Name != "greeter" || comp.Version != "1.2.3" || !comp.Installed.Equal(t0) {
		t.Errorf("Component = %+v", comp)
	}
	wasm := bytes.Repeat([]byte{0, 'a', 0xff}, 1000)
	comp, err = c.Install(ctx, InstallRequest{Wasm: wasm, Manifest: []byte("[component]"), Signature: []byte("sig")})
	check("Install", err, fmt.Sprintf("Install  %d [component] sig", len(wasm)))
	if comp.Size != int64(len(wasm)) {
		t.Errorf("Install = %+v", comp)
	}
	comp, err = c.Install(ctx, InstallRequest{Ref: "registry.example/greeter:1.0.0"})
	check("Install ref", err, "Install registry.example/greeter:1.0.0 0  ")
	if comp.Digest != "registry.example/greeter:1.0.0" {
		t.Errorf("Install(ref) = %+v", comp)
	}
	check("Uninstall", c.Uninstall(ctx, "greeter", "1.2.3"), "Uninstall greeter 1.2.3")

	actors, err := c.Actors(ctx)
	check("Actors", err, "Actors")
	if len(actors) != 1 || actors[0].Handled != 7 {
		t.Errorf("Actors = %+v", actors)
	}
	a, err := c.Actor(ctx, id)
	check("Actor", err, "Actor "+id)
	if a.ID != id || a.MailboxDepth != 3 {
		t.Errorf("Actor = %+v", a)
	}
	h, err := c.Health(ctx, id)
	check("Health", err, "Health "+id)
	if h != "healthy" {
		t.Errorf("Health = %q", h)
	}
	check("Stop", c.Stop(ctx, id), "Stop "+id)
	check("Restart", c.Restart(ctx, id), "Restart "+id)
	res, err := c.Update(ctx, id, "greeter@1.2.4")
	check("Update", err, "Update "+id+" greeter@1.2.4")
	if res != (ActorResult{ID: id, Action: ActionUpdated, To: "greeter@1.2.4"}) {
		t.Errorf("Update = %+v", res)
	}
	res, err = c.Rollback(ctx, id)
	check("Rollback", err, "Rollback "+id)
	if res.Action != ActionRolledBack || res.ID != id {
		t.Errorf("Rollback = %+v", res)
	}

	dl, err := c.DeadLetters(ctx, 5)
	check("DeadLetters", err, "DeadLetters 5")
	if dl.Total != 9 || len(dl.Letters) != 1 || dl.Letters[0].Reason != "full" {
		t.Errorf("DeadLetters = %+v", dl)
	}
	_, err = c.DeadLetters(ctx, 0)
	check("DeadLetters 0", err, "DeadLetters 0")

	f.logs = []LogLine{{Time: t0, Level: "INFO", Actor: id, Message: "one", Attrs: map[string]string{"k": "v"}},
		{Level: "WARN", Message: "two"}, {Dropped: 3}}
	var got []LogLine
	err = c.Logs(ctx, LogQuery{Actor: id, Tail: 20}, func(l LogLine) error { got = append(got, l); return nil })
	check("Logs", err, "Logs "+id+" 20 false")
	if !reflect.DeepEqual(got, f.logs) {
		t.Errorf("Logs sent %+v, want %+v", got, f.logs)
	}
	// fn's error stops the stream and is returned as it is.
	stop := errors.New("enough")
	n := 0
	err = c.Logs(ctx, LogQuery{}, func(LogLine) error { n++; return stop })
	if err != stop || n != 1 {
		t.Errorf("Logs with a failing fn = %v after %d lines, want %v after 1", err, n, stop)
	}

	f.export = "{\"bucket\":\"b\",\"key\":\"k\",\"value\":\"v\"}\n"
	var buf bytes.Buffer
	check("ExportStorage", c.ExportStorage(ctx, "greeter", &buf), "ExportStorage greeter")
	if buf.String() != f.export {
		t.Errorf("ExportStorage wrote %q, want %q", buf.String(), f.export)
	}
	// An empty export is an empty body, not an error.
	f.export = ""
	buf.Reset()
	check("ExportStorage empty", c.ExportStorage(ctx, "greeter", &buf), "ExportStorage greeter")
	if buf.Len() != 0 {
		t.Errorf("empty ExportStorage wrote %q", buf.String())
	}
}

// Arguments the API cannot carry are refused before anything is sent.
func TestClientRefusesEmptyNames(t *testing.T) {
	f := newFixture()
	c, _ := startHost(t, f, HandlerOptions{})
	ctx := context.Background()
	for name, err := range map[string]error{
		"App":       func() error { _, err := c.App(ctx, ""); return err }(),
		"Actor":     func() error { _, err := c.Actor(ctx, ""); return err }(),
		"Stop":      c.Stop(ctx, ""),
		"Component": func() error { _, err := c.Component(ctx, "greeter", ""); return err }(),
		"Export":    c.ExportStorage(ctx, "", &bytes.Buffer{}),
	} {
		if !errors.Is(err, ErrBadRequest) {
			t.Errorf("%s with an empty name: %v, want bad_request", name, err)
		}
	}
	if got := f.lastCall(); got != "" {
		t.Errorf("the backend was called: %q", got)
	}
}

func TestDialTargets(t *testing.T) {
	for _, target := range []string{"unix:/run/x.sock", "https://host.example:9443", "https://10.1.2.3:9443/",
		"http://127.0.0.1:9090", "http://localhost:9090", "http://[::1]:9090"} {
		if _, err := Dial(target, ClientOptions{}); err != nil {
			t.Errorf("Dial(%q): %v", target, err)
		}
	}
	for _, target := range []string{"", "unix:", "/run/x.sock", "ftp://h:1", "http://10.0.0.1:9090",
		"http://host.example:9090", "https://h:1/v1", "https://h:1?x=1", "https://user@h:1", "https://"} {
		if _, err := Dial(target, ClientOptions{}); err == nil {
			t.Errorf("Dial(%q) succeeded", target)
		}
	}
	if _, err := Dial("https://h:1", ClientOptions{CAFile: "/nonexistent/ca.pem"}); err == nil {
		t.Error("Dial with a missing CA file succeeded")
	}
}

// A host that is not there is unavailable, with the target named.
func TestClientUnreachable(t *testing.T) {
	c, err := Dial("unix:"+shortDir(t)+"/none.sock", ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Status(context.Background())
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "none.sock") {
		t.Errorf("Status of no host = %v, want unavailable naming the socket", err)
	}
}

// Timeout bounds a call the host does not answer.
func TestClientTimeout(t *testing.T) {
	f := newFixture()
	f.block = true
	hs := serveUnix(t, NewHandler(f, HandlerOptions{}), ServeOptions{}, currentUID())
	c, err := Dial("unix:"+hs.path, ClientOptions{Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Status(context.Background())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Status = %v, want a deadline exceeded", err)
	}
	// The host's handler saw the request go away.
	waitFor(t, f.left, "the handler's context to end")
}

// The caller's context ends a call.
func TestClientContext(t *testing.T) {
	f := newFixture()
	f.block = true
	c, _ := startHost(t, f, HandlerOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := c.Status(ctx); errc <- err }()
	waitFor(t, f.entered, "the request to reach the backend")
	cancel()
	if err := waitFor(t, errc, "Status to return"); !errors.Is(err, context.Canceled) {
		t.Errorf("Status = %v, want canceled", err)
	}
	waitFor(t, f.left, "the handler's context to end")
}

// Timeout bounds the wait for a stream to begin, not the stream: a
// follower outlives it.
func TestClientTimeoutSparesStreams(t *testing.T) {
	f := newFixture()
	hs := serveUnix(t, NewHandler(f, HandlerOptions{}), ServeOptions{}, currentUID())
	const timeout = 50 * time.Millisecond
	c, err := Dial("unix:"+hs.path, ClientOptions{Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lines := make(chan LogLine)
	errc := make(chan error, 1)
	go func() {
		errc <- c.Logs(ctx, LogQuery{Follow: true}, func(l LogLine) error { lines <- l; return nil })
	}()
	// Lines keep flowing, one after the other, for several timeouts.
	start := time.Now()
	for i := 0; time.Since(start) < 5*timeout; i++ {
		select {
		case f.follow <- LogLine{Message: fmt.Sprint(i)}:
		case err := <-errc:
			t.Fatalf("the stream ended after %v: %v", time.Since(start), err)
		case <-time.After(20 * time.Second):
			t.Fatal("the backend's Logs is not following")
		}
		select {
		case <-lines:
		case err := <-errc:
			t.Fatalf("the stream ended after %v: %v", time.Since(start), err)
		case <-time.After(20 * time.Second):
			t.Fatal("a line did not arrive")
		}
	}
	cancel()
	if err := waitFor(t, errc, "Logs to return"); !errors.Is(err, context.Canceled) {
		t.Errorf("Logs = %v, want canceled", err)
	}
}
