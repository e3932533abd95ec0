;; hostcall.wasm: a component that calls functions the host provides.
;;
;;   import airssys:test/host@0.1.0 {
;;     get: func() -> s32;
;;     log: func(msg: string);
;;   }
;;   export call-get: func() -> s32;            get() + 1 (wrapping)
;;   export call-log: func(msg: string);        log(msg)
;;   export call-get-n: func(n: u32) -> s32;    sum of n calls to get() (wrapping)
;;
;; Two core modules: $libc owns the memory and the bump allocator, so the
;; host's `log` can be lowered against that memory before $main (which
;; imports the lowered functions) is instantiated.
(component
  (import "airssys:test/host@0.1.0" (instance $host
    (export "get" (func (result s32)))
    (export "log" (func (param "msg" string)))
  ))

  (core module $libc
    (memory (export "memory") 1)
    (global $bump (mut i32) (i32.const 16))

    ;; cabi_realloc(old_ptr, old_size, align, new_size) -> ptr (bump arena)
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

    ;; reset the arena once an argument is no longer needed
    (func (export "reset")
      i32.const 16
      global.set $bump)
  )
  (core instance $libc (instantiate $libc))

  (core func $get (canon lower (func $host "get")))
  (core func $log (canon lower (func $host "log")
    (memory (core memory $libc "memory"))))

  (core module $main
    (import "host" "get" (func $get (result i32)))
    (import "host" "log" (func $log (param i32 i32)))
    (import "libc" "reset" (func $reset))

    (func (export "call-get") (result i32)
      call $get
      i32.const 1
      i32.add)

    ;; the host wrote msg into the arena; hand it to log, then free it
    (func (export "call-log") (param i32 i32)
      local.get 0
      local.get 1
      call $log
      call $reset)

    (func (export "call-get-n") (param $n i32) (result i32)
      (local $sum i32)
      block $done
        loop $next
          local.get $n
          i32.eqz
          br_if $done
          local.get $sum
          call $get
          i32.add
          local.set $sum
          local.get $n
          i32.const 1
          i32.sub
          local.set $n
          br $next
        end
      end
      local.get $sum)
  )
  (core instance $main (instantiate $main
    (with "host" (instance
      (export "get" (func $get))
      (export "log" (func $log))))
    (with "libc" (instance $libc))
  ))

  (func (export "call-get") (result s32)
    (canon lift (core func $main "call-get")))
  (func (export "call-log") (param "msg" string)
    (canon lift (core func $main "call-log")
      (memory (core memory $libc "memory"))
      (realloc (core func $libc "cabi_realloc"))))
  (func (export "call-get-n") (param "n" u32) (result s32)
    (canon lift (core func $main "call-get-n")))
)
