# tfserve build, test and benchmark targets. See README.md.
GO ?= go
PROTOC ?= protoc
BIN := bin
PKG := github.com/tfserve/tfserve
GOBIN := $(shell $(GO) env GOPATH)/bin
export PATH := $(PATH):$(GOBIN)
FUZZTIME ?= 60s

.PHONY: all build run models test test-race test-short bench fuzz proto vet fmt image image-test clean tools
IMAGE ?= tfserve:latest

all: build

build:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/tfserve ./cmd/tfserve
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/loadtest ./cmd/loadtest

# The bundled demo models, written by our own SavedModel writer.
models:
	$(GO) run ./cmd/mkmodels -out testdata/models

# Build and serve the demo models: REST on :8501, gRPC on :8500.
run: build models
	sed 's|$${MODELS_DIR}|$(CURDIR)/testdata/models|' testdata/models.config > $(BIN)/models.config
	$(BIN)/tfserve --rest_api_port=8501 --port=8500 --model_config_file=$(BIN)/models.config

# All tests, then the race run. Fixture-backed tests read ../shared/fixtures
# (under CI=true they fail if it is missing).
test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...
	$(MAKE) test-race RACE_PKGS='$(RACE_CI_PKGS)'

# The race detector over RACE_PKGS (default: everything), with -short so that
# the heaviest fixture loops run once. `make test` runs it on RACE_CI_PKGS:
# the packages whose goroutines share state (servers, manager, batching,
# workers, admission, sources, metrics, the redaction and panic helpers);
# `make test-race` alone also covers the kernels, graph and loaders.
RACE_PKGS ?= ./...
RACE_CI_PKGS ?= ./server/... ./servable/... ./loader/source/... ./loader/mlflow/...
test-race:
	$(GO) test -race -count=1 -short -timeout 30m $(RACE_PKGS)

test-short:
	$(GO) test -count=1 -short ./...

# Benchmarks against peers measured in the same run; results go to
# bench/*/RESULTS.md and are summarised in BENCHMARKS.md.
bench:
	bench/rest/run.sh 5 32 2
	$(GO) test -run '^$$' -bench 'Serve|Bare' -benchmem ./bench/rest/
	sh bench/jsontensor/run.sh
	sh bench/rnn/run.sh
	$(GO) test -run '^$$' -bench . -benchmem ./bench/gorgonia/
	$(GO) test -run '^$$' -bench . -benchmem -count 3 ./bench/keras3/
	$(GO) test -run '^$$' -bench V1GRULoop -benchtime 2s -count 3 ./graph/fuse/
	$(GO) run ./bench/grpc -duration 5s -warmup 1s -concurrency 1,8,32
	$(GO) run ./bench/kserve -duration 3s -warmup 1s -concurrency 1,8,32
	$(GO) run ./bench/kserve -duration 3s -warmup 1s -concurrency 1,8,32 -batch 16
	bench/loadtest/matrix.sh 3 5 1,16,64
	bench/loadtest/compare_wrk.sh -d 3 -c 16 -r 5 | tee bench/loadtest/RESULTS-echo.txt
	bench/loadtest/compare_wrk.sh -d 3 -c 16 -r 5 -g | tee -a bench/loadtest/RESULTS-echo.txt
	sh bench/ann/run.sh
	sh bench/bf16/run.sh
	bench/batching/run.sh 4 1,4,16,32,64 christopher_stock 3
	bench/batching/run.sh 4 1,4,16,32,64 beagle_music_genre 3
	bench/kernels/run.sh
	$(GO) run ./bench/hostile/run -duration 60s

