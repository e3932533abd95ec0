package wave

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/airsstack/airssys-wasm-go/wit"
)

// maxDepth bounds how deeply values may nest.
const maxDepth = 100

// Parse parses one WAVE value of type t into the Go value model of package wit.
func Parse(text string, t *wit.Type) (any, error) {
	p := &parser{lx: lexer{src: text}}
	v, err := p.value(t, "")
	if err != nil {
		return nil, err
	}
	tok, err := p.next("")
	if err != nil {
		return nil, err
	}
	if tok.kind != tokEOF {
		return nil, errAt(tok.start, "", "unexpected trailing input %s after the value", describe(tok))
	}
	return v, nil
}

type parser struct {
	lx     lexer
	tok    token
	err    error
	peeked bool
	depth  int
}

func (p *parser) peek(path string) (token, error) {
	if !p.peeked {
		p.tok, p.err = p.lx.next()
		p.peeked = true
	}
	if p.err != nil {
		return token{}, withPath(p.err, path)
	}
	return p.tok, nil
}

func (p *parser) next(path string) (token, error) {
	tok, err := p.peek(path)
	if err == nil {
		p.peeked = false
	}
	return tok, err
}

// expect consumes the punctuation c.
func (p *parser) expect(c byte, path, what string) (token, error) {
	tok, err := p.next(path)
	if err != nil {
		return tok, err
	}
	if !tok.is(c) {
		return tok, errAt(tok.start, path, "expected '%c'%s, found %s", c, what, describe(tok))
	}
	return tok, nil
}

// typeName is a type's WIT text, shortened for error messages.
func typeName(t *wit.Type) string {
	s := t.String()
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

func (p *parser) expected(tok token, path string, t *wit.Type, hint string) error {
	return errAt(tok.start, path, "expected %s%s, found %s", typeName(t), hint, describe(tok))
}

// seq parses comma-separated items up to the closing punctuation close; the
// opening punctuation at offset open has already been consumed.
func (p *parser) seq(open int, close byte, path string, item func(i int) error) error {
	for i := 0; ; i++ {
		tok, err := p.peek(path)
		if err != nil {
			return err
		}
		if tok.is(close) {
			p.next(path)
			return nil
		}
		if tok.kind == tokEOF {
			return errAt(tok.start, path, "unexpected end of input: missing '%c' for '%c' at %d", close, p.lx.src[open], open)
		}
		if err := item(i); err != nil {
			return err
		}
		if tok, err = p.next(path); err != nil {
			return err
		}
		switch {
		case tok.is(close):
			return nil
		case tok.is(','):
		case tok.kind == tokEOF:
			return errAt(tok.start, path, "unexpected end of input: missing '%c' for '%c' at %d", close, p.lx.src[open], open)
		default:
			return errAt(tok.start, path, "expected ',' or '%c', found %s", close, describe(tok))
		}
	}
}

func (p *parser) value(t *wit.Type, path string) (any, error) {
	tok, err := p.peek(path)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, errAt(tok.start, path, "no type given for the value")
	}
	if p.depth >= maxDepth {
		return nil, errAt(tok.start, path, "value nested too deeply (more than %d levels)", maxDepth)
	}
	p.depth++
	defer func() { p.depth-- }()

	switch t.Kind {
	case wit.KindBool:
		p.next(path)
		switch {
		case tok.keyword("true"):
			return true, nil
		case tok.keyword("false"):
			return false, nil
		}
		return nil, p.expected(tok, path, t, "")
	case wit.KindS8, wit.KindS16, wit.KindS32, wit.KindS64, wit.KindU8, wit.KindU16, wit.KindU32, wit.KindU64:
		p.next(path)
		return p.integer(tok, t, path)
	case wit.KindF32, wit.KindF64:
		p.next(path)
		return p.float(tok, t, path)
	case wit.KindChar:
		p.next(path)
		if tok.kind != tokChar {
			return nil, p.expected(tok, path, t, " ('x')")
		}
		return wit.Char(tok.r), nil
	case wit.KindString:
		p.next(path)
		if tok.kind != tokString {
			return nil, p.expected(tok, path, t, ` ("…")`)
		}
		return tok.str, nil
	case wit.KindList:
		return p.list(tok, t, path)
	case wit.KindTuple:
		return p.tuple(tok, t, path)
	case wit.KindRecord:
		return p.record(tok, t, path)
	case wit.KindVariant:
		return p.variant(tok, t, path)
	case wit.KindEnum:
		p.next(path)
		if tok.kind != tokLabel {
			return nil, p.expected(tok, path, t, " case")
		}
		name, _ := tok.label()
		if t.NameIndex(name) < 0 {
			return nil, errAt(tok.start, path, "unknown enum case %q (cases: %s)", name, list(t.Names))
		}
		return wit.Enum(name), nil
	case wit.KindOption:
		return p.option(tok, t, path)
	case wit.KindResult:
		return p.result(tok, t, path)
	case wit.KindFlags:
		return p.flags(tok, t, path)
	case wit.KindOwn, wit.KindBorrow:
		return nil, errAt(tok.start, path, "cannot parse a value of type %s: resources have no text form", typeName(t))
	}
	return nil, errAt(tok.start, path, "cannot parse a value of type %s", typeName(t))
}

