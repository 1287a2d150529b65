# tfserve build, test and benchmark targets. See README.md.
GO ?= go
PROTOC ?= protoc
BIN := bin
PKG := github.com/tfserve/tfserve

.PHONY: all build run test bench proto fuzz vet fmt clean

all: build

build:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -o $(BIN)/tfserve ./cmd/tfserve

# Regenerate Go code from our own minimal .proto schemas (needs protoc and protoc-gen-go on PATH).
proto:
	$(PROTOC) -I proto --go_out=. --go_opt=module=$(PKG) $$(find proto -name '*.proto' | sort)

vet:
	$(GO) vet ./...

fmt:
	gofmt -l -w .

test:
	$(GO) vet ./...
	$(GO) test -count=1 ./...

clean:
	rm -rf $(BIN)
