package jsontensor

import (
	"math"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/status"
)

// ClassifyRegressRequest is a decoded REST classify or regress request.
type ClassifyRegressRequest struct {
	// SignatureName is the request's "signature_name", or
	// servable.DefaultSignature when it is absent or empty.
	SignatureName string
	// Examples are the serialized tensorflow.Example protos of "examples",
	// in order, without the context.
	Examples [][]byte
	// Context is the serialized "context" Example, or nil when the request
	// has none (an empty context object serializes to an empty, non-nil
	// slice).
	Context []byte
}

// SerializedInputs returns what TF Serving feeds to the signature's input
// tensor: each example's bytes prefixed with the context's bytes. Parsing the
// concatenation merges the two Examples, the example's features overriding
// the context's (servables/tensorflow/util.cc InputToSerializedExampleTensor).
func (r *ClassifyRegressRequest) SerializedInputs() [][]byte {
	return MergeContext(r.Context, r.Examples)
}

// MergeContext prefixes every serialized example with the serialized context,
// as TF Serving does for an ExampleListWithContext. A nil context returns
// examples unchanged.
func MergeContext(context []byte, examples [][]byte) [][]byte {
	if context == nil {
		return examples
	}
	out := make([][]byte, len(examples))
	for i, e := range examples {
		b := make([]byte, 0, len(context)+len(e))
		b = append(b, context...)
		out[i] = append(b, e...)
	}
	return out
}

// ParseClassifyRegressRequest decodes a REST classify or regress body as TF
// Serving's FillClassifyRegressRequestFromJson does, with the same error
// messages (all InvalidArgument). Feature values map to tf.Example lists as
// TF Serving maps them: strings and {"b64": ...} to bytes_list, numbers
// written with a fraction or exponent (and NaN/Infinity) to float_list,
// integers and booleans to int64_list. A feature's values must all map to
// the same list kind.
func ParseClassifyRegressRequest(body []byte) (*ClassifyRegressRequest, error) {
	doc, err := parseJSON(body)
	if err != nil {
		return nil, err
	}
	signame, err := doc.signatureName()
	if err != nil {
		return nil, err
	}
	if signame == "" {
		signame = servable.DefaultSignature
	}
	req := &ClassifyRegressRequest{SignatureName: signame}
	if c := doc.findMember(0, "context"); c >= 0 {
		ctx, err := doc.makeExample(c)
		if err != nil {
			return nil, err
		}
		req.Context = ctx
	}
	ex := doc.findMember(0, "examples")
	if ex < 0 {
		return nil, doc.formatError("When method is classify, key 'examples' is expected and was not found")
	}
	if doc.nodes[ex].kind != kArray {
		return nil, doc.formatError("Expecting 'examples' value to be an list/array")
	}
	if doc.nodes[ex].n == 0 {
		return nil, doc.formatError("'examples' value is an empty array")
	}
	req.Examples = make([][]byte, 0, doc.nodes[ex].n)
	e := ex + 1
	for range doc.nodes[ex].n {
		b, err := doc.makeExample(e)
		if err != nil {
			return nil, err
		}
		req.Examples = append(req.Examples, b)
		e = int(doc.nodes[e].next)
	}
	return req, nil
}

// Feature kinds, numbered as the tensorflow.Feature oneof fields.
const (
	kindNotSet = 0
	kindBytes  = 1
	kindFloat  = 2
	kindInt64  = 3
)

type feature struct {
	kind   int
	bytes  [][]byte
	floats []float32
	ints   []int64
}

var kindNames = [...]string{kindNotSet: "UNKNOWN", kindBytes: "bytes", kindFloat: "float", kindInt64: "int64"}

func (f *feature) want(name string, k int) error {
	if f.kind != kindNotSet && f.kind != k {
		return status.New(status.InvalidArgument, "Unexpected element type in feature: "+name+" expecting type: "+kindNames[f.kind])
	}
	f.kind = k
	return nil
}