# Each fuzz target for FUZZTIME (default 60s).
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParsePredictRequest$$' -fuzztime $(FUZZTIME) ./server/restapi/jsontensor/
	$(GO) test -run '^$$' -fuzz '^FuzzParseClassifyRequest$$' -fuzztime $(FUZZTIME) ./server/restapi/jsontensor/
	$(GO) test -run '^$$' -fuzz '^FuzzWriteResponse$$' -fuzztime $(FUZZTIME) ./server/restapi/jsontensor/
	$(GO) test -run '^$$' -fuzz '^FuzzFastDecode$$' -fuzztime $(FUZZTIME) ./server/restapi/jsontensor/
	$(GO) test -run '^$$' -fuzz '^FuzzStage1$$' -fuzztime $(FUZZTIME) ./server/restapi/jsontensor/
	$(GO) test -run '^$$' -fuzz '^FuzzFloatFormat$$' -fuzztime $(FUZZTIME) ./server/restapi/jsontensor/
	$(GO) test -run '^$$' -fuzz '^FuzzWriteSeq$$' -fuzztime $(FUZZTIME) ./server/restapi/jsontensor/
	$(GO) test -run '^$$' -fuzz '^FuzzMatMul$$' -fuzztime $(FUZZTIME) ./kernels/bf16/
	$(GO) test -run '^$$' -fuzz '^FuzzRESTInfer$$' -fuzztime $(FUZZTIME) ./server/kserve/
	$(GO) test -run '^$$' -fuzz '^FuzzGRPCInfer$$' -fuzztime $(FUZZTIME) ./server/kserve/
	$(GO) test -run '^$$' -fuzz '^FuzzRoute$$' -fuzztime $(FUZZTIME) ./server/restapi/
	$(GO) test -run '^$$' -fuzz '^FuzzParseConfig$$' -fuzztime $(FUZZTIME) ./server/manager/
	$(GO) test -run '^$$' -fuzz '^FuzzString$$' -fuzztime $(FUZZTIME) ./servable/redact/
	$(GO) test -run '^$$' -fuzz '^FuzzIndex$$' -fuzztime $(FUZZTIME) ./loader/bundle/
	$(GO) test -run '^$$' -fuzz '^FuzzIndexBlock$$' -fuzztime $(FUZZTIME) ./loader/bundle/
	$(GO) test -run '^$$' -fuzz '^FuzzBundleEntry$$' -fuzztime $(FUZZTIME) ./loader/bundle/
	$(GO) test -run '^$$' -fuzz '^FuzzStringTensor$$' -fuzztime $(FUZZTIME) ./loader/bundle/
	$(GO) test -run '^$$' -fuzz '^FuzzTable$$' -fuzztime $(FUZZTIME) ./loader/bundle/sstable/
	$(GO) test -run '^$$' -fuzz '^FuzzSavedModel$$' -fuzztime $(FUZZTIME) ./loader/savedmodel/
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME) ./loader/
	$(GO) test -run '^$$' -fuzz '^FuzzParseExample$$' -fuzztime $(FUZZTIME) ./kernels/
	$(GO) test -run '^$$' -fuzz '^FuzzStridedSlice$$' -fuzztime $(FUZZTIME) ./kernels/
	$(GO) test -run '^$$' -fuzz '^FuzzSgemm$$' -fuzztime $(FUZZTIME) ./kernels/gemm/
	$(GO) test -run '^$$' -fuzz '^FuzzForward$$' -fuzztime $(FUZZTIME) ./kernels/rnn/
	$(GO) test -run '^$$' -fuzz '^FuzzParseVersion$$' -fuzztime $(FUZZTIME) ./loader/source/
	$(GO) test -run '^$$' -fuzz '^FuzzExtract$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./loader/source/
	$(GO) test -run '^$$' -fuzz '^FuzzParseURI$$' -fuzztime $(FUZZTIME) ./loader/mlflow/
	$(GO) test -run '^$$' -fuzz '^FuzzFindSavedModel$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 10s ./loader/mlflow/
	$(GO) test -run '^$$' -fuzz '^FuzzReadJSONL$$' -fuzztime $(FUZZTIME) ./loadtest/
	$(GO) test -run '^$$' -fuzz '^FuzzParseMetadata$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 10s ./loadtest/
	$(GO) test -run '^$$' -fuzz '^FuzzChunkedLength$$' -fuzztime $(FUZZTIME) ./loadtest/
	$(GO) test -run '^$$' -fuzz '^FuzzFrame$$' -fuzztime $(FUZZTIME) ./loadtest/
	$(GO) test -run '^$$' -fuzz '^FuzzPredictRequest$$' -fuzztime $(FUZZTIME) ./server/grpcapi/
	$(GO) test -run '^$$' -fuzz '^FuzzParseChannelArguments$$' -fuzztime $(FUZZTIME) ./server/grpcapi/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./server/tlsconfig/
	$(GO) test -run '^$$' -fuzz '^FuzzReplay$$' -fuzztime $(FUZZTIME) ./server/warmup/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeLog$$' -fuzztime $(FUZZTIME) ./server/warmup/
	$(GO) test -run '^$$' -fuzz '^FuzzConfig$$' -fuzztime $(FUZZTIME) ./server/metrics/
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./ann/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./ann/scannstate/
	$(GO) test -run '^$$' -fuzz '^FuzzOpen$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 3s ./loader/keras3/hdf5/
	$(GO) test -run '^$$' -fuzz '^FuzzTranslate$$' -fuzztime $(FUZZTIME) ./loader/keras3/
	$(GO) test -run '^$$' -fuzz '^FuzzArchive$$' -fuzztime $(FUZZTIME) ./loader/keras3/
	$(GO) test -run '^$$' -fuzz '^FuzzGraph$$' -fuzztime $(FUZZTIME) ./graph/functionalize/
	$(GO) test -run '^$$' -fuzz '^FuzzFrozenGraph$$' -fuzztime $(FUZZTIME) ./loader/

tools:
	$(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.6
	$(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1

# Regenerate Go code from our own minimal .proto schemas (needs protoc from
# Debian's protobuf-compiler, plus `make tools`).
proto:
	$(PROTOC) -I proto --go_out=. --go_opt=module=$(PKG) --go-grpc_out=. --go-grpc_opt=module=$(PKG) $$(find proto -name '*.proto' | sort)

# Container image (Dockerfile.serving conventions; built offline with
# docker, podman or buildah from a static binary).
image:
	deploy/docker/build-image.sh $(IMAGE)

image-test:
	TFSERVE_IMAGE_TEST=1 $(GO) test -count=1 -timeout 20m -v ./deploy/docker/imagetest/

vet:
	$(GO) vet ./...

fmt:
	gofmt -l -w $$(git ls-files '*.go')

clean:
	rm -rf $(BIN)
