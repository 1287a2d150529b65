// Command kserve benchmarks the Open Inference Protocol (KServe v2) against
// TF Serving's APIs in one process and one run: the same models
// (half_plus_two and the Keras GRU christopher_stock fixture, loaded with
// the real loader), the same manager and the same 16 generated requests,
// sent six ways:
//
//	tf-rest     POST /v1/models/M:predict (TF Serving JSON)
//	tf-grpc     PredictionService.Predict (typed repeated fields)
//	v2-json     POST /v2/models/M/infer, JSON tensors
//	v2-binary   POST /v2/models/M/infer, binary tensor data both ways
//	v2-grpc     GRPCInferenceService.ModelInfer, typed contents
//	v2-grpc-raw ModelInfer, raw_input_contents / raw_output_contents
//
// with closed-loop load from the loadtest package at a few concurrency
// levels. It prints a markdown table of req/s and p50/p99 latency.
//
//	go run ./bench/kserve [-duration 3s] [-warmup 1s] [-concurrency 1,8,32] [-batch 1]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/tfserve/tfserve/loader"
	"github.com/tfserve/tfserve/loader/source"
	"github.com/tfserve/tfserve/loadtest"
	"github.com/tfserve/tfserve/proto/kservepb"
	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/server/grpcapi"
	"github.com/tfserve/tfserve/server/kserve"
	"github.com/tfserve/tfserve/server/manager"
	"github.com/tfserve/tfserve/server/restapi"
	"github.com/tfserve/tfserve/server/restapi/jsontensor"
	"github.com/tfserve/tfserve/tensor"
)

var models = []struct{ name, dir string }{
	{"half_plus_two", "tfserving/servables/tensorflow/testdata/saved_model_half_plus_two_cpu"},
	{"christopher_stock", "keras/gru/christopher_stock"},
}

var modes = []string{"tf-rest", "tf-grpc", "v2-json", "v2-binary", "v2-grpc", "v2-grpc-raw"}

func main() {
	fixtures := flag.String("fixtures", "../shared/fixtures", "fixtures folder")
	duration := flag.Duration("duration", 3*time.Second, "measured duration of each run")
	warmup := flag.Duration("warmup", time.Second, "warm-up before each run")
	levels := flag.String("concurrency", "1,8,32", "closed-loop concurrency levels")
	batch := flag.Int("batch", 1, "rows per request")
	flag.Parse()
	if err := run(*fixtures, *duration, *warmup, *levels, *batch); err != nil {
		fmt.Fprintln(os.Stderr, "bench/kserve:", err)
		os.Exit(1)
	}
}