// list names a few of names for error messages.
func list(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	const max = 10
	if len(names) > max {
		return strings.Join(names[:max], ", ") + fmt.Sprintf(", … (%d in all)", len(names))
	}
	return strings.Join(names, ", ")
}

func (p *parser) integer(tok token, t *wit.Type, path string) (any, error) {
	if tok.kind != tokNumber || tok.text == "-inf" {
		return nil, p.expected(tok, path, t, "")
	}
	if strings.ContainsAny(tok.text, ".eE") {
		return nil, errAt(tok.start, path, "expected %s, found %s (not an integer)", t.Kind, describe(tok))
	}
	lo, hi := wit.IntRange(t.Kind)
	outOfRange := func() error {
		return errAt(tok.start, path, "%s out of range for %s (%d to %d)", truncate(tok.text), t.Kind, lo, hi)
	}
	if lo < 0 {
		n, err := strconv.ParseInt(tok.text, 10, 64)
		if err != nil || n < lo || n > int64(hi) {
			return nil, outOfRange()
		}
		switch t.Kind {
		case wit.KindS8:
			return int8(n), nil
		case wit.KindS16:
			return int16(n), nil
		case wit.KindS32:
			return int32(n), nil
		}
		return n, nil
	}
	text := tok.text
	if text == "-0" {
		text = "0"
	}
	n, err := strconv.ParseUint(text, 10, 64)
	if err != nil || n > hi {
		return nil, outOfRange()
	}
	switch t.Kind {
	case wit.KindU8:
		return uint8(n), nil
	case wit.KindU16:
		return uint16(n), nil
	case wit.KindU32:
		return uint32(n), nil
	}
	return n, nil
}

func (p *parser) float(tok token, t *wit.Type, path string) (any, error) {
	bits := 64
	if t.Kind == wit.KindF32 {
		bits = 32
	}
	var f float64
	switch {
	case tok.keyword("nan"):
		if bits == 32 {
			return nan32, nil
		}
		return nan64, nil
	case tok.keyword("inf"):
		f = math.Inf(1)
	case tok.kind == tokNumber && tok.text == "-inf":
		f = math.Inf(-1)
	case tok.kind == tokNumber:
		// Like wasm-wave: out of range is ±inf, too small is ±0.
		f = decimalFloat(tok.text, bits)
	default:
		return nil, p.expected(tok, path, t, "")
	}
	if bits == 32 {
		return float32(f), nil
	}
	return f, nil
}

