package warmup

import (
	"bytes"
	"context"
	"errors"
	"io"
	"runtime"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/server/internal/fakemodel"
)

func fuzzSeeds(f *testing.F) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.Write(predictLog(f, "", 1, 2))
	w.Write(Log{Classify: &servingpb.ClassificationRequest{
		ModelSpec: &servingpb.ModelSpec{SignatureName: "classify_x_to_y"},
		Input: &servingpb.Input{Kind: &servingpb.Input_ExampleList{ExampleList: &servingpb.ExampleList{
			Examples: []*tfpb.Example{example(1)}}}}}})
	w.Write(Log{Regress: &servingpb.RegressionRequest{ModelSpec: &servingpb.ModelSpec{SignatureName: "regress_x_to_y"}}})
	f.Add(buf.Bytes())
	f.Add([]byte{})
	f.Add(buf.Bytes()[:20])
	var one bytes.Buffer
	NewRecordWriter(&one).Write([]byte{0x32, 0x02, 0x0a, 0x00})
	f.Add(one.Bytes())
}

// fuzzBudget is the budget FuzzReplay decodes records under.
var fuzzBudget = limits.Request{MaxElements: 1 << 16, MaxBytes: 1 << 20}

// FuzzReplay feeds arbitrary bytes to the TFRecord reader, the
// PredictionLog decoder and the replay against the fake half_plus_two: no
// panic, every record that decodes re-encodes to a log of the same kind, and
// the bytes allocated stay within a constant factor of the input plus the
// budget.
func FuzzReplay(f *testing.F) {
	fuzzSeeds(f)
	m := fakemodel.New()
	f.Fuzz(func(t *testing.T, data []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		defer func() {
			// Records are read no longer than the data; tensors and merged
			// examples decode within the budget (a short tensor may be
			// padded to its shape, as TensorFlow does, up to the budget).
			runtime.ReadMemStats(&after)
			if bound := 16*uint64(len(data)) + 4*uint64(fuzzBudget.MaxBytes) + 1<<20; after.TotalAlloc-before.TotalAlloc > bound {
				t.Fatalf("replaying %d bytes allocated %d, over %d", len(data), after.TotalAlloc-before.TotalAlloc, bound)
			}
		}()
		rr := NewRecordReaderSize(bytes.NewReader(data), int64(len(data)))
		for {
			rec, err := rr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				break
			}
			l, err := DecodeLog(rec)
			if err != nil {
				continue
			}
			if l.Kind() == "" || l.Other != "" {
				continue
			}
			b, err := EncodeLog(l)
			if err != nil {
				t.Fatalf("re-encode %s: %v", l.Kind(), err)
			}
			back, err := DecodeLog(b)
			if err != nil || back.Kind() != l.Kind() {
				t.Fatalf("round trip %s -> %s, %v", l.Kind(), back.Kind(), err)
			}
			if !proto.Equal(reqOf(l), reqOf(back)) {
				t.Fatalf("round trip changed the %s request", l.Kind())
			}
			// Replaying must return (an error or nil), never panic.
			_ = runLog(context.Background(), m, l, limits.NewBudget(fuzzBudget))
		}
	})
}

func reqOf(l Log) proto.Message {
	switch {
	case l.Predict != nil:
		return l.Predict
	case l.Classify != nil:
		return l.Classify
	case l.Regress != nil:
		return l.Regress
	}
	return l.MultiInference
}

// FuzzDecodeLog fuzzes the PredictionLog decoder without TFRecord framing.
func FuzzDecodeLog(f *testing.F) {
	for _, l := range []Log{predictLog(f, "s", 3), {MultiInference: &servingpb.MultiInferenceRequest{
		Tasks: []*servingpb.InferenceTask{{MethodName: "tensorflow/serving/regress"}}}}} {
		b, _ := EncodeLog(l)
		f.Add(b)
	}
	f.Add([]byte{0x2a, 0x00, 0x3a, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := DecodeLog(data)
		if err != nil || l.Kind() == "" || l.Other != "" {
			return
		}
		b, err := EncodeLog(l)
		if err != nil {
			t.Fatalf("re-encode %s: %v", l.Kind(), err)
		}
		back, err := DecodeLog(b)
		if err != nil || !proto.Equal(reqOf(l), reqOf(back)) {
			t.Fatalf("round trip of %s: %v", l.Kind(), err)
		}
	})
}
