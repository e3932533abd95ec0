package catalog

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkGet looks up a version by name in a catalog of 1,000 names with
// 10 versions each and one name with 10,000 versions (the target:
// at most 10 µs). The index is written directly: look-ups never read the
// files, and 20,000 installs would take minutes of fsyncs.
func BenchmarkGet(b *testing.B) {
	dir := b.TempDir()
	names := map[string]*entry{}
	add := func(name string, n int) {
		e := newEntry("", time.Now())
		for v := 0; v < n; v++ {
			version := fmt.Sprintf("1.%d.0", v)
			d := digest([]byte(name + version))
			e.add(&record{sv: must(parseSemver(version)), v: Version{Name: name, Version: version, Digest: d,
				ManifestDigest: d, Installed: time.Now(), Size: 1}})
		}
		names[name] = e
	}
	list := make([]string, 1000)
	for i := range list {
		list[i] = fmt.Sprintf("component-%d", i)
		add(list[i], 10)
	}
	add("many", 10_000)
	data, err := json.Marshal(toIndex(names))
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, indexFile), data, 0o600); err != nil {
		b.Fatal(err)
	}
	c := open(b, dir, Options{})
	if all, _ := c.List(); len(all) != 20_000 {
		b.Fatalf("%d versions", len(all))
	}
	b.Run("name", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := c.Get(list[i%len(list)], "1.3.0"); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("10000-versions", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Get("many", "1.5170.0"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("latest", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Latest("many"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				if _, err := c.Get(list[i%len(list)], "1.3.0"); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// TestGetIsFast holds the look-up to the target, 10 µs, with room
// for slow machines and the race detector: the mean of 20,000 look-ups.
func TestGetIsFast(t *testing.T) {
	c := open(t, t.TempDir(), Options{})
	p := openPolicy(t)
	for v := 0; v < 50; v++ {
		mustInstall(t, c, p, unsigned("billing", fmt.Sprintf("1.%d.0", v), []byte{byte(v)}))
	}
	const n = 20_000
	start := time.Now()
	for i := 0; i < n; i++ {
		if _, err := c.Get("billing", "1.25.0"); err != nil {
			t.Fatal(err)
		}
	}
	mean := time.Since(start) / n
	t.Logf("Get: %v per look-up", mean)
	if mean > 10*time.Microsecond {
		t.Fatalf("Get takes %v, more than 10µs", mean)
	}
}
