;; core_multimem.wasm: a core module with four linear memories of 16 pages
;; (1 MiB) each, for a memory limit that counts all of an instance's
;; memories together.
;;
;;   grow (i32) -> i32   memory.grow of memory i (0-3) by 16 pages: the old
;;                       size in pages, or -1 when refused
;;   fill (i32)          writes every byte of memory i
(module
  (memory $m0 16)
  (memory $m1 16)
  (memory $m2 16)
  (memory $m3 16)
  (func (export "grow") (param $i i32) (result i32)
    (block $b3 (block $b2 (block $b1 (block $b0
      (br_table $b0 $b1 $b2 $b3 (local.get $i)))
      (return (memory.grow $m0 (i32.const 16))))
      (return (memory.grow $m1 (i32.const 16))))
      (return (memory.grow $m2 (i32.const 16))))
    (memory.grow $m3 (i32.const 16)))
  (func (export "fill") (param $i i32)
    (block $b3 (block $b2 (block $b1 (block $b0
      (br_table $b0 $b1 $b2 $b3 (local.get $i)))
      (memory.fill $m0 (i32.const 0) (i32.const 1) (i32.mul (memory.size $m0) (i32.const 65536)))
      (return))
      (memory.fill $m1 (i32.const 0) (i32.const 1) (i32.mul (memory.size $m1) (i32.const 65536)))
      (return))
      (memory.fill $m2 (i32.const 0) (i32.const 1) (i32.mul (memory.size $m2) (i32.const 65536)))
      (return))
    (memory.fill $m3 (i32.const 0) (i32.const 1) (i32.mul (memory.size $m3) (i32.const 65536))))
)
