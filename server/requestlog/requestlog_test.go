package requestlog

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/server/examplesig"
	"github.com/tfserve/tfserve/server/manager"
	"github.com/tfserve/tfserve/server/warmup"
	"github.com/tfserve/tfserve/tensor"
)

// configList parses a model_config_list body.
func configList(t *testing.T, text string) *servingpb.ModelConfigList {
	t.Helper()
	cfg, err := manager.ParseConfig([]byte("model_config_list { " + text + " }"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg.GetModelConfigList()
}

// logged is a model config with a logging_config of the file collector.
func logged(name, prefix, sampling string) string {
	return `config { name: "` + name + `" base_path: "/m/` + name + `" model_platform: "tensorflow" logging_config {
		log_collector_config { type: "file" filename_prefix: "` + prefix + `" } sampling_config { ` + sampling + ` } } } `
}

var fixedNow = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func newLogger(t *testing.T, opts Options) (*Logger, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	opts.Registerer = reg
	if opts.Now == nil {
		opts.Now = func() time.Time { return fixedNow }
	}
	l, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, reg
}

func floatProto(vals []float32, dims ...int64) *tfpb.TensorProto {
	p := &tfpb.TensorProto{Dtype: tfpb.DataType_DT_FLOAT, TensorShape: &tfpb.TensorShapeProto{}, FloatVal: vals}
	for _, d := range dims {
		p.TensorShape.Dim = append(p.TensorShape.Dim, &tfpb.TensorShapeProto_Dim{Size: d})
	}
	return p
}

func predictPair(name string, version int64, x float32) (*servingpb.PredictRequest, *servingpb.PredictResponse) {
	req := &servingpb.PredictRequest{ModelSpec: &servingpb.ModelSpec{Name: name},
		Inputs: map[string]*tfpb.TensorProto{"x": floatProto([]float32{x}, 1, 1)}}
	resp := &servingpb.PredictResponse{ModelSpec: ResponseSpec(name, version, "serving_default"),
		Outputs: map[string]*tfpb.TensorProto{"y": floatProto([]float32{x/2 + 2}, 1, 1)}}
	return req, resp
}

// readAll reads every record of every file of prefix, in order.
func readAll(t *testing.T, prefix string) ([]string, []*servingpb.PredictionLog) {
	t.Helper()
	files, err := Files(prefix)
	if err != nil {
		t.Fatal(err)
	}
	var all []*servingpb.PredictionLog
	for _, f := range files {
		recs, err := ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, recs...)
	}
	return files, all
}

func TestSamplingRateOneLogsEveryRequest(t *testing.T) {
	dir := t.TempDir()
	prefix := filepath.Join(dir, "half")
	l, reg := newLogger(t, Options{})
	if err := l.Update(configList(t, logged("half", prefix, "sampling_rate: 1.0"))); err != nil {
		t.Fatal(err)
	}
	var want []*servingpb.PredictionLog
	for i := range 50 {
		req, resp := predictPair("half", 3, float32(i))
		l.LogRPC(req, resp)
		want = append(want, &servingpb.PredictionLog{
			LogMetadata: &servingpb.LogMetadata{ModelSpec: resp.ModelSpec,
				SamplingConfig: &servingpb.SamplingConfig{SamplingRate: 1}, SavedModelTags: []string{"serve"},
				TimestampSecs: fixedNow.Unix()},
			LogType: &servingpb.PredictionLog_PredictLog{PredictLog: &servingpb.PredictLog{Request: req, Response: resp}},
		})
	}
	// Another model and a response of another type are not logged.
	req, resp := predictPair("other", 1, 1)
	l.LogRPC(req, resp)
	l.LogRPC(req, &servingpb.GetModelStatusResponse{})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	files, got := readAll(t, prefix)
	if len(files) != 1 || !strings.HasPrefix(filepath.Base(files[0]), "half-20250102T030405Z-") {
		t.Fatalf("files %v", files)
	}
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i := range want {
		if !proto.Equal(got[i], want[i]) {
			t.Fatalf("record %d:\n%v\nwant\n%v", i, prototext.Format(got[i]), prototext.Format(want[i]))
		}
	}
	if v := counterValue(t, l.m.logged.WithLabelValues("half", "OK")); v != 50 {
		t.Errorf("request_log_count = %v", v)
	}
	if v := counterValue(t, l.m.written.WithLabelValues("half")); v != 50 {
		t.Errorf("written = %v", v)
	}
	if fam := gathered(t, reg)[":tensorflow:serving:request_log_count"]; len(fam.GetMetric()) != 1 {
		t.Errorf("request_log_count series: %v", fam)
	}
	// The file is a valid warmup file too.
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	logs, err := warmup.ReadLogs(context.Background(), f)
	if err != nil || len(logs) != 50 || !proto.Equal(logs[7].Predict, want[7].GetPredictLog().GetRequest()) {
		t.Fatalf("warmup.ReadLogs: %d %v", len(logs), err)
	}
}

func TestSamplingRateZeroLogsNothing(t *testing.T) {
	dir := t.TempDir()
	prefix := filepath.Join(dir, "half")
	l, _ := newLogger(t, Options{})
	// No sampling_config at all is rate 0 too.
	cfg := logged("half", prefix, "sampling_rate: 0") + strings.Replace(logged("b", prefix+"b", ""), "sampling_config {  }", "", 1)
	if err := l.Update(configList(t, cfg)); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		for _, m := range []string{"half", "b"} {
			if l.Sample(m) != nil {
				t.Fatal("sampled at rate 0")
			}
			req, resp := predictPair(m, 3, float32(i))
			l.LogRPC(req, resp)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// The collectors' first files held nothing and are gone.
	ents, _ := os.ReadDir(dir)
	if len(ents) != 0 {
		t.Fatalf("files left: %v", ents)
	}
}

func TestSamplingRateHalf(t *testing.T) {
	l, _ := newLogger(t, Options{})
	if err := l.Update(configList(t, logged("half", filepath.Join(t.TempDir(), "h"), "sampling_rate: 0.5"))); err != nil {
		t.Fatal(err)
	}
	n := 0
	for range 10000 {
		if l.Sample("half") != nil {
			n++
		}
	}
	if n < 4500 || n > 5500 {
		t.Fatalf("%d of 10000 sampled at rate 0.5", n)
	}
}

func TestPerTaskSampling(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		sampling string
		rate     float64
	}{
		{`sampling_rate: 0 per_task_sampling_configs { dc: "aa" sampling_rate: 1 }`, 0},
		{`sampling_rate: 0 per_task_sampling_configs { task_index: 0 sampling_rate: 1 }`, 0},
		{`sampling_rate: 0 per_task_sampling_configs { task_index: -1 sampling_rate: 1 }`, 1},
		{`sampling_rate: 0 per_task_sampling_configs { dc: "aa" sampling_rate: 0.2 } per_task_sampling_configs { sampling_rate: 1 } per_task_sampling_configs { sampling_rate: 0.3 }`, 1},
	} {
		mc, err := parseModelConfig("m", configList(t, logged("m", filepath.Join(dir, "m"), tc.sampling)).GetConfig()[0].GetLoggingConfig())
		if err != nil {
			t.Fatal(err)
		}
		if mc.rate != tc.rate || mc.sampling.GetSamplingRate() != tc.rate {
			t.Errorf("%s: rate %v, logged %v; want %v", tc.sampling, mc.rate, mc.sampling.GetSamplingRate(), tc.rate)
		}
		// The per-task entries are logged as configured.
		if len(mc.sampling.GetPerTaskSamplingConfigs()) == 0 {
			t.Errorf("%s: per-task configs dropped", tc.sampling)
		}
	}
}

func TestRotation(t *testing.T) {
	dir := t.TempDir()
	prefix := filepath.Join(dir, "r") + string(filepath.Separator)
	if err := os.Mkdir(prefix, 0o755); err != nil {
		t.Fatal(err)
	}
	l, _ := newLogger(t, Options{MaxFileBytes: 1000})
	if err := l.Update(configList(t, logged("half", prefix, "sampling_rate: 1"))); err != nil {
		t.Fatal(err)
	}
	var want []*servingpb.PredictRequest
	for i := range 40 {
		req, resp := predictPair("half", 3, float32(i))
		l.LogRPC(req, resp)
		want = append(want, req)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	files, got := readAll(t, prefix)
	if len(got) != len(want) {
		t.Fatalf("%d records", len(got))
	}
	for i := range want {
		if !proto.Equal(got[i].GetPredictLog().GetRequest(), want[i]) {
			t.Fatalf("record %d out of order", i)
		}
	}
	if len(files) < 4 {
		t.Fatalf("%d files", len(files))
	}
	for i, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		// Each file stops at the first record that takes it to 1000 bytes.
		if rec := int64(16 + proto.Size(got[0])); st.Size() >= 1000+rec || (i < len(files)-1 && st.Size() < 1000) {
			t.Errorf("%s: %d bytes", f, st.Size())
		}
		if !strings.HasPrefix(filepath.Base(f), "20250102T030405Z-") || !strings.HasSuffix(f, ".tfrecord") {
			t.Errorf("name %s", f)
		}
		if st.Mode().Perm()&0o007 != 0 {
			t.Errorf("%s: mode %v", f, st.Mode())
		}
	}
	if v := counterValue(t, l.m.files); v != float64(len(files)) {
		t.Errorf("files counter %v, %d files", v, len(files))
	}
}

func TestFlushWithoutClose(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "f")
	l, _ := newLogger(t, Options{FlushInterval: time.Hour})
	if err := l.Update(configList(t, logged("half", prefix, "sampling_rate: 1"))); err != nil {
		t.Fatal(err)
	}
	req, resp := predictPair("half", 3, 1)
	l.LogRPC(req, resp)
	// Buffered: the file is still empty.
	files, _ := Files(prefix)
	if st, err := os.Stat(files[0]); err != nil || st.Size() != 0 {
		t.Fatalf("before Flush: %v %v", st, err)
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, got := readAll(t, prefix); len(got) != 1 || !proto.Equal(got[0].GetPredictLog().GetResponse(), resp) {
		t.Fatalf("after Flush: %v", got)
	}
}

// TestCloseWritesEverythingQueued logs from many goroutines while closing:
// every record counted OK is in the files.
func TestCloseWritesEverythingQueued(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "c")
	l, _ := newLogger(t, Options{FlushInterval: time.Hour, QueueRecords: 100000, QueueBytes: 1 << 30})
	if err := l.Update(configList(t, logged("half", prefix, "sampling_rate: 1"))); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				req, resp := predictPair("half", 3, float32(g*1000+i))
				l.LogRPC(req, resp)
			}
		}()
	}
	time.Sleep(time.Millisecond)
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	ok := counterValue(t, l.m.logged.WithLabelValues("half", "OK"))
	_, got := readAll(t, prefix)
	if float64(len(got)) != ok || ok != 4000 {
		t.Fatalf("%d records in files, %v counted OK", len(got), ok)
	}
	// Logging after Close is a no-op.
	req, resp := predictPair("half", 3, 1)
	l.LogRPC(req, resp)
}

