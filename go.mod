module github.com/airsstack/airssys-wasm-go

go 1.26

require github.com/bytecodealliance/wasmtime-go/v39 v39.0.1

require github.com/pelletier/go-toml/v2 v2.4.3 // indirect
