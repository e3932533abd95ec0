package actor_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/storage"
)

// The demo actors of the host service's example app (testdata/src/demo):
// the counter (demo_counter_v1.wasm, demo_counter_v2.wasm) behind
// GET/POST /api/counters/{name}, and the audit actor (demo_audit.wasm)
// subscribed to its events. Requests are built as the HTTP gateway builds
// them: headers http-method, http-path, http-query, http-param-name.

var (
	demoCounterOwner = storage.Owner{Publisher: "ed25519:DEMO", Name: "counter"}
	demoAuditOwner   = storage.Owner{Publisher: "ed25519:DEMO", Name: "audit"}
)

func demoCounterSpec(t *testing.T, id, comp string) actor.Spec {
	s := spec(t, id, comp)
	s.Owner = demoCounterOwner
	return s
}

// demoHTTP sends what the gateway would send for method /api/counters/name
// (no http-param-name header when name is nil) and returns the reply.
func demoHTTP(t *testing.T, sys *actor.System, to, method string, name *string) actor.Message {
	t.Helper()
	path := "/api/counters"
	if name != nil {
		path += "/" + *name
	}
	m := actor.Message{Headers: []actor.Header{{Name: "http-method", Value: method},
		{Name: "http-path", Value: path}, {Name: "http-query", Value: ""}}}
	if name != nil {
		m.Headers = append(m.Headers, actor.Header{Name: "http-param-name", Value: *name})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := sys.RequestMessage(ctx, actor.ID(to), m)
	if err != nil {
		t.Fatalf("%s %s to %s: %v", method, path, to, err)
	}
	return r
}

// wantJSON checks a reply: status, content type application/json, the
// exact body, and that the body is valid JSON.
func wantJSON(t *testing.T, what string, r actor.Message, status uint16, body string) {
	t.Helper()
	if r.Status != status || r.ContentType != "application/json" || string(r.Payload) != body {
		t.Fatalf("%s: status %d, content type %q, body %s; want %d, application/json, %s", what, r.Status,
			r.ContentType, r.Payload, status, body)
	}
	if !json.Valid(r.Payload) {
		t.Fatalf("%s: not JSON: %s", what, r.Payload)
	}
}

func ptr(s string) *string { return &s }

// TestDemoCounterCounts: POST increments, GET reads (0 when absent), the
// data is the key in bucket "default" of the component's owner, init logs
// its line, and a plain "ping" gets "pong <version>".
func TestDemoCounterCounts(t *testing.T) {
	db, _ := kvDB(t)
	sys, rec := kvSystem(t, db)
	deploy(t, sys, demoCounterSpec(t, "demo/counter/1", "demo_counter_v1"))
	const id = "demo/counter/1"
	wantJSON(t, "first POST", demoHTTP(t, sys, id, "POST", ptr("visits")), 200,
		`{"name":"visits","count":1,"version":"1.0.0"}`)
	wantJSON(t, "second POST", demoHTTP(t, sys, id, "POST", ptr("visits")), 200,
		`{"name":"visits","count":2,"version":"1.0.0"}`)
	wantJSON(t, "GET", demoHTTP(t, sys, id, "GET", ptr("visits")), 200,
		`{"name":"visits","count":2,"version":"1.0.0"}`)
	wantJSON(t, "GET of a new name", demoHTTP(t, sys, id, "GET", ptr("Other_name-9")), 200,
		`{"name":"Other_name-9","count":0,"version":"1.0.0"}`)
	ctx := context.Background()
	if v, ok, err := db.Get(ctx, demoCounterOwner, "default", "visits"); err != nil || !ok || string(v) != "2" {
		t.Fatalf("stored %q %v %v", v, ok, err)
	}
	if _, ok, _ := db.Get(ctx, demoCounterOwner, "default", "Other_name-9"); ok {
		t.Fatal("GET created its key")
	}
	// A count set from elsewhere (the Go API) is read back as it is.
	if err := db.Set(ctx, demoCounterOwner, "default", "big", []byte("-41"), storage.Limits{}); err != nil {
		t.Fatal(err)
	}
	wantJSON(t, "POST after a Go write", demoHTTP(t, sys, id, "POST", ptr("big")), 200,
		`{"name":"big","count":-40,"version":"1.0.0"}`)
	if got := ask(t, sys, id, "ping"); got != "pong 1.0.0" {
		t.Fatalf("ping: %q", got)
	}
	if got := ask(t, sys, id, "hello"); got != "" {
		t.Fatalf("a plain message other than ping: %q", got)
	}
	if !strings.Contains(rec.logText(), "counter 1.0.0 ready") {
		t.Fatalf("no init line in the log:\n%s", rec.logText())
	}
	if h, err := sys.Health(ctx, id); err != nil || h != actor.Healthy {
		t.Fatalf("health %v %v", h, err)
	}
	if st, _ := sys.Stats(id); st.Failed != 0 || st.Handles != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestDemoCounterRefuses: bad names are 400, other methods 405, and a
// storage refusal is a 500 that names the error's kind.
func TestDemoCounterRefuses(t *testing.T) {
	db, _ := kvDB(t)
	sys, _ := kvSystem(t, db)
	const id = "demo/counter/1"
	deploy(t, sys, demoCounterSpec(t, id, "demo_counter_v1"))
	const badName = `{"error":"bad name"}`
	for _, name := range []*string{nil, ptr(""), ptr(strings.Repeat("n", 65)), ptr("a b"), ptr(`a"b`),
		ptr(`a\b`), ptr("a/b"), ptr("a\nb"), ptr("é"), ptr("a.b")} {
		for _, method := range []string{"GET", "POST"} {
			what := method + " of no name"
			if name != nil {
				what = method + " of " + strings.ReplaceAll(*name, "\n", `\n`)
			}
			wantJSON(t, what, demoHTTP(t, sys, id, method, name), 400, badName)
		}
	}
	long := strings.Repeat("n", 64)
	wantJSON(t, "POST of 64 bytes", demoHTTP(t, sys, id, "POST", ptr(long)), 200,
		`{"name":"`+long+`","count":1,"version":"1.0.0"}`)
	for _, method := range []string{"PUT", "DELETE", "PATCH", "HEAD", "get", "post"} {
		r := demoHTTP(t, sys, id, method, ptr("visits"))
		wantJSON(t, method, r, 405, `{"error":"method not allowed"}`)
		if allow, _ := r.Header("allow"); allow != "GET, POST" {
			t.Fatalf("%s: allow %q", method, allow)
		}
	}
	if u, _ := db.Usage(context.Background(), demoCounterOwner); u.Keys != 1 {
		t.Fatalf("refused requests wrote: %+v", u)
	}
	// Without an owner the actor has no storage: access-denied, a 500.
	deploy(t, sys, spec(t, "demo/counter/2", "demo_counter_v1"))
	for _, method := range []string{"GET", "POST"} {
		wantJSON(t, method+" without storage", demoHTTP(t, sys, "demo/counter/2", method, ptr("visits")), 500,
			`{"error":"storage: access-denied"}`)
	}
	// A stored value that is not a counter: kind other.
	if err := db.Set(context.Background(), demoCounterOwner, "default", "text", []byte("abc"),
		storage.Limits{}); err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{"GET", "POST"} {
		wantJSON(t, method+" of a non-counter", demoHTTP(t, sys, id, method, ptr("text")), 500,
			`{"error":"storage: other"}`)
	}
	if st, _ := sys.Stats(id); st.Failed != 0 {
		t.Fatalf("a refusal failed the actor: %+v", st)
	}
}

// TestDemoCounterPublishes: each POST publishes its reply's body on
// counters.changed (a GET does not); a refused publish still answers 200
// and is counted in x-publish-refused.
func TestDemoCounterPublishes(t *testing.T) {
	db, _ := kvDB(t)
	sys, _ := kvSystem(t, db)
	const id = "demo/counter/1"
	deploy(t, sys, demoCounterSpec(t, id, "demo_counter_v1"))
	sub, err := sys.Subscribe("counters.changed", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	r := demoHTTP(t, sys, id, "POST", ptr("clicks"))
	want := `{"name":"clicks","count":1,"version":"1.0.0"}`
	wantJSON(t, "POST", r, 200, want)
	if _, ok := r.Header("x-publish-refused"); ok {
		t.Fatal("x-publish-refused before any refusal")
	}
	select {
	case m := <-sub.C:
		if string(m.Payload) != want || m.ContentType != "application/json" || m.Topic != "counters.changed" ||
			m.Sender != id {
			t.Fatalf("event %+v", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event on counters.changed")
	}
	demoHTTP(t, sys, id, "GET", ptr("clicks"))
	// The subscription holds one message: the first POST fills it, the
	// next two are refused.
	for i, count := range []string{"2", "3", "4"} {
		r := demoHTTP(t, sys, id, "POST", ptr("clicks"))
		wantJSON(t, "POST "+count, r, 200, `{"name":"clicks","count":`+count+`,"version":"1.0.0"}`)
		refused, ok := r.Header("x-publish-refused")
		switch {
		case i == 0 && ok:
			t.Fatalf("POST %s: x-publish-refused %q", count, refused)
		case i > 0 && refused != []string{"", "1", "2"}[i]:
			t.Fatalf("POST %s: x-publish-refused %q", count, refused)
		}
	}
	select {
	case m := <-sub.C:
		if !strings.Contains(string(m.Payload), `"count":2`) {
			t.Fatalf("kept event %s (a GET published?)", m.Payload)
		}
	default:
		t.Fatal("no event kept")
	}
	if st, _ := sys.Stats(id); st.Failed != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestDemoAuditCountsEvents: the audit actor, subscribed to
// counters.changed, counts the counter's events and keeps the last one; it
// answers "stats" and an HTTP GET with them.
func TestDemoAuditCountsEvents(t *testing.T) {
	db, _ := kvDB(t)
	sys, rec := kvSystem(t, db)
	deploy(t, sys, demoCounterSpec(t, "demo/counter/1", "demo_counter_v1"))
	audit := spec(t, "demo/audit/1", "demo_audit")
	audit.Owner = demoAuditOwner
	audit.Subscriptions = []string{"counters.changed"}
	deploy(t, sys, audit)
	stats := func() actor.Message {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r, err := sys.Request(ctx, "demo/audit/1", []byte("stats"), "text/plain")
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	wantJSON(t, "stats before any event", stats(), 200, `{"events":0,"last":null}`)
	for _, name := range []string{"a", "b", "a"} {
		demoHTTP(t, sys, "demo/counter/1", "POST", ptr(name))
	}
	want := `{"events":3,"last":{"name":"a","count":2,"version":"1.0.0"}}`
	eventually(t, "three events", func() bool { return string(stats().Payload) == want })
	wantJSON(t, "stats", stats(), 200, want)
	wantJSON(t, "GET", demoHTTP(t, sys, "demo/audit/1", "GET", nil), 200, want)
	r := demoHTTP(t, sys, "demo/audit/1", "POST", nil)
	wantJSON(t, "POST", r, 405, `{"error":"method not allowed"}`)
	if allow, _ := r.Header("allow"); allow != "GET" {
		t.Fatalf("allow %q", allow)
	}
	if got := ask(t, sys, "demo/audit/1", "hello"); got != "" {
		t.Fatalf("a plain message: %q", got)
	}
	ctx := context.Background()
	if v, _, _ := db.Get(ctx, demoAuditOwner, "default", "events"); string(v) != "3" {
		t.Fatalf("events stored as %q", v)
	}
	if v, _, _ := db.Get(ctx, demoAuditOwner, "default", "last"); string(v) != `{"name":"a","count":2,"version":"1.0.0"}` {
		t.Fatalf("last stored as %q", v)
	}
	// Its data is its own: the counter's keys are not among it.
	if _, ok, _ := db.Get(ctx, demoAuditOwner, "default", "a"); ok {
		t.Fatal("the counter's key in the audit's data")
	}

	// Whatever is published there: "last" is the event when it is JSON, a
	// JSON string of it when it is other text, null when it is not UTF-8.
	deep := strings.Repeat("[", 40) + strings.Repeat("]", 40)
	events := 3
	for _, c := range []struct{ event, last string }{
		{` {"a":[1,-2.5e3,0.25,true,false,null,"x\"\u00e9"],"b":{}} `, ` {"a":[1,-2.5e3,0.25,true,false,null,"x\"\u00e9"],"b":{}} `},
		{`[]`, `[]`},
		{`"s"`, `"s"`},
		{`-0`, `-0`},
		{`he said "hi"` + "\n\t\x01\\", `"he said \"hi\"\n\t\u0001\\"`},
		{`{"a":}`, `"{\"a\":}"`},
		{`{"a":1,}`, `"{\"a\":1,}"`},
		{`[1 2]`, `"[1 2]"`},
		{`01`, `"01"`},
		{`1.`, `"1."`},
		{`tru`, `"tru"`},
		{`"a` + "\n" + `"`, `"\"a\n\""`},
		{`"\x"`, `"\"\\x\""`},
		{`{} {}`, `"{} {}"`},
		{``, `""`},
		{deep, `"` + deep + `"`},
		{"\xff\xfe", `null`},
	} {
		if err := sys.Publish(ctx, "counters.changed", []byte(c.event), "text/plain"); err != nil {
			t.Fatal(err)
		}
		events++
		want := `{"events":` + itoa(int64(events)) + `,"last":` + c.last + `}`
		eventually(t, "event "+c.event, func() bool { return string(stats().Payload) == want })
		wantJSON(t, "event "+c.event, stats(), 200, want)
	}
	if !strings.Contains(rec.logText(), "audit ready") {
		t.Fatalf("no init line in the log:\n%s", rec.logText())
	}
	if st, _ := sys.Stats("demo/audit/1"); st.Failed != 0 || st.Handles != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestDemoCounterLiveUpdate: v1 to v2 with sys.Update: the new version
// answers with its version and the counts are still there.
func TestDemoCounterLiveUpdate(t *testing.T) {
	db, _ := kvDB(t)
	sys, rec := kvSystem(t, db)
	const id = "demo/counter/1"
	deploy(t, sys, demoCounterSpec(t, id, "demo_counter_v1"))
	demoHTTP(t, sys, id, "POST", ptr("x"))
	demoHTTP(t, sys, id, "POST", ptr("x"))
	if got := ask(t, sys, id, "ping"); got != "pong 1.0.0" {
		t.Fatalf("ping before the update: %q", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sys.Update(ctx, id, component(t, "demo_counter_v2"), nil); err != nil {
		t.Fatal(err)
	}
	if got := ask(t, sys, id, "ping"); got != "pong 1.1.0" {
		t.Fatalf("ping after the update: %q", got)
	}
	wantJSON(t, "GET after the update", demoHTTP(t, sys, id, "GET", ptr("x")), 200,
		`{"name":"x","count":2,"version":"1.1.0"}`)
	wantJSON(t, "POST after the update", demoHTTP(t, sys, id, "POST", ptr("x")), 200,
		`{"name":"x","count":3,"version":"1.1.0"}`)
	if !strings.Contains(rec.logText(), "counter 1.1.0 ready") {
		t.Fatalf("no init line of v2 in the log:\n%s", rec.logText())
	}
	// And back.
	if err := sys.Rollback(ctx, id); err != nil {
		t.Fatal(err)
	}
	wantJSON(t, "GET after the rollback", demoHTTP(t, sys, id, "GET", ptr("x")), 200,
		`{"name":"x","count":3,"version":"1.0.0"}`)
}
