package kserve

import (
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/server/restapi/jsontensor"
	"github.com/tfserve/tfserve/tensor"
)

// restRequest is a REST infer request: the protocol's request plus what
// the binary data extension asks of the response.
type restRequest struct {
	request
	id string
	// binaryOutput is the request's binary_data_output parameter: the
	// default for outputs without their own binary_data.
	binaryOutput bool
	// binary holds each requested output's binary_data (requested outputs
	// only; nil when none were requested).
	binary []bool
}

func badField(field, want string) error {
	return status.New(status.InvalidArgument, "Unable to parse '"+field+"': want "+want)
}

// parseRESTRequest reads the JSON inference request (the body's first
// headerLen bytes) and assigns the binary data after it to the inputs
// that declare binary_data_size, in order. Nothing sized by the request is
// allocated here beyond the bounded JSON tree.
func parseRESTRequest(tree *jsontensor.Tree, bin []byte, model string) (*restRequest, error) {
	root := tree.Root()
	if tree.Kind(root) != jsontensor.KindObject {
		return nil, status.New(status.InvalidArgument, "The inference request must be a JSON object")
	}
	req := &restRequest{}
	if n := tree.Member(root, "id"); n >= 0 {
		if tree.Kind(n) != jsontensor.KindString {
			return nil, badField("id", "a string")
		}
		req.id = string(tree.Str(n))
	}
	if p := tree.Member(root, "parameters"); p >= 0 {
		if tree.Kind(p) != jsontensor.KindObject {
			return nil, badField("parameters", "an object")
		}
		if n := tree.Member(p, "binary_data_output"); n >= 0 {
			b, ok := jsonBool(tree, n)
			if !ok {
				return nil, badField("binary_data_output", "a boolean")
			}
			req.binaryOutput = b
		}
		if n := tree.Member(p, "signature_name"); n >= 0 {
			if tree.Kind(n) != jsontensor.KindString {
				return nil, badField("signature_name", "a string")
			}
			req.signature = string(tree.Str(n))
		}
	}
	ins := tree.Member(root, "inputs")
	if ins < 0 || tree.Kind(ins) != jsontensor.KindArray {
		return nil, badField("inputs", "an array")
	}
	req.inputs = make([]input, 0, tree.Len(ins))
	for in := range tree.Elems(ins) {
		if tree.Kind(in) != jsontensor.KindObject {
			return nil, badField("inputs", "an array of objects")
		}
		var x input
		var err error
		if x.name, err = stringMember(tree, in, "name"); err != nil {
			return nil, err
		}
		if x.datatype, err = stringMember(tree, in, "datatype"); err != nil {
			return nil, err
		}
		sh := tree.Member(in, "shape")
		if sh < 0 || tree.Kind(sh) != jsontensor.KindArray {
			return nil, badField("shape", "an array of non-negative integers")
		}
		if tree.Len(sh) > limits.MaxRank {
			return nil, status.New(status.InvalidArgument, "input '"+x.name+"': "+
				limits.Invalid("tensor rank", int64(tree.Len(sh)), limits.MaxRank, "request_max_rank").Error())
		}
		x.shape = make([]int64, 0, tree.Len(sh))
		for d := range tree.Elems(sh) {
			v, ok := tree.Int64(d)
			if !ok || v < 0 {
				return nil, badField("shape", "an array of non-negative integers")
			}
			x.shape = append(x.shape, v)
		}
		data := tree.Member(in, "data")
		size, hasSize, err := binaryDataSize(tree, in)
		if err != nil {
			return nil, err
		}
		switch {
		case data >= 0 && hasSize:
			return nil, status.New(status.InvalidArgument, "input '"+x.name+
				"': set only one of 'data' and 'binary_data_size' in 'parameters'")
		case data >= 0:
			if tree.Kind(data) != jsontensor.KindArray {
				return nil, status.New(status.InvalidArgument, "input '"+x.name+"': 'data' must be an array")
			}
			x.data = jsonData{tree, data}
		case hasSize:
			if size > uint64(len(bin)) {
				return nil, status.New(status.InvalidArgument, "unexpected size for input '"+x.name+"', expecting "+
					strconv.FormatUint(size, 10)+" bytes of binary data but "+strconv.Itoa(len(bin))+
					" remain in the body for model '"+model+"' (Inference-Header-Content-Length and binary_data_size must add up to the body)")
			}
			x.data = rawData(bin[:size])
			bin = bin[size:]
		default:
			return nil, status.New(status.InvalidArgument, "input '"+x.name+
				"': set one of 'data' and 'binary_data_size' in 'parameters'")
		}
		req.inputs = append(req.inputs, x)
	}
	if len(bin) != 0 {
		return nil, status.New(status.InvalidArgument, "unexpected additional input data for model '"+model+"': "+
			strconv.Itoa(len(bin))+" bytes after the last binary input")
	}
	if outs := tree.Member(root, "outputs"); outs >= 0 {
		if tree.Kind(outs) != jsontensor.KindArray {
			return nil, badField("outputs", "an array")
		}
		req.outputs = make([]string, 0, tree.Len(outs))
		req.binary = make([]bool, 0, tree.Len(outs))
		for o := range tree.Elems(outs) {
			if tree.Kind(o) != jsontensor.KindObject {
				return nil, badField("outputs", "an array of objects")
			}
			name, err := stringMember(tree, o, "name")
			if err != nil {
				return nil, err
			}
			bin := req.binaryOutput
			if p := tree.Member(o, "parameters"); p >= 0 {
				if tree.Kind(p) != jsontensor.KindObject {
					return nil, badField("parameters", "an object")
				}
				if n := tree.Member(p, "binary_data"); n >= 0 {
					b, ok := jsonBool(tree, n)
					if !ok {
						return nil, badField("binary_data", "a boolean")
					}
					bin = b
				}
				if tree.Member(p, "classification") >= 0 {
					return nil, status.New(status.Unimplemented, "output '"+name+
						"': the classification extension is not supported")
				}
				if tree.Member(p, "shared_memory_region") >= 0 {
					return nil, status.New(status.Unimplemented, "output '"+name+
						"': the shared memory extensions are not supported")
				}
			}
			req.outputs = append(req.outputs, name)
			req.binary = append(req.binary, bin)
		}
	}
	return req, nil
}

