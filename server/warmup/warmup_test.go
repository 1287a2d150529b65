package warmup

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/server/internal/fakemodel"
	"github.com/tfserve/tfserve/tensor"
	"github.com/tfserve/tfserve/tensor/tensorproto"
)

// crc32cBitwise is an independent, bit-at-a-time CRC-32C (reflected
// polynomial 0x82F63B78) used to check the table-driven one.
func crc32cBitwise(b []byte) uint32 {
	crc := ^uint32(0)
	for _, c := range b {
		crc ^= uint32(c)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0x82F63B78
			} else {
				crc >>= 1
			}
		}
	}
	return ^crc
}

func TestMaskedCRC(t *testing.T) {
	// The CRC-32C check value of "123456789" is 0xE3069283 (RFC 3720).
	if got := crc32cBitwise([]byte("123456789")); got != 0xE3069283 {
		t.Fatalf("reference crc32c = %#x", got)
	}
	for _, s := range []string{"", "a", "123456789", strings.Repeat("xyz", 1000)} {
		c := crc32cBitwise([]byte(s))
		want := (c>>15 | c<<17) + 0xa282ead8
		if got := maskedCRC([]byte(s)); got != want {
			t.Errorf("maskedCRC(%q) = %#x, want %#x", s, got, want)
		}
	}
}

func TestRecordRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var recs [][]byte
	for _, n := range []int{0, 1, 7, 100, 1<<20 + 3, 5000} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		recs = append(recs, b)
	}
	var buf bytes.Buffer
	w := NewRecordWriter(&buf)
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	want := 0
	for _, r := range recs {
		want += len(r) + 16
	}
	if buf.Len() != want {
		t.Fatalf("file is %d bytes, want %d", buf.Len(), want)
	}
	// Check the framing of the first record byte by byte.
	raw := buf.Bytes()
	if l := le64(raw[:8]); l != 0 {
		t.Fatalf("first length %d", l)
	}
	c := crc32cBitwise(raw[:8])
	if got := le32(raw[8:12]); got != (c>>15|c<<17)+0xa282ead8 {
		t.Fatalf("length crc %#x", got)
	}
	rr := NewRecordReader(bytes.NewReader(raw))
	for i, r := range recs {
		got, err := rr.Next()
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if !bytes.Equal(got, r) {
			t.Fatalf("record %d differs", i)
		}
	}
	if _, err := rr.Next(); !errors.Is(err, errEOF()) {
		t.Fatalf("after last record: %v", err)
	}
	if rr.Offset() != int64(want) {
		t.Fatalf("offset %d, want %d", rr.Offset(), want)
	}
}

