package jsontensor

import (
	"slices"
	"strconv"
	"strings"

	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/tensor"
)

// Format is the layout of a predict request, which its response repeats.
type Format int

// Predict request formats (TF Serving's JsonPredictRequestFormat).
const (
	FormatInvalid Format = iota
	// Row is the "instances" format: a list with one element per batch row;
	// answered with "predictions".
	Row
	// Columnar is the "inputs" format: one value or a name → tensor object;
	// answered with "outputs".
	Columnar
)

// String returns "row", "columnar" or "invalid".
func (f Format) String() string {
	switch f {
	case Row:
		return "row"
	case Columnar:
		return "columnar"
	}
	return "invalid"
}

// PredictRequest is a decoded REST predict request.
type PredictRequest struct {
	// SignatureName is the signature to run: the request's "signature_name",
	// or servable.DefaultSignature when it is absent or empty.
	SignatureName string
	// Inputs holds one tensor per signature input alias. In row format with
	// a signature of several inputs whose first instance is a {"b64": ...}
	// value, TF Serving fills only the first input (by name) and leaves the
	// mismatch to the predictor; so do we.
	Inputs map[string]*tensor.Tensor
	Format Format
}

// ErrSignatureNotFound returns TF Serving's error for a signature name the
// model lacks (http_rest_api_handler.cc GetInfoMap), for use by the sigs
// callback of ParsePredictRequest.
func ErrSignatureNotFound(name string) error {
	return status.New(status.InvalidArgument, "Serving signature name: \""+name+"\" not found in signature def")
}

// ParsePredictRequest decodes a REST predict body exactly as TF Serving's
// FillPredictRequestFromJson does, with the same error messages. sigs is
// called once with the signature name (servable.DefaultSignature when the
// request names none) and its error is returned unchanged; only the dtypes of
// the signature's inputs are used (shapes are not checked here, as in TF
// Serving). Errors carry status codes: InvalidArgument for bad input,
// Unimplemented for input dtypes JSON cannot express (e.g. half, bfloat16) in
// columnar format; in row format TF Serving wraps that error into an
// InvalidArgument, and so do we. The request is held to the default limits
// (see ParsePredictRequestLimited).
func ParsePredictRequest(body []byte, sigs func(name string) (*servable.Signature, error)) (*PredictRequest, error) {
	return ParsePredictRequestLimited(body, limits.NewBudget(limits.Request{}), sigs)
}

// ParsePredictRequestLimited is ParsePredictRequest within budget: the JSON
// may nest at most MaxJSONDepth deep, every input tensor has rank at most
// MaxRank, and each tensor's elements and bytes (4 or 8 per number, 16 per
// string plus its payload) are charged to budget before they are allocated.
// A request over a limit fails with INVALID_ARGUMENT naming the limit's flag.
// Memory used while parsing stays within a small multiple of len(body) (see
// the package tests for measured factors).
//
// Bodies of dense numeric arrays are decoded without a DOM (fastpath.go);
// every other body, and every error, comes from the DOM decoder.
func ParsePredictRequestLimited(body []byte, budget *limits.Budget, sigs func(name string) (*servable.Signature, error)) (*PredictRequest, error) {
	sigs = onceSigs(sigs)
	if req, ok := fastDecode(body, budget, sigs, false); ok {
		return req, nil
	}
	return parsePredictDOM(body, budget, sigs)
}

// parsePredictDOM is ParsePredictRequestLimited through the DOM.
func parsePredictDOM(body []byte, budget *limits.Budget, sigs func(name string) (*servable.Signature, error)) (*PredictRequest, error) {
	doc, err := parseJSON(body, budget.Limits().MaxJSONDepth)
	if err != nil {
		return nil, err
	}
	signame, err := doc.signatureName()
	if err != nil {
		return nil, err
	}
	resolved := signame
	if resolved == "" {
		resolved = servable.DefaultSignature
	}
	sig, err := sigs(resolved)
	if err != nil {
		return nil, err
	}
	if sig == nil || len(sig.Inputs) == 0 {
		shown := signame
		if shown == "" {
			shown = "DEFAULT"
		}
		return nil, status.New(status.InvalidArgument, "Failed to get input map for signature: "+shown)
	}
	names := make([]string, 0, len(sig.Inputs))
	for n := range sig.Inputs {
		names = append(names, n)
	}
	slices.Sort(names)

	req := &PredictRequest{SignatureName: resolved}
	instances := doc.findMember(0, "instances")
	inputs := doc.findMember(0, "inputs")
	switch {
	case instances >= 0:
		if inputs >= 0 {
			return nil, doc.formatError("Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist ")
		}
		if doc.nodes[instances].kind != kArray {
			return nil, doc.formatError("Expecting 'instances' to be an list/array")
		}
		if doc.nodes[instances].n == 0 {
			return nil, doc.formatError("No values in 'instances' array")
		}
		req.Format = Row
		req.Inputs, err = doc.fillFromInstances(instances, sig, names, budget)
	case inputs >= 0:
		req.Format = Columnar
		req.Inputs, err = doc.fillFromInputs(inputs, sig, names, budget)
	default:
		return nil, status.New(status.InvalidArgument, "Missing 'inputs' or 'instances' key")
	}
	if err != nil {
		return nil, err
	}
	return req, nil
}

