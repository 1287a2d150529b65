package modelserver

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/server/flags"
	"github.com/tfserve/tfserve/server/requestlog"
)

// loggingConfig is a model_config_list entry with a file logging_config.
func loggingConfig(name, base, typ, prefix, rate string) string {
	return `config { name: "` + name + `" base_path: "` + base + `" model_platform: "tensorflow"
  logging_config { log_collector_config { type: "` + typ + `" filename_prefix: "` + prefix + `" }
    sampling_config { sampling_rate: ` + rate + ` } } }
`
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "models.config")
	if err := os.WriteFile(p, []byte("model_config_list {\n"+body+"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func floatTensor(vals []float32, dims ...int64) *tfpb.TensorProto {
	p := &tfpb.TensorProto{Dtype: tfpb.DataType_DT_FLOAT, TensorShape: &tfpb.TensorShapeProto{}, FloatVal: vals}
	for _, d := range dims {
		p.TensorShape.Dim = append(p.TensorShape.Dim, &tfpb.TensorShapeProto_Dim{Size: d})
	}
	return p
}

func spec(name string, version int64, sig string) *servingpb.ModelSpec {
	ms := &servingpb.ModelSpec{Name: name, SignatureName: sig}
	if version != 0 {
		ms.VersionChoice = &servingpb.ModelSpec_Version{Version: wrapperspb.Int64(version)}
	}
	return ms
}

func exampleX(x float32) *tfpb.Example {
	return &tfpb.Example{Features: &tfpb.Features{Feature: map[string]*tfpb.Feature{
		"x": {Kind: &tfpb.Feature_FloatList{FloatList: &tfpb.FloatList{Value: []float32{x}}}}}}}
}

// TestRequestLogRESTAndGRPC serves a model whose logging_config samples
// every request, with --access_log and metrics on: each successful
// predict, classify and regress, over REST and gRPC, is in the request-log
// files once Run has shut down (read back by our reader with its exact
// request and response, and by Python's protobuf), failures and a model
// sampled at rate 0 are not, and every request has its access-log line.
func TestRequestLogRESTAndGRPC(t *testing.T) {
	logDir := t.TempDir()
	prefix := filepath.Join(logDir, "half")
	access := filepath.Join(logDir, "access.log")
	cfg := writeConfig(t, loggingConfig("half", versionDir(t), "file", prefix, "1.0")+
		loggingConfig("quiet", versionDir(t), "file", filepath.Join(logDir, "quiet"), "0"))
	mon := filepath.Join(t.TempDir(), "monitoring.config")
	os.WriteFile(mon, []byte(`prometheus_config { enable: true path: "/metrics" }`), 0o644)
	opts, err := flags.Parse([]string{"--model_config_file=" + cfg, "--file_system_poll_wait_seconds=0",
		"--access_log=" + access, "--monitoring_config_file=" + mon}, nil)
	if err != nil {
		t.Fatal(err)
	}
	deps := fakeDeps()
	deps.RESTListener = listen(t)
	gln := listen(t)
	deps.GRPCListener = gln
	start := time.Now()
	r := startRun(t, opts, deps)

	type restCall struct {
		path, body string
		code       int
	}
	calls := []restCall{
		{"/v1/models/half:predict", `{"instances": [[1.0], [2.0]]}`, 200},
		{"/v1/models/half/versions/3:predict", `{"inputs": {"x": [[4.0]]}}`, 200},
		{"/v1/models/half:classify", `{"signature_name": "classify_x_to_y", "examples": [{"x": 1.0}, {"x": 3.0}]}`, 200},
		{"/v1/models/half:regress", `{"signature_name": "regress_x_to_y", "context": {"x": 9.0}, "examples": [{"x": 2.0}]}`, 200},
		{"/v1/models/half:predict", `{"instances": `, 400},          // fails: not logged
		{"/v1/models/quiet:predict", `{"instances": [[1.0]]}`, 200}, // sampled at 0
		{"/v1/models/half/metadata", ``, 200},                       // not a logged API
		{"/v1/models/nope:predict", `{"instances": [[1.0]]}`, 404},  // unknown model
	}
	var respBodies []string
	for _, c := range calls {
		method := "POST"
		if c.body == "" {
			method = "GET"
		}
		code, body, _ := httpDo(t, method, r.restURL()+c.path, c.body)
		if code != c.code {
			t.Fatalf("%s: %d %s", c.path, code, body)
		}
		respBodies = append(respBodies, body)
	}
	conn, err := grpc.NewClient(gln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := servingpb.NewPredictionServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	greq := &servingpb.PredictRequest{ModelSpec: &servingpb.ModelSpec{Name: "half"},
		Inputs: map[string]*tfpb.TensorProto{"x": floatTensor([]float32{6}, 1, 1)}}
	gresp, err := client.Predict(ctx, greq)
	if err != nil {
		t.Fatal(err)
	}
	creq := &servingpb.ClassificationRequest{ModelSpec: &servingpb.ModelSpec{Name: "half", SignatureName: "classify_x_to_y"},
		Input: &servingpb.Input{Kind: &servingpb.Input_ExampleList{ExampleList: &servingpb.ExampleList{Examples: []*tfpb.Example{exampleX(8)}}}}}
	cresp, err := client.Classify(ctx, creq)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Predict(ctx, &servingpb.PredictRequest{ModelSpec: &servingpb.ModelSpec{Name: "half", SignatureName: "nope"}}); err == nil {
		t.Fatal("bad signature accepted")
	}
	_, metricsText, _ := httpDo(t, "GET", r.restURL()+"/metrics", "")
	if !strings.Contains(metricsText, `:tensorflow:serving:request_log_count{model_name="half",status_code="OK"} 6`) {
		t.Errorf("metrics:\n%s", metricsText)
	}
	r.stop() // graceful shutdown flushes and closes the files

	files, err := requestlog.Files(prefix)
	if err != nil || len(files) != 1 {
		t.Fatalf("files %v %v", files, err)
	}
	recs, err := requestlog.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if q, _ := requestlog.Files(filepath.Join(logDir, "quiet")); len(q) != 0 {
		t.Errorf("rate 0 left files %v", q)
	}
	served := spec("half", 3, "serving_default")
	example := func(xs ...float32) *servingpb.Input {
		var ex []*tfpb.Example
		for _, x := range xs {
			ex = append(ex, exampleX(x))
		}
		return &servingpb.Input{Kind: &servingpb.Input_ExampleList{ExampleList: &servingpb.ExampleList{Examples: ex}}}
	}
	want := []proto.Message{
		&servingpb.PredictLog{
			Request:  &servingpb.PredictRequest{ModelSpec: spec("half", 0, "serving_default"), Inputs: map[string]*tfpb.TensorProto{"x": floatTensor([]float32{1, 2}, 2, 1)}},
			Response: &servingpb.PredictResponse{ModelSpec: served, Outputs: map[string]*tfpb.TensorProto{"y": floatTensor([]float32{2.5, 3}, 2, 1)}}},
		&servingpb.PredictLog{
			Request:  &servingpb.PredictRequest{ModelSpec: spec("half", 3, "serving_default"), Inputs: map[string]*tfpb.TensorProto{"x": floatTensor([]float32{4}, 1, 1)}},
			Response: &servingpb.PredictResponse{ModelSpec: served, Outputs: map[string]*tfpb.TensorProto{"y": floatTensor([]float32{4}, 1, 1)}}},
		&servingpb.ClassifyLog{
			Request: &servingpb.ClassificationRequest{ModelSpec: spec("half", 0, "classify_x_to_y"), Input: example(1, 3)},
			Response: &servingpb.ClassificationResponse{ModelSpec: spec("half", 3, "classify_x_to_y"), Result: &servingpb.ClassificationResult{
				Classifications: []*servingpb.Classifications{{Classes: []*servingpb.Class{{Score: 2.5}}}, {Classes: []*servingpb.Class{{Score: 3.5}}}}}}},
		&servingpb.RegressLog{
			Request: &servingpb.RegressionRequest{ModelSpec: spec("half", 0, "regress_x_to_y"), Input: &servingpb.Input{Kind: &servingpb.Input_ExampleListWithContext{
				ExampleListWithContext: &servingpb.ExampleListWithContext{Examples: []*tfpb.Example{exampleX(2)}, Context: exampleX(9)}}}},
			Response: &servingpb.RegressionResponse{ModelSpec: spec("half", 3, "regress_x_to_y"), Result: &servingpb.RegressionResult{
				Regressions: []*servingpb.Regression{{Value: 3}}}}},
		&servingpb.PredictLog{Request: greq, Response: gresp},
		&servingpb.ClassifyLog{Request: creq, Response: cresp},
	}
	if len(recs) != len(want) {
		t.Fatalf("%d records, want %d", len(recs), len(want))
	}
	for i, rec := range recs {
		var got proto.Message
		var respSpec *servingpb.ModelSpec
		switch lt := rec.GetLogType().(type) {
		case *servingpb.PredictionLog_PredictLog:
			got, respSpec = lt.PredictLog, lt.PredictLog.GetResponse().GetModelSpec()
		case *servingpb.PredictionLog_ClassifyLog:
			got, respSpec = lt.ClassifyLog, lt.ClassifyLog.GetResponse().GetModelSpec()
		case *servingpb.PredictionLog_RegressLog:
			got, respSpec = lt.RegressLog, lt.RegressLog.GetResponse().GetModelSpec()
		}
		if !proto.Equal(got, want[i]) {
			t.Errorf("record %d:\n%s\nwant\n%s", i, prototext.Format(rec), prototext.Format(want[i]))
		}
		md := rec.GetLogMetadata()
		if !proto.Equal(md.GetModelSpec(), respSpec) || md.GetModelSpec().GetVersion().GetValue() != 3 ||
			!proto.Equal(md.GetSamplingConfig(), &servingpb.SamplingConfig{SamplingRate: 1}) ||
			!slices.Equal(md.GetSavedModelTags(), []string{"serve"}) ||
			md.GetTimestampSecs() < start.Unix() || md.GetTimestampSecs() > time.Now().Unix() {
			t.Errorf("record %d metadata: %v", i, md)
		}
	}
	checkPython(t, files, recs)
	checkAccessLog(t, access, calls[0].body, respBodies[0], greq, gresp, len(calls)+3)
}

// checkPython reads the files with Python's protobuf over our .proto files.
// It runs when /usr/bin/python3 has google.protobuf and a protoc is found
// (system protoc or grpc_tools), and always under CI=true, where .ci/run
// installs protobuf-compiler and python3-grpc-tools (which brings
// python3-protobuf).
func checkPython(t *testing.T, files []string, recs []*servingpb.PredictionLog) {
	t.Helper()
	ci := os.Getenv("CI") == "true"
	_, protocErr := exec.LookPath("protoc")
	if protocErr != nil {
		protocErr = exec.Command("/usr/bin/python3", "-c", "import grpc_tools").Run()
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import google.protobuf").Run(); err != nil || protocErr != nil {
		if ci {
			t.Fatalf("CI=true needs python3-protobuf and protoc: %v %v", err, protocErr)
		}
		t.Log("skipping the Python reader: python3-protobuf or protoc missing (apt-get install -y python3-protobuf protobuf-compiler)")
		return
	}
	protoRoot, err := filepath.Abs("../../proto")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append([]string{"testdata/read_prediction_log.py", protoRoot, t.TempDir()}, files...)
	out, err := exec.CommandContext(ctx, "/usr/bin/python3", args...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "PYTHON READER OK") {
		t.Fatalf("python reader: %v\n%s", err, out)
	}
	var lines []map[string]any
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "{") {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, m)
		}
	}
	t.Logf("python reader: %d records", len(lines))
	if len(lines) != len(recs) {
		t.Fatalf("python read %d records, want %d:\n%s", len(lines), len(recs), out)
	}
	kinds := []string{"predict_log", "predict_log", "classify_log", "regress_log", "predict_log", "classify_log"}
	for i, m := range lines {
		if m["kind"] != kinds[i] || m["model"] != "half" || m["version"] != 3.0 || m["sampling_rate"] != 1.0 ||
			m["request_model"] != "half" || len(m["tags"].([]any)) != 1 || m["tags"].([]any)[0] != "serve" {
			t.Errorf("python record %d: %v", i, m)
		}
		b, err := base64.StdEncoding.DecodeString(m["serialized"].(string))
		if err != nil {
			t.Fatal(err)
		}
		var pl servingpb.PredictionLog
		if err := proto.Unmarshal(b, &pl); err != nil || !proto.Equal(&pl, recs[i]) {
			t.Errorf("python record %d re-serialized differs: %v", i, err)
		}
	}
	if in, _ := json.Marshal(lines[0]["inputs"]); string(in) != `{"x":[1,2]}` {
		t.Errorf("python inputs %s", in)
	}
	if o, _ := json.Marshal(lines[4]["outputs"]); string(o) != `{"y":[5]}` {
		t.Errorf("python gRPC outputs %s", o)
	}
	if v, _ := json.Marshal(lines[3]["values"]); string(v) != `[3]` {
		t.Errorf("python regress values %s", v)
	}
}

