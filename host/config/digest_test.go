package config

import (
	"strings"
	"testing"
)

const digestBase = `[app]
name = "shop"

[supervisor]
strategy = "rest-for-one"
max-restarts = 5

[[actor]]
id = "shop/orders/*"
component = { store = "orders@1.2.0" }
instances = 2
subscriptions = ["orders.created", "orders.paid"]
mailbox = 100
config = { region = "eu", currency = "EUR" }
resources = { memory = "32MiB" }

[[actor]]
id = "shop/billing/main"
component = { oci = "localhost:5000/billing:1.0.0" }

[[route]]
method = "POST"
path = "/orders/{id}"
actor = "shop/orders/*"
headers = ["traceparent", "x-request-id"]

[[route]]
method = "GET"
path = "/invoices/{rest...}"
actor = "shop/billing/main"
timeout = "5s"
`

func digestOf(t *testing.T, name, text string) string {
	t.Helper()
	a, err := ParseApp(name, []byte(text), nil)
	if err != nil {
		t.Fatalf("%s: %v\n%s", name, err, text)
	}
	return a.Digest()
}

// TestDigestSameMeaning: how an app is written does not change its digest.
func TestDigestSameMeaning(t *testing.T) {
	base := digestOf(t, "base.toml", digestBase)
	if !strings.HasPrefix(base, "sha256:") || len(base) != len("sha256:")+64 {
		t.Fatalf("digest %q", base)
	}
	for name, text := range map[string]string{
		// Comments, blank lines, spaces.
		"comments": "# the shop\n\n" + strings.ReplaceAll(strings.ReplaceAll(digestBase, " = ", "   =   "), "\n[", "\n\n# next\n["),
		// Key order within tables, table order, route order, and tables
		// written apart or inline.
		"reordered": `[[route]]
path = "/invoices/{rest...}"
timeout = "5s"
actor = "shop/billing/main"
method = "GET"

[[actor]]
instances = 2
id = "shop/orders/*"
mailbox = 100
subscriptions = ["orders.paid", "orders.created"]
[actor.component]
store = "orders@1.2.0"
[actor.config]
currency = "EUR"
region = "eu"
[actor.resources]
memory = 33554432

[[actor]]
component.oci = "localhost:5000/billing:1.0.0"
id = "shop/billing/main"

[[route]]
headers = ["X-Request-Id", "TraceParent"]
actor = "shop/orders/*"
path = "/orders/{id}"
method = "POST"

[supervisor]
max-restarts = 5
strategy = "rest-for-one"

[app]
name = "shop"
`,
		// Defaults written out, and values written in other units.
		"defaults": strings.NewReplacer(
			`max-restarts = 5`, "max-restarts = 5\nperiod = \"1m\"\nbackoff-min = 100\nbackoff-max = \"30s\"",
			`id = "shop/billing/main"`, "id = \"shop/billing/main\"\ninstances = 1\noverflow = \"block\"\nrestart = \"permanent\"",
			`memory = "32MiB"`, `memory = "32768KiB"`,
			`headers = ["traceparent", "x-request-id"]`, "headers = [\"traceparent\", \"x-request-id\"]\ntimeout = \"10s\"\nexpose-errors = false",
			`timeout = "5s"`, "timeout = 5000\nheaders = [\"Accept\", \"content-type\", \"tracestate\", \"traceparent\"]",
		).Replace(digestBase),
	} {
		if d := digestOf(t, name+".toml", text); d != base {
			a, _ := ParseApp("base", []byte(digestBase), nil)
			b, _ := ParseApp(name, []byte(text), nil)
			t.Errorf("%s: digest %s, want %s\n%s\n%s", name, d, base, a.Canonical(), b.Canonical())
		}
	}
}

// TestDigestChanges: every change of meaning changes the digest, and no
// two changes give the same one.
func TestDigestChanges(t *testing.T) {
	seen := map[string]string{digestOf(t, "base", digestBase): "base"}
	for _, c := range []struct{ name, old, new string }{
		{"app name", `name = "shop"`, `name = "shop-2"`},
		{"strategy", `"rest-for-one"`, `"one-for-all"`},
		{"max-restarts", `max-restarts = 5`, `max-restarts = 6`},
		{"period", `max-restarts = 5`, "max-restarts = 5\nperiod = \"61s\""},
		{"backoff-min", `max-restarts = 5`, "max-restarts = 5\nbackoff-min = \"200ms\""},
		{"backoff-max", `max-restarts = 5`, "max-restarts = 5\nbackoff-max = \"31s\""},
		{"actor id", `"shop/billing/main"`, `"shop/billing/1"`},
		{"store version", `orders@1.2.0`, `orders@1.2.1`},
		{"oci tag", `billing:1.0.0`, `billing:1.0.1`},
		{"store to oci", `{ store = "orders@1.2.0" }`, `{ oci = "localhost:5000/orders:1.2.0" }`},
		{"instances", `instances = 2`, `instances = 3`},
		{"subscription added", `"orders.paid"]`, `"orders.paid", "orders.sent"]`},
		{"subscription changed", `"orders.paid"`, `"orders.*"`},
		{"mailbox", `mailbox = 100`, `mailbox = 101`},
		{"overflow", `mailbox = 100`, "mailbox = 100\noverflow = \"reject\""},
		{"restart", `mailbox = 100`, "mailbox = 100\nrestart = \"transient\""},
		{"config value", `region = "eu"`, `region = "us"`},
		{"config key", `region = "eu"`, `zone = "eu"`},
		{"config added", `region = "eu"`, `region = "eu", tier = "gold"`},
		{"memory", `memory = "32MiB"`, `memory = "33MiB"`},
		{"fuel", `memory = "32MiB"`, `memory = "32MiB", fuel-per-message = 1000`},
		{"timeout-per-message", `memory = "32MiB"`, `memory = "32MiB", timeout-per-message = "1s"`},
		{"max-message", `memory = "32MiB"`, `memory = "32MiB", max-message = "1MiB"`},
		{"route method", `method = "POST"`, `method = "PUT"`},
		{"route path", `"/orders/{id}"`, `"/order/{id}"`},
		{"route actor", `actor = "shop/orders/*"`, `actor = "shop/orders/1"`},
		{"route timeout", `timeout = "5s"`, `timeout = "6s"`},
		{"header added", `"x-request-id"]`, `"x-request-id", "x-user"]`},
		{"no headers", `headers = ["traceparent", "x-request-id"]`, `headers = []`},
		{"default headers changed", `timeout = "5s"`, "timeout = \"5s\"\nheaders = [\"accept\"]"},
		{"expose-errors", `timeout = "5s"`, "timeout = \"5s\"\nexpose-errors = true"},
		{"actor order", "[[actor]]\nid = \"shop/orders/*\"", "[[actor]]\nid = \"shop/billing/main\"\ncomponent = { oci = \"localhost:5000/billing:1.0.0\" }\n\n[[actor]]\nid = \"shop/orders/*\""},
	} {
		text := strings.ReplaceAll(digestBase, c.old, c.new)
		if c.name == "actor order" {
			// Move the billing actor before orders: drop its second copy.
			text = strings.Replace(text, "[[actor]]\nid = \"shop/billing/main\"\ncomponent = { oci = \"localhost:5000/billing:1.0.0\" }\n\n[[route]]", "[[route]]", 1)
		}
		if text == digestBase {
			t.Fatalf("%s: %q is not in the base", c.name, c.old)
		}
		d := digestOf(t, c.name, text)
		if prev, dup := seen[d]; dup {
			t.Errorf("%s: same digest as %s", c.name, prev)
		}
		seen[d] = c.name
	}
}
