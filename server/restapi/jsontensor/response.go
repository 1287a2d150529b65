package jsontensor

import (
	"encoding/base64"
	"slices"
	"strconv"
	"strings"

	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/tensor"
)

// AppendPredictResponse appends the JSON body TF Serving answers a predict
// request with (util/json_tensor.cc MakeJsonFromTensors), byte for byte,
// including rapidjson's pretty-printing:
//
//	{
//	    "predictions": [[1.0, 2.0], [3.0, 4.0]
//	    ]
//	}
//
// Row format writes {"predictions": [...]} with one element per batch row
// (an object keyed by output name when there are several outputs); every
// output must have rank >= 1 and the same dimension 0. Columnar format writes
// {"outputs": ...}: the single output's value, or an object keyed by output
// name. DT_STRING outputs whose name ends in "_bytes" are written as
// {"b64": "..."}; other strings are written as they are (invalid UTF-8 is not
// repaired, as in TF Serving).
//
// Outputs are written in the order of aliasesInOrder, which must name every
// output exactly once; nil means sorted by name. (TF Serving iterates a
// protobuf map, whose order is unspecified.)
//
// On error dst is returned unchanged, with an error carrying a status code.
// The response may be at most limits.DefaultMaxResponseBytes long (see
// AppendPredictResponseLimited).
func AppendPredictResponse(dst []byte, format Format, outputs map[string]*tensor.Tensor, aliasesInOrder []string) ([]byte, error) {
	return AppendPredictResponseLimited(dst, limits.DefaultMaxResponseBytes, format, outputs, aliasesInOrder)
}

// AppendPredictResponseLimited is AppendPredictResponse for a response of at
// most maxBytes (--response_max_bytes; 0 means no limit). Writing stops as
// soon as the output passes maxBytes, and the error, INVALID_ARGUMENT (400:
// the same request will never fit, so it is not one to retry), names the
// limit and its flag.
func AppendPredictResponseLimited(dst []byte, maxBytes int64, format Format, outputs map[string]*tensor.Tensor, aliasesInOrder []string) ([]byte, error) {
	if len(outputs) == 0 {
		return dst, status.New(status.InvalidArgument, "Cannot convert empty tensor map to JSON")
	}
	// Small arrays hold the usual few outputs' names, tensors and offsets
	// without allocating.
	var (
		nameBuf   [4]string
		tensorBuf [4]*tensor.Tensor
		offBuf    [4]int
	)
	names, err := outputOrder(outputs, aliasesInOrder, nameBuf[:0])
	if err != nil {
		return dst, err
	}
	tensors := tensorBuf[:0]
	if len(names) > len(tensorBuf) {
		tensors = make([]*tensor.Tensor, len(names))
	}
	tensors = tensors[:len(names)]
	for k, n := range names {
		t := outputs[n]
		if t == nil {
			return dst, status.Errorf(status.Internal, "output %s is nil", n)
		}
		if want := t.Shape.NumElements(); want < 0 || t.Len() != want {
			return dst, status.Errorf(status.Internal, "output %s: tensor of shape %v holds %d elements", n, t.Shape, t.Len())
		}
		tensors[k] = t
	}
	start := len(dst)
	w := newPrettyWriter(dst)
	w.max = maxBytes
	multi := len(names) > 1
	switch format {
	case Row:
		batch := -1
		for k, n := range names {
			t := tensors[k]
			if len(t.Shape) == 0 {
				return dst, status.New(status.InvalidArgument, "Tensor name: "+n+" has no shape information ")
			}
			if batch >= 0 && batch != t.Shape[0] {
				return dst, status.Errorf(status.InvalidArgument, "Tensor name: %s has inconsistent batch size: %d expecting: %d", n, t.Shape[0], batch)
			}
			batch = t.Shape[0]
		}
		offsets := offBuf[:0]
		if len(names) > len(offBuf) {
			offsets = make([]int, len(names))
		}
		offsets = offsets[:len(names)]
		w.startObject()
		w.stringS("predictions")
		w.startArray()
		for range batch {
			if multi {
				w.startObject()
			}
			w.single = true
			for k, n := range names {
				if multi {
					w.stringS(cKey(n))
				}
				if err := addTensorValues(w, tensors[k], isBytesName(n, tensors[k]), 1, &offsets[k]); err != nil {
					return dst[:start], err
				}
			}
			w.single = false
			if multi {
				w.endObject()
			}
		}
		w.endArray()
		w.endObject()
	case Columnar:
		w.startObject()
		w.stringS("outputs")
		if multi {
			w.startObject()
		}
		for k, n := range names {
			if multi {
				w.stringS(cKey(n))
			}
			off := 0
			if err := addTensorValues(w, tensors[k], isBytesName(n, tensors[k]), 0, &off); err != nil {
				return dst[:start], err
			}
		}
		if multi {
			w.endObject()
		}
		w.endObject()
	default:
		return dst, status.New(status.InvalidArgument, "Invalid request format")
	}
	return w.buf, nil
}