// addFeatureValue is TF Serving's AddValueToFeature.
func (d *document) addFeatureValue(i int, name string, f *feature) error {
	n := &d.nodes[i]
	switch n.kind {
	case kNull, kArray:
		return status.New(status.InvalidArgument, "Feature: "+name+" has element with unexpected JSON type: "+d.jsonTypeString(i))
	case kFalse, kTrue:
		if err := f.want(name, kindInt64); err != nil {
			return err
		}
		v := int64(0)
		if n.kind == kTrue {
			v = 1
		}
		f.ints = append(f.ints, v)
	case kObject:
		if !d.isB64Object(i) {
			return status.New(status.InvalidArgument, "Feature: "+name+" has element with unexpected JSON type: Object")
		}
		if err := f.want(name, kindBytes); err != nil {
			return err
		}
		b, err := d.decodeB64(i)
		if err != nil {
			return err
		}
		f.bytes = append(f.bytes, b)
	case kString:
		if err := f.want(name, kindBytes); err != nil {
			return err
		}
		f.bytes = append(f.bytes, d.str(i))
	case kNumber:
		if n.flags&fDouble != 0 {
			if err := f.want(name, kindFloat); err != nil {
				return err
			}
			f.floats = append(f.floats, float32(math.Float64frombits(n.v)))
			return nil
		}
		if err := f.want(name, kindInt64); err != nil {
			return err
		}
		if n.flags&fInt64 == 0 {
			return status.New(status.InvalidArgument, "Feature: "+name+" has uint64_t element. Only int64_t is supported.")
		}
		f.ints = append(f.ints, int64(n.v))
	}
	return nil
}

// makeExample is TF Serving's MakeExampleFromJsonObject followed by proto
// serialization. A later member with the same name replaces an earlier one
// (proto map assignment). Features are written in name order.
func (d *document) makeExample(obj int) ([]byte, error) {
	if d.nodes[obj].kind != kObject {
		return nil, status.New(status.InvalidArgument, "Example must be JSON object but got JSON "+d.jsonTypeString(obj))
	}
	m := int(d.nodes[obj].n)
	if m == 0 {
		return []byte{}, nil // an Example with no features field set
	}
	names := make([]string, 0, m)
	feats := make(map[string]*feature, m)
	k := obj + 1
	for range m {
		v := k + 1
		name := string(d.str(k))
		f := &feature{}
		if d.nodes[v].kind == kArray {
			e := v + 1
			for range d.nodes[v].n {
				if err := d.addFeatureValue(e, name, f); err != nil {
					return nil, err
				}
				e = int(d.nodes[e].next)
			}
		} else if err := d.addFeatureValue(v, name, f); err != nil {
			return nil, err
		}
		if _, dup := feats[name]; !dup {
			names = append(names, name)
		}
		feats[name] = f
		k = int(d.nodes[v].next)
	}
	slices.Sort(names)
	var features []byte
	for _, name := range names {
		features = appendFeatureEntry(features, name, feats[name])
	}
	// Example{features = 1}
	out := protowire.AppendTag(nil, 1, protowire.BytesType)
	return protowire.AppendBytes(out, features), nil
}

// appendFeatureEntry appends one Features.feature map entry (field 1):
// {key = 1: name, value = 2: Feature}.
func appendFeatureEntry(b []byte, name string, f *feature) []byte {
	var fb []byte // Feature
	switch f.kind {
	case kindBytes: // bytes_list = 1: BytesList{repeated bytes value = 1}
		var l []byte
		for _, v := range f.bytes {
			l = protowire.AppendTag(l, 1, protowire.BytesType)
			l = protowire.AppendBytes(l, v)
		}
		fb = protowire.AppendTag(fb, 1, protowire.BytesType)
		fb = protowire.AppendBytes(fb, l)
	case kindFloat: // float_list = 2: FloatList{repeated float value = 1 [packed]}
		var p []byte
		for _, v := range f.floats {
			p = protowire.AppendFixed32(p, math.Float32bits(v))
		}
		var l []byte
		l = protowire.AppendTag(l, 1, protowire.BytesType)
		l = protowire.AppendBytes(l, p)
		fb = protowire.AppendTag(fb, 2, protowire.BytesType)
		fb = protowire.AppendBytes(fb, l)
	case kindInt64: // int64_list = 3: Int64List{repeated int64 value = 1 [packed]}
		var p []byte
		for _, v := range f.ints {
			p = protowire.AppendVarint(p, uint64(v))
		}
		var l []byte
		l = protowire.AppendTag(l, 1, protowire.BytesType)
		l = protowire.AppendBytes(l, p)
		fb = protowire.AppendTag(fb, 3, protowire.BytesType)
		fb = protowire.AppendBytes(fb, l)
	}
	var entry []byte
	entry = protowire.AppendTag(entry, 1, protowire.BytesType)
	entry = protowire.AppendString(entry, name)
	entry = protowire.AppendTag(entry, 2, protowire.BytesType)
	entry = protowire.AppendBytes(entry, fb)
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	return protowire.AppendBytes(b, entry)
}