func run(fixtures string, duration, warmup time.Duration, levelList string, batch int) error {
	ctx := context.Background()
	mgr, err := manager.New(manager.Options{
		Load: func(ctx context.Context, d string) (servable.Model, error) {
			return loader.Load(ctx, d, loader.Options{})
		},
		OpenSource: func(ctx context.Context, p string) (manager.Source, error) {
			return source.Open(ctx, p, source.Options{})
		},
	})
	if err != nil {
		return err
	}
	defer mgr.Close()
	var mcs []*servingpb.ModelConfig
	for _, m := range models {
		p, err := filepath.Abs(filepath.Join(fixtures, m.dir))
		if err != nil {
			return err
		}
		mcs = append(mcs, &servingpb.ModelConfig{Name: m.name, BasePath: p, ModelPlatform: "tensorflow"})
	}
	if err := mgr.ReloadConfig(ctx, &servingpb.ModelServerConfig{Config: &servingpb.ModelServerConfig_ModelConfigList{
		ModelConfigList: &servingpb.ModelConfigList{Config: mcs}}}); err != nil {
		return fmt.Errorf("load models: %w", err)
	}
	ks, err := kserve.New(kserve.Options{Models: mgr})
	if err != nil {
		return err
	}
	rest, err := restapi.New(restapi.Options{Models: mgr, V2: ks.HandleHTTP})
	if err != nil {
		return err
	}
	rln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go rest.Serve(rln)
	defer rest.Shutdown(ctx)
	gsrv, err := grpcapi.New(grpcapi.Options{Models: mgr})
	if err != nil {
		return err
	}
	ks.Register(gsrv.GRPCServer())
	gln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go gsrv.Serve(gln)
	defer gsrv.Shutdown(ctx)

	var levels []int
	for _, s := range strings.Split(levelList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return fmt.Errorf("bad concurrency %q", s)
		}
		levels = append(levels, n)
	}
	fmt.Printf("GOMAXPROCS=%d, %s per run after %s warm-up, batch %d, client and server in one process\n\n",
		runtime.GOMAXPROCS(0), duration, warmup, batch)
	fmt.Println("| model | c | mode | req/s | ×tf-rest | ×tf-grpc | p50 ms | p99 ms | request bytes |")
	fmt.Println("|---|---:|---|---:|---:|---:|---:|---:|---:|")
	restBase := "http://" + rln.Addr().String()
	for _, m := range models {
		targets, sizes, closeAll, err := buildTargets(ctx, mgr, m.name, restBase, gln.Addr().String(), batch)
		if err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		for _, c := range levels {
			cfg := loadtest.Config{Concurrency: c, Duration: duration, Warmup: warmup}
			res := map[string]*loadtest.Result{}
			for _, mode := range modes {
				r, err := loadtest.RunClosed(ctx, targets[mode], cfg)
				if err != nil {
					return err
				}
				if r.Successes != r.Requests {
					return fmt.Errorf("%s c=%d %s: failures %v", m.name, c, mode, r.Errors)
				}
				res[mode] = r
			}
			for _, mode := range modes {
				r := res[mode]
				fmt.Printf("| %s | %d | %s | %.0f | %.2f | %.2f | %.3f | %.3f | %d |\n", m.name, c, mode, r.SuccessRPS,
					r.SuccessRPS/res["tf-rest"].SuccessRPS, r.SuccessRPS/res["tf-grpc"].SuccessRPS,
					r.LatencyMS.P50, r.LatencyMS.P99, sizes[mode])
			}
		}
		closeAll()
	}
	return nil
}