// checkAccessLog checks the access log's lines: one per request, each with
// exactly the documented fields.
func checkAccessLog(t *testing.T, path, restBody, restResp string, greq *servingpb.PredictRequest, gresp *servingpb.PredictResponse, n int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"time", "protocol", "api", "model", "version", "status", "code", "latency_ms",
		"request_bytes", "response_bytes", "client"}
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		if len(m) != len(keys) {
			t.Fatalf("line %s: want keys %v", l, keys)
		}
		for _, k := range keys {
			if _, ok := m[k]; !ok {
				t.Fatalf("line %s: no %s", l, k)
			}
		}
		if ts, err := time.Parse(time.RFC3339Nano, m["time"].(string)); err != nil || time.Since(ts) > time.Minute {
			t.Errorf("time %v %v", m["time"], err)
		}
		if !strings.HasPrefix(m["client"].(string), "127.0.0.1:") || m["latency_ms"].(float64) < 0 {
			t.Errorf("line %s", l)
		}
		lines = append(lines, m)
	}
	if len(lines) != n {
		t.Fatalf("%d access-log lines, want %d:\n%s", len(lines), n, b)
	}
	check := func(m map[string]any, want map[string]any) {
		t.Helper()
		for k, v := range want {
			if m[k] != v {
				t.Errorf("%s = %#v, want %#v (line %v)", k, m[k], v, m)
			}
		}
	}
	check(lines[0], map[string]any{"protocol": "rest", "api": "predict", "model": "half", "version": 3.0, "status": "OK",
		"code": 200.0, "request_bytes": float64(len(restBody)), "response_bytes": float64(len(restResp))})
	check(lines[4], map[string]any{"protocol": "rest", "api": "predict", "model": "half", "status": "INVALID_ARGUMENT", "code": 400.0})
	check(lines[5], map[string]any{"protocol": "rest", "api": "predict", "model": "quiet", "version": 3.0, "status": "OK", "code": 200.0})
	check(lines[6], map[string]any{"protocol": "rest", "api": "metadata", "model": "half", "version": 3.0, "code": 200.0})
	check(lines[7], map[string]any{"protocol": "rest", "api": "predict", "model": "nope", "version": nil, "status": "NOT_FOUND", "code": 404.0})
	check(lines[8], map[string]any{"protocol": "grpc", "api": "predict", "model": "half", "version": 3.0, "status": "OK", "code": 0.0,
		"request_bytes": float64(proto.Size(greq)), "response_bytes": float64(proto.Size(gresp))})
	check(lines[9], map[string]any{"protocol": "grpc", "api": "classify", "model": "half", "version": 3.0, "status": "OK"})
	check(lines[10], map[string]any{"protocol": "grpc", "api": "predict", "model": "half", "version": nil, "response_bytes": 0.0})
	if c, ok := status.ParseCode(lines[10]["status"].(string)); !ok || c == status.OK || lines[10]["code"] != float64(c) {
		t.Errorf("failed gRPC line %v", lines[10])
	}
	if strings.Contains(string(b), "instances") || strings.Contains(string(b), "float_val") {
		t.Error("the access log holds request content")
	}
}

