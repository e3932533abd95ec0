;; future_actor.wasm: exports airssys:actor/actor@0.3.0, a version of the
;; actor interface the host does not serve, so that Deploy's refusal (which
;; names the versions it does serve) is tested.
(component
  (core module $m (func (export "shutdown")))
  (core instance $i (instantiate $m))
  (func $shutdown (canon lift (core func $i "shutdown")))
  (instance $api (export "shutdown" (func $shutdown)))
  (export "airssys:actor/actor@0.3.0" (instance $api))
)
