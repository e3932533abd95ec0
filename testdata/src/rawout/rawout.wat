;; rawout.wasm: a component that writes to stdout through wasi:io/streams
;; directly, with output-stream.write and no flush (unlike wasi-libc, whose
;; fd_write always uses blocking-write-and-flush). It is how a guest leaves
;; output in flight when its call returns.
;;
;;   spam: func(n: u32) -> u32
;;     n writes of one byte each (the digits 0-9 repeated) to stdout, each
;;     after a check-write; blocking-flush only when check-write grants no
;;     room. Returns how many bytes were written before a stream error.
(component $rawout
  (import "wasi:io/error@0.2.0" (instance $io-error
    (export "error" (type (sub resource)))
  ))
  (alias export $io-error "error" (type $error))
  (import "wasi:io/streams@0.2.0" (instance $streams
    (alias outer $rawout $error (type $error-outer))
    (export "error" (type $err (eq $error-outer)))
    (type $se (variant (case "last-operation-failed" (own $err)) (case "closed")))
    (export "stream-error" (type $stream-error (eq $se)))
    (export "output-stream" (type $os (sub resource)))
    (type $check-t (func (param "self" (borrow $os)) (result (result u64 (error $stream-error)))))
    (type $write-t (func (param "self" (borrow $os)) (param "contents" (list u8)) (result (result (error $stream-error)))))
    (type $flush-t (func (param "self" (borrow $os)) (result (result (error $stream-error)))))
    (export "[method]output-stream.check-write" (func (type $check-t)))
    (export "[method]output-stream.write" (func (type $write-t)))
    (export "[method]output-stream.blocking-flush" (func (type $flush-t)))
  ))
  (alias export $streams "output-stream" (type $output-stream))
  (import "wasi:cli/stdout@0.2.0" (instance $stdout
    (alias outer $rawout $output-stream (type $os-outer))
    (export "output-stream" (type $os (eq $os-outer)))
    (type $get-t (func (result (own $os))))
    (export "get-stdout" (func (type $get-t)))
  ))

  (core module $Mem (memory (export "mem") 1))
  (core instance $mem (instantiate $Mem))
  (alias core export $mem "mem" (core memory $memory))

  (core func $get (canon lower (func $stdout "get-stdout")))
  (core func $check (canon lower (func $streams "[method]output-stream.check-write") (memory $memory)))
  (core func $write (canon lower (func $streams "[method]output-stream.write") (memory $memory)))
  (core func $flush (canon lower (func $streams "[method]output-stream.blocking-flush") (memory $memory)))
  (core func $drop (canon resource.drop $output-stream))
  (core instance $wasi
    (export "get-stdout" (func $get))
    (export "check-write" (func $check))
    (export "write" (func $write))
    (export "blocking-flush" (func $flush))
    (export "drop" (func $drop))
  )

  (core module $M
    (import "env" "mem" (memory 1))
    (import "wasi" "get-stdout" (func $get (result i32)))
    (import "wasi" "check-write" (func $check (param i32 i32)))
    (import "wasi" "write" (func $write (param i32 i32 i32 i32)))
    (import "wasi" "blocking-flush" (func $flush (param i32 i32)))
    (import "wasi" "drop" (func $drop (param i32)))
    ;; 64: the byte to write; 128: check-write's result (u8 tag, u64 at 136);
    ;; 160: write's and flush's result (u8 tag).
    (func (export "spam") (param $n i32) (result i32)
      (local $h i32) (local $i i32)
      (local.set $h (call $get))
      (block $done
        (loop $next
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (call $check (local.get $h) (i32.const 128))
          (br_if $done (i32.load8_u (i32.const 128)))
          (if (i64.eqz (i64.load (i32.const 136)))
            (then
              (call $flush (local.get $h) (i32.const 160))
              (br_if $done (i32.load8_u (i32.const 160)))
              (br $next)))
          (i32.store8 (i32.const 64)
            (i32.add (i32.const 48) (i32.rem_u (local.get $i) (i32.const 10))))
          (call $write (local.get $h) (i32.const 64) (i32.const 1) (i32.const 160))
          (br_if $done (i32.load8_u (i32.const 160)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $next)))
      (call $drop (local.get $h))
      (local.get $i))
  )
  (core instance $main (instantiate $M
    (with "env" (instance $mem))
    (with "wasi" (instance $wasi))))
  (func $spam (param "n" u32) (result u32) (canon lift (core func $main "spam")))
  (export "spam" (func $spam))
)
