package wave

import (
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/airsstack/airssys-wasm-go/wit"
)

// exactDecimal writes mant·2^exp as a plain decimal literal with every digit,
// so the tests can name the exact midpoints between floats.
func exactDecimal(mant int64, exp int) string {
	f := new(big.Float).SetPrec(2048).SetMantExp(new(big.Float).SetInt64(mant), exp)
	s := f.Text('f', 1100)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// TestParseFloatLiterals pins how number literals become f32 and f64 values:
// the same way wasm-wave reads them (Rust's str::parse, rounding to nearest,
// ties to even), so past the range is infinity and below it is zero, never
// an error.
func TestParseFloatLiterals(t *testing.T) {
	const (
		inf32Bits    = 0x7f800000
		negInf32Bits = 0xff800000
		max32Bits    = 0x7f7fffff
		negZero32    = 0x80000000
		inf64Bits    = 0x7ff0000000000000
		negInf64Bits = 0xfff0000000000000
		max64Bits    = 0x7fefffffffffffff
		negZero64    = 0x8000000000000000
	)
	// Midpoints between the largest finite value and the next power of two
	// (the tie rounds to even, which is infinity) and between zero and the
	// smallest subnormal (the tie rounds to even, which is zero).
	f32OverflowTie := exactDecimal(1<<25-1, 103) // (2^24 - 1/2)·2^104
	f64OverflowTie := exactDecimal(1<<54-1, 970) // (2^53 - 1/2)·2^971
	f32UnderflowTie := exactDecimal(1, -150)     // 2^-150
	f64UnderflowTie := exactDecimal(1, -1075)    // 2^-1075
	zeros := func(n int) string { return strings.Repeat("0", n) }

	tests := []struct {
		name string
		text string
		f32  uint32 // want bits for f32
		f64  uint64 // want bits for f64
	}{
		// Out of range: infinity with the literal's sign.
		{"f32 past max", "3.4028234664e39", inf32Bits, 0x4823ffffec005f12},
		{"f32 past max negative", "-3.4028234664e39", negInf32Bits, 0xc823ffffec005f12},
		{"past f64 max", "1e309", inf32Bits, inf64Bits},
		{"past f64 max negative", "-1e309", negInf32Bits, negInf64Bits},
		{"f64 max", "1.7976931348623157e308", inf32Bits, max64Bits},
		{"just past f64 max rounds down", "1.7976931348623158e308", inf32Bits, max64Bits},
		{"f32 max", "3.4028234664e38", max32Bits, 0x47efffffe000981d},
		{"f32 max digits", "340282346638528859811704183484516925440", max32Bits, 0x47efffffe0000000},
		{"f32 overflow tie", f32OverflowTie, inf32Bits, 0x47effffff0000000},
		{"below f32 overflow tie", strings.TrimSuffix(f32OverflowTie, "8") + "7.99999", max32Bits, 0x47effffff0000000},
		{"f64 overflow tie", f64OverflowTie, inf32Bits, inf64Bits},
		{"below f64 overflow tie", f64OverflowTie[:len(f64OverflowTie)-1] + "1", inf32Bits, max64Bits},

		// Exponents too large for any machine integer.
		{"huge exponent", "1e99999999999999999999", inf32Bits, inf64Bits},
		{"huge exponent negative", "-1.5e+99999999999999999999", negInf32Bits, negInf64Bits},
		{"huge negative exponent", "1e-99999999999999999999", 0, 0},
		{"huge negative exponent negative", "-1e-99999999999999999999", negZero32, negZero64},
		{"zero with huge exponent", "0e99999999999999999999", 0, 0},
		{"minus zero with huge exponent", "-0.000e99999999999999999999", negZero32, negZero64},
		// Long digit strings offset the exponent before it is applied:
		// 0.(100000 zeros)1 × 10^100010 = 10^9.
		{"long fraction, large exponent", "0." + zeros(100000) + "1e100010", 0x4e6e6b28, 0x41cdcd6500000000},
		// The reference stops reading exponent digits once the exponent passes
		// 65536, so 1000000 reads as 100000: 0.(99999 zeros)1 × 10^100000 = 1.
		{"exponent digits past the reference's limit", "0." + zeros(99999) + "1e1000000", 0x3f800000, 0x3ff0000000000000},
		{"long integer part, negative exponent", "1" + zeros(70000) + "e-70000", 0x3f800000, 0x3ff0000000000000},

		// Subnormals and underflow.
		{"smallest f32 subnormal", "1.4012984643e-45", 1, 0x369ffffffffd90e2},
		{"below half the smallest f32 subnormal", "1.4012984643e-46", 0, 0x366999999997a71b},
		{"f32 underflow tie", f32UnderflowTie, 0, 0x3690000000000000},
		{"above f32 underflow tie", f32UnderflowTie + "1", 1, 0x3690000000000000},
		{"largest f32 subnormal", "1.1754942e-38", 0x007fffff, 0x380fffffbb1dd6a1},
		{"smallest f32 normal", "1.17549435e-38", 0x00800000, 0x380fffffff9fdba8},
		{"negative f32 underflow", "-1e-50", negZero32, 0xb58dee7a4ad4b81f},
		{"smallest f64 subnormal", "5e-324", 0, 1},
		{"rounds up to smallest f64 subnormal", "3e-324", 0, 1},
		{"f64 underflow tie", f64UnderflowTie, 0, 0},
		{"above f64 underflow tie", f64UnderflowTie + "1", 0, 1},
		{"below f64 subnormals", "2e-324", 0, 0},
		{"far below f64 subnormals", "-1e-400", negZero32, negZero64},

		// Zeros keep their sign.
		{"zero", "0", 0, 0},
		{"zero fraction", "0.0e0", 0, 0},
		{"minus zero", "-0", negZero32, negZero64},
		{"minus zero fraction", "-0.0e-0", negZero32, negZero64},

		// Rounding ties to even inside the range.
		{"f32 tie to even down", "16777217", 0x4b800000, 0x4170000010000000},
		{"f32 tie to even up", "16777219", 0x4b800002, 0x4170000030000000},
		{"f64 tie to even", "9007199254740993", 0x5a000000, 0x4340000000000000},

		// Keywords: NaN is the canonical NaN (the component model has one NaN).
		{"nan", "nan", 0x7fc00000, 0x7ff8000000000000},
		{"inf", "inf", inf32Bits, inf64Bits},
		{"-inf", "-inf", negInf32Bits, negInf64Bits},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Parse(tc.text, wit.F32)
			if err != nil {
				t.Errorf("f32: Parse(%.40q): %v", tc.text, err)
			} else if got := math.Float32bits(v.(float32)); got != tc.f32 {
				t.Errorf("f32: Parse(%.40q) = %v (%#08x), want %v (%#08x)", tc.text, v, got, math.Float32frombits(tc.f32), tc.f32)
			}
			v, err = Parse(tc.text, wit.F64)
			if err != nil {
				t.Errorf("f64: Parse(%.40q): %v", tc.text, err)
			} else if got := math.Float64bits(v.(float64)); got != tc.f64 {
				t.Errorf("f64: Parse(%.40q) = %v (%#016x), want %v (%#016x)", tc.text, v, got, math.Float64frombits(tc.f64), tc.f64)
			}
		})
	}
}