// outputOrder returns the output names in order, appended to buf when order
// is nil.
func outputOrder(outputs map[string]*tensor.Tensor, order, buf []string) ([]string, error) {
	if order == nil {
		names := buf[:0]
		for n := range outputs {
			names = append(names, n)
		}
		slices.Sort(names)
		return names, nil
	}
	if len(order) != len(outputs) {
		return nil, status.Errorf(status.Internal, "output order names %d outputs, have %d", len(order), len(outputs))
	}
	for k, n := range order {
		if _, ok := outputs[n]; !ok {
			return nil, status.Errorf(status.Internal, "output order names %q, which is not an output", n)
		}
		if slices.Contains(order[:k], n) {
			return nil, status.Errorf(status.Internal, "output order names %q twice", n)
		}
	}
	return order, nil
}

// cKey is the key TF Serving writes for an output name: it passes the name
// as a C string, so it ends at the first NUL byte.
func cKey(name string) string {
	if i := strings.IndexByte(name, 0); i >= 0 {
		return name[:i]
	}
	return name
}

func isBytesName(name string, t *tensor.Tensor) bool {
	return t.DType == tensor.String && strings.HasSuffix(name, "_bytes")
}

// addTensorValues is TF Serving's AddTensorValues: nested lists from
// dimension dim on; a scalar when dim is past the last dimension. TF Serving
// recurses once per dimension; this loop keeps one counter per open list.
func addTensorValues(w *prettyWriter, t *tensor.Tensor, asBytes bool, dim int, off *int) error {
	rank := len(t.Shape)
	if dim > rank-1 {
		return writeValues(w, t, asBytes, off, 1)
	}
	var small [8]int
	left := append(small[:0], t.Shape[dim]) // lists still to open, per open list
	w.startArray()
	for len(left) > 0 {
		if w.full() {
			return w.tooLarge()
		}
		top := len(left) - 1
		level := dim + top
		if level == rank-1 {
			if err := writeValues(w, t, asBytes, off, t.Shape[level]); err != nil {
				return err
			}
			left[top] = 0
		}
		if left[top] == 0 {
			w.endArray()
			left = left[:top]
			continue
		}
		left[top]--
		w.startArray()
		left = append(left, t.Shape[level+1])
	}
	return nil
}

// writeInts writes elements [o, o+n) of a signed or small integer slice;
// false if data is not a []T or the writer is full.
func writeInts[T int8 | int16 | int32 | int64 | uint8](w *prettyWriter, data any, o, n int) bool {
	v, ok := data.([]T)
	return ok && writeSeq(w, v[o:o+n], appendInt[T])
}

func appendInt[T int8 | int16 | int32 | int64 | uint8](b []byte, x T) []byte {
	return strconv.AppendInt(b, int64(x), 10)
}

// writeUints is writeInts for unsigned 32- and 64-bit integers.
func writeUints[T uint32 | uint64](w *prettyWriter, data any, o, n int) bool {
	v, ok := data.([]T)
	return ok && writeSeq(w, v[o:o+n], appendUint[T])
}

func appendUint[T uint32 | uint64](b []byte, x T) []byte {
	return strconv.AppendUint(b, uint64(x), 10)
}

func appendBool(b []byte, x bool) []byte {
	if x {
		return append(b, "true"...)
	}
	return append(b, "false"...)
}

