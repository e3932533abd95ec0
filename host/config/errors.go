package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// Error is one problem with a host.toml or an app file, with where it is.
// It reads like security's manifest errors:
//
//	host.toml:12: gateway.max-body: "64 apples" is not a size
type Error struct {
	File string
	Line int    // 0 when unknown (a default, or a Host built in Go)
	Key  string // dotted key, arrays indexed: "actor[1].component.path"
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Key != "" {
		fmt.Fprintf(&b, ": %s", e.Key)
	}
	fmt.Fprintf(&b, ": %s", e.Msg)
	return b.String()
}

// ErrInvalid is matched by every problem with a host.toml or an app file
// (errors.Is).
var ErrInvalid = errors.New("config: invalid")

func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Errors returns the problems in err (one *Error, or several joined), in
// the order of the file where lines are known.
func Errors(err error) []*Error {
	var out []*Error
	var one *Error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, Errors(e)...)
		}
	} else if errors.As(err, &one) {
		out = append(out, one)
	}
	return out
}

// errList collects every problem of one file.
type errList struct {
	file  string
	lines *lineMap
	list  []*Error
}

func newErrList(file string, data []byte) *errList {
	return &errList{file: file, lines: keyLines(data)}
}

func (e *errList) add(key, msg string) {
	e.list = append(e.list, &Error{File: e.file, Line: e.lines.lineOf(key), Key: key, Msg: msg})
}

// addAt reports a problem of key at the line of another key, the one it
// comes from.
func (e *errList) addAt(key, lineKey, msg string) {
	e.list = append(e.list, &Error{File: e.file, Line: e.lines.lineOf(lineKey), Key: key, Msg: msg})
}

func (e *errList) addf(key, format string, args ...any) { e.add(key, fmt.Sprintf(format, args...)) }

// fromTOML records a decoding error: every unknown key (strict mode), or
// the one syntax or structure error. unknown rewrites the message of an
// unknown key (nil: "unknown key"). It reports whether decoding got
// through, that is whether the decoded value can be checked further.
func (e *errList) fromTOML(err error, unknown func(key string) string) bool {
	var strict *toml.StrictMissingError
	var de *toml.DecodeError
	switch {
	case err == nil:
		return true
	case errors.As(err, &strict):
		for i := range strict.Errors {
			d := &strict.Errors[i]
			line, _ := d.Position()
			key := e.lines.qualify(d.Key(), line)
			msg := "unknown key"
			if unknown != nil {
				msg = unknown(key)
			}
			e.list = append(e.list, &Error{File: e.file, Line: line, Key: key, Msg: msg})
		}
		return true // the decoder filled in everything else
	case errors.As(err, &de):
		line, _ := de.Position()
		key, msg := e.lines.qualify(de.Key(), line), strings.TrimPrefix(de.Error(), "toml: ")
		if strings.Contains(msg, "already defined") {
			// The decoder names the key within its table.
			if t := e.lines.tableOf(line); t != "" && len(de.Key()) == 1 {
				key = t + "." + key
			}
		} else if m := typeError.FindStringSubmatch(msg); m != nil {
			want := "another type"
			switch {
			case strings.HasPrefix(m[2], "[]"):
				want = "an array of tables"
			case strings.HasPrefix(m[2], "struct"), strings.HasPrefix(m[2], "*struct"),
				strings.HasPrefix(m[2], "map"):
				want = "a table"
			}
			article := "a "
			if strings.ContainsRune("aeiou", rune(m[1][0])) {
				article = "an "
			}
			msg = fmt.Sprintf("wrong type: %s, want %s", article+m[1], want)
		}
		e.list = append(e.list, &Error{File: e.file, Line: line, Key: key, Msg: msg})
	default:
		e.list = append(e.list, &Error{File: e.file, Msg: err.Error()})
	}
	return false
}

// typeError is go-toml's message for a value where the Go type is a
// table or an array of tables; it is said in TOML's terms instead.
var typeError = regexp.MustCompile(`^cannot decode TOML (.+?) into .* of type (\S+)`)

// err returns nil, the one problem, or all of them joined, sorted by line
// (problems without a line last, in the order found).
func (e *errList) err() error {
	if len(e.list) == 0 {
		return nil
	}
	slices.SortStableFunc(e.list, func(a, b *Error) int {
		switch {
		case a.Line == b.Line:
			return 0
		case a.Line == 0:
			return 1
		case b.Line == 0:
			return -1
		}
		return a.Line - b.Line
	})
	if len(e.list) == 1 {
		return e.list[0]
	}
	errs := make([]error, len(e.list))
	for i, x := range e.list {
		errs[i] = x
	}
	return errors.Join(errs...)
}