func stringMember(tree *jsontensor.Tree, obj jsontensor.Node, field string) (string, error) {
	n := tree.Member(obj, field)
	if n < 0 || tree.Kind(n) != jsontensor.KindString {
		return "", badField(field, "a string")
	}
	return string(tree.Str(n)), nil
}

func jsonBool(tree *jsontensor.Tree, n jsontensor.Node) (bool, bool) {
	switch tree.Kind(n) {
	case jsontensor.KindTrue:
		return true, true
	case jsontensor.KindFalse:
		return false, true
	}
	return false, false
}

// binaryDataSize reads an input's binary_data_size parameter.
func binaryDataSize(tree *jsontensor.Tree, in jsontensor.Node) (uint64, bool, error) {
	p := tree.Member(in, "parameters")
	if p < 0 {
		return 0, false, nil
	}
	if tree.Kind(p) != jsontensor.KindObject {
		return 0, false, badField("parameters", "an object")
	}
	if tree.Member(p, "shared_memory_region") >= 0 {
		return 0, false, status.New(status.Unimplemented, "the shared memory extensions are not supported")
	}
	n := tree.Member(p, "binary_data_size")
	if n < 0 {
		return 0, false, nil
	}
	v, ok := tree.Uint64(n)
	if !ok {
		return 0, false, badField("binary_data_size", "a non-negative integer")
	}
	return v, true, nil
}

// rawData is an input's contents in the binary layout (binary data
// extension, gRPC raw_input_contents).
type rawData []byte

func (d rawData) decode(name string, dt tensor.DType, shape []int64, n int64, budget *limits.Budget) (*tensor.Tensor, error) {
	return fromRaw(name, dt, shape, n, d, budget)
}

// jsonData is an input's JSON "data" array, nested or flat.
type jsonData struct {
	tree *jsontensor.Tree
	arr  jsontensor.Node
}

