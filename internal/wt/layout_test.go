package wt_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/airsstack/airssys-wasm-go/internal/wt"
)

// TestLayoutMatchesWasmtimeHeaders compiles a probe against the headers that
// ship in the wasmtime-go module (read in place, never copied) and compares
// every size and offset with our own declarations in wt.h. A drift here
// would corrupt memory at the cgo boundary.
func TestLayoutMatchesWasmtimeHeaders(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}",
		"github.com/bytecodealliance/wasmtime-go/v39").Output()
	if err != nil {
		t.Fatalf("locating the wasmtime-go module: %v", err)
	}
	include := filepath.Join(strings.TrimSpace(string(out)), "build", "include")
	if _, err := os.Stat(filepath.Join(include, "wasmtime.h")); err != nil {
		t.Fatalf("wasmtime headers not found: %v", err)
	}
	ours := wt.Layout()
	names := make([]string, 0, len(ours))
	for k := range ours {
		names = append(names, k)
	}
	sort.Strings(names)
	var src strings.Builder
	src.WriteString("#include <stdio.h>\n#include <stddef.h>\n#include <wasmtime.h>\nint main(void) {\n")
	for _, n := range names {
		if typ, field, ok := strings.Cut(n, "."); ok {
			fmt.Fprintf(&src, "  printf(\"%s %%zu\\n\", offsetof(%s, %s));\n", n, typ, field)
		} else {
			fmt.Fprintf(&src, "  printf(\"%s %%zu\\n\", sizeof(%s));\n", n, n)
		}
	}
	src.WriteString("  return 0;\n}\n")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "probe.c"), []byte(src.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "gcc"
	}
	bin := filepath.Join(dir, "probe")
	if msg, err := exec.Command(cc, "-I", include, "-o", bin, filepath.Join(dir, "probe.c")).CombinedOutput(); err != nil {
		t.Fatalf("compiling the probe: %v\n%s", err, msg)
	}
	res, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	sc := bufio.NewScanner(bytes.NewReader(res))
	for sc.Scan() {
		name, val, _ := strings.Cut(sc.Text(), " ")
		want, _ := strconv.ParseUint(val, 10, 64)
		if got := ours[name]; uint64(got) != want {
			t.Errorf("%s: wt.h gives %d, Wasmtime's header %d", name, got, want)
		}
		seen++
	}
	if seen != len(ours) {
		t.Fatalf("probe printed %d of %d values", seen, len(ours))
	}
}
