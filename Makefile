# The two commands a newcomer needs:
#   make demo   the engine tour, the actor demo and the host service demo on the
#               bundled components
#   make test   everything CI checks (vet, gofmt, tests, race detector)

GO ?= go

.PHONY: demo test build fixtures bench fuzz soak

demo:
	$(GO) run ./examples/tour
	$(GO) run ./examples/actors
	$(GO) build -o airssys-wasm ./cmd/airssys-wasm
	$(GO) run ./examples/service -bin ./airssys-wasm
	$(GO) run ./examples/lattice -bin ./airssys-wasm

test:
	$(GO) vet ./...
	@unformatted="$$(gofmt -l .)"; if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) test ./...
	$(GO) test -race ./engine/... ./internal/... ./wave/... ./wit/... ./actor/... ./security/... ./storage/... ./oci/... ./catalog/... ./host/... ./lattice/...

build:
	$(GO) build -o airssys-wasm ./cmd/airssys-wasm

# Rebuild testdata/*.wasm from testdata/src (needs Debian packages and npm).
fixtures:
	bash testdata/build.sh

bench:
	$(GO) test -run='^$$' -bench=. -benchtime=2s ./bench/

# Each fuzzer for FUZZTIME (the hardening issue asks for 10 minutes each).
FUZZTIME ?= 10m
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzCompileInstantiate$$' -fuzztime=$(FUZZTIME) ./engine/
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) ./wave/
	$(GO) test -run='^$$' -fuzz='^FuzzParseManifest$$' -fuzztime=$(FUZZTIME) ./security/
	$(GO) test -run='^$$' -fuzz='^FuzzParsePolicy$$' -fuzztime=$(FUZZTIME) ./security/

# Hostile guests on the engine and the actor runtime for SOAK (default 5m):
# memory, goroutines and file descriptors must stay flat (bench/soak_test.go).
SOAK ?= 5m
soak:
	AIRSSYS_SOAK=$(SOAK) $(GO) test -run='^TestSoak$$' -v -count=1 -timeout=2h ./bench/