// buildTargets makes the six targets for model from 16 generated REST
// bodies, each converted to the other forms through the model's
// serving_default signature. sizes are the first request's sizes.
func buildTargets(ctx context.Context, mgr *manager.Manager, model, restBase, grpcAddr string, batch int) (map[string]loadtest.Target, map[string]int, func(), error) {
	mdJSON, err := loadtest.FetchMetadata(ctx, http.DefaultClient, restBase+"/v1/models/"+model+"/metadata")
	if err != nil {
		return nil, nil, nil, err
	}
	md, err := loadtest.ParseMetadata(mdJSON)
	if err != nil {
		return nil, nil, nil, err
	}
	bodies, err := loadtest.GenerateBodies(md, loadtest.GenOptions{Batch: batch}, 16)
	if err != nil {
		return nil, nil, nil, err
	}
	h, err := mgr.Get(manager.Spec{Name: model})
	if err != nil {
		return nil, nil, nil, err
	}
	sigs := h.Signatures()
	h.Release()
	var jsonBodies, binBodies [][]byte
	var typed, raw []*kservepb.ModelInferRequest
	binHeader := -1
	for _, b := range bodies {
		req, err := jsontensor.ParsePredictRequest(b, func(name string) (*servable.Signature, error) {
			if s := sigs[name]; s != nil {
				return s, nil
			}
			return nil, jsontensor.ErrSignatureNotFound(name)
		})
		if err != nil {
			return nil, nil, nil, err
		}
		names := slices.Sorted(func(yield func(string) bool) {
			for k := range req.Inputs {
				if !yield(k) {
					return
				}
			}
		})
		j, hdr, bin, t, r, err := convert(model, names, req.Inputs)
		if err != nil {
			return nil, nil, nil, err
		}
		if binHeader >= 0 && len(hdr) != binHeader {
			return nil, nil, nil, errors.New("binary bodies' JSON headers differ in length; one header value cannot serve them")
		}
		binHeader = len(hdr)
		jsonBodies = append(jsonBodies, j)
		binBodies = append(binBodies, append(hdr, bin...))
		typed, raw = append(typed, t), append(raw, r)
	}
	targets := map[string]loadtest.Target{}
	add := func(mode, url string, list [][]byte, hdr http.Header) error {
		bl, err := loadtest.NewBodies(list)
		if err != nil {
			return err
		}
		t, err := loadtest.NewHTTPTarget(url, bl, loadtest.HTTPOptions{Header: hdr})
		if err != nil {
			return err
		}
		targets[mode] = t
		return nil
	}
	if err := add("tf-rest", restBase+"/v1/models/"+model+":predict", bodies, nil); err != nil {
		return nil, nil, nil, err
	}
	if err := add("v2-json", restBase+"/v2/models/"+model+"/infer", jsonBodies, nil); err != nil {
		return nil, nil, nil, err
	}
	if err := add("v2-binary", restBase+"/v2/models/"+model+"/infer", binBodies, http.Header{
		kserve.HeaderContentLength: {strconv.Itoa(binHeader)}, "Content-Type": {"application/octet-stream"}}); err != nil {
		return nil, nil, nil, err
	}
	gt, err := loadtest.NewGRPCTarget(ctx, grpcAddr, model, bodies, loadtest.GRPCOptions{})
	if err != nil {
		return nil, nil, nil, err
	}
	targets["tf-grpc"] = gt
	vt, err := newV2Target(grpcAddr, typed)
	if err != nil {
		return nil, nil, nil, err
	}
	vr, err := newV2Target(grpcAddr, raw)
	if err != nil {
		return nil, nil, nil, err
	}
	targets["v2-grpc"], targets["v2-grpc-raw"] = vt, vr
	sizes := map[string]int{"tf-rest": len(bodies[0]), "v2-json": len(jsonBodies[0]), "v2-binary": len(binBodies[0]),
		"v2-grpc": protoSize(typed[0]), "v2-grpc-raw": protoSize(raw[0])}
	if sizes["tf-grpc"], err = predictSize(ctx, grpcAddr, model, bodies[0]); err != nil {
		return nil, nil, nil, err
	}
	return targets, sizes, func() { gt.Close(); vt.Close(); vr.Close() }, nil
}

