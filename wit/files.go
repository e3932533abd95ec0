package wit

import (
	"embed"
	"io/fs"
)

//go:embed airssys-actor-0.2.0 wasi-keyvalue-0.2.0-draft2 airssys-storage/storage.wit airssys-guest
var files embed.FS

// Files is the WIT of the worlds the host implements for guests, as in this
// directory: airssys-guest/world.wit (the world airssys:guest/actor@0.2.0
// that the Go guest SDK targets) and the packages it uses. Tools that
// build components (airssys-wasm build) read it; it is read-only.
func Files() fs.FS { return files }
