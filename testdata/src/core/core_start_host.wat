;; core_start_host.wasm: a core module whose start function calls the host,
;; so instantiating it runs host code (which may block).
;;
;;   import env.get () -> i32
;;   start: calls get() once
;;   value () -> i32   what get() returned at start
(module
  (import "env" "get" (func $get (result i32)))
  (global $v (mut i32) (i32.const 0))
  (func $start (global.set $v (call $get)))
  (start $start)
  (func (export "value") (result i32) (global.get $v))
)