func le64(b []byte) uint64 {
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

func le32(b []byte) uint32 { return uint32(le64(append(append([]byte{}, b[:4]...), 0, 0, 0, 0))) }

func TestRecordReaderErrors(t *testing.T) {
	var buf bytes.Buffer
	w := NewRecordWriter(&buf)
	if err := w.Write([]byte("hello world")); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	cases := map[string][]byte{
		"length crc":  flip(good, 9),
		"data crc":    flip(good, 13),
		"footer":      flip(good, len(good)-1),
		"short head":  good[:5],
		"short data":  good[:15],
		"short footr": good[:len(good)-2],
	}
	for name, b := range cases {
		_, err := NewRecordReader(bytes.NewReader(b)).Next()
		if err == nil || status.CodeOf(err) != status.DataLoss {
			t.Errorf("%s: %v, want DataLoss", name, err)
		}
	}
	// A length far beyond the limit is rejected without allocating it.
	huge := append([]byte(nil), good...)
	copy(huge, []byte{0, 0, 0, 0, 0, 0, 0, 1})
	c := crc32cBitwise(huge[:8])
	m := (c>>15 | c<<17) + 0xa282ead8
	huge[8], huge[9], huge[10], huge[11] = byte(m), byte(m>>8), byte(m>>16), byte(m>>24)
	if _, err := NewRecordReader(bytes.NewReader(huge)).Next(); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("huge length: %v", err)
	}
	// With the size known, a length under the limit but past the end is
	// refused before anything is allocated for it.
	past := append([]byte(nil), good...)
	binary.LittleEndian.PutUint64(past[:8], 200<<20)
	binary.LittleEndian.PutUint32(past[8:12], maskedCRC(past[:8]))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := NewRecordReaderSize(bytes.NewReader(past), int64(len(past))).Next()
	runtime.ReadMemStats(&after)
	if status.CodeOf(err) != status.DataLoss || !strings.Contains(err.Error(), "runs past the end") {
		t.Errorf("length past the end: %v", err)
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 64<<10 {
		t.Errorf("refusing a 200 MiB length allocated %d bytes", d)
	}
	// And records that fit read as before.
	rr := NewRecordReaderSize(bytes.NewReader(good), int64(len(good)))
	if rec, err := rr.Next(); err != nil || string(rec) != "hello world" {
		t.Errorf("sized reader: %q %v", rec, err)
	}
	if _, err := rr.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("sized reader at the end: %v", err)
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0x40
	return c
}

// counting wraps a model and records every Run.
type counting struct {
	servable.Model
	mu     sync.Mutex
	runs   []string  // signature names
	ys     []float32 // every float output value seen
	closed int
}

func (c *counting) Run(ctx context.Context, sig string, in map[string]*tensor.Tensor, out []string) (map[string]*tensor.Tensor, error) {
	res, err := c.Model.Run(ctx, sig, in, out)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.runs = append(c.runs, sig)
	for _, t := range res {
		if t.DType == tensor.Float32 {
			c.ys = append(c.ys, t.F32()...)
		}
	}
	return res, err
}

func (c *counting) Close() error {
	c.mu.Lock()
	c.closed++
	c.mu.Unlock()
	return c.Model.Close()
}

// halfPlus makes an empty version directory for a y = 0.5x + 2 model.
func halfPlus(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "half", "1")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// loadCounting returns a LoadFunc giving fakemodel's half_plus_two look-alike
// (y = 0.5x + 2, with TF Serving's half_plus_two signatures, parsing real
// serialized tf.Examples), and a pointer through which the test sees the
// counting wrapper of the last load.
// (TestReplayRealModel loads the real demo model.)
func loadCounting(t *testing.T) (LoadFunc, **counting) {
	var last *counting
	return func(ctx context.Context, dir string) (servable.Model, error) {
		if _, err := os.Stat(dir); err != nil {
			return nil, err
		}
		last = &counting{Model: fakemodel.New()}
		return last, nil
	}, &last
}

func floatTensor(t testing.TB, vals []float32, shape ...int) *tfpb.TensorProto {
	t.Helper()
	p, err := tensorproto.Encode(tensor.FromSlice(tensor.Shape(shape), vals))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func example(x float32) *tfpb.Example {
	return &tfpb.Example{Features: &tfpb.Features{Feature: map[string]*tfpb.Feature{
		"x": {Kind: &tfpb.Feature_FloatList{FloatList: &tfpb.FloatList{Value: []float32{x}}}},
	}}}
}

func predictLog(t testing.TB, sig string, xs ...float32) Log {
	return Log{Predict: &servingpb.PredictRequest{
		ModelSpec: &servingpb.ModelSpec{Name: "half", SignatureName: sig},
		Inputs:    map[string]*tfpb.TensorProto{"x": floatTensor(t, xs, len(xs), 1)},
	}}
}

func TestWrapLoadReplaysAllKinds(t *testing.T) {
	dir := halfPlus(t)
	exs := &servingpb.Input{Kind: &servingpb.Input_ExampleList{ExampleList: &servingpb.ExampleList{
		Examples: []*tfpb.Example{example(10), example(20)}}}}
	withCtx := &servingpb.Input{Kind: &servingpb.Input_ExampleListWithContext{ExampleListWithContext: &servingpb.ExampleListWithContext{
		Examples: []*tfpb.Example{example(30)}, Context: &tfpb.Example{}}}}
	logs := []Log{
		predictLog(t, "", 1, 2, 3),
		{Classify: &servingpb.ClassificationRequest{ModelSpec: &servingpb.ModelSpec{SignatureName: "classify_x_to_y"}, Input: exs}},
		{Regress: &servingpb.RegressionRequest{ModelSpec: &servingpb.ModelSpec{SignatureName: "regress_x_to_y"}, Input: withCtx}},
		{MultiInference: &servingpb.MultiInferenceRequest{
			Tasks: []*servingpb.InferenceTask{
				{ModelSpec: &servingpb.ModelSpec{SignatureName: "classify_x_to_y"}, MethodName: servable.MethodClassify},
				{ModelSpec: &servingpb.ModelSpec{SignatureName: "regress_x_to_y"}, MethodName: servable.MethodRegress},
			},
			Input: &servingpb.Input{Kind: &servingpb.Input_ExampleList{ExampleList: &servingpb.ExampleList{
				Examples: []*tfpb.Example{example(40)}}}},
		}},
	}
	if err := WriteFile(dir, logs...); err != nil {
		t.Fatal(err)
	}
	load, last := loadCounting(t)
	var observed []Result
	wrapped := WrapLoad(load, Options{Iterations: 2, Observe: func(d string, r Result, err error) {
		if d != dir || err != nil {
			t.Errorf("Observe(%s, %v)", d, err)
		}
		observed = append(observed, r)
	}})
	m, err := wrapped(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c := *last
	if m != servable.Model(c) {
		t.Fatal("WrapLoad did not return the loaded model")
	}
	// 3 single-signature records + 1 two-task record, each twice.
	wantRuns := []string{"serving_default", "serving_default", "classify_x_to_y", "classify_x_to_y",
		"regress_x_to_y", "regress_x_to_y", "classify_x_to_y", "regress_x_to_y", "classify_x_to_y", "regress_x_to_y"}
	if strings.Join(c.runs, " ") != strings.Join(wantRuns, " ") {
		t.Fatalf("runs %v, want %v", c.runs, wantRuns)
	}
	var want []float32
	for _, xs := range [][]float32{{1, 2, 3}, {1, 2, 3}, {10, 20}, {10, 20}, {30}, {30}, {40}, {40}, {40}, {40}} {
		for _, x := range xs {
			want = append(want, 0.5*x+2)
		}
	}
	if len(c.ys) != len(want) {
		t.Fatalf("outputs %v, want %v", c.ys, want)
	}
	for i := range want {
		if c.ys[i] != want[i] {
			t.Fatalf("outputs %v, want %v", c.ys, want)
		}
	}
	if len(observed) != 1 || !observed[0].Found || observed[0].Records != 4 {
		t.Fatalf("observed %+v", observed)
	}
	if c.closed != 0 {
		t.Fatal("model closed after a successful warmup")
	}
}

func TestWrapLoadFailures(t *testing.T) {
	cases := []struct {
		name  string
		write func(t *testing.T, dir string)
		code  status.Code
		want  string
	}{
		{"corrupt crc", func(t *testing.T, dir string) {
			mustWrite(t, dir, predictLog(t, "", 1))
			b, _ := os.ReadFile(Path(dir))
			b[len(b)-1] ^= 1
			os.WriteFile(Path(dir), b, 0o644)
		}, status.DataLoss, "corrupted record at 0. Please verify your warmup data is in TFRecord format."},
		{"truncated", func(t *testing.T, dir string) {
			mustWrite(t, dir, predictLog(t, "", 1), predictLog(t, "", 2))
			b, _ := os.ReadFile(Path(dir))
			os.WriteFile(Path(dir), b[:len(b)-3], 0o644)
		}, status.DataLoss, "truncated record at"},
		{"too many records", func(t *testing.T, dir string) {
			logs := make([]Log, MaxRecords+1)
			for i := range logs {
				logs[i] = predictLog(t, "", float32(i))
			}
			mustWrite(t, dir, logs...)
		}, status.InvalidArgument, "Number of warmup records exceeds the maximum (1000)"},
		{"unknown signature", func(t *testing.T, dir string) {
			mustWrite(t, dir, predictLog(t, "", 1), predictLog(t, "nope", 1))
		}, status.FailedPrecondition, "warmup record 1 (predict_log)"},
		{"unknown input", func(t *testing.T, dir string) {
			l := predictLog(t, "", 1)
			l.Predict.Inputs["z"] = l.Predict.Inputs["x"]
			mustWrite(t, dir, l)
		}, status.InvalidArgument, "failed: input size does not match signature: 2!=1 len({x,z}) != len({x}). Sent extra: {z}. Missing but required: {}."},
		{"renamed input", func(t *testing.T, dir string) {
			// The same count, another alias: GetInputValues
			// (tensorflow/cc/saved_model/util.cc) names the missing one.
			l := predictLog(t, "", 1)
			l.Predict.Inputs = map[string]*tfpb.TensorProto{"z": l.Predict.Inputs["x"]}
			mustWrite(t, dir, l)
		}, status.InvalidArgument, "failed: Signature input alias: x(feed name: x:0) not found in request and no default value provided. " +
			"Inputs expected to be in the request {z}, or default input alias set: "},
		{"unknown output filter", func(t *testing.T, dir string) {
			l := predictLog(t, "", 1)
			l.Predict.OutputFilter = []string{"q"}
			mustWrite(t, dir, l)
		}, status.InvalidArgument, "failed: output tensor alias not found in signature: q Outputs expected to be in the set {y}."},
		{"duplicate output filter", func(t *testing.T, dir string) {
			l := predictLog(t, "", 1)
			l.Predict.OutputFilter = []string{"y", "y"}
			mustWrite(t, dir, l)
		}, status.InvalidArgument, "failed: duplicate output tensor alias: y"},
		{"wrong dtype", func(t *testing.T, dir string) {
			p, _ := tensorproto.Encode(tensor.FromSlice(tensor.Shape{1, 1}, []string{"a"}))
			mustWrite(t, dir, Log{Predict: &servingpb.PredictRequest{Inputs: map[string]*tfpb.TensorProto{"x": p}}})
		}, status.Unknown, "warmup record 0"},
		{"not a PredictionLog", func(t *testing.T, dir string) {
			os.MkdirAll(filepath.Dir(Path(dir)), 0o755)
			var buf bytes.Buffer
			NewRecordWriter(&buf).Write([]byte{0x32, 0x05, 0x01})
			os.WriteFile(Path(dir), buf.Bytes(), 0o644)
		}, status.InvalidArgument, "Failed to parse warmup record 0"},
		{"tensor over the budget", func(t *testing.T, dir string) {
			// One value declaring 2^31 elements: refused before decoding.
			mustWrite(t, dir, Log{Predict: &servingpb.PredictRequest{Inputs: map[string]*tfpb.TensorProto{"x": {
				Dtype: tfpb.DataType_DT_FLOAT, FloatVal: []float32{1},
				TensorShape: &tfpb.TensorShapeProto{Dim: []*tfpb.TensorShapeProto_Dim{{Size: 1 << 31}, {Size: 1}}}}}}})
		}, status.InvalidArgument, "warmup record 0 (predict_log) of"},
		{"examples over the budget", func(t *testing.T, dir string) {
			ctx := &tfpb.Example{Features: &tfpb.Features{Feature: map[string]*tfpb.Feature{
				"pad": {Kind: &tfpb.Feature_BytesList{BytesList: &tfpb.BytesList{Value: [][]byte{make([]byte, 1<<20)}}}}}}}
			ex := make([]*tfpb.Example, 300)
			for i := range ex {
				ex[i] = &tfpb.Example{}
			}
			mustWrite(t, dir, Log{Regress: &servingpb.RegressionRequest{ModelSpec: &servingpb.ModelSpec{SignatureName: "regress_x_to_y"},
				Input: &servingpb.Input{Kind: &servingpb.Input_ExampleListWithContext{ExampleListWithContext: &servingpb.ExampleListWithContext{
					Examples: ex, Context: ctx}}}}})
		}, status.InvalidArgument, "over the limit of 268435456 (--request_max_bytes)"},
		{"length past the end of the file", func(t *testing.T, dir string) {
			os.MkdirAll(filepath.Dir(Path(dir)), 0o755)
			var hdr [12]byte
			binary.LittleEndian.PutUint64(hdr[:8], 1<<27) // 128 MiB, under the record limit
			binary.LittleEndian.PutUint32(hdr[8:], maskedCRC(hdr[:8]))
			os.WriteFile(Path(dir), append(hdr[:], "short"...), 0o644)
		}, status.DataLoss, "truncated record at 0: its length 134217728 runs past the end of the data (1 bytes left)"},
		{"session run log", func(t *testing.T, dir string) {
			os.MkdirAll(filepath.Dir(Path(dir)), 0o755)
			rec := protowire.AppendBytes(protowire.AppendTag(nil, 5, protowire.BytesType), nil)
			var buf bytes.Buffer
			NewRecordWriter(&buf).Write(rec)
			os.WriteFile(Path(dir), buf.Bytes(), 0o644)
		}, status.Unimplemented, "Unsupported log_type for warmup: session_run_log"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := halfPlus(t)
			c.write(t, dir)
			load, last := loadCounting(t)
			var obsErr error
			m, err := WrapLoad(load, Options{Observe: func(_ string, _ Result, err error) { obsErr = err }})(context.Background(), dir)
			if err == nil {
				m.Close()
				t.Fatal("load succeeded")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q, want it to contain %q", err, c.want)
			}
			if c.code != status.Unknown && status.CodeOf(err) != c.code {
				t.Fatalf("code %v, want %v (%v)", status.CodeOf(err), c.code, err)
			}
			if !strings.Contains(err.Error(), Path(dir)) {
				t.Errorf("error %q does not name the file", err)
			}
			if (*last).closed != 1 {
				t.Fatalf("model closed %d times, want 1", (*last).closed)
			}
			if obsErr == nil {
				t.Fatal("Observe did not see the error")
			}
		})
	}
}

func mustWrite(t *testing.T, dir string, logs ...Log) {
	t.Helper()
	if err := WriteFile(dir, logs...); err != nil {
		t.Fatal(err)
	}
}

func TestExactlyMaxRecordsAndNoFile(t *testing.T) {
	dir := halfPlus(t)
	load, last := loadCounting(t)
	observed := 0
	wrapped := WrapLoad(load, Options{Observe: func(string, Result, error) { observed++ }})
	m, err := wrapped(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	if len((*last).runs) != 0 || observed != 0 {
		t.Fatalf("no warmup file: %d runs, %d observations", len((*last).runs), observed)
	}
	logs := make([]Log, MaxRecords)
	for i := range logs {
		logs[i] = predictLog(t, "", float32(i))
	}
	mustWrite(t, dir, logs...)
	start := time.Now()
	m, err = wrapped(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if got := len((*last).runs); got != MaxRecords {
		t.Fatalf("%d runs, want %d", got, MaxRecords)
	}
	for i, y := range (*last).ys {
		if y != 0.5*float32(i)+2 {
			t.Fatalf("record %d: y = %v", i, y)
		}
	}
	_ = start
}

func TestLogRoundTrip(t *testing.T) {
	l := predictLog(t, "sig", 1, 2)
	l.Predict.OutputFilter = []string{"y"}
	b, err := EncodeLog(l)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeLog(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind() != "predict_log" || got.Predict.GetModelSpec().GetSignatureName() != "sig" ||
		got.Predict.GetOutputFilter()[0] != "y" {
		t.Fatalf("decoded %v", got.Predict)
	}
	x, err := tensorproto.Decode(got.Predict.GetInputs()["x"])
	if err != nil || len(x.F32()) != 2 || x.F32()[1] != 2 {
		t.Fatalf("x = %v, %v", x, err)
	}
	// The oneof field numbers of prediction_log.proto.
	for _, c := range []struct {
		l     Log
		field protowire.Number
	}{
		{Log{Predict: &servingpb.PredictRequest{}}, 6},
		{Log{Classify: &servingpb.ClassificationRequest{}}, 2},
		{Log{Regress: &servingpb.RegressionRequest{}}, 3},
		{Log{MultiInference: &servingpb.MultiInferenceRequest{}}, 4},
	} {
		b, err := EncodeLog(c.l)
		if err != nil {
			t.Fatal(err)
		}
		num, typ, _ := protowire.ConsumeTag(b)
		if num != c.field || typ != protowire.BytesType {
			t.Errorf("%s: field %d, want %d", c.l.Kind(), num, c.field)
		}
		back, err := DecodeLog(b)
		if err != nil || back.Kind() != c.l.Kind() {
			t.Errorf("%s: decoded %q, %v", c.l.Kind(), back.Kind(), err)
		}
	}
	if _, err := EncodeLog(Log{}); err == nil {
		t.Error("empty log encoded")
	}
	// log_metadata and responses are skipped; the last oneof wins.
	rec := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), []byte{0x0a, 0x01, 'm'})
	rec = append(rec, mustEncode(t, Log{Regress: &servingpb.RegressionRequest{}})...)
	rec = append(rec, mustEncode(t, predictLog(t, "last", 1))...)
	back, err := DecodeLog(rec)
	if err != nil || back.Kind() != "predict_log" || back.Regress != nil ||
		back.Predict.GetModelSpec().GetSignatureName() != "last" {
		t.Fatalf("decoded %+v, %v", back, err)
	}
}

func mustEncode(t *testing.T, l Log) []byte {
	b, err := EncodeLog(l)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