// TestRequestLogConfigRefused: an unknown log collector type (and a
// directory that does not exist) fails the startup config naming the
// model, and a reload with one is refused whole, keeping the config.
func TestRequestLogConfigRefused(t *testing.T) {
	logDir := t.TempDir()
	for _, tc := range []struct{ typ, prefix, want string }{
		{"kafka", filepath.Join(logDir, "m"), `model "m": logging_config: Cannot find LogCollector::Factory for type: kafka`},
		{"file", filepath.Join(logDir, "missing", "m"), `model "m": logging_config: request log file: open`},
	} {
		cfg := writeConfig(t, loggingConfig("m", versionDir(t), tc.typ, tc.prefix, "1"))
		opts, err := flags.Parse([]string{"--model_config_file=" + cfg, "--file_system_poll_wait_seconds=0", "--rest_api_port=0", "--port=0"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = Run(ctx, opts, fakeDeps())
		cancel()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Run: %v, want %q", err, tc.want)
		}
	}

	base := versionDir(t)
	cfg := writeConfig(t, loggingConfig("m", base, "file", filepath.Join(logDir, "ok"), "1"))
	opts, err := flags.Parse([]string{"--model_config_file=" + cfg, "--file_system_poll_wait_seconds=0", "--rest_api_port=0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	deps := fakeDeps()
	gln := listen(t)
	deps.GRPCListener = gln
	r := startRun(t, opts, deps)
	conn, err := grpc.NewClient(gln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	bad := r.mgr.Config()
	bad.GetModelConfigList().GetConfig()[0].GetLoggingConfig().GetLogCollectorConfig().Type = "bigquery"
	resp, err := servingpb.NewModelServiceClient(conn).HandleReloadConfigRequest(context.Background(),
		&servingpb.ReloadConfigRequest{Config: bad})
	if err == nil && resp.GetStatus().GetErrorCode() == 0 {
		t.Fatal("reload with an unknown collector type accepted")
	}
	msg := resp.GetStatus().GetErrorMessage()
	if err != nil {
		msg = err.Error()
	}
	if !strings.Contains(msg, `model "m": logging_config: Cannot find LogCollector::Factory for type: bigquery`) {
		t.Errorf("reload error: %s", msg)
	}
	if got := r.mgr.Config().GetModelConfigList().GetConfig()[0].GetLoggingConfig().GetLogCollectorConfig().GetType(); got != "file" {
		t.Errorf("config after refused reload: type %q", got)
	}
	r.stop()
}
