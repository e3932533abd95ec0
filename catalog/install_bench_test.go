package catalog

import (
	"fmt"
	"testing"
)

// BenchmarkInstall installs signed 8 MiB components from memory (a local
// path costs the same plus the read): admission (the signature over the
// bytes), hashing, writing and fsyncing the files and the index. Each
// install is new bytes and a new version, so nothing is shared.
func BenchmarkInstall(b *testing.B) {
	c := open(b, b.TempDir(), Options{})
	p := openPolicy(b)
	priv := key(b)
	const size = 8 << 20
	b.SetBytes(size)
	i := 0
	for b.Loop() {
		b.StopTimer()
		x := signed(priv, "big", fmt.Sprintf("1.0.%d", i), randomBytes(size))
		b.StartTimer()
		if _, err := x.install(c, p); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
