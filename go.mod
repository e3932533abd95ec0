module github.com/airsstack/airssys-wasm-go

go 1.26.0

require github.com/bytecodealliance/wasmtime-go/v39 v39.0.1

require (
	filippo.io/edwards25519 v1.2.0 // indirect
	github.com/pelletier/go-toml/v2 v2.4.3 // indirect
	golang.org/x/sys v0.50.0 // indirect
)
