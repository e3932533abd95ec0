;; kvcall.wasm: a component that imports wasi:keyvalue/store@0.2.0-draft2,
;; so that `airssys-wasm call --data DIR` can be tested against a real
;; key-value guest (cmd/airssys-wasm/kv_test.go). Built by build.sh (jco
;; parse, like every src/<name>/<name>.wat).
;;
;;   export set: func(bucket: string, key: string, value: list<u8>) -> result<_, string>
;;   export get: func(bucket: string, key: string) -> result<option<list<u8>>, string>
;;
;; Each opens the bucket, does one call and drops the bucket handle. A
;; store error becomes err("no-such-store"), err("access-denied") or
;; err(<the text of other>).
;;
;; Memory of the core modules (one memory, $libc's):
;;   [16, 32)   return area of open
;;   [32, 48)   return area of get / set
;;   [48, 64)   return area of the exports
;;   [64, 77)   "no-such-store"    [80, 93) "access-denied"
;;   [1024, ..) bump arena of cabi_realloc, reset by the post-returns
(component
  (import "wasi:keyvalue/store@0.2.0-draft2" (instance $kv
    (export "bucket" (type $b (sub resource)))
    (type $err (variant (case "no-such-store") (case "access-denied") (case "other" string)))
    (export "error" (type $e (eq $err)))
    (export "open" (func (param "identifier" string) (result (result (own $b) (error $e)))))
    (export "[method]bucket.get"
      (func (param "self" (borrow $b)) (param "key" string) (result (result (option (list u8)) (error $e)))))
    (export "[method]bucket.set"
      (func (param "self" (borrow $b)) (param "key" string) (param "value" (list u8)) (result (result (error $e)))))))
  (alias export $kv "bucket" (type $bucket))

  (core module $libc
    (memory (export "memory") 1)
    (data (i32.const 64) "no-such-store")
    (data (i32.const 80) "access-denied")
    (global $bump (mut i32) (i32.const 1024))
    (func (export "cabi_realloc")
      (param $old i32) (param $old_size i32) (param $align i32) (param $size i32)
      (result i32)
      (local $ptr i32) (local $end i32)
      global.get $bump
      local.get $align
      i32.add
      i32.const 1
      i32.sub
      i32.const 0
      local.get $align
      i32.sub
      i32.and
      local.tee $ptr
      local.get $size
      i32.add
      local.tee $end
      memory.size
      i32.const 16
      i32.shl
      i32.gt_u
      if
        local.get $end
        i32.const 65535
        i32.add
        i32.const 16
        i32.shr_u
        memory.size
        i32.sub
        memory.grow
        i32.const -1
        i32.eq
        if unreachable end
      end
      local.get $end
      global.set $bump
      local.get $old
      if
        local.get $ptr
        local.get $old
        local.get $old_size
        local.get $size
        local.get $old_size
        local.get $size
        i32.lt_u
        select
        memory.copy
      end
      local.get $ptr)
    (func (export "reset") (param i32)
      i32.const 1024
      global.set $bump))
  (core instance $libc (instantiate $libc))

  (core func $open_c (canon lower (func $kv "open")
    (memory (core memory $libc "memory")) (realloc (core func $libc "cabi_realloc"))))
  (core func $get_c (canon lower (func $kv "[method]bucket.get")
    (memory (core memory $libc "memory")) (realloc (core func $libc "cabi_realloc"))))
  (core func $set_c (canon lower (func $kv "[method]bucket.set")
    (memory (core memory $libc "memory")) (realloc (core func $libc "cabi_realloc"))))
  (core func $drop_c (canon resource.drop $bucket))

  (core module $main
    (import "libc" "memory" (memory 1))
    (import "kv" "open" (func $open (param i32 i32 i32)))
    (import "kv" "get" (func $get (param i32 i32 i32 i32)))
    (import "kv" "set" (func $set (param i32 i32 i32 i32 i32 i32)))
    (import "kv" "drop" (func $drop (param i32)))

    ;; fail writes err(text of the store error at $p) to the export's
    ;; return area and returns it.
    (func $fail (param $p i32) (result i32) (local $c i32)
      (i32.store8 (i32.const 48) (i32.const 1))
      (local.set $c (i32.load8_u (local.get $p)))
      (if (i32.eqz (local.get $c))
        (then (i32.store (i32.const 52) (i32.const 64)) (i32.store (i32.const 56) (i32.const 13)))
        (else (if (i32.eq (local.get $c) (i32.const 1))
          (then (i32.store (i32.const 52) (i32.const 80)) (i32.store (i32.const 56) (i32.const 13)))
          (else
            (i32.store (i32.const 52) (i32.load (i32.add (local.get $p) (i32.const 4))))
            (i32.store (i32.const 56) (i32.load (i32.add (local.get $p) (i32.const 8))))))))
      (i32.const 48))

    (func (export "set") (param $bp i32) (param $bl i32) (param $kp i32) (param $kl i32)
      (param $vp i32) (param $vl i32) (result i32) (local $h i32)
      (call $open (local.get $bp) (local.get $bl) (i32.const 16))
      (if (i32.load8_u (i32.const 16)) (then (return (call $fail (i32.const 20)))))
      (local.set $h (i32.load (i32.const 20)))
      (call $set (local.get $h) (local.get $kp) (local.get $kl) (local.get $vp) (local.get $vl) (i32.const 32))
      (call $drop (local.get $h))
      (if (i32.load8_u (i32.const 32)) (then (return (call $fail (i32.const 36)))))
      (i32.store8 (i32.const 48) (i32.const 0))
      (i32.const 48))

    (func (export "get") (param $bp i32) (param $bl i32) (param $kp i32) (param $kl i32)
      (result i32) (local $h i32)
      (call $open (local.get $bp) (local.get $bl) (i32.const 16))
      (if (i32.load8_u (i32.const 16)) (then (return (call $fail (i32.const 20)))))
      (local.set $h (i32.load (i32.const 20)))
      (call $get (local.get $h) (local.get $kp) (local.get $kl) (i32.const 32))
      (call $drop (local.get $h))
      (if (i32.load8_u (i32.const 32)) (then (return (call $fail (i32.const 36)))))
      (i32.store8 (i32.const 48) (i32.const 0))
      (i32.store8 (i32.const 52) (i32.load8_u (i32.const 36)))
      (i32.store (i32.const 56) (i32.load (i32.const 40)))
      (i32.store (i32.const 60) (i32.load (i32.const 44)))
      (i32.const 48)))
  (core instance $main (instantiate $main
    (with "libc" (instance $libc))
    (with "kv" (instance
      (export "open" (func $open_c))
      (export "get" (func $get_c))
      (export "set" (func $set_c))
      (export "drop" (func $drop_c))))))

  (func (export "set") (param "bucket" string) (param "key" string) (param "value" (list u8))
    (result (result (error string)))
    (canon lift (core func $main "set")
      (memory (core memory $libc "memory")) (realloc (core func $libc "cabi_realloc"))
      (post-return (core func $libc "reset"))))
  (func (export "get") (param "bucket" string) (param "key" string)
    (result (result (option (list u8)) (error string)))
    (canon lift (core func $main "get")
      (memory (core memory $libc "memory")) (realloc (core func $libc "cabi_realloc"))
      (post-return (core func $libc "reset"))))
)
