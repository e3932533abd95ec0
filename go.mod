module github.com/airsstack/airssys-wasm-go

go 1.26.0

require (
	filippo.io/edwards25519 v1.2.0
	github.com/bytecodealliance/wasmtime-go/v39 v39.0.1
	github.com/pelletier/go-toml/v2 v2.4.3
	golang.org/x/sys v0.50.0
)

require go.etcd.io/bbolt v1.5.0