// signatureName reads the optional top-level "signature_name".
func (d *document) signatureName() (string, error) {
	i := d.findMember(0, "signature_name")
	if i < 0 {
		return "", nil
	}
	if d.nodes[i].kind != kString {
		return "", status.New(status.InvalidArgument, "JSON Value: "+d.debugString(0)+
			" not formatted correctly. 'signature_name' key must be a string value.")
	}
	return string(d.str(i)), nil
}

// formatError is TF Serving's FormatError(doc, ...): the whole request
// (truncated) followed by the message.
func (d *document) formatError(msg string) error {
	return status.New(status.InvalidArgument, "JSON Value: "+d.debugString(0)+" "+msg)
}

// isElementObject: an object that is not a {"b64": ...} value.
func (d *document) isElementObject(i int) bool {
	return d.nodes[i].kind == kObject && !d.isB64Object(i)
}

// instanceState tracks, per input, the values so far and the size and shape
// of the first instance.
type instanceState struct {
	b     builder
	seen  bool
	size  int
	shape tensor.Shape
	// lastElem is the instance index that last wrote this input, to reject a
	// key repeated within one instance object.
	lastElem int
}

func (d *document) fillFromInstances(arr int, sig *servable.Signature, names []string, budget *limits.Budget) (map[string]*tensor.Tensor, error) {
	first := arr + 1
	if d.nodes[first].kind != kObject && len(names) > 1 {
		return nil, status.New(status.InvalidArgument,
			"instances is a plain list, but expecting list of objects as multiple input tensors required as per tensorinfo_map")
	}
	objects := d.isElementObject(first)
	count := int(d.nodes[arr].n)
	states := make([]instanceState, len(names))
	for k, n := range names {
		states[k].b.dtype = sig.Inputs[n].DType
		states[k].b.budget = budget
		states[k].lastElem = -1
	}
	var seen []bool
	if objects {
		seen = make([]bool, len(names))
	}
	elem := first
	for item := range count {
		if objects {
			if !d.isElementObject(elem) {
				return nil, status.Errorf(status.InvalidArgument, "Expecting object but got list at item %d of input list", item)
			}
			clear(seen)
			m := int(d.nodes[elem].n)
			k := elem + 1
			for range m {
				v := k + 1
				key := d.str(k)
				idx, found := slices.BinarySearchFunc(names, key, compareStringBytes)
				name := ""
				if found {
					name = names[idx]
				} else {
					name = string(key)
				}
				var err error
				if !found {
					err = status.New(status.InvalidArgument, "JSON object: does not have named input: "+name)
				} else if states[idx].lastElem == item {
					// TF Serving would append the repeated key's values to the
					// same tensor and feed a tensor whose value count does not
					// match its shape; we reject the request instead.
					err = status.New(status.InvalidArgument, "Duplicate key: "+name)
				} else {
					err = d.addInstanceItem(v, &states[idx], item, count)
					seen[idx] = true
				}
				if err != nil {
					return nil, status.Errorf(status.InvalidArgument,
						"Failed to process element: %d key: %s of 'instances' list. Error: %s", item, name, status.StatusString(err))
				}
				k = d.next(v)
			}
			if slices.Contains(seen, false) {
				return nil, status.Errorf(status.InvalidArgument,
					"Failed to process element: %d of 'instances' list. JSON object: %s keys must be equal to: %s",
					item, d.debugString(elem), strings.Join(names, ","))
			}
		} else {
			if d.isElementObject(elem) {
				return nil, status.Errorf(status.InvalidArgument, "Expecting value/list but got object at item %d of input list", item)
			}
			if err := d.addInstanceItem(elem, &states[0], item, count); err != nil {
				return nil, status.Errorf(status.InvalidArgument,
					"Failed to process element: %d of 'instances' list. Error: %s", item, status.StatusString(err))
			}
		}
		elem = d.next(elem)
	}
	out := make(map[string]*tensor.Tensor, len(names))
	for k, n := range names {
		st := &states[k]
		if !st.seen {
			continue
		}
		shape := make(tensor.Shape, 0, len(st.shape)+1)
		shape = append(shape, count)
		shape = append(shape, st.shape...)
		out[n] = st.b.tensor(shape)
	}
	return out, nil
}

