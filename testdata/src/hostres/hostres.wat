;; hostres.wasm: a component that uses a resource the HOST defines, for the
;; engine's host resources (engine.Host.Resource).
;;
;; import airssys:test/host@0.1.0 {
;;   resource blob {
;;     make: static func(n: u32) -> blob     the host makes a blob of size n
;;     size: func() -> u32                   (method, borrow<blob>)
;;     take: static func(b: blob) -> u32     gives the handle back to the host
;;   }
;; }
;; export airssys:test/user@0.1.0 {
;;   size-of: func(b: own<blob>) -> u32    size via the method, then drops it
;;   keep: func(b: own<blob>) -> u32       keeps it; the count kept
;;   drop-kept: func() -> u32              drops every kept handle, in order,
;;                                         with no host call between; the count
;;   give-back: func(b: own<blob>) -> own<blob>  returns the same handle
;;   make: func(n: u32) -> own<blob>       host make, returned to the host
;;   make-drop: func(n: u32) -> u32        host make, size, drop; the size
;;   pass: func(b: own<blob>) -> u32       hands it to the host's take
;; }
(component
  (import "airssys:test/host@0.1.0" (instance $host
    (export "blob" (type $b (sub resource)))
    (export "[static]blob.make" (func (param "n" u32) (result (own $b))))
    (export "[method]blob.size" (func (param "self" (borrow $b)) (result u32)))
    (export "[static]blob.take" (func (param "b" (own $b)) (result u32)))))
  (alias export $host "blob" (type $blob))
  (alias export $host "[static]blob.make" (func $make))
  (alias export $host "[method]blob.size" (func $size))
  (alias export $host "[static]blob.take" (func $take))
  (core func $make_c (canon lower (func $make)))
  (core func $size_c (canon lower (func $size)))
  (core func $take_c (canon lower (func $take)))
  (core func $drop_c (canon resource.drop $blob))
  (core module $M
    (import "h" "make" (func $make (param i32) (result i32)))
    (import "h" "size" (func $size (param i32) (result i32)))
    (import "h" "take" (func $take (param i32) (result i32)))
    (import "h" "drop" (func $drop (param i32)))
    (memory 1)
    (global $kept (mut i32) (i32.const 0))
    (func (export "size-of") (param $h i32) (result i32) (local $n i32)
      (local.set $n (call $size (local.get $h)))
      (call $drop (local.get $h))
      (local.get $n))
    ;; The kept handles are stored at 4 * index (up to 16,384 of them).
    (func (export "keep") (param $h i32) (result i32)
      (i32.store (i32.shl (global.get $kept) (i32.const 2)) (local.get $h))
      (global.set $kept (i32.add (global.get $kept) (i32.const 1)))
      (global.get $kept))
    (func (export "drop-kept") (result i32) (local $i i32) (local $n i32)
      (local.set $n (global.get $kept))
      (block $done
        (loop $next
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (call $drop (i32.load (i32.shl (local.get $i) (i32.const 2))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $next)))
      (global.set $kept (i32.const 0))
      (local.get $n))
    (func (export "give-back") (param $h i32) (result i32) (local.get $h))
    (func (export "make") (param $n i32) (result i32) (call $make (local.get $n)))
    (func (export "make-drop") (param $n i32) (result i32) (local $h i32) (local $s i32)
      (local.set $h (call $make (local.get $n)))
      (local.set $s (call $size (local.get $h)))
      (call $drop (local.get $h))
      (local.get $s))
    (func (export "pass") (param $h i32) (result i32) (call $take (local.get $h))))
  (core instance $m (instantiate $M
    (with "h" (instance
      (export "make" (func $make_c))
      (export "size" (func $size_c))
      (export "take" (func $take_c))
      (export "drop" (func $drop_c))))))
  (func $size-of (param "b" (own $blob)) (result u32) (canon lift (core func $m "size-of")))
  (func $keep (param "b" (own $blob)) (result u32) (canon lift (core func $m "keep")))
  (func $drop-kept (result u32) (canon lift (core func $m "drop-kept")))
  (func $give-back (param "b" (own $blob)) (result (own $blob)) (canon lift (core func $m "give-back")))
  (func $make-new (param "n" u32) (result (own $blob)) (canon lift (core func $m "make")))
  (func $make-drop (param "n" u32) (result u32) (canon lift (core func $m "make-drop")))
  (func $pass (param "b" (own $blob)) (result u32) (canon lift (core func $m "pass")))
  (instance $api
    (export "size-of" (func $size-of))
    (export "keep" (func $keep))
    (export "drop-kept" (func $drop-kept))
    (export "give-back" (func $give-back))
    (export "make" (func $make-new))
    (export "make-drop" (func $make-drop))
    (export "pass" (func $pass)))
  (export "airssys:test/user@0.1.0" (instance $api))
)
