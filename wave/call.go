package wave

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/airsstack/airssys-wasm-go/wit"
)

// ParseCall parses `name(arg, ...)` and returns name and the raw argument texts split at top level (not yet typed), so the caller can look the function up first.
//
// The name is everything before the first '(' with surrounding whitespace
// removed; it may hold any characters but whitespace, quotes, brackets and
// commas, so qualified names such as `airssys:test/echo@0.1.0#echo-string`
// work. A call without parentheses (`run`) has no arguments. Arguments are
// returned with surrounding whitespace removed; a trailing comma is allowed.
// Errors report byte offsets in text.
func ParseCall(text string) (name string, args []string, err error) {
	open := strings.IndexByte(text, '(')
	head := text
	if open >= 0 {
		head = text[:open]
	}
	trimmed := strings.TrimLeftFunc(head, unicode.IsSpace)
	nameStart := len(head) - len(trimmed)
	name = strings.TrimRightFunc(trimmed, unicode.IsSpace)
	if name == "" {
		return "", nil, errAt(nameStart, "", "missing function name")
	}
	if i := strings.IndexFunc(name, badNameRune); i >= 0 {
		r, _ := utf8.DecodeRuneInString(name[i:])
		return "", nil, errAt(nameStart+i, "", "invalid character %q in function name %q", r, truncate(name))
	}
	if open < 0 {
		return name, nil, nil
	}
	args, err = splitArgs(text, open)
	if err != nil {
		return "", nil, err
	}
	return name, args, nil
}

func badNameRune(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError || strings.ContainsRune(`()[]{},"'`, r)
}

var closerOf = map[byte]byte{'(': ')', '[': ']', '{': '}'}

// splitArgs splits the argument list that opens at text[open] at its
// top-level commas, skipping over strings, chars and comments.
func splitArgs(text string, open int) ([]string, error) {
	args := []string{}
	var stack []int // offsets of the unclosed brackets inside the arguments
	segStart, content := open+1, false
	i := open + 1
	for {
		if i >= len(text) {
			at := open
			if len(stack) > 0 {
				at = stack[len(stack)-1]
			}
			return nil, errAt(len(text), "", "unexpected end of input: missing '%c' for '%c' at %d", closerOf[text[at]], text[at], at)
		}
		c := text[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '/' && strings.HasPrefix(text[i:], "//"):
			if nl := strings.IndexByte(text[i:], '\n'); nl >= 0 {
				i += nl + 1
			} else {
				i = len(text)
			}
		case c == '"' || c == '\'':
			end, err := skipQuoted(text, i)
			if err != nil {
				return nil, err
			}
			i, content = end, true
		case c == '(' || c == '[' || c == '{':
			stack = append(stack, i)
			i, content = i+1, true
		case c == ')' || c == ']' || c == '}':
			if len(stack) > 0 {
				top := stack[len(stack)-1]
				if closerOf[text[top]] != c {
					return nil, errAt(i, "", "expected '%c' to close '%c' at %d, found '%c'", closerOf[text[top]], text[top], top, c)
				}
				stack = stack[:len(stack)-1]
				i++
				continue
			}
			if c != ')' {
				return nil, errAt(i, "", "unexpected '%c' in the argument list", c)
			}
			if content {
				args = append(args, strings.TrimSpace(text[segStart:i]))
			}
			lx := lexer{src: text, pos: i + 1}
			lx.skip()
			if lx.pos < len(text) {
				return nil, errAt(lx.pos, "", "unexpected trailing input after the call's ')'")
			}
			return args, nil
		case c == ',' && len(stack) == 0:
			if !content {
				return nil, errAt(i, "", "empty argument before ','")
			}
			args = append(args, strings.TrimSpace(text[segStart:i]))
			segStart, content = i+1, false
			i++
		default:
			i, content = i+1, true
		}
	}
}

// skipQuoted returns the offset just past the string or char literal that
// starts at text[i].
func skipQuoted(text string, i int) (int, error) {
	q := text[i]
	if q == '"' && strings.HasPrefix(text[i:], `"""`) {
		k := strings.Index(text[i+3:], `"""`)
		if k < 0 {
			return 0, errAt(i, "", `unterminated multiline string (no closing """)`)
		}
		return i + 3 + k + 3, nil
	}
	what := "string"
	if q == '\'' {
		what = "char literal"
	}
	for j := i + 1; j < len(text); j++ {
		switch text[j] {
		case q:
			return j + 1, nil
		case '\\':
			j++
		case '\n':
			return 0, errAt(i, "", "unterminated %s", what)
		}
	}
	return 0, errAt(i, "", "unterminated %s", what)
}

// ParseArgs parses the argument texts against the function's parameters (count must match).
//
// Errors name the argument (1-based) and parameter, and give byte offsets
// within that argument's text.
func ParseArgs(args []string, ft *wit.FuncType) ([]any, error) {
	if ft == nil {
		return nil, &parseError{off: -1, msg: "no function type given"}
	}
	if len(args) != len(ft.Params) {
		return nil, &parseError{off: -1, msg: "expected " + plural(len(ft.Params), "argument") + " for " + ft.String() + ", found " + strconv.Itoa(len(args))}
	}
	out := make([]any, len(args))
	for i, a := range args {
		v, err := Parse(a, ft.Params[i].Type)
		if err != nil {
			if pe, ok := err.(*parseError); ok {
				c := *pe
				c.arg, c.param = i+1, ft.Params[i].Name
				return nil, &c
			}
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