// writeValues writes n consecutive elements starting at *off.
func writeValues(w *prettyWriter, t *tensor.Tensor, asBytes bool, off *int, n int) error {
	if n == 0 {
		return nil
	}
	o := *off
	ok := true
	switch t.DType {
	case tensor.Float32:
		var v []float32
		if v, ok = t.Data.([]float32); ok && !w.float32s(v[o:o+n]) {
			return w.tooLarge()
		}
	case tensor.Float64:
		var v []float64
		if v, ok = t.Data.([]float64); ok && !writeSeq(w, v[o:o+n], AppendFloat64) {
			return w.tooLarge()
		}
	case tensor.Int32:
		ok = writeInts[int32](w, t.Data, o, n)
	case tensor.Int16:
		ok = writeInts[int16](w, t.Data, o, n)
	case tensor.Int8:
		ok = writeInts[int8](w, t.Data, o, n)
	case tensor.Uint8:
		ok = writeInts[uint8](w, t.Data, o, n)
	case tensor.Int64:
		ok = writeInts[int64](w, t.Data, o, n)
	case tensor.Uint32:
		ok = writeUints[uint32](w, t.Data, o, n)
	case tensor.Uint64:
		ok = writeUints[uint64](w, t.Data, o, n)
	case tensor.Bool:
		var v []bool
		if v, ok = t.Data.([]bool); ok && !writeSeq(w, v[o:o+n], appendBool) {
			return w.tooLarge()
		}
	case tensor.String:
		var v []string
		if v, ok = t.Data.([]string); ok {
			for _, x := range v[o : o+n] {
				if w.full() {
					return w.tooLarge()
				}
				if asBytes {
					w.startObject()
					w.stringS("b64")
					w.prefix()
					w.buf = append(w.buf, '"')
					w.buf = base64.StdEncoding.AppendEncode(w.buf, []byte(x))
					w.buf = append(w.buf, '"')
					w.endObject()
				} else {
					w.stringS(x)
				}
			}
		}
	default:
		return status.New(status.InvalidArgument, "Failed to write JSON value for tensor type: "+dataTypeString(t.DType))
	}
	if w.full() {
		return w.tooLarge()
	}
	if !ok {
		return status.Errorf(status.Internal, "tensor of %v holds %T", t.DType, t.Data)
	}
	*off = o + n
	return nil
}

// Class is one (label, score) pair of a classification result.
type Class struct {
	Label string
	Score float32
}

// AppendClassifyResponse appends TF Serving's classify response
// (MakeJsonFromClassificationResult): {"results": [...]} with, per example,
// a list of [label, score] pairs. The response may be at most maxBytes long
// (0: no limit), as in AppendPredictResponseLimited.
func AppendClassifyResponse(dst []byte, maxBytes int64, results [][]Class) ([]byte, error) {
	if len(results) == 0 {
		return dst, status.New(status.InvalidArgument, "Cannot convert empty ClassificationResults to JSON")
	}
	w := newPrettyWriter(dst)
	w.max = maxBytes
	w.startObject()
	w.stringS("results")
	w.startArray()
	for _, classes := range results {
		w.single = true
		w.startArray()
		for _, c := range classes {
			if w.full() {
				return dst, w.tooLarge()
			}
			w.startArray()
			w.stringS(c.Label)
			w.float32(c.Score)
			w.endArray()
		}
		w.endArray()
		w.single = false
	}
	w.endArray()
	w.endObject()
	return w.buf, nil
}

// AppendRegressResponse appends TF Serving's regress response
// (MakeJsonFromRegressionResult): {"results": [v1, v2, ...]}. The response
// may be at most maxBytes long (0: no limit), as in
// AppendPredictResponseLimited.
func AppendRegressResponse(dst []byte, maxBytes int64, values []float32) ([]byte, error) {
	if len(values) == 0 {
		return dst, status.New(status.InvalidArgument, "Cannot convert empty RegressionResults to JSON")
	}
	w := newPrettyWriter(dst)
	w.max = maxBytes
	w.startObject()
	w.stringS("results")
	w.single = true
	w.startArray()
	for _, v := range values {
		if w.full() {
			return dst, w.tooLarge()
		}
		w.float32(v)
	}
	w.endArray()
	w.endObject()
	return w.buf, nil
}

// AppendErrorResponse appends TF Serving's error body (MakeJsonFromStatus):
// {"error": "<message>"}, pretty-printed.
func AppendErrorResponse(dst []byte, msg string) []byte {
	w := newPrettyWriter(dst)
	w.startObject()
	w.stringS("error")
	w.stringS(msg)
	w.endObject()
	return w.buf
}