func compareStringBytes(a string, b []byte) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return len(a) - len(b)
}

// addInstanceItem is TF Serving's AddInstanceItem: fill one instance's
// values, then compare its size and shape with the first instance's. The
// first instance is checked against the rank limit and charged for all
// count instances (they must match it) before anything is allocated.
func (d *document) addInstanceItem(v int, st *instanceState, item, count int) error {
	st.lastElem = item
	shape := d.denseShape(v)
	if !st.seen {
		if err := st.b.budget.Rank(len(shape) + 1); err != nil {
			return err
		}
		if err := d.prepare(v, shape, int64(count), &st.b); err != nil {
			return err
		}
	}
	size, err := d.fill(v, shape, &st.b)
	if err != nil {
		return err
	}
	if !st.seen {
		st.seen, st.size, st.shape = true, size, shape
		return nil
	}
	if st.size != size {
		return status.Errorf(status.InvalidArgument, "Expecting tensor size: %d but got: %d", st.size, size)
	}
	if !st.shape.Equal(shape) {
		return status.New(status.InvalidArgument, "Expecting shape "+shapeString(st.shape)+" but got: "+shapeString(shape))
	}
	return nil
}

// prepare runs before the first value of a tensor is stored: it checks the
// first leaf's type (so a wrong dtype fails with TF Serving's message before
// any allocation), charges the budget for rows × the elements of shape, and
// reserves room for them. A shape claiming more elements than the document
// has nodes cannot be filled (fill fails with TF Serving's message), so it is
// neither charged nor reserved.
func (d *document) prepare(v int, shape tensor.Shape, rows int64, b *builder) error {
	leaf := v
	for d.nodes[leaf].kind == kArray && d.nodes[leaf].n > 0 {
		leaf++
	}
	if d.nodes[leaf].kind != kArray {
		probe := builder{dtype: b.dtype}
		if err := d.addValue(leaf, &probe); err != nil {
			return err
		}
	}
	n := limits.Elements(shapeDims(shape))
	if n < 0 || rows*n > int64(len(d.nodes)) {
		return nil
	}
	n *= rows
	if err := b.budget.Take(n, n*elementBytes(b.dtype)); err != nil {
		return err
	}
	b.reserve(int(n))
	return nil
}

func shapeDims(s tensor.Shape) []int64 {
	dims := make([]int64, len(s))
	for i, d := range s {
		dims[i] = int64(d)
	}
	return dims
}

// elementBytes is what one element of dt costs the budget before any string
// payload: its size, or a string header's 16 bytes.
func elementBytes(dt tensor.DType) int64 {
	switch dt {
	case tensor.Float64, tensor.Int64, tensor.Uint64:
		return 8
	case tensor.Float32, tensor.Int32, tensor.Uint32:
		return 4
	case tensor.Int16:
		return 2
	case tensor.String:
		return 16
	}
	return 1
}

func (d *document) fillFromInputs(val int, sig *servable.Signature, names []string, budget *limits.Budget) (map[string]*tensor.Tensor, error) {
	out := make(map[string]*tensor.Tensor, len(names))
	if d.nodes[val].kind != kObject || d.isB64Object(val) {
		if len(names) > 1 {
			return nil, status.New(status.InvalidArgument,
				"inputs is a plain value/list, but expecting an object as multiple input tensors required as per tensorinfo_map")
		}
		t, err := d.columnarTensor(val, sig.Inputs[names[0]].DType, budget)
		if err != nil {
			return nil, err
		}
		out[names[0]] = t
		return out, nil
	}
	for _, n := range names {
		item := d.findMember(val, n)
		if item < 0 {
			return nil, status.New(status.InvalidArgument, "Missing named input: "+n+" in 'inputs' object.")
		}
		t, err := d.columnarTensor(item, sig.Inputs[n].DType, budget)
		if err != nil {
			return nil, err
		}
		out[n] = t
	}
	return out, nil
}