// TestParseFloatSpellings lists texts that are not floats in WAVE although
// other formats (and Go's strconv) read them as one.
func TestParseFloatSpellings(t *testing.T) {
	for _, text := range []string{
		"-nan", "+nan", "NaN", "NAN", "Nan", "%nan",
		"+inf", "Inf", "INF", "-Inf", "-INF", "%inf", "infinity", "-infinity", "Infinity", "INFINITY",
		"+1", ".5", "1.", "1e", "1e+", "01", "-01.5", "0x1p3", "1_000", "1.5f", "- 1", "1 e5",
	} {
		for _, typ := range []*wit.Type{wit.F32, wit.F64} {
			if v, err := Parse(text, typ); err == nil {
				t.Errorf("%s: Parse(%q) = %v, want an error", typ, text, v)
			}
		}
	}
}

// TestParseFloatMatchesExactRounding compares Parse with exact rational
// arithmetic (math/big) on random literals around the ranges' edges: the
// result must be the float nearest to the literal's exact value.
func TestParseFloatMatchesExactRounding(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	digits := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + r.IntN(10))
		}
		return string(b)
	}
	for i := 0; i < 20000; i++ {
		lit := strconv.Itoa(1 + r.IntN(9)) // no leading zero
		lit += digits(r.IntN(30))
		if r.IntN(2) == 0 {
			lit += "." + digits(1+r.IntN(30))
		}
		exp := []int{-360, -330, -60, -50, -40, 0, 30, 40, 300, 320}[r.IntN(10)] + r.IntN(21) - 10
		lit += "e" + strconv.Itoa(exp)
		if r.IntN(2) == 0 {
			lit = "-" + lit
		}
		exact, ok := new(big.Rat).SetString(lit)
		if !ok {
			t.Fatalf("big.Rat cannot read %q", lit)
		}
		want32, _ := exact.Float32()
		want64, _ := exact.Float64()
		if exact.Sign() < 0 { // big.Rat loses the sign of a result rounded to zero
			want32 = float32(math.Copysign(float64(want32), -1))
			want64 = math.Copysign(want64, -1)
		}
		if v, err := Parse(lit, wit.F32); err != nil || math.Float32bits(v.(float32)) != math.Float32bits(want32) {
			t.Fatalf("f32: Parse(%q) = %v, %v; want %v", lit, v, err, want32)
		}
		if v, err := Parse(lit, wit.F64); err != nil || math.Float64bits(v.(float64)) != math.Float64bits(want64) {
			t.Fatalf("f64: Parse(%q) = %v, %v; want %v", lit, v, err, want64)
		}
	}
}
