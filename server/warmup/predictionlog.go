package warmup

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/tfserve/tfserve/proto/servingpb"
)

// PredictionLog field numbers (tensorflow_serving/apis/prediction_log.proto).
// Each XxxLog message holds the request in field 1 and the response in 2.
const (
	fieldLogMetadata        = 1
	fieldClassifyLog        = 2
	fieldRegressLog         = 3
	fieldMultiInferenceLog  = 4
	fieldSessionRunLog      = 5
	fieldPredictLog         = 6
	fieldPredictStreamedLog = 7
	fieldLogRequest         = 1
)

// Log is one PredictionLog record: exactly one of the request fields is set,
// or Other names a log type that warmup does not replay
// ("session_run_log", "predict_streamed_log"), or nothing is set (an empty
// log, which TF Serving skips).
type Log struct {
	Predict        *servingpb.PredictRequest
	Classify       *servingpb.ClassificationRequest
	Regress        *servingpb.RegressionRequest
	MultiInference *servingpb.MultiInferenceRequest
	Other          string
}

// Kind names the log type as prediction_log.proto does ("predict_log", ...),
// or "" for an empty log.
func (l Log) Kind() string {
	switch {
	case l.Predict != nil:
		return "predict_log"
	case l.Classify != nil:
		return "classify_log"
	case l.Regress != nil:
		return "regress_log"
	case l.MultiInference != nil:
		return "multi_inference_log"
	}
	return l.Other
}

// DecodeLog parses a serialized PredictionLog. The responses and log
// metadata are skipped. As in protobuf, when the oneof is set more than once
// the last one wins, and a repeated message field merges.
func DecodeLog(b []byte) (Log, error) {
	var l Log
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return Log{}, fmt.Errorf("PredictionLog: %w", protowire.ParseError(n))
		}
		b = b[n:]
		if typ != protowire.BytesType || num == fieldLogMetadata {
			m := protowire.ConsumeFieldValue(num, typ, b)
			if m < 0 {
				return Log{}, fmt.Errorf("PredictionLog field %d: %w", num, protowire.ParseError(m))
			}
			b = b[m:]
			continue
		}
		v, m := protowire.ConsumeBytes(b)
		if m < 0 {
			return Log{}, fmt.Errorf("PredictionLog field %d: %w", num, protowire.ParseError(m))
		}
		b = b[m:]
		var err error
		switch num {
		case fieldPredictLog:
			if l.Predict == nil {
				l = Log{Predict: &servingpb.PredictRequest{}}
			}
			err = decodeRequest(v, l.Predict)
		case fieldClassifyLog:
			if l.Classify == nil {
				l = Log{Classify: &servingpb.ClassificationRequest{}}
			}
			err = decodeRequest(v, l.Classify)
		case fieldRegressLog:
			if l.Regress == nil {
				l = Log{Regress: &servingpb.RegressionRequest{}}
			}
			err = decodeRequest(v, l.Regress)
		case fieldMultiInferenceLog:
			if l.MultiInference == nil {
				l = Log{MultiInference: &servingpb.MultiInferenceRequest{}}
			}
			err = decodeRequest(v, l.MultiInference)
		case fieldSessionRunLog:
			l = Log{Other: "session_run_log"}
			err = checkMessage(v)
		case fieldPredictStreamedLog:
			l = Log{Other: "predict_streamed_log"}
			err = checkMessage(v)
		}
		if err != nil {
			return Log{}, fmt.Errorf("PredictionLog field %d: %w", num, err)
		}
	}
	return l, nil
}

// decodeRequest merges the request (field 1) of an XxxLog message into req.
func decodeRequest(b []byte, req proto.Message) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if num == fieldLogRequest && typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return protowire.ParseError(m)
			}
			b = b[m:]
			if err := (proto.UnmarshalOptions{Merge: true}).Unmarshal(v, req); err != nil {
				return fmt.Errorf("request: %w", err)
			}
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return protowire.ParseError(m)
		}
		b = b[m:]
	}
	return nil
}

// checkMessage checks that b is well-formed wire data.
func checkMessage(b []byte) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return protowire.ParseError(m)
		}
		b = b[m:]
	}
	return nil
}

// EncodeLog serializes l as a PredictionLog with only the request set.
// Exactly one request must be set.
func EncodeLog(l Log) ([]byte, error) {
	var (
		field protowire.Number
		req   proto.Message
		set   int
	)
	if l.Predict != nil {
		field, req, set = fieldPredictLog, l.Predict, set+1
	}
	if l.Classify != nil {
		field, req, set = fieldClassifyLog, l.Classify, set+1
	}
	if l.Regress != nil {
		field, req, set = fieldRegressLog, l.Regress, set+1
	}
	if l.MultiInference != nil {
		field, req, set = fieldMultiInferenceLog, l.MultiInference, set+1
	}
	if set != 1 {
		return nil, errors.New("warmup: a Log needs exactly one of Predict, Classify, Regress or MultiInference")
	}
	rb, err := proto.MarshalOptions{Deterministic: true}.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("marshal %s request: %w", l.Kind(), err)
	}
	inner := protowire.AppendTag(nil, fieldLogRequest, protowire.BytesType)
	inner = protowire.AppendBytes(inner, rb)
	out := protowire.AppendTag(nil, field, protowire.BytesType)
	return protowire.AppendBytes(out, inner), nil
}