func TestQueueFullDropsAndCounts(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "q")
	// A queue of 64 bytes: a record does not fit.
	l, reg := newLogger(t, Options{QueueBytes: 64})
	if err := l.Update(configList(t, logged("half", prefix, "sampling_rate: 1"))); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := range 10 {
		req, resp := predictPair("half", 3, float32(i))
		l.LogRPC(req, resp)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("logging waited %v", d)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if v := counterValue(t, l.m.dropped.WithLabelValues("half", DropQueueFull)); v != 10 {
		t.Errorf("dropped = %v", v)
	}
	if v := counterValue(t, l.m.logged.WithLabelValues("half", "RESOURCE_EXHAUSTED")); v != 10 {
		t.Errorf("request_log_count RESOURCE_EXHAUSTED = %v", v)
	}
	fam := gathered(t, reg)["tfserve_request_log_dropped_total"]
	if ms := fam.GetMetric(); len(ms) != 1 || ms[0].GetCounter().GetValue() != 10 || len(ms[0].GetLabel()) != 2 ||
		ms[0].GetLabel()[0].GetValue() != "half" || ms[0].GetLabel()[1].GetValue() != "queue_full" {
		t.Errorf("exported: %v", fam)
	}
	if _, got := readAll(t, prefix); len(got) != 0 {
		t.Errorf("%d records written", len(got))
	}
}

