;; core_grow.wasm: one linear memory of 16 pages (1 MiB) that grows on
;; request, for memory limits that must hold exactly (with pooling too).
;;
;;   grow (i32) -> i32   memory.grow by n pages: the old size in pages, or -1
;;   size () -> i32      the size in pages
(module
  (memory 16)
  (func (export "grow") (param $n i32) (result i32) (memory.grow (local.get $n)))
  (func (export "size") (result i32) (memory.size))
)
