// Package admin is the admin API of a running host (`airssys-wasm serve`):
// HTTP with JSON bodies, its server side (Handler, the listeners) and its
// client (Client, used by the CLI). openapi.json in this directory
// describes it; a test checks it against the routes that exist.
//
// # Design
//
// Backend (api.go) is the whole API as Go methods. The host service
// (package host) implements it; Handler serves any Backend over HTTP; Client
// implements Backend again over HTTP, so the CLI is written against the
// interface and reaches a host through a unix socket or HTTPS alike.
//
// Listeners are denied by default and bounded. The unix socket lives in a
// 0700 directory, is 0600, and every connection's peer uid (SO_PEERCRED)
// must be the host's own (else 403 forbidden). TCP is optional: it needs a
// bearer token (compared in constant time; 401 without it) and TLS unless
// the address is loopback. The admin API never shares a listener with the
// HTTP gateway. Request bodies are capped; streams (logs, progress, export)
// end with the request's context.
//
// Errors are JSON, {"error": {"code", "message", "details"}}, with a
// stable code (Code* constants); a Backend wraps its errors with the
// sentinels (ErrNotFound, ...) to choose the code, and Client returns an
// *Error that matches the same sentinels with errors.Is.
package admin
