package wave

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// parseError is the error returned by every function of this package.
type parseError struct {
	off   int    // byte offset in the text, -1 when not about a place
	path  string // where inside the value, "" at the top
	arg   int    // 1-based argument number (ParseArgs), 0 otherwise
	param string // parameter name (ParseArgs)
	msg   string
}

func (e *parseError) Error() string {
	var b strings.Builder
	b.WriteString("wave: ")
	if e.arg > 0 {
		fmt.Fprintf(&b, "argument %d", e.arg)
		if e.param != "" {
			fmt.Fprintf(&b, " (%s)", e.param)
		}
		b.WriteString(": ")
	}
	switch {
	case e.off >= 0 && e.path != "":
		fmt.Fprintf(&b, "at %d in %s: ", e.off, e.path)
	case e.off >= 0:
		fmt.Fprintf(&b, "at %d: ", e.off)
	case e.path != "":
		fmt.Fprintf(&b, "in %s: ", e.path)
	}
	b.WriteString(e.msg)
	return b.String()
}

func errAt(off int, path, format string, args ...any) *parseError {
	return &parseError{off: off, path: path, msg: fmt.Sprintf(format, args...)}
}

// withPath sets the path of a lexer error that does not have one yet.
func withPath(err error, path string) error {
	if pe, ok := err.(*parseError); ok && pe.path == "" && path != "" {
		c := *pe
		c.path = path
		return &c
	}
	return err
}

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokPunct
	tokNumber
	tokLabel
	tokChar
	tokString
)

type token struct {
	kind  tokKind
	start int    // offset of the first byte
	text  string // source text of the token
	str   string // decoded string (tokString)
	r     rune   // decoded char (tokChar)
}

// is reports whether the token is the punctuation c.
func (t token) is(c byte) bool { return t.kind == tokPunct && t.text[0] == c }

// label returns a label token's name without its '%' and whether it had one.
func (t token) label() (string, bool) {
	if strings.HasPrefix(t.text, "%") {
		return t.text[1:], true
	}
	return t.text, false
}

// keyword reports whether the token is the bare (not %-escaped) keyword kw.
func (t token) keyword(kw string) bool { return t.kind == tokLabel && t.text == kw }

// describe says what a token is, for error messages.
func describe(t token) string {
	switch t.kind {
	case tokEOF:
		return "end of input"
	case tokString:
		return "string " + truncate(t.text)
	case tokChar:
		return "char " + t.text
	}
	return fmt.Sprintf("%q", truncate(t.text))
}

func truncate(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isAlnum(c byte) bool  { return isDigit(c) || isLetter(c) }

// lexer splits WAVE text into tokens, skipping whitespace and comments.
type lexer struct {
	src string
	pos int
}

func (lx *lexer) skip() {
	for lx.pos < len(lx.src) {
		switch c := lx.src[lx.pos]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			lx.pos++
		case c == '/' && strings.HasPrefix(lx.src[lx.pos:], "//"):
			if i := strings.IndexByte(lx.src[lx.pos:], '\n'); i >= 0 {
				lx.pos += i + 1
			} else {
				lx.pos = len(lx.src)
			}
		default:
			return
		}
	}
}

func (lx *lexer) next() (token, error) {
	lx.skip()
	start := lx.pos
	if start >= len(lx.src) {
		return token{kind: tokEOF, start: start}, nil
	}
	c := lx.src[start]
	switch {
	case strings.IndexByte("{}()[]:,", c) >= 0:
		lx.pos++
		return token{kind: tokPunct, start: start, text: lx.src[start : start+1]}, nil
	case c == '-' || isDigit(c):
		return lx.number()
	case c == '%' || isLetter(c):
		return lx.label()
	case c == '\'':
		return lx.char()
	case c == '"':
		if strings.HasPrefix(lx.src[start:], `"""`) {
			return lx.multiline()
		}
		return lx.string()
	}
	r, size := utf8.DecodeRuneInString(lx.src[start:])
	if r == utf8.RuneError && size <= 1 {
		return token{}, errAt(start, "", "invalid UTF-8 in input")
	}
	return token{}, errAt(start, "", "unexpected character %q", r)
}