func (d *document) columnarTensor(v int, dt tensor.DType, budget *limits.Budget) (*tensor.Tensor, error) {
	shape := d.denseShape(v)
	if err := budget.Rank(len(shape)); err != nil {
		return nil, err
	}
	b := builder{dtype: dt, budget: budget}
	if err := d.prepare(v, shape, 1, &b); err != nil {
		return nil, err
	}
	if _, err := d.fill(v, shape, &b); err != nil {
		return nil, err
	}
	return b.tensor(shape), nil
}

// denseShape is TF Serving's GetDenseTensorShape: the sizes of the first
// element at each nesting level.
func (d *document) denseShape(i int) tensor.Shape {
	shape := tensor.Shape{}
	for d.nodes[i].kind == kArray {
		n := int(d.nodes[i].n)
		shape = append(shape, n)
		if n == 0 {
			break
		}
		i++
	}
	return shape
}

// shapeString is TF Serving's ShapeToString: "[2,3]".
func shapeString(s tensor.Shape) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, d := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(d))
	}
	b.WriteByte(']')
	return b.String()
}

// fill is TF Serving's FillTensorProto, without recursion: it walks the
// pre-order nodes of value root, checks every list against shape and every
// leaf's level, and appends the leaves to b. It returns the leaf count.
func (d *document) fill(root int, shape tensor.Shape, b *builder) (int, error) {
	rank := len(shape)
	var stack []uint32 // remaining children of each open list
	count := 0
	i := root
	for {
		n := &d.nodes[i]
		if n.kind == kArray {
			level := len(stack)
			if level >= rank {
				return count, status.Errorf(status.InvalidArgument,
					"Encountered list at unexpected level: %d expected < %d", level, rank)
			}
			if int(n.n) != shape[level] {
				return count, status.Errorf(status.InvalidArgument,
					"Encountered list at unexpected size: %d at level: %d expected size: %d", n.n, level, shape[level])
			}
			if n.n > 0 {
				stack = append(stack, n.n)
				i++
				continue
			}
			i++
		} else {
			if level := len(stack); level != rank {
				return count, status.Errorf(status.InvalidArgument,
					"JSON Value: %s found at incorrect level: %d in the JSON DOM. Expected at level: %d",
					d.debugString(i), level+1, rank)
			}
			if err := d.addValue(i, b); err != nil {
				return count, err
			}
			count++
			i = d.next(i)
		}
		// A value at the current level is complete.
		for {
			if len(stack) == 0 {
				return count, nil
			}
			stack[len(stack)-1]--
			if stack[len(stack)-1] > 0 {
				break
			}
			stack = stack[:len(stack)-1]
		}
	}
}

func (d *document) typeError(i int, dt tensor.DType) error {
	return status.New(status.InvalidArgument, "JSON Value: "+d.debugString(i)+" Type: "+d.jsonTypeString(i)+
		" is not of expected type: "+dataTypeString(dt))
}