func (p *parser) list(tok token, t *wit.Type, path string) (any, error) {
	if !tok.is('[') {
		p.next(path)
		return nil, p.expected(tok, path, t, " ([…])")
	}
	p.next(path)
	if t.Elem == nil {
		return nil, errAt(tok.start, path, "list type has no element type")
	}
	if t.Elem.Kind == wit.KindU8 {
		out := []byte{}
		err := p.seq(tok.start, ']', path, func(i int) error {
			v, err := p.value(t.Elem, path+"["+strconv.Itoa(i)+"]")
			if err == nil {
				out = append(out, v.(uint8))
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		return out, nil
	}
	out := []any{}
	err := p.seq(tok.start, ']', path, func(i int) error {
		v, err := p.value(t.Elem, path+"["+strconv.Itoa(i)+"]")
		out = append(out, v)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (p *parser) tuple(tok token, t *wit.Type, path string) (any, error) {
	if !tok.is('(') {
		p.next(path)
		return nil, p.expected(tok, path, t, " ((…))")
	}
	p.next(path)
	out := wit.Tuple{}
	err := p.seq(tok.start, ')', path, func(i int) error {
		if i >= len(t.Types) {
			at, _ := p.peek(path)
			return errAt(at.start, path, "too many elements for %s (want %d)", typeName(t), len(t.Types))
		}
		v, err := p.value(t.Types[i], path+"["+strconv.Itoa(i)+"]")
		out = append(out, v)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(out) != len(t.Types) {
		return nil, errAt(tok.start, path, "too few elements for %s: want %d, found %d", typeName(t), len(t.Types), len(out))
	}
	return out, nil
}

func (p *parser) record(tok token, t *wit.Type, path string) (any, error) {
	if !tok.is('{') {
		p.next(path)
		return nil, p.expected(tok, path, t, " ({…})")
	}
	p.next(path)
	vals := make([]any, len(t.Fields))
	seen := make([]bool, len(t.Fields))
	if next, err := p.peek(path); err != nil {
		return nil, err
	} else if next.is(':') { // {:} is the empty record
		p.next(path)
		if _, err := p.expect('}', path, " after '{:'"); err != nil {
			return nil, err
		}
	} else {
		err := p.seq(tok.start, '}', path, func(int) error {
			ft, err := p.next(path)
			if err != nil {
				return err
			}
			if ft.kind != tokLabel {
				return errAt(ft.start, path, "expected a field name, found %s", describe(ft))
			}
			name, _ := ft.label()
			idx := -1
			for k, f := range t.Fields {
				if f.Name == name {
					idx = k
					break
				}
			}
			if idx < 0 {
				names := make([]string, len(t.Fields))
				for k, f := range t.Fields {
					names[k] = f.Name
				}
				return errAt(ft.start, path, "unknown field %q (fields: %s)", name, list(names))
			}
			if seen[idx] {
				return errAt(ft.start, path, "duplicate field %q", name)
			}
			seen[idx] = true
			if _, err := p.expect(':', path, " after field "+name); err != nil {
				return err
			}
			vals[idx], err = p.value(t.Fields[idx].Type, wit.JoinPath(path, "."+name))
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	out := make(wit.Record, len(t.Fields))
	for k, f := range t.Fields {
		if !seen[k] {
			if f.Type == nil || f.Type.Kind != wit.KindOption {
				return nil, errAt(tok.start, path, "missing field %q (of type %s)", f.Name, typeName(f.Type))
			}
			vals[k] = wit.None()
		}
		out[k] = wit.NamedValue{Name: f.Name, Value: vals[k]}
	}
	return out, nil
}

// payload parses the optional `(value)` after a case label. pt is the
// payload type (nil when the case has none) and what names the case.
func (p *parser) payload(label token, pt *wit.Type, what, path, sub string) (any, error) {
	next, err := p.peek(path)
	if err != nil {
		return nil, err
	}
	if pt == nil {
		if next.is('(') {
			return nil, errAt(next.start, path, "%s has no payload", what)
		}
		return nil, nil
	}
	if !next.is('(') {
		return nil, errAt(label.start, path, "%s needs a payload of type %s: write %s(…)", what, typeName(pt), label.text)
	}
	p.next(path)
	v, err := p.value(pt, sub)
	if err != nil {
		return nil, err
	}
	if _, err := p.expect(')', path, " after the payload of "+what); err != nil {
		return nil, err
	}
	return v, nil
}

func (p *parser) variant(tok token, t *wit.Type, path string) (any, error) {
	p.next(path)
	if tok.kind != tokLabel {
		return nil, p.expected(tok, path, t, " case")
	}
	name, _ := tok.label()
	idx := t.CaseIndex(name)
	if idx < 0 {
		names := make([]string, len(t.Cases))
		for k, c := range t.Cases {
			names[k] = c.Name
		}
		return nil, errAt(tok.start, path, "unknown variant case %q (cases: %s)", name, list(names))
	}
	v, err := p.payload(tok, t.Cases[idx].Type, "case "+name, path, wit.JoinPath(path, "."+name))
	if err != nil {
		return nil, err
	}
	return wit.Variant{Case: name, Value: v}, nil
}

func (p *parser) option(tok token, t *wit.Type, path string) (any, error) {
	p.next(path)
	switch {
	case tok.keyword("none"):
		return wit.None(), nil
	case tok.keyword("some"):
		if t.Elem == nil {
			return nil, errAt(tok.start, path, "option type has no payload type")
		}
		v, err := p.payload(tok, t.Elem, "some", path, wit.JoinPath(path, ".some"))
		if err != nil {
			return nil, err
		}
		return wit.Some(v), nil
	}
	return nil, p.expected(tok, path, t, " (some(…) or none)")
}

func (p *parser) result(tok token, t *wit.Type, path string) (any, error) {
	p.next(path)
	switch {
	case tok.keyword("ok"):
		v, err := p.payload(tok, t.Ok, "ok", path, wit.JoinPath(path, ".ok"))
		if err != nil {
			return nil, err
		}
		return wit.Ok(v), nil
	case tok.keyword("err"):
		v, err := p.payload(tok, t.Err, "err", path, wit.JoinPath(path, ".err"))
		if err != nil {
			return nil, err
		}
		return wit.Err(v), nil
	}
	return nil, p.expected(tok, path, t, " (ok, ok(…), err or err(…))")
}

func (p *parser) flags(tok token, t *wit.Type, path string) (any, error) {
	if !tok.is('{') {
		p.next(path)
		return nil, p.expected(tok, path, t, " ({…})")
	}
	p.next(path)
	set := make([]bool, len(t.Names))
	err := p.seq(tok.start, '}', path, func(int) error {
		ft, err := p.next(path)
		if err != nil {
			return err
		}
		if ft.kind != tokLabel {
			return errAt(ft.start, path, "expected a flag name, found %s", describe(ft))
		}
		name, _ := ft.label()
		idx := t.NameIndex(name)
		if idx < 0 {
			return errAt(ft.start, path, "unknown flag %q (flags: %s)", name, list(t.Names))
		}
		if set[idx] {
			return errAt(ft.start, path, "duplicate flag %q", name)
		}
		set[idx] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := wit.Flags{}
	for k, on := range set {
		if on {
			out = append(out, t.Names[k])
		}
	}
	return out, nil
}
