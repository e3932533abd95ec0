package wave

import (
	"math"
	"strconv"
	"strings"
)

// The canonical NaNs: the component model has a single NaN value, and
// wasm-wave reads "nan" as these bit patterns.
var (
	nan32 = math.Float32frombits(0x7fc00000)
	nan64 = math.Float64frombits(0x7ff8000000000000)
)

// expLimit is where reading the digits of an exponent stops: once the value
// read so far reaches it, further digits are ignored. wasm-wave reads numbers
// with Rust's str::parse, which does this; it changes the value only for a
// literal with tens of thousands of digits before the exponent, but this is
// what the reference does with such text, so it is what we do.
const expLimit = 0x10000

// decimalFloat returns the value of a number literal (as the lexer accepts
// it: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?) rounded to a float of
// the given size (32 or 64 bits), the way wasm-wave reads it: to nearest,
// ties to even; ±infinity past the largest finite value, ±0 below half the
// smallest subnormal, the literal's sign kept on zero. It never fails.
//
// strconv.ParseFloat alone does not do: it stops reading exponent digits
// earlier than the reference and misreads integer parts longer than 800
// digits, so the literal is first brought to the form 0.DIGITS e Q with a
// small Q.
func decimalFloat(lit string, bits int) float64 {
	neg := strings.HasPrefix(lit, "-")
	s := strings.TrimPrefix(lit, "-")
	mant, exp := s, ""
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant, exp = s[:i], s[i+1:]
	}
	intPart, frac, _ := strings.Cut(mant, ".")

	e, expNeg := 0, false
	if exp != "" {
		switch exp[0] {
		case '-':
			expNeg = true
			exp = exp[1:]
		case '+':
			exp = exp[1:]
		}
	}
	for i := 0; i < len(exp); i++ {
		if e < expLimit {
			e = e*10 + int(exp[i]-'0')
		}
	}
	if expNeg {
		e = -e
	}

	// value = 0.digits × 10^q, digits without leading or trailing zeros.
	digits := strings.TrimLeft(intPart+frac, "0")
	q := e - len(frac) + len(digits)
	digits = strings.TrimRight(digits, "0")

	sign := 1.0
	if neg {
		sign = -1
	}
	switch {
	case digits == "":
		return math.Copysign(0, sign)
	case q > 400: // ≥ 10^399: past the largest f64
		return math.Inf(int(sign))
	case q < -400: // < 10^-400: below half the smallest f64 subnormal
		return math.Copysign(0, sign)
	}
	// Only ErrRange can occur (the text is well formed); its value is the
	// infinity we want.
	f, _ := strconv.ParseFloat("0."+digits+"e"+strconv.Itoa(q), bits)
	return math.Copysign(f, sign)
}
