package warmup

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/proto/tfpb"
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

// FuzzReplay feeds arbitrary bytes to the TFRecord reader, the
// PredictionLog decoder and the replay against the fake half_plus_two: no
// panic, and every record that decodes re-encodes to a log of the same kind.
func FuzzReplay(f *testing.F) {
	fuzzSeeds(f)
	m := fakemodel.New()
	f.Fuzz(func(t *testing.T, data []byte) {
		rr := NewRecordReader(bytes.NewReader(data))
		rr.MaxRecordBytes = 1 << 20
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
			_ = runLog(context.Background(), m, l)
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
