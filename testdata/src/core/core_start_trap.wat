;; core_start_trap.wasm: a core module whose start function traps, so that
;; instantiating it fails with a trap (unreachable) before any export runs.
;;
;;   run () -> i32          returns 42 (never reached: instantiation traps)
(module
  (func $start
    unreachable)
  (start $start)

  (func $run (export "run") (result i32)
    i32.const 42))