// decode walks the array's subtree in order (the tree is in pre-order, so
// no recursion on nesting), first counting the elements against the shape
// without allocating, then filling the tensor.
func (d jsonData) decode(name string, dt tensor.DType, shape []int64, n int64, budget *limits.Budget) (*tensor.Tensor, error) {
	if dt == tensor.Half || dt == tensor.BFloat16 {
		return nil, status.New(status.InvalidArgument, "receiving "+DatatypeOf(dt)+
			" data via JSON is not supported. Please use the binary data format for input "+name)
	}
	t := d.tree
	end := t.End(d.arr)
	count := int64(0)
	for i := d.arr + 1; i < end; i++ {
		switch t.Kind(i) {
		case jsontensor.KindArray:
			continue
		case jsontensor.KindObject:
			return nil, status.New(status.InvalidArgument, "input '"+name+"': 'data' holds an object; want "+
				DatatypeOf(dt)+" values in (nested) arrays")
		}
		count++
	}
	if count != n {
		return nil, status.New(status.InvalidArgument, "input '"+name+"': shape "+shapeString(shape)+" has "+
			strconv.FormatInt(n, 10)+" elements, but 'data' holds "+strconv.FormatInt(count, 10))
	}
	out := tensor.New(dt, tensorShape(shape))
	k := 0
	bad := func(i jsontensor.Node) error {
		return status.New(status.InvalidArgument, "input '"+name+"': element "+strconv.Itoa(k)+" of 'data' ("+
			kindName(t, i)+") is not a valid "+DatatypeOf(dt)+" value")
	}
	for i := d.arr + 1; i < end; i++ {
		if t.Kind(i) == jsontensor.KindArray {
			continue
		}
		switch v := out.Data.(type) {
		case []bool:
			b, ok := jsonBool(t, i)
			if !ok {
				return nil, bad(i)
			}
			v[k] = b
		case []float32:
			if t.Kind(i) != jsontensor.KindNumber {
				return nil, bad(i)
			}
			v[k] = float32(t.Float64(i))
		case []float64:
			if t.Kind(i) != jsontensor.KindNumber {
				return nil, bad(i)
			}
			v[k] = t.Float64(i)
		case []string:
			if t.Kind(i) != jsontensor.KindString {
				return nil, bad(i)
			}
			s := t.Str(i)
			if err := budget.Take(0, int64(len(s))); err != nil {
				return nil, status.New(status.CodeOf(err), "input '"+name+"': "+err.Error())
			}
			v[k] = string(s)
		case []uint64:
			x, ok := t.Uint64(i)
			if !ok {
				return nil, bad(i)
			}
			v[k] = x
		default:
			x, ok := t.Int64(i)
			if !ok || !setInt(out.Data, k, x) {
				return nil, bad(i)
			}
		}
		k++
	}
	return out, nil
}

// setInt stores x at data[k] when it fits the slice's integer type.
func setInt(data any, k int, x int64) bool {
	switch v := data.(type) {
	case []int8:
		if x < math.MinInt8 || x > math.MaxInt8 {
			return false
		}
		v[k] = int8(x)
	case []int16:
		if x < math.MinInt16 || x > math.MaxInt16 {
			return false
		}
		v[k] = int16(x)
	case []int32:
		if x < math.MinInt32 || x > math.MaxInt32 {
			return false
		}
		v[k] = int32(x)
	case []int64:
		v[k] = x
	case []uint8:
		if x < 0 || x > math.MaxUint8 {
			return false
		}
		v[k] = uint8(x)
	case []uint16:
		if x < 0 || x > math.MaxUint16 {
			return false
		}
		v[k] = uint16(x)
	case []uint32:
		if x < 0 || x > math.MaxUint32 {
			return false
		}
		v[k] = uint32(x)
	default:
		return false
	}
	return true
}

func kindName(t *jsontensor.Tree, n jsontensor.Node) string {
	switch t.Kind(n) {
	case jsontensor.KindNull:
		return "null"
	case jsontensor.KindTrue:
		return "true"
	case jsontensor.KindFalse:
		return "false"
	case jsontensor.KindString:
		return "a string"
	case jsontensor.KindNumber:
		if t.IsInteger(n) {
			return "an integer"
		}
		return "a number"
	}
	return "a value"
}

// appendJSONString appends s as a JSON string; ok is false when s is not
// valid UTF-8 (JSON cannot carry it: the client must ask for binary data).
func appendJSONString(b []byte, s string) ([]byte, bool) {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return b, false
		}
		b = append(b, s[i:i+size]...)
		i += size
	}
	return append(b, '"'), true
}

// responseCheck is how often (in elements) the JSON writer checks the
// response budget.
const responseCheck = 4096

