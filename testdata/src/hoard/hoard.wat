;; hoard.wasm: a guest that calls a host function returning a string in a
;; loop, asking for a larger result each time, for the host's per-call
;; memory bound (the results of host functions are freed when each host
;; call returns, however their sizes vary).
;;
;;   import airssys:test/gen@0.1.0 { gen: func(n: u32) -> string }
;;   export run: func(n: u32, base: u32, step: u32) -> u32
;;     calls gen(base + i*step) for i in 0..n, discarding each result
;;     (a bump allocator, reset after every call); returns n.
(component
  (import "airssys:test/gen@0.1.0" (instance $host
    (export "gen" (func (param "n" u32) (result string)))
  ))
  (core module $libc
    (memory (export "memory") 1)
    (global $bump (mut i32) (i32.const 16))
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
      local.get $ptr)
    (func (export "reset")
      i32.const 16
      global.set $bump)
  )
  (core instance $libc (instantiate $libc))
  (core func $gen (canon lower (func $host "gen")
    (memory (core memory $libc "memory"))
    (realloc (core func $libc "cabi_realloc"))))
  (core module $main
    (import "host" "gen" (func $gen (param i32 i32)))
    (import "libc" "reset" (func $reset))
    (func (export "run") (param $n i32) (param $base i32) (param $step i32) (result i32)
      (local $i i32)
      block $done
        loop $next
          local.get $i
          local.get $n
          i32.ge_u
          br_if $done
          local.get $base
          local.get $i
          local.get $step
          i32.mul
          i32.add
          i32.const 0
          call $gen
          call $reset
          local.get $i
          i32.const 1
          i32.add
          local.set $i
          br $next
        end
      end
      local.get $i)
  )
  (core instance $main (instantiate $main
    (with "host" (instance (export "gen" (func $gen))))
    (with "libc" (instance $libc))
  ))
  (func (export "run") (param "n" u32) (param "base" u32) (param "step" u32) (result u32)
    (canon lift (core func $main "run")))
)
