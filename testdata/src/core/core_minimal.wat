;; core_minimal.wasm: a plain core module (not a component).
;;
;;   run () -> i32          returns 42
;;   add (i32, i32) -> i32  wrapping a + b
;;   spin ()                loops forever
;;   trap ()                unreachable
;;   grow ()                memory.grow 1 page forever; unreachable once it fails
;;   recurse (i32) -> i32   unbounded recursion (stack overflow)
;;   count (i32) -> i32     acc = 0; for i in 0..n (unsigned) { acc = acc*31 + i + 1 }
;;   memory                 1 page, exported
(module
  (memory (export "memory") 1)

  (func $run (export "run") (result i32)
    i32.const 42)

  (func $add (export "add") (param i32 i32) (result i32)
    local.get 0
    local.get 1
    i32.add)

  (func $spin (export "spin")
    loop $forever
      br $forever
    end)

  (func $trap (export "trap")
    unreachable)

  (func $grow (export "grow")
    loop $forever
      i32.const 1
      memory.grow
      i32.const -1
      i32.eq
      if unreachable end
      br $forever
    end)

  (func $recurse (export "recurse") (param i32) (result i32)
    local.get 0
    i32.const 1
    i32.add
    call $recurse
    i32.const 1
    i32.add)

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
)