// ---- lines of keys --------------------------------------------------------------

// lineMap knows the line of every key of a TOML text, with arrays of tables
// indexed ("actor[1].id"). It reads the text line by line and is not a full
// parser: the decoder has accepted the text when it is used, and a key it
// misses only loses its line number.
type lineMap struct {
	keys   map[string]int
	arrays map[string][]int // "[[name]]" (qualified) -> lines of its headers
	tables []tableAt        // every table header, in order
}

type tableAt struct {
	line  int
	table string // qualified: "actor[1].config"
}

// tableOf is the table that line is in ("" for the root table).
func (m *lineMap) tableOf(line int) string {
	t := ""
	for _, h := range m.tables {
		if h.line > line {
			break
		}
		t = h.table
	}
	return t
}

func keyLines(data []byte) *lineMap {
	m := &lineMap{keys: map[string]int{}, arrays: map[string][]int{}}
	table := ""
	inString := "" // the delimiter of a multi-line string being read
	for n, line := range strings.Split(string(data), "\n") {
		ln := n + 1
		l := strings.TrimSpace(line)
		if inString != "" {
			if strings.Count(l, inString)%2 == 1 {
				inString = ""
			}
			continue
		}
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "[["):
			parts := splitKey(headerName(l, "[[", "]]"))
			name := parts[len(parts)-1]
			if len(parts) > 1 {
				name = m.qualify(parts[:len(parts)-1], ln) + "." + name
			}
			m.arrays[name] = append(m.arrays[name], ln)
			m.tables = append(m.tables, tableAt{ln, fmt.Sprintf("%s[%d]", name, len(m.arrays[name])-1)})
			table = fmt.Sprintf("%s[%d]", name, len(m.arrays[name])-1)
			m.keys[table] = ln
		case strings.HasPrefix(l, "["):
			table = m.qualify(splitKey(headerName(l, "[", "]")), ln)
			m.tables = append(m.tables, tableAt{ln, table})
			if _, seen := m.keys[table]; !seen {
				m.keys[table] = ln
			}
		default:
			k, v, ok := strings.Cut(l, "=")
			if !ok {
				continue
			}
			full := strings.Join(splitKey(k), ".")
			if table != "" {
				full = table + "." + full
			}
			if _, seen := m.keys[full]; !seen {
				m.keys[full] = ln
			}
			for _, delim := range []string{`"""`, `'''`} {
				if strings.Count(v, delim)%2 == 1 {
					inString = delim
				}
			}
		}
	}
	return m
}

// headerName is the table name in a header line "[a.b] # comment".
func headerName(l, open, close string) string {
	l = strings.TrimPrefix(l, open)
	if i := strings.Index(l, close); i >= 0 {
		l = l[:i]
	}
	return l
}