// TestQueueRecordsBound fills a collector's queue while its writer is not
// running: the record after QueueRecords is refused at once.
func TestQueueRecordsBound(t *testing.T) {
	l, _ := newLogger(t, Options{QueueRecords: 2})
	c := &collector{l: l, queue: make(chan record, l.opts.QueueRecords)}
	for i, want := range []status.Code{status.OK, status.OK, status.ResourceExhausted, status.ResourceExhausted} {
		code, reason := c.enqueue(record{model: "m", b: []byte("abc")})
		if code != want || (code != status.OK) != (reason == DropQueueFull) {
			t.Errorf("record %d: %v %q", i, code, reason)
		}
	}
	if q := l.queued.Load(); q != 6 {
		t.Errorf("queued bytes %d", q)
	}
	c.closed = true
	if code, reason := c.enqueue(record{model: "m", b: []byte("abc")}); code != status.Unavailable || reason != DropClosed {
		t.Errorf("closed: %v %q", code, reason)
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ cfg, want string }{
		{strings.Replace(logged("half", dir+"/x", "sampling_rate: 1"), `type: "file"`, `type: "kafka"`, 1),
			`NOT_FOUND: model "half": logging_config: Cannot find LogCollector::Factory for type: kafka (tfserve's log_collector_config types: "file")`},
		{`config { name: "e" base_path: "/m" model_platform: "tensorflow" logging_config { sampling_config { sampling_rate: 1 } } }`,
			`model "e": logging_config: Cannot find LogCollector::Factory for type:  (`},
		{logged("half", "", "sampling_rate: 1"), `model "half": logging_config: log_collector_config.filename_prefix is empty`},
		{logged("half", dir+"/x", "sampling_rate: 1.5"), `model "half": logging_config: sampling_config.sampling_rate is 1.5, want a probability in [0, 1]`},
		{logged("half", dir+"/x", "sampling_rate: -0.1"), `sampling_rate is -0.1`},
		{logged("half", dir+"/x", "sampling_rate: 1 per_task_sampling_configs { sampling_rate: 2 }"),
			`per_task_sampling_configs[0].sampling_rate is 2`},
		{logged("a", dir+"/ok", "sampling_rate: 1") + logged("half", dir+"/missing/x", "sampling_rate: 1"),
			`model "half": logging_config: request log file: open ` + dir + `/missing/x-`},
	} {
		l, _ := newLogger(t, Options{})
		err := l.Update(configList(t, tc.cfg))
		if err == nil || !strings.Contains(status.StatusString(err), tc.want) {
			t.Errorf("%s\n got %v\nwant %s", tc.cfg, err, tc.want)
		}
		if l.Configured("a") || l.Configured("half") {
			t.Errorf("a refused config was applied")
		}
	}
	// Nothing was left behind by the refused configs.
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("files left: %v", ents)
	}
	// Too many prefixes.
	l, _ := newLogger(t, Options{MaxOpenFiles: 2})
	cfg := logged("a", dir+"/a", "sampling_rate: 1") + logged("b", dir+"/a", "") + logged("c", dir+"/c", "") + logged("d", dir+"/d", "")
	if err := l.Update(configList(t, cfg)); err == nil || !strings.Contains(err.Error(), `model "d": logging_config: more than 2 distinct`) {
		t.Errorf("too many prefixes: %v", err)
	}
}