// addValue appends one leaf (TF Serving's AddValueToTensor, plus the base64
// object case of FillTensorProto).
func (d *document) addValue(i int, b *builder) error {
	n := &d.nodes[i]
	dt := b.dtype
	if n.kind == kObject {
		if dt != tensor.String {
			return d.typeError(i, dt)
		}
		if err := b.charge(d.b64Len(i)); err != nil {
			return err
		}
		s, err := d.decodeB64(i)
		if err != nil {
			return err
		}
		b.s = append(b.s, string(s))
		return nil
	}
	switch dt {
	case tensor.Float32:
		if n.kind != kNumber {
			return d.typeError(i, dt)
		}
		b.f32 = append(b.f32, float32(d.getDouble(i)))
	case tensor.Float64:
		if n.kind != kNumber {
			return d.typeError(i, dt)
		}
		b.f64 = append(b.f64, d.getDouble(i))
	case tensor.Int32, tensor.Int16, tensor.Int8, tensor.Uint8:
		if !d.is(i, fInt) {
			return d.typeError(i, dt)
		}
		// TF stores these in int_val and narrows with a C++ cast when it
		// builds the tensor: out-of-range values wrap, without an error.
		v := int32(n.v)
		switch dt {
		case tensor.Int32:
			b.i32 = append(b.i32, v)
		case tensor.Int16:
			b.i16 = append(b.i16, int16(v))
		case tensor.Int8:
			b.i8 = append(b.i8, int8(v))
		default:
			b.u8 = append(b.u8, uint8(v))
		}
	case tensor.String:
		if n.kind != kString {
			return d.typeError(i, dt)
		}
		if err := b.charge(int64(n.n)); err != nil {
			return err
		}
		b.s = append(b.s, string(d.str(i)))
	case tensor.Int64:
		if !d.is(i, fInt64) {
			return d.typeError(i, dt)
		}
		b.i64 = append(b.i64, int64(n.v))
	case tensor.Bool:
		if n.kind != kTrue && n.kind != kFalse {
			return d.typeError(i, dt)
		}
		b.b = append(b.b, n.kind == kTrue)
	case tensor.Uint32:
		if !d.is(i, fUint) {
			return d.typeError(i, dt)
		}
		b.u32 = append(b.u32, uint32(n.v))
	case tensor.Uint64:
		if !d.is(i, fUint64) {
			return d.typeError(i, dt)
		}
		b.u64 = append(b.u64, n.v)
	default:
		return status.New(status.Unimplemented, "Conversion of JSON Value: "+d.debugString(i)+" to type: "+dataTypeString(dt))
	}
	return nil
}

// decodeB64 decodes a {"b64": "..."} object (TF Serving's
// JsonDecodeBase64Object).
func (d *document) decodeB64(i int) ([]byte, error) {
	if !d.isB64Object(i) {
		return nil, status.New(status.InvalidArgument, "JSON Value: "+d.debugString(i)+" not formatted correctly for base64 data")
	}
	src := d.str(i + 2)
	out, ok := base64Unescape(make([]byte, 0, len(src)*3/4+3), src)
	if !ok {
		return nil, status.New(status.InvalidArgument, "Unable to base64 decode")
	}
	return out, nil
}

// b64Len bounds the decoded length of {"b64": ...} object i (which may not
// be one: then 0).
func (d *document) b64Len(i int) int64 {
	if !d.isB64Object(i) {
		return 0
	}
	return int64(d.nodes[i+2].n) * 3 / 4
}

// builder accumulates the values of one tensor.
type builder struct {
	dtype tensor.DType
	// budget, when set, is charged for string payloads as they are stored
	// (elements and fixed sizes are charged by prepare).
	budget *limits.Budget
	f32    []float32
	f64    []float64
	i32    []int32
	i16    []int16
	i8     []int8
	u8     []uint8
	i64    []int64
	u32    []uint32
	u64    []uint64
	b      []bool
	s      []string
}

// charge takes payload bytes of one string from the budget.
func (b *builder) charge(payload int64) error {
	if b.budget == nil {
		return nil
	}
	return b.budget.Take(0, payload)
}

func (b *builder) reserve(n int) {
	switch b.dtype {
	case tensor.Float32:
		b.f32 = slices.Grow(b.f32, n)
	case tensor.Float64:
		b.f64 = slices.Grow(b.f64, n)
	case tensor.Int32:
		b.i32 = slices.Grow(b.i32, n)
	case tensor.Int64:
		b.i64 = slices.Grow(b.i64, n)
	case tensor.String:
		b.s = slices.Grow(b.s, n)
	}
}

func (b *builder) tensor(shape tensor.Shape) *tensor.Tensor {
	var data any
	switch b.dtype {
	case tensor.Float32:
		data = nonNil(b.f32)
	case tensor.Float64:
		data = nonNil(b.f64)
	case tensor.Int32:
		data = nonNil(b.i32)
	case tensor.Int16:
		data = nonNil(b.i16)
	case tensor.Int8:
		data = nonNil(b.i8)
	case tensor.Uint8:
		data = nonNil(b.u8)
	case tensor.Int64:
		data = nonNil(b.i64)
	case tensor.Uint32:
		data = nonNil(b.u32)
	case tensor.Uint64:
		data = nonNil(b.u64)
	case tensor.Bool:
		data = nonNil(b.b)
	case tensor.String:
		data = nonNil(b.s)
	default:
		// Only reachable for empty tensors of types JSON cannot fill.
		data = tensor.MakeSlice(b.dtype, 0)
	}
	return &tensor.Tensor{DType: b.dtype, Shape: shape, Data: data}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
