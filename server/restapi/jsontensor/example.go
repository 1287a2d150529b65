package jsontensor

import (
	"bytes"
	"math"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/limits"
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
// the same list kind. The request is held to the default limits (see
// ParseClassifyRegressRequestLimited).
func ParseClassifyRegressRequest(body []byte) (*ClassifyRegressRequest, error) {
	return ParseClassifyRegressRequestLimited(body, limits.NewBudget(limits.Request{}))
}

// ParseClassifyRegressRequestLimited is ParseClassifyRegressRequest within
// budget: the JSON may nest at most MaxJSONDepth deep, and every serialized
// Example (one element of 16 bytes plus its size) is charged to budget
// before it is allocated.
func ParseClassifyRegressRequestLimited(body []byte, budget *limits.Budget) (*ClassifyRegressRequest, error) {
	doc, err := parseJSON(body, budget.Limits().MaxJSONDepth)
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
	var scratch []byte // b64 decoding while sizing features
	if c := doc.findMember(0, "context"); c >= 0 {
		ctx, err := doc.makeExample(c, budget, &scratch)
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
		b, err := doc.makeExample(e, budget, &scratch)
		if err != nil {
			return nil, err
		}
		req.Examples = append(req.Examples, b)
		e = doc.next(e)
	}
	return req, nil
}

// InputStrings returns SerializedInputs as strings (the input tensor's
// elements), charging budget for all of them (16 bytes each plus the
// merged size) before they are allocated: a large context repeated for
// many examples is refused here.
func (r *ClassifyRegressRequest) InputStrings(budget *limits.Budget) ([]string, error) {
	n := int64(len(r.Examples))
	total := n * (16 + int64(len(r.Context)))
	for _, e := range r.Examples {
		total += int64(len(e))
	}
	if err := budget.Take(n, total); err != nil {
		return nil, err
	}
	out := make([]string, len(r.Examples))
	for i, e := range r.Examples {
		out[i] = string(r.Context) + string(e)
	}
	return out, nil
}

// Feature kinds, numbered as the tensorflow.Feature oneof fields.
const (
	kindNotSet = 0
	kindBytes  = 1
	kindFloat  = 2
	kindInt64  = 3
)

var kindNames = [...]string{kindNotSet: "UNKNOWN", kindBytes: "bytes", kindFloat: "float", kindInt64: "int64"}

// member is one feature of an Example being built: its key node, list kind
// and the size of its list's packed or repeated payload.
type member struct {
	key  int32
	kind uint8
	size int
}

func (m *member) want(name []byte, k uint8) error {
	if m.kind != kindNotSet && m.kind != k {
		return status.New(status.InvalidArgument, "Unexpected element type in feature: "+string(name)+" expecting type: "+kindNames[m.kind])
	}
	m.kind = k
	return nil
}

// sizeFeatureValue is TF Serving's AddValueToFeature without storing the
// value: it checks value i and adds its encoded size to m. scratch holds
// base64 decoding.
func (d *document) sizeFeatureValue(i int, name []byte, m *member, scratch *[]byte) error {
	n := &d.nodes[i]
	switch n.kind {
	case kNull, kArray:
		return status.New(status.InvalidArgument, "Feature: "+string(name)+" has element with unexpected JSON type: "+d.jsonTypeString(i))
	case kFalse, kTrue:
		if err := m.want(name, kindInt64); err != nil {
			return err
		}
		m.size++
	case kObject:
		if !d.isB64Object(i) {
			return status.New(status.InvalidArgument, "Feature: "+string(name)+" has element with unexpected JSON type: Object")
		}
		if err := m.want(name, kindBytes); err != nil {
			return err
		}
		b, ok := base64Unescape((*scratch)[:0], d.str(i+2))
		*scratch = b
		if !ok {
			return status.New(status.InvalidArgument, "Unable to base64 decode")
		}
		m.size += protowire.SizeTag(1) + protowire.SizeBytes(len(b))
	case kString:
		if err := m.want(name, kindBytes); err != nil {
			return err
		}
		m.size += protowire.SizeTag(1) + protowire.SizeBytes(int(n.n))
	case kNumber:
		if n.flags&fDouble != 0 {
			if err := m.want(name, kindFloat); err != nil {
				return err
			}
			m.size += 4
			return nil
		}
		if err := m.want(name, kindInt64); err != nil {
			return err
		}
		if n.flags&fInt64 == 0 {
			return status.New(status.InvalidArgument, "Feature: "+string(name)+" has uint64_t element. Only int64_t is supported.")
		}
		m.size += protowire.SizeVarint(n.v)
	}
	return nil
}

// values calls f with each value of member value v: the elements of a list,
// or v itself.
func (d *document) values(v int, f func(i int) error) error {
	if d.nodes[v].kind != kArray {
		return f(v)
	}
	e := v + 1
	for range d.nodes[v].n {
		if err := f(e); err != nil {
			return err
		}
		e = d.next(e)
	}
	return nil
}

// makeExample is TF Serving's MakeExampleFromJsonObject followed by proto
// serialization. A later member with the same name replaces an earlier one
// (proto map assignment). Features are written in name order. Values are
// checked and sized in one pass over the members in order (so errors come in
// TF Serving's order), the result is charged to budget, then written in one
// allocation from the document.
func (d *document) makeExample(obj int, budget *limits.Budget, scratch *[]byte) ([]byte, error) {
	if d.nodes[obj].kind != kObject {
		return nil, status.New(status.InvalidArgument, "Example must be JSON object but got JSON "+d.jsonTypeString(obj))
	}
	count := int(d.nodes[obj].n)
	if count == 0 {
		return []byte{}, budget.Take(1, 16) // an Example with no features field set
	}
	members := make([]member, 0, count)
	k := obj + 1
	for range count {
		m := member{key: int32(k)}
		name := d.str(k)
		if err := d.values(k+1, func(i int) error { return d.sizeFeatureValue(i, name, &m, scratch) }); err != nil {
			return nil, err
		}
		members = append(members, m)
		k = d.next(k + 1)
	}
	// Name order; of equal names the last one written wins.
	slices.SortStableFunc(members, func(a, b member) int { return bytes.Compare(d.str(int(a.key)), d.str(int(b.key))) })
	kept := members[:0]
	for i, m := range members {
		if i+1 < len(members) && bytes.Equal(d.str(int(m.key)), d.str(int(members[i+1].key))) {
			continue
		}
		kept = append(kept, m)
	}
	features := 0
	for _, m := range kept {
		features += entrySize(len(d.str(int(m.key))), m)
	}
	total := protowire.SizeTag(1) + protowire.SizeBytes(features)
	if err := budget.Take(1, 16+int64(total)); err != nil {
		return nil, err
	}
	// Example{features = 1: Features{repeated map entry feature = 1}}
	out := make([]byte, 0, total)
	out = protowire.AppendTag(out, 1, protowire.BytesType)
	out = protowire.AppendVarint(out, uint64(features))
	for _, m := range kept {
		out = d.appendFeatureEntry(out, m)
	}
	return out, nil
}

// listSize is the size of a feature's Feature message.
func listSize(m member) int {
	l := m.size
	if m.kind == kindFloat || m.kind == kindInt64 {
		l = protowire.SizeTag(1) + protowire.SizeBytes(m.size) // packed
	}
	if m.kind == kindNotSet {
		return 0
	}
	return protowire.SizeTag(1) + protowire.SizeBytes(l)
}

// entrySize is the size of one Features.feature map entry field.
func entrySize(nameLen int, m member) int {
	e := protowire.SizeTag(1) + protowire.SizeBytes(nameLen) + protowire.SizeTag(2) + protowire.SizeBytes(listSize(m))
	return protowire.SizeTag(1) + protowire.SizeBytes(e)
}

// appendFeatureEntry appends one Features.feature map entry (field 1):
// {key = 1: name, value = 2: Feature{bytes_list = 1 | float_list = 2 |
// int64_list = 3: {value = 1, packed for numbers}}}.
func (d *document) appendFeatureEntry(b []byte, m member) []byte {
	name := d.str(int(m.key))
	fb := listSize(m)
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(protowire.SizeTag(1)+protowire.SizeBytes(len(name))+protowire.SizeTag(2)+protowire.SizeBytes(fb)))
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendBytes(b, name)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(fb))
	if m.kind == kindNotSet {
		return b
	}
	b = protowire.AppendTag(b, protowire.Number(m.kind), protowire.BytesType)
	if m.kind == kindBytes {
		b = protowire.AppendVarint(b, uint64(m.size))
	} else {
		b = protowire.AppendVarint(b, uint64(protowire.SizeTag(1)+protowire.SizeBytes(m.size)))
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(m.size))
	}
	_ = d.values(int(m.key)+1, func(i int) error {
		b = d.appendFeatureValue(b, i)
		return nil
	})
	return b
}

// appendFeatureValue appends one checked value in its list's encoding.
func (d *document) appendFeatureValue(b []byte, i int) []byte {
	n := &d.nodes[i]
	switch n.kind {
	case kFalse:
		return append(b, 0)
	case kTrue:
		return append(b, 1)
	case kObject: // {"b64": ...}, valid: decoded straight into b
		src := d.str(i + 2)
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(b64DecodedLen(src)))
		b, _ = base64Unescape(b, src)
		return b
	case kString:
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		return protowire.AppendBytes(b, d.str(i))
	}
	if n.flags&fDouble != 0 {
		return protowire.AppendFixed32(b, math.Float32bits(float32(math.Float64frombits(n.v))))
	}
	return protowire.AppendVarint(b, n.v)
}

// b64DecodedLen is the length base64Unescape decodes valid src to.
func b64DecodedLen(src []byte) int {
	c := 0
	for _, ch := range src {
		if unbase64(ch) >= 0 {
			c++
		} else if ch == '=' || ch == '.' {
			break
		}
	}
	return c/4*3 + [4]int{0, 0, 1, 2}[c%4]
}
