;; echoes.wasm: the same bytes echoed as a string and as a list<u8>, for
;; the bare baseline of the payload benchmarks (BENCHMARKING.md): what one
;; copy (string) and the C API's one value per byte (list<u8>) cost on
;; bare Wasmtime.
;;
;;   export echo-string: func(s: string) -> string;      returns s
;;   export echo-bytes: func(b: list<u8>) -> list<u8>;   returns b
;;
;; The core module is minimal.wasm's (see minimal.wat): a bump arena for
;; cabi_realloc, reset by the post-return function.
(component
  (core module $m
    (memory (export "memory") 1)
    (global $bump (mut i32) (i32.const 16))

    ;; cabi_realloc(old_ptr, old_size, align, new_size) -> ptr
    ;; Bump allocator; grows memory when needed, traps if it cannot.
    (func $realloc (export "cabi_realloc")
      (param $old i32) (param $old_size i32) (param $align i32) (param $size i32)
      (result i32)
      (local $ptr i32) (local $end i32)
      ;; ptr = (bump + align - 1) & -align
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
      ;; grow if end > memory.size * 64KiB
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
      ;; keep the old contents when reallocating
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

    ;; echo-string(ptr, len) -> retptr; the string already lives in our
    ;; memory (the host allocated it through cabi_realloc), so return it.
    (func (export "echo-string") (param i32 i32) (result i32)
      i32.const 0
      local.get 0
      i32.store
      i32.const 4
      local.get 1
      i32.store
      i32.const 0)

    ;; post-return: the host has copied the result out; free everything.
    (func (export "cabi_post_echo-string") (param i32)
      i32.const 16
      global.set $bump)
  )
  (core instance $i (instantiate $m))

  (func (export "echo-string") (param "s" string) (result string)
    (canon lift (core func $i "echo-string")
      (memory (core memory $i "memory"))
      (realloc (core func $i "cabi_realloc"))
      (post-return (core func $i "cabi_post_echo-string"))))
  ;; list<u8> has the same core signature as string: (ptr, len).
  (func (export "echo-bytes") (param "b" (list u8)) (result (list u8))
    (canon lift (core func $i "echo-string")
      (memory (core memory $i "memory"))
      (realloc (core func $i "cabi_realloc"))
      (post-return (core func $i "cabi_post_echo-string"))))
)
