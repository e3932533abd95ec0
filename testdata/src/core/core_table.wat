;; core_table.wasm: a core module that grows a table on request, for the
;; host's bound on table elements (tables live outside linear memory).
;;
;;   grow (i32) -> i32   table.grow by n null elements: the old size, or -1
;;                       when refused
;;   size () -> i32
(module
  (table $t 0 funcref)
  (func (export "grow") (param $n i32) (result i32)
    (table.grow $t (ref.null func) (local.get $n)))
  (func (export "size") (result i32) (table.size $t))
)
