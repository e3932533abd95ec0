# The two commands a newcomer needs:
#   make demo   the engine tour and the actor demo on the bundled components
#   make test   everything CI checks (vet, gofmt, tests, race detector)

GO ?= go

.PHONY: demo test build fixtures bench fuzz

demo:
	$(GO) run ./examples/tour
	$(GO) run ./examples/actors

test:
	$(GO) vet ./...
	@unformatted="$$(gofmt -l .)"; if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) test ./...
	$(GO) test -race ./engine/... ./internal/... ./wave/... ./wit/... ./actor/... ./security/...

build:
	$(GO) build -o airssys-wasm ./cmd/airssys-wasm

# Rebuild testdata/*.wasm from testdata/src (needs Debian packages and npm).
fixtures:
	bash testdata/build.sh

bench:
	$(GO) test -run='^$$' -bench=. -benchtime=2s ./bench/

fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzCompileInstantiate -fuzztime=5m ./engine/
	$(GO) test -run='^$$' -fuzz=FuzzParse -fuzztime=2m ./wave/
