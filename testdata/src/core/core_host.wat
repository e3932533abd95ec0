;; core_host.wasm: a plain core module that calls a host function.
;;
;;   import env.get () -> i32
;;   call_get () -> i32     get() + 1 (wrapping)
(module
  (import "env" "get" (func $get (result i32)))

  (func $call_get (export "call_get") (result i32)
    call $get
    i32.const 1
    i32.add)
)