func TestReloadKeepsAndClosesCollectors(t *testing.T) {
	dir := t.TempDir()
	l, _ := newLogger(t, Options{FlushInterval: time.Hour})
	if err := l.Update(configList(t, logged("a", dir+"/a", "sampling_rate: 1")+logged("b", dir+"/b", "sampling_rate: 1"))); err != nil {
		t.Fatal(err)
	}
	ca := l.collectors[dir+"/a"]
	req, resp := predictPair("b", 1, 1)
	l.LogRPC(req, resp)
	// b moves to a's prefix and a stops logging: a's collector stays, b's
	// is drained and closed.
	commit, err := l.Prepare(configList(t, logged("a", dir+"/a", "sampling_rate: 0")+logged("b", dir+"/a", "sampling_rate: 1")))
	if err != nil {
		t.Fatal(err)
	}
	if l.Sample("a") == nil {
		t.Fatal("Prepare changed the config in use")
	}
	commit()
	l.closing.Wait()
	if l.collectors[dir+"/a"] != ca || len(l.collectors) != 1 || l.Sample("a") != nil || l.Sample("b") == nil {
		t.Fatalf("collectors after reload: %v", l.collectors)
	}
	if _, got := readAll(t, dir+"/b"); len(got) != 1 {
		t.Fatalf("b's closed collector: %d records", len(got))
	}
	l.LogRPC(req, resp)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, got := readAll(t, dir+"/a"); len(got) != 1 || got[0].GetLogMetadata().GetModelSpec().GetName() != "b" {
		t.Fatalf("a's prefix: %v", got)
	}
}