// number lexes -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)? or -inf.
func (lx *lexer) number() (token, error) {
	src, start := lx.src, lx.pos
	i := start
	if src[i] == '-' {
		i++
		if strings.HasPrefix(src[i:], "inf") && (i+3 == len(src) || !(isAlnum(src[i+3]) || src[i+3] == '-')) {
			lx.pos = i + 3
			return token{kind: tokNumber, start: start, text: "-inf"}, nil
		}
	}
	digits := func() bool {
		j := i
		for i < len(src) && isDigit(src[i]) {
			i++
		}
		return i > j
	}
	ok := true
	switch {
	case i < len(src) && src[i] == '0':
		i++
	case !digits():
		ok = false
	}
	if ok && i < len(src) && src[i] == '.' {
		i++
		ok = digits()
	}
	if ok && i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		i++
		if i < len(src) && (src[i] == '+' || src[i] == '-') {
			i++
		}
		ok = digits()
	}
	if !ok || (i < len(src) && (isAlnum(src[i]) || src[i] == '.' || src[i] == '_')) {
		j := i
		for j < len(src) && (isAlnum(src[j]) || strings.IndexByte(".+-_", src[j]) >= 0) {
			j++
		}
		if j == start+1 && src[start] == '-' {
			return token{}, errAt(start, "", "unexpected character '-' (not followed by a number or inf)")
		}
		return token{}, errAt(start, "", "invalid number %q", truncate(src[start:max(j, start+1)]))
	}
	lx.pos = i
	return token{kind: tokNumber, start: start, text: src[start:i]}, nil
}

// label lexes a kebab-case label, maybe %-prefixed (keywords included).
func (lx *lexer) label() (token, error) {
	src, start := lx.src, lx.pos
	i := start
	if src[i] == '%' {
		i++
	}
	j := i
	for j < len(src) && (isAlnum(src[j]) || src[j] == '-') {
		j++
	}
	lx.pos = j
	if !validLabel(src[i:j]) {
		return token{}, errAt(start, "", "invalid label %q (want kebab-case words like abc or two-words, each all lower or all upper case)", truncate(src[start:j]))
	}
	return token{kind: tokLabel, start: start, text: src[start:j]}, nil
}

// validLabel reports whether s is a WIT identifier (without '%').
func validLabel(s string) bool {
	if s == "" {
		return false
	}
	for n, word := range strings.Split(s, "-") {
		if word == "" || (n == 0 && !isLetter(word[0])) {
			return false
		}
		lower, upper := false, false
		for k := 0; k < len(word); k++ {
			c := word[k]
			switch {
			case c >= 'a' && c <= 'z':
				lower = true
			case c >= 'A' && c <= 'Z':
				upper = true
			case isDigit(c):
			default:
				return false
			}
		}
		if lower && upper {
			return false
		}
	}
	return true
}

