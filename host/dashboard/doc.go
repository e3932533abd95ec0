// Package dashboard is the host's web page: a live view of a running host
// (`airssys-wasm serve`) served on the admin side, never on the gateway.
// New builds it over any admin.Backend (the host.Service in the host).
//
// # What the page shows
//
// The supervision tree (each app, its supervisor app/<name>, its actors
// with their state, version, restarts and messages handled per second);
// for the actor selected, its facts and health, a chart of its rate and
// one of its handle time (p50 and p99, drawn when the Backend's actors
// carry handle_p50_us and handle_p99_us: admin.Actor has no such fields
// yet, and the page says so), its recent log lines, live, and a button to
// roll it back when it has a version to go back to; the recent dead
// letters with their reasons; the store's versions and which actors use
// them, and every actor that can be rolled back, each with its button.
//
// When the host is in a lattice (admin.Status.Lattice), the page shows
// it above the rest: its name and mode, and each of its hosts (this one
// marked "this host", then the others by name) with the actors it runs,
// its uptime and how long ago it was last heard from (both measured on
// this host's clock, the snapshot's time, not the browser's). It follows
// the snapshots: a host that leaves the lattice leaves the list, and a
// host without a lattice shows nothing of it. At most 256 hosts are sent
// (this one always among them); the page says when the list is cut.
//
// # Endpoints (below Options.Prefix, "/ui/" by default)
//
//	GET  /ui/              the page (index.html, with the CSRF token)
//	GET  /ui/app.js        its script
//	GET  /ui/app.css       its style
//	GET  /ui/events        the live stream (server-sent events), below
//	POST /ui/api/rollback  {"id": "<actor id>"}: Backend.Rollback; the
//	                       ActorResult, or {"error": {"code", "message"}}
//
// The stream sends "retry", then event "snapshot" every Options.Interval:
// {time, status (admin.Status without its lattice), lattice: {admin.Lattice
// fields, hosts cut to 256, total_hosts} (absent without a lattice), apps:
// [{name, digest, deployed, routes, actors: [admin.Actor fields + rate]}],
// dead_letters, components, errors}. With ?actor=ID it
// also sends that actor's recent log lines, then its new ones (event "log",
// an admin.LogLine), and its health every interval (event "health": {id,
// health} or {id, error}). One hub asks the Backend once per interval for
// every stream open, and not at all when none is. Streams are bounded: at
// most Options.MaxStreams at once (then 503), and a client that does not
// take an event within Options.WriteTimeout, or falls two snapshots
// behind, is dropped (EventSource reconnects by itself). Log lines a slow
// page misses are counted and said, not buffered. Streams end when
// Options.Context does (the host passes the one whose end stops its
// listeners).
//
// # Hardening
//
// The page shows text chosen by guests (log lines, dead-letter reasons,
// component names) and by other hosts (their names, in a lattice), so:
//
//   - the script inserts every string from the host with textContent,
//     text nodes or dataset, never as HTML; the JSON it reads escapes <, >
//     and & (encoding/json);
//   - every response has a strict Content-Security-Policy (only the page's
//     own script, style and connections; no inline script or style, no
//     frames, no base or foreign form target), X-Content-Type-Options:
//     nosniff, Referrer-Policy: no-referrer, X-Frame-Options: DENY and
//     same-origin opener and resource policies;
//   - the Host header must name "localhost", 127.0.0.1, [::1] or one of
//     Options.AllowedHosts (any port), else 421: a DNS name rebound to the
//     loopback address reaches nothing;
//   - every request that is not GET or HEAD must carry an Origin that is
//     the page's own (http or https with the request's Host: a proxy in
//     front may change the scheme), a Sec-Fetch-Site of same-origin when it
//     has one, and the per-process CSRF token (a meta tag of the page) in
//     the X-CSRF-Token header, compared in constant time; else
//     403. Actions are POST with a JSON body only;
//   - nothing is fetched from elsewhere: the assets are embedded, and
//     there is no framework, no CDN and no build step.
//
// # Opening it
//
// The handler does not authenticate: the host serves it beside the admin
// API on the admin listeners, behind the same checks (the unix socket's
// peer uid; admin.Authorize's bearer token on TCP). A browser reaches
// neither a unix socket nor a bearer token, so an operator opens the page
// through something that does:
//
//	airssys-wasm dashboard --host unix:/var/lib/airssys/admin.sock
//	# prints http://127.0.0.1:PORT/?key=...: a loopback listener that
//	# forwards /ui/ with the token, and lets in only the holder of the key
//
// From another machine, tunnel to that listener, not to the socket
// itself: a tunnel to the socket would put the whole admin API (/v1/,
// which has no CSRF token) within reach of any web page the browser opens.
//
//	ssh -L 8377:127.0.0.1:8377 operator@host airssys-wasm dashboard --listen 127.0.0.1:8377
//	# then open the address it prints, with localhost:8377
//
// Either way the browser names a loopback address; a proxy that presents
// the page under another name lists it in Options.AllowedHosts.
package dashboard