func TestRESTConversions(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "rest")
	l, _ := newLogger(t, Options{})
	if err := l.Update(configList(t, logged("m", prefix, "sampling_rate: 1"))); err != nil {
		t.Fatal(err)
	}
	ml := l.Sample("m")
	spec := manager.Spec{Name: "m", Label: "stable", HasLabel: true}
	reqSpec := RequestSpec(spec, "serving_default")
	respSpec := ResponseSpec("m", 7, "serving_default")
	ml.LogPredict(reqSpec, respSpec,
		map[string]*tensor.Tensor{"x": tensor.FromSlice(tensor.Shape{2, 1}, []float32{1, 2}), "s": tensor.FromSlice(tensor.Shape{1}, []string{"a"})},
		map[string]*tensor.Tensor{"y": tensor.FromSlice(tensor.Shape{2, 1}, []float32{2.5, 3})})
	ex := &tfpb.Example{Features: &tfpb.Features{Feature: map[string]*tfpb.Feature{"x": {Kind: &tfpb.Feature_FloatList{FloatList: &tfpb.FloatList{Value: []float32{1}}}}}}}
	ctx := &tfpb.Example{Features: &tfpb.Features{Feature: map[string]*tfpb.Feature{"k": {Kind: &tfpb.Feature_Int64List{Int64List: &tfpb.Int64List{Value: []int64{4}}}}}}}
	exb, _ := proto.Marshal(ex)
	ctxb, _ := proto.Marshal(ctx)
	ml.LogClassify(reqSpec, respSpec, [][]byte{exb, exb}, nil, &examplesig.Classifications{NumClasses: 1, Labels: []string{"p", "q"}, Scores: []float32{0.25, 0.5}})
	ml.LogRegress(RequestSpec(manager.Spec{Name: "m", Version: 7, HasVersion: true}, "r"), respSpec, [][]byte{exb}, ctxb, []float32{2.5})
	ml.LogRegress(reqSpec, respSpec, [][]byte{[]byte("\xff")}, nil, []float32{1}) // not an Example: counted, not written
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	_, got := readAll(t, prefix)
	if len(got) != 3 {
		t.Fatalf("%d records", len(got))
	}
	wantPredict := &servingpb.PredictLog{
		Request: &servingpb.PredictRequest{ModelSpec: &servingpb.ModelSpec{Name: "m", VersionChoice: &servingpb.ModelSpec_VersionLabel{VersionLabel: "stable"}, SignatureName: "serving_default"},
			Inputs: map[string]*tfpb.TensorProto{"x": floatProto([]float32{1, 2}, 2, 1),
				"s": {Dtype: tfpb.DataType_DT_STRING, TensorShape: &tfpb.TensorShapeProto{Dim: []*tfpb.TensorShapeProto_Dim{{Size: 1}}}, StringVal: [][]byte{[]byte("a")}}}},
		Response: &servingpb.PredictResponse{ModelSpec: &servingpb.ModelSpec{Name: "m", VersionChoice: &servingpb.ModelSpec_Version{Version: wrapperspb.Int64(7)}, SignatureName: "serving_default"},
			Outputs: map[string]*tfpb.TensorProto{"y": floatProto([]float32{2.5, 3}, 2, 1)}},
	}
	if !proto.Equal(got[0].GetPredictLog(), wantPredict) {
		t.Errorf("predict:\n%v", prototext.Format(got[0]))
	}
	wantClassify := &servingpb.ClassifyLog{
		Request: &servingpb.ClassificationRequest{ModelSpec: wantPredict.Request.ModelSpec,
			Input: &servingpb.Input{Kind: &servingpb.Input_ExampleList{ExampleList: &servingpb.ExampleList{Examples: []*tfpb.Example{ex, ex}}}}},
		Response: &servingpb.ClassificationResponse{ModelSpec: wantPredict.Response.ModelSpec, Result: &servingpb.ClassificationResult{
			Classifications: []*servingpb.Classifications{{Classes: []*servingpb.Class{{Label: "p", Score: 0.25}}}, {Classes: []*servingpb.Class{{Label: "q", Score: 0.5}}}}}},
	}
	if !proto.Equal(got[1].GetClassifyLog(), wantClassify) {
		t.Errorf("classify:\n%v", prototext.Format(got[1]))
	}
	wantRegress := &servingpb.RegressLog{
		Request: &servingpb.RegressionRequest{ModelSpec: &servingpb.ModelSpec{Name: "m", VersionChoice: &servingpb.ModelSpec_Version{Version: wrapperspb.Int64(7)}, SignatureName: "r"},
			Input: &servingpb.Input{Kind: &servingpb.Input_ExampleListWithContext{ExampleListWithContext: &servingpb.ExampleListWithContext{Examples: []*tfpb.Example{ex}, Context: ctx}}}},
		Response: &servingpb.RegressionResponse{ModelSpec: wantPredict.Response.ModelSpec, Result: &servingpb.RegressionResult{Regressions: []*servingpb.Regression{{Value: 2.5}}}},
	}
	if !proto.Equal(got[2].GetRegressLog(), wantRegress) {
		t.Errorf("regress:\n%v", prototext.Format(got[2]))
	}
	if v := counterValue(t, l.m.dropped.WithLabelValues("m", DropEncode)); v != 1 {
		t.Errorf("encode drops %v", v)
	}
	// --enable_serialization_as_tensor_content: outputs as tensor_content.
	p, err := encodeTensor(tensor.FromSlice(tensor.Shape{2}, []float32{1, 2}), true)
	if err != nil || !bytes.Equal(p.GetTensorContent(), []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40}) || len(p.GetFloatVal()) != 0 {
		t.Errorf("tensor content: %v %v", p, err)
	}
}