// splitKey splits a dotted TOML key, unquoting its parts (a quoted part
// holding a dot is rare enough in these files to be split too).
func splitKey(k string) []string {
	parts := strings.Split(strings.TrimSpace(k), ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return parts
}

// qualify joins a key's parts, indexing each array of tables among its
// prefixes with the entry that is current at line.
func (m *lineMap) qualify(parts []string, line int) string {
	out := ""
	for _, p := range parts {
		if out != "" {
			out += "."
		}
		out += p
		if hs := m.arrays[out]; len(hs) > 0 {
			i := 0
			for i < len(hs) && hs[i] <= line {
				i++
			}
			if i > 0 {
				out = fmt.Sprintf("%s[%d]", out, i-1)
			}
		}
	}
	return out
}

// lineOf is the line of key, or of the nearest enclosing key written.
func (m *lineMap) lineOf(key string) int {
	for k := key; k != ""; {
		if l, ok := m.keys[k]; ok {
			return l
		}
		i := strings.LastIndexAny(k, ".[")
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return 0
}

// ---- values ------------------------------------------------------------------------
//
// Every leaf is decoded as `any` and checked here, so that a value of the
// wrong type is one more problem in the list rather than the end of
// decoding.

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return "a date or time"
}

func (e *errList) wrongType(key string, v any, want string) {
	e.addf(key, "wrong type: %s, want %s", typeName(v), want)
}

// str reads a string; ok is false when the key is absent or not a string.
func (e *errList) str(key string, v any) (string, bool) {
	if v == nil {
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		e.wrongType(key, v, "a string")
	}
	return s, ok
}

func (e *errList) integer(key string, v any) (int64, bool) {
	if v == nil {
		return 0, false
	}
	n, ok := v.(int64)
	if !ok {
		e.wrongType(key, v, "an integer")
	}
	return n, ok
}

func (e *errList) boolean(key string, v any) (bool, bool) {
	if v == nil {
		return false, false
	}
	b, ok := v.(bool)
	if !ok {
		e.wrongType(key, v, "true or false")
	}
	return b, ok
}

// strs reads an array of strings.
func (e *errList) strs(key string, v any) ([]string, bool) {
	if v == nil {
		return nil, false
	}
	arr, ok := v.([]any)
	if !ok {
		e.wrongType(key, v, "an array of strings")
		return nil, false
	}
	out := make([]string, 0, len(arr))
	for i, x := range arr {
		s, ok := x.(string)
		if !ok {
			e.addf(key, "element %d: wrong type: %s, want a string", i, typeName(x))
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// positiveInt reads an integer between 1 and max.
func (e *errList) positiveInt(key string, v any, max int64) (int64, bool) {
	n, ok := e.integer(key, v)
	if ok && (n < 1 || n > max) {
		e.addf(key, "%d is not between 1 and %d", n, max)
		return 0, false
	}
	return n, ok
}

// size reads a positive byte count: an integer, or a string with a unit
// ("64MiB", "512KiB", "1GiB", "4096"), as manifests write them.
func (e *errList) size(key string, v any) (int64, bool) {
	if v == nil {
		return 0, false
	}
	n, err := parseSize(v)
	switch {
	case err != nil:
		e.add(key, err.Error())
		return 0, false
	case n <= 0:
		e.addf(key, "%v must be positive", v)
		return 0, false
	}
	return n, true
}

// duration reads a positive duration: "100ms", "2s" (Go syntax) or an
// integer of milliseconds, as manifests write them.
func (e *errList) duration(key string, v any) (time.Duration, bool) {
	if v == nil {
		return 0, false
	}
	d, err := parseDuration(v)
	switch {
	case err != nil:
		e.add(key, err.Error())
		return 0, false
	case d <= 0:
		e.addf(key, "%v must be positive", v)
		return 0, false
	}
	return d, true
}

func parseSize(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case string:
		s := strings.TrimSpace(x)
		mult := int64(1)
		for _, u := range []struct {
			suffix string
			mult   int64
		}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}} {
			if strings.HasSuffix(s, u.suffix) {
				s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
				break
			}
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 || n > (1<<50)/mult {
			return 0, fmt.Errorf("%q is not a size", x)
		}
		return n * mult, nil
	}
	return 0, fmt.Errorf("wrong type: %s, want an integer or a string like \"64MiB\"", typeName(v))
}

func parseDuration(v any) (time.Duration, error) {
	switch x := v.(type) {
	case int64:
		if x > int64(1<<62/time.Millisecond) || x < -int64(1<<62/time.Millisecond) {
			return 0, fmt.Errorf("%d ms is too long", x)
		}
		return time.Duration(x) * time.Millisecond, nil
	case string:
		d, err := time.ParseDuration(x)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration (like \"100ms\")", x)
		}
		return d, nil
	}
	return 0, fmt.Errorf("wrong type: %s, want a string like \"100ms\"", typeName(v))
}

// hostPath reads a path on the host: absolute, or starting with "~/" (the
// home directory of the user the host runs as). An absolute path is
// cleaned; another is returned as written, for Validate to report.
func (e *errList) hostPath(key string, v any) (string, bool) {
	s, ok := e.str(key, v)
	if !ok {
		return "", false
	}
	p, err := expandPath(s)
	if errors.Is(err, errHome) {
		e.add(key, err.Error())
		return "", false
	} else if err != nil {
		return s, true
	}
	return p, true
}

var errHome = errors.New("cannot expand ~")

func expandPath(p string) (string, error) {
	if strings.HasPrefix(p, "~/") || p == "~" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("%w: %w", errHome, err)
		}
		p = filepath.Join(home, strings.TrimPrefix(p, "~"))
	}
	if !filepath.IsAbs(p) {
		return "", fmt.Errorf("%q is not an absolute path", p)
	}
	return filepath.Clean(p), nil
}