// unescape decodes the escape sequence at src[i] ('\\'), not reading at or
// beyond limit, and returns the char and the length of the sequence.
func (lx *lexer) unescape(i, limit int) (rune, int, error) {
	src := lx.src
	if i+1 >= limit {
		return 0, 0, errAt(i, "", "unterminated escape sequence")
	}
	switch src[i+1] {
	case '\\':
		return '\\', 2, nil
	case '\'':
		return '\'', 2, nil
	case '"':
		return '"', 2, nil
	case 't':
		return '\t', 2, nil
	case 'n':
		return '\n', 2, nil
	case 'r':
		return '\r', 2, nil
	case 'u':
		if i+2 >= limit || src[i+2] != '{' {
			return 0, 0, errAt(i, "", `invalid unicode escape: want \u{X} with 1 to 6 hex digits`)
		}
		j := i + 3
		val, digits := 0, 0
		for ; j < limit && src[j] != '}'; j++ {
			h := hexVal(src[j])
			if h < 0 || digits == 6 {
				return 0, 0, errAt(i, "", `invalid unicode escape: want \u{X} with 1 to 6 hex digits`)
			}
			val = val<<4 | h
			digits++
		}
		if j >= limit || digits == 0 {
			return 0, 0, errAt(i, "", `invalid unicode escape: want \u{X} with 1 to 6 hex digits`)
		}
		if !utf8.ValidRune(rune(val)) {
			return 0, 0, errAt(i, "", `invalid unicode escape %s: not a Unicode scalar value`, src[i:j+1])
		}
		return rune(val), j + 1 - i, nil
	}
	r, _ := utf8.DecodeRuneInString(src[i+1 : limit])
	return 0, 0, errAt(i, "", `invalid escape \%c (want \' \" \\ \t \n \r or \u{X})`, r)
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// decode appends the decoded text of src[i:j] (escapes, UTF-8 checked) to b.
func (lx *lexer) decode(i, j int, b *strings.Builder) error {
	src := lx.src
	for i < j {
		c := src[i]
		switch {
		case c == '\\':
			r, n, err := lx.unescape(i, j)
			if err != nil {
				return err
			}
			b.WriteRune(r)
			i += n
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			i++
		default:
			r, size := utf8.DecodeRuneInString(src[i:j])
			if r == utf8.RuneError && size <= 1 {
				return errAt(i, "", "invalid UTF-8 in string")
			}
			b.WriteString(src[i : i+size])
			i += size
		}
	}
	return nil
}

func (lx *lexer) char() (token, error) {
	src, start := lx.src, lx.pos
	i := start + 1
	var r rune
	switch {
	case i >= len(src) || src[i] == '\n':
		return token{}, errAt(start, "", "unterminated char literal")
	case src[i] == '\'':
		return token{}, errAt(start, "", "empty char literal (write '\\'' for a quote)")
	case src[i] == '\\':
		end := strings.IndexByte(src[i:], '\n')
		if end < 0 {
			end = len(src)
		} else {
			end += i
		}
		var n int
		var err error
		r, n, err = lx.unescape(i, end)
		if err != nil {
			return token{}, err
		}
		i += n
	default:
		var size int
		r, size = utf8.DecodeRuneInString(src[i:])
		if r == utf8.RuneError && size <= 1 {
			return token{}, errAt(i, "", "invalid UTF-8 in char literal")
		}
		i += size
	}
	if i < len(src) && src[i] == '\'' {
		lx.pos = i + 1
		return token{kind: tokChar, start: start, text: src[start : i+1], r: r}, nil
	}
	rest := src[i:]
	if nl := strings.IndexByte(rest, '\n'); nl >= 0 {
		rest = rest[:nl]
	}
	if strings.IndexByte(rest, '\'') >= 0 {
		return token{}, errAt(start, "", "char literal holds more than one character (use a string \"…\")")
	}
	return token{}, errAt(start, "", "unterminated char literal")
}

func (lx *lexer) string() (token, error) {
	src, start := lx.src, lx.pos
	i := start + 1
	for {
		if i >= len(src) {
			return token{}, errAt(start, "", "unterminated string")
		}
		c := src[i]
		if c == '"' {
			break
		}
		if c == '\n' {
			return token{}, errAt(start, "", `unterminated string (a line break inside "…" must be written \n)`)
		}
		if c == '\\' {
			i++
		}
		i++
	}
	var b strings.Builder
	if err := lx.decode(start+1, i, &b); err != nil {
		return token{}, err
	}
	lx.pos = i + 1
	return token{kind: tokString, start: start, text: src[start : i+1], str: b.String()}, nil
}

func (lx *lexer) multiline() (token, error) {
	src, start := lx.src, lx.pos
	body := start + 3
	k := strings.Index(src[body:], `"""`)
	if k < 0 {
		return token{}, errAt(start, "", `unterminated multiline string (no closing """)`)
	}
	closeAt := body + k
	i := body
	if i < closeAt && src[i] == '\r' {
		i++
	}
	if i >= closeAt || src[i] != '\n' {
		return token{}, errAt(start, "", `opening """ must be followed immediately by a line break`)
	}
	i++
	// The last line holds only the indent before the closing """.
	last := strings.LastIndexByte(src[i:closeAt], '\n')
	indentStart := i
	if last >= 0 {
		indentStart = i + last + 1
	}
	indent := src[indentStart:closeAt]
	if strings.Trim(indent, " ") != "" {
		return token{}, errAt(closeAt, "", `closing """ must be on its own line, preceded only by spaces`)
	}
	var b strings.Builder
	first := true
	for last >= 0 && i < indentStart {
		nl := i + strings.IndexByte(src[i:indentStart], '\n')
		if !strings.HasPrefix(src[i:nl], indent) {
			return token{}, errAt(i, "", `line is indented less than the closing """`)
		}
		end := nl
		if end > i && src[end-1] == '\r' {
			end--
		}
		if !first {
			b.WriteByte('\n')
		}
		first = false
		if err := lx.decode(i+len(indent), max(end, i+len(indent)), &b); err != nil {
			return token{}, err
		}
		i = nl + 1
	}
	lx.pos = closeAt + 3
	return token{kind: tokString, start: start, text: src[start:lx.pos], str: b.String()}, nil
}
