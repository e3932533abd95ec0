// Package wave reads and writes WAVE, the WebAssembly Value Encoding used by
// Wasmtime and wasm-tools (crate wasm-wave) to write component-model values
// as text, on the Go value model of package wit.
//
// # Format
//
//	bool            true, false
//	s8 … u64        123, -9 (base 10, no leading zeros)
//	f32, f64        3.14, 6.022e+23, -0, nan, inf, -inf
//	char            'x', '☃', '\'', '\n', '\u{1F600}'
//	string          "abc\t123", and multiline strings (see below)
//	list<T>         [1, 2, 3]
//	tuple<…>        ("abc", 123)
//	record          {field-a: 1, field-b: "two"}; {:} or {} when empty
//	variant         days(30), forever
//	enum            south
//	option<T>       some(1), none
//	result<T, E>    ok, ok(1), err, err("oops")
//	flags           {read, write}, {}
//
// A number given for an f32 or f64 is rounded to the nearest value of that
// type, ties to even, as wasm-wave (and so Wasmtime) reads it: past the
// largest finite value it is inf or -inf, below half the smallest subnormal
// it is 0 or -0 (the sign is kept), and nan is the canonical NaN. Spellings
// other than nan, inf and -inf (NaN, -nan, +inf, infinity, %inf) are errors.
//
// Escapes in chars and strings are \' \" \\ \t \n \r and \u{X…} (1 to 6 hex
// digits naming a Unicode scalar value). A newline inside "…" must be
// escaped. A multiline string starts with """ and a line break and ends with
// a line break, spaces and """; the spaces before the closing """ set an
// indent that is removed from every line.
//
// Labels (record fields, cases, flags) are kebab-case: words of ASCII letters
// and digits joined by '-', each word all lower or all upper case, the first
// starting with a letter. A label may be written with a leading '%', which
// must be used for cases named like one of the keywords true, false, some,
// none, ok, err, inf, nan. Record fields may come in any order and option
// fields that are none may be left out. Trailing commas are allowed.
// Whitespace is free between tokens and // starts a comment that runs to the
// end of line.
//
// Parsing is type-directed: the same text means different things for
// different types ({} is empty flags or an empty record, red is an enum case
// or a variant case).
//
// # Differences from wasm-wave
//
// Run against the UI test cases of the wasm-wave crate, Parse agrees on all
// but these, where it accepts text that wasm-wave refuses:
//
//   - an enum or variant case named like a keyword may be written without
//     its '%' where the type leaves no doubt: true for enum { true, false }
//     (wasm-wave: %true);
//   - a record whose fields are all options may be written {} when they are
//     all none (wasm-wave: {:} only).
//
// Beyond those cases, -0 is accepted for the unsigned integer types (as 0),
// where wasm-wave refuses it. In the other direction, an option or result is
// always written in its variant form here: wasm-wave also reads a bare
// payload (1 for some(1) as option<u32>, "x" for ok("x")), this parser does
// not.
//
// # API
//
// Parse reads one value of a given *wit.Type and returns it as the Go values
// documented in package wit (u8 → uint8, list<u8> → []byte, record →
// wit.Record in declaration order, …). Errors give the byte offset (0-based)
// in the text, the path inside the value and what was expected and found, for
// example
//
//	wave: at 12 in [1].age: expected u8, found "abc"
//
// Parse never panics and rejects values nested deeper than 100 levels.
//
// ParseCall splits a call such as `pkg:iface/api@0.1.0#greet("hi", 3)` into
// the function name and the raw text of each argument, so the caller can find
// the function and its type; ParseArgs then parses those texts against the
// function's parameters.
//
// Format writes a value of a given type on one line, the way Wasmtime prints
// results: floats in shortest round-trip decimal form without exponent (1,
// 0.1, nan, inf, -inf), strings and chars escaped so that Parse reads them
// back, records without the option fields that are none, resources as
// <resource>. FormatValue does the same without a type, from the Go value's
// dynamic type, for core wasm values and debugging.
package wave