// appendJSONData appends t's elements as a flat JSON array, failing once
// the whole response passes max bytes.
func appendJSONData(b []byte, name string, t *tensor.Tensor, max int64) ([]byte, error) {
	over := func() error {
		return limits.Exceeded("response", int64(len(b)), max, "response_max_bytes")
	}
	b = append(b, '[')
	n := t.Len()
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		if i%responseCheck == responseCheck-1 && int64(len(b)) > max {
			return b, over()
		}
		switch v := t.Data.(type) {
		case []bool:
			if v[i] {
				b = append(b, "true"...)
			} else {
				b = append(b, "false"...)
			}
		case []float32:
			b = jsontensor.AppendFloat32(b, v[i])
		case []float64:
			b = jsontensor.AppendFloat64(b, v[i])
		case []int8:
			b = strconv.AppendInt(b, int64(v[i]), 10)
		case []int16:
			b = strconv.AppendInt(b, int64(v[i]), 10)
		case []int32:
			b = strconv.AppendInt(b, int64(v[i]), 10)
		case []int64:
			b = strconv.AppendInt(b, v[i], 10)
		case []uint8:
			b = strconv.AppendUint(b, uint64(v[i]), 10)
		case []uint16:
			if t.DType == tensor.Half || t.DType == tensor.BFloat16 {
				return b, status.New(status.InvalidArgument, "sending "+DatatypeOf(t.DType)+
					" data via JSON is not supported. Please use the binary data format for output "+name)
			}
			b = strconv.AppendUint(b, uint64(v[i]), 10)
		case []uint32:
			b = strconv.AppendUint(b, uint64(v[i]), 10)
		case []uint64:
			b = strconv.AppendUint(b, v[i], 10)
		case []string:
			var ok bool
			if b, ok = appendJSONString(b, v[i]); !ok {
				return b, status.New(status.InvalidArgument, "output '"+name+"' element "+strconv.Itoa(i)+
					" is not valid UTF-8, which JSON cannot carry: request the output with \"binary_data\": true")
			}
		default:
			return b, status.New(status.Unimplemented, "output '"+name+"' has type "+t.DType.Name()+
				", which the Open Inference Protocol cannot represent")
		}
	}
	b = append(b, ']')
	if int64(len(b)) > max {
		return b, over()
	}
	return b, nil
}

// appendRESTResponse appends the JSON inference response and, for outputs
// sent as binary data, returns their tensors in order (written after the
// JSON by the caller). The JSON's size plus the binary data's stays within
// max.
func appendRESTResponse(b []byte, req *restRequest, res *result, max int64) ([]byte, []*tensor.Tensor, error) {
	b = append(b, '{')
	if req.id != "" {
		b = append(b, `"id":`...)
		var ok bool
		if b, ok = appendJSONString(b, req.id); !ok {
			return b, nil, status.New(status.InvalidArgument, "the request id is not valid UTF-8")
		}
		b = append(b, ',')
	}
	b = append(b, `"model_name":`...)
	b, _ = appendJSONString(b, res.model)
	b = append(b, `,"model_version":"`...)
	b = strconv.AppendInt(b, res.version, 10)
	b = append(b, `","outputs":[`...)
	var bin []*tensor.Tensor
	binBytes := int64(0)
	for i, name := range res.names {
		t := res.tensors[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b, _ = appendJSONString(b, name)
		b = append(b, `,"datatype":"`...)
		b = append(b, DatatypeOf(t.DType)...)
		b = append(b, `","shape":[`...)
		for j, d := range t.Shape {
			if j > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(d), 10)
		}
		b = append(b, ']')
		binary := req.binaryOutput
		if req.binary != nil {
			binary = req.binary[i]
		}
		if binary {
			sz, ok := rawSize(t)
			if !ok {
				return b, nil, status.New(status.Unimplemented, "output '"+name+"' cannot be sent as binary data")
			}
			binBytes += sz
			if binBytes > max {
				return b, nil, limits.Exceeded("response", binBytes, max, "response_max_bytes")
			}
			b = append(b, `,"parameters":{"binary_data_size":`...)
			b = strconv.AppendInt(b, sz, 10)
			b = append(b, "}}"...)
			bin = append(bin, t)
			continue
		}
		b = append(b, `,"data":`...)
		var err error
		if b, err = appendJSONData(b, name, t, max-binBytes); err != nil {
			return b, nil, err
		}
		b = append(b, '}')
	}
	b = append(b, "]}"...)
	if int64(len(b))+binBytes > max {
		return b, nil, limits.Exceeded("response", int64(len(b))+binBytes, max, "response_max_bytes")
	}
	return b, bin, nil
}
