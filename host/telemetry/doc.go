// Package telemetry lets operators see a host with the tools they already
// run: Prometheus metrics and OpenTelemetry traces.
//
// Metrics (NewMetrics) are read at scrape time from what the runtime
// already counts (actor.Stats, engine.CacheStats, storage.DB): a scrape
// costs a walk over the actors, and a message costs nothing more than the
// runtime's own counters. The per-actor series are summed by app,
// component and version (the host's LabelFunc, asked once per actor per
// scrape); an actor label is added only when asked for (PerActor), since
// 10,000 actors times a dozen series is more than most Prometheus servers
// want. Summed counters stay monotonic: the counts of an actor that is
// gone, or that now runs another version, are kept under the labels it
// had (see Metrics). The handler serves the registry with the Go and
// process collectors; the host mounts it on its admin listeners, never on
// the gateway's.
//
// Series (all airssys_; per app, component and version, plus actor with
// PerActor): messages_handled_total, handler_errors_total,
// messages_failed_total, traps_total (by kind), restarts_total,
// mailbox_depth, dead_letters_total, denied_calls_total,
// keyvalue_operations_total, keyvalue_bytes_total, handle_seconds
// (a histogram, when the runtime keeps handling times), actors. Per host:
// live_instances, compile_cache_hits_total and _misses_total,
// gateway_requests_total (by route pattern and status) and
// gateway_request_duration_seconds (by route), storage_used_bytes and
// _keys against storage_quota_bytes and _keys (per owner: publisher and
// component), storage_commits_total and storage_writes_total. Key-value
// operations and their bytes are counted per actor by the runtime
// (actor.Stats.KVOps, KVBytes), summed like the rest; each operation of a
// traced message is also a span.
//
// Traces (NewTracing) use the OpenTelemetry SDK with a parent-based ratio
// sampler and W3C trace context: the gateway starts a server span per
// sampled request and puts its traceparent in the message, each handled
// message of a sampled trace gets a span whose traceparent the runtime
// puts on what the handler sends (actor.Tracer), so a request through
// several actors is one trace. Nothing unsampled enters the SDK: the
// runtime decides for messages, and the gateway asks the sampler before
// it starts a span (an unsampled request carries an unsampled traceparent,
// so the actors it reaches do not start traces of their own).
package telemetry
