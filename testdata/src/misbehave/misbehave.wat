;; misbehave.wasm: a component whose exports misbehave in controlled ways,
;; for testing interruption, limits and trap reporting.
;;
;;   export spin: func();                       loops forever
;;   export grow: func();                       memory.grow 1 page forever; unreachable once it fails
;;   export recurse: func(n: u32) -> u32;       unbounded recursion (stack overflow)
;;   export trap: func();                       unreachable
;;   export divide: func(a: s32, b: s32) -> s32; i32.div_s (b = 0 traps)
;;   export count: func(n: u32) -> u32;         acc = 0; for i in 0..n { acc = acc*31 + i + 1 }
;;   export ok: func() -> u32;                  returns 7
(component
  (core module $m
    (memory 1)

    (func $spin (export "spin")
      loop $forever
        br $forever
      end)

    (func $grow (export "grow")
      loop $forever
        i32.const 1
        memory.grow
        i32.const -1
        i32.eq
        if unreachable end
        br $forever
      end)

    ;; never bottoms out: the result is used after the call, so no tail call
    (func $recurse (export "recurse") (param i32) (result i32)
      local.get 0
      i32.const 1
      i32.add
      call $recurse
      i32.const 1
      i32.add)

    (func $trap (export "trap")
      unreachable)

    (func $divide (export "divide") (param i32 i32) (result i32)
      local.get 0
      local.get 1
      i32.div_s)

    ;; acc = 0; for i = 0; i < n; i++ { acc = acc*31 + i + 1 }  (wrapping)
    (func $count (export "count") (param $n i32) (result i32)
      (local $i i32) (local $acc i32)
      block $done
        loop $next
          local.get $i
          local.get $n
          i32.ge_u
          br_if $done
          local.get $acc
          i32.const 31
          i32.mul
          local.get $i
          i32.add
          i32.const 1
          i32.add
          local.set $acc
          local.get $i
          i32.const 1
          i32.add
          local.set $i
          br $next
        end
      end
      local.get $acc)

    (func $ok (export "ok") (result i32)
      i32.const 7)
  )
  (core instance $i (instantiate $m))

  (func (export "spin")
    (canon lift (core func $i "spin")))
  (func (export "grow")
    (canon lift (core func $i "grow")))
  (func (export "recurse") (param "n" u32) (result u32)
    (canon lift (core func $i "recurse")))
  (func (export "trap")
    (canon lift (core func $i "trap")))
  (func (export "divide") (param "a" s32) (param "b" s32) (result s32)
    (canon lift (core func $i "divide")))
  (func (export "count") (param "n" u32) (result u32)
    (canon lift (core func $i "count")))
  (func (export "ok") (result u32)
    (canon lift (core func $i "ok")))
)
