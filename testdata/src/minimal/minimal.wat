;; minimal.wasm: the smallest useful component, used by compile /
;; instantiate / call benchmarks.
;;
;;   export run: func() -> s32;                    returns 42
;;   export echo-string: func(s: string) -> string; returns s
;;   export add: func(a: s32, b: s32) -> s32;       wrapping a + b
;;
;; Memory layout of the core module:
;;   [0, 8)     return area for echo-string (ptr: i32, len: i32)
;;   [16, ...)  bump arena used by cabi_realloc; reset by the post-return
;;              of echo-string, so repeated calls do not leak.
(component
  (core module $m
    (memory (export "memory") 1)
    (global $bump (mut i32) (i32.const 16))

    (func (export "run") (result i32)
      i32.const 42)

    (func (export "add") (param i32 i32) (result i32)
      local.get 0
      local.get 1
      i32.add)

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

  (func (export "run") (result s32)
    (canon lift (core func $i "run")))
  (func (export "echo-string") (param "s" string) (result string)
    (canon lift (core func $i "echo-string")
      (memory (core memory $i "memory"))
      (realloc (core func $i "cabi_realloc"))
      (post-return (core func $i "cabi_post_echo-string"))))
  (func (export "add") (param "a" s32) (param "b" s32) (result s32)
    (canon lift (core func $i "add")))
)