func TestMultiInferenceAndMismatch(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "mi")
	l, _ := newLogger(t, Options{})
	if err := l.Update(configList(t, logged("m", prefix, "sampling_rate: 1"))); err != nil {
		t.Fatal(err)
	}
	req := &servingpb.MultiInferenceRequest{Tasks: []*servingpb.InferenceTask{{ModelSpec: &servingpb.ModelSpec{Name: "m", SignatureName: "r"}, MethodName: "tensorflow/serving/regress"}}}
	resp := &servingpb.MultiInferenceResponse{Results: []*servingpb.InferenceResult{{ModelSpec: ResponseSpec("m", 2, "r"),
		Result: &servingpb.InferenceResult_RegressionResult{RegressionResult: &servingpb.RegressionResult{}}}}}
	l.LogRPC(req, resp)
	l.Sample("m").Log(req, &servingpb.PredictResponse{}) // mismatched pair: counted
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	_, got := readAll(t, prefix)
	if len(got) != 1 || !proto.Equal(got[0].GetMultiInferenceLog().GetResponse(), resp) ||
		got[0].GetLogMetadata().GetModelSpec().GetVersion().GetValue() != 2 {
		t.Fatalf("%v", got)
	}
	if v := counterValue(t, l.m.logged.WithLabelValues("m", "INVALID_ARGUMENT")); v != 1 {
		t.Errorf("mismatch counted %v", v)
	}
}

func TestFilesIgnoresOthers(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"m-20250102T030405Z-0123abcd-000001.tfrecord", "m-20250102T030405Z-0123abcd-000000.tfrecord",
		"mx-20250102T030405Z-0123abcd-000000.tfrecord", "m-notes.txt", "m-20250102T030405Z-0123abcd-000000.tfrecord.tmp"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files, err := Files(filepath.Join(dir, "m"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || !strings.HasSuffix(files[0], "000000.tfrecord") || !strings.HasSuffix(files[1], "000001.tfrecord") {
		t.Fatalf("%v", files)
	}
}

func TestReadRejectsCorruptData(t *testing.T) {
	var buf bytes.Buffer
	w := warmup.NewRecordWriter(&buf)
	req, resp := predictPair("m", 1, 1)
	b, _ := proto.Marshal(&servingpb.PredictionLog{LogType: &servingpb.PredictionLog_PredictLog{PredictLog: &servingpb.PredictLog{Request: req, Response: resp}}})
	w.Write(b)
	data := buf.Bytes()
	data[len(data)-6] ^= 1
	err := Read(bytes.NewReader(data), func(*servingpb.PredictionLog) error { return nil })
	if status.CodeOf(err) != status.DataLoss {
		t.Fatalf("corrupt record: %v", err)
	}
}

// counterValue reads a counter.
func counterValue(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	m := &dto.Metric{}
	if err := (<-ch).Write(m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// gathered returns the registry's metric families by name.
func gathered(t *testing.T, reg *prometheus.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}
