;; res.wasm: a component that exports a resource, for the host's handling of
;; own and borrow handles and of guest destructors.
;;
;; export airssys:test/res@0.1.0 {
;;   resource thing { constructor(v: u32); get: func() -> u32 }
;;   consume: func(t: own<thing>) -> u32   takes ownership, drops it, returns v
;;   drops: func() -> u32                  how many things were destroyed
;; }
;;
;; The destructor of a thing made with v = 4294967295 loops forever (so a
;; host must bound destructors like calls); v = 4294967294 traps.
(component
  ;; The destructor and the counter live in a module of their own: the
  ;; resource type needs the destructor before the main module exists.
  (core module $D
    (global $drops (export "drops") (mut i32) (i32.const 0))
    (func (export "dtor") (param $rep i32)
      (if (i32.eq (local.get $rep) (i32.const -1))
        (then (loop $forever (br $forever))))
      (if (i32.eq (local.get $rep) (i32.const -2))
        (then unreachable))
      (global.set $drops (i32.add (global.get $drops) (i32.const 1)))))
  (core instance $d (instantiate $D))
  (alias core export $d "dtor" (core func $dtor))
  (type $thing (resource (rep i32) (dtor (core func $dtor))))
  (core func $new (canon resource.new $thing))
  (core func $rep (canon resource.rep $thing))
  (core func $drop (canon resource.drop $thing))
  (core module $M
    (import "r" "new" (func $new (param i32) (result i32)))
    (import "r" "rep" (func $rep (param i32) (result i32)))
    (import "r" "drop" (func $drop (param i32)))
    (import "d" "drops" (global $drops (mut i32)))
    ;; The representation of a thing is its value v.
    (func (export "ctor") (param $v i32) (result i32) (call $new (local.get $v)))
    ;; A borrow of the component's own resource arrives as its representation.
    (func (export "get") (param $rep i32) (result i32) (local.get $rep))
    ;; An own arrives as a handle.
    (func (export "consume") (param $h i32) (result i32) (local $v i32)
      (local.set $v (call $rep (local.get $h)))
      (call $drop (local.get $h))
      (local.get $v))
    (func (export "drops") (result i32) (global.get $drops)))
  (core instance $m (instantiate $M
    (with "r" (instance
      (export "new" (func $new))
      (export "rep" (func $rep))
      (export "drop" (func $drop))))
    (with "d" (instance $d))))
  (func $ctor (param "v" u32) (result (own $thing)) (canon lift (core func $m "ctor")))
  (func $get (param "self" (borrow $thing)) (result u32) (canon lift (core func $m "get")))
  (func $consume (param "t" (own $thing)) (result u32) (canon lift (core func $m "consume")))
  (func $drops (result u32) (canon lift (core func $m "drops")))
  ;; Exported as an interface, airssys:test/res@0.1.0 (WIT cannot name a
  ;; resource exported at the root). The functions are re-typed against the
  ;; instance's own export of the resource.
  (component $Api
    (import "thing" (type $t (sub resource)))
    (import "ctor" (func $ctor (param "v" u32) (result (own $t))))
    (import "get" (func $get (param "self" (borrow $t)) (result u32)))
    (import "consume" (func $consume (param "t" (own $t)) (result u32)))
    (import "drops" (func $drops (result u32)))
    (export $te "thing" (type $t))
    (export "[constructor]thing" (func $ctor) (func (param "v" u32) (result (own $te))))
    (export "[method]thing.get" (func $get) (func (param "self" (borrow $te)) (result u32)))
    (export "consume" (func $consume) (func (param "t" (own $te)) (result u32)))
    (export "drops" (func $drops)))
  (instance $api (instantiate $Api
    (with "thing" (type $thing))
    (with "ctor" (func $ctor))
    (with "get" (func $get))
    (with "consume" (func $consume))
    (with "drops" (func $drops))))
  (export "airssys:test/res@0.1.0" (instance $api))
)