// convert turns a request's input tensors into a v2 JSON body, a v2 binary
// body (JSON header, binary data; every output binary), and typed and raw
// ModelInferRequests.
func convert(model string, names []string, in map[string]*tensor.Tensor) (jsonBody, binHeader, bin []byte,
	typed, raw *kservepb.ModelInferRequest, err error) {
	type jin struct {
		Name       string         `json:"name"`
		Shape      []int64        `json:"shape"`
		Datatype   string         `json:"datatype"`
		Data       any            `json:"data,omitempty"`
		Parameters map[string]any `json:"parameters,omitempty"`
	}
	var jins, bins []jin
	typed = &kservepb.ModelInferRequest{ModelName: model}
	raw = &kservepb.ModelInferRequest{ModelName: model}
	for _, n := range names {
		t := in[n]
		shape := make([]int64, len(t.Shape))
		for i, d := range t.Shape {
			shape[i] = int64(d)
		}
		dt := kserve.DatatypeOf(t.DType)
		var c kservepb.InferTensorContents
		var rb []byte
		switch v := t.Data.(type) {
		case []float32:
			c.Fp32Contents = v
		case []int64:
			c.Int64Contents = v
		case []int32:
			c.IntContents = v
		case []string:
			for _, s := range v {
				c.BytesContents = append(c.BytesContents, []byte(s))
				rb = append(rb, byte(len(s)), byte(len(s)>>8), byte(len(s)>>16), byte(len(s)>>24))
				rb = append(rb, s...)
			}
		default:
			return nil, nil, nil, nil, nil, fmt.Errorf("input %s: %v not handled by the bench", n, t.DType)
		}
		if rb == nil {
			if rb, err = t.Bytes(); err != nil {
				return nil, nil, nil, nil, nil, err
			}
		}
		if f, ok := t.Data.([]float32); ok && slices.ContainsFunc(f, func(x float32) bool { return math.IsNaN(float64(x)) }) {
			return nil, nil, nil, nil, nil, errors.New("NaN input")
		}
		jins = append(jins, jin{Name: n, Shape: shape, Datatype: dt, Data: t.Data})
		bins = append(bins, jin{Name: n, Shape: shape, Datatype: dt, Parameters: map[string]any{"binary_data_size": len(rb)}})
		bin = append(bin, rb...)
		typed.Inputs = append(typed.Inputs, &kservepb.ModelInferRequest_InferInputTensor{Name: n, Datatype: dt, Shape: shape, Contents: &c})
		raw.Inputs = append(raw.Inputs, &kservepb.ModelInferRequest_InferInputTensor{Name: n, Datatype: dt, Shape: shape})
		raw.RawInputContents = append(raw.RawInputContents, rb)
	}
	if jsonBody, err = json.Marshal(map[string]any{"inputs": jins}); err != nil {
		return
	}
	binHeader, err = json.Marshal(map[string]any{"inputs": bins, "parameters": map[string]any{"binary_data_output": true}})
	return
}

// v2Target sends ModelInfer calls round robin over requests and 4
// connections; Do reports "200" for OK, else the gRPC code's name.
type v2Target struct {
	conns   []*grpc.ClientConn
	clients []kservepb.GRPCInferenceServiceClient
	reqs    []*kservepb.ModelInferRequest
	next    atomic.Uint64
}

func newV2Target(addr string, reqs []*kservepb.ModelInferRequest) (*v2Target, error) {
	t := &v2Target{reqs: reqs}
	for range 4 {
		c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Close()
			return nil, err
		}
		t.conns = append(t.conns, c)
		t.clients = append(t.clients, kservepb.NewGRPCInferenceServiceClient(c))
	}
	return t, nil
}

func (t *v2Target) Do(ctx context.Context) (string, error) {
	i := t.next.Add(1)
	_, err := t.clients[i%uint64(len(t.clients))].ModelInfer(ctx, t.reqs[i%uint64(len(t.reqs))])
	if err == nil {
		return "200", nil
	}
	st, ok := grpcstatus.FromError(err)
	if !ok {
		return "", err
	}
	return st.Code().String(), nil
}

func (t *v2Target) Close() {
	for _, c := range t.conns {
		c.Close()
	}
}

func protoSize(m interface{ ProtoReflect() protoreflect.Message }) int { return proto.Size(m) }

// predictSize is the size of the PredictRequest tf-grpc sends for body.
func predictSize(ctx context.Context, addr, model string, body []byte) (int, error) {
	c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return 0, err
	}
	defer c.Close()
	md, err := servingpb.NewPredictionServiceClient(c).GetModelMetadata(ctx, &servingpb.GetModelMetadataRequest{
		ModelSpec: &servingpb.ModelSpec{Name: model}, MetadataField: []string{"signature_def"}})
	if err != nil {
		return 0, err
	}
	var sigs servingpb.SignatureDefMap
	if err := md.GetMetadata()["signature_def"].UnmarshalTo(&sigs); err != nil {
		return 0, err
	}
	req, err := loadtest.PredictRequestFromJSON(model, body, &sigs, false)
	if err != nil {
		return 0, err
	}
	return proto.Size(req), nil
}
