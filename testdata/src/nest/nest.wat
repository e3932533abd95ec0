;; nest.wasm: a component whose instantiation calls a host function before
;; its linear memory is created: core instance $a's start function calls the
;; import `nest`, then core instance $b defines a memory of 32 pages (2 MiB).
;; A host that instantiates something else inside `nest` must still apply the
;; outer instance's memory limit to that later memory.
;;
;;   import nest: func()
;;   export ok: func() -> u32   returns 1
(component
  (import "nest" (func $nest))
  (core func $nest-core (canon lower (func $nest)))
  (core module $A
    (import "h" "nest" (func $n))
    (func $s (call $n))
    (start $s))
  (core instance $a (instantiate $A (with "h" (instance (export "nest" (func $nest-core))))))
  (core module $B
    (memory (export "mem") 32)
    (func (export "ok") (result i32) (i32.const 1)))
  (core instance $b (instantiate $B))
  (func (export "ok") (result u32) (canon lift (core func $b "ok")))
)
