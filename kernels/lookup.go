package kernels

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/tfserve/tfserve/tensor"
)

// HashTable is a lookup table resource (HashTableV2, MutableHashTableV2).
// Keys are strings or integers (int32 keys are held as int64); values are
// strings, integers or floats. Tables are filled at load time
// (LookupTableImportV2, InitializeTable*) and read concurrently afterwards.
type HashTable struct {
	KeyDType, ValueDType tensor.DType

	mu          sync.RWMutex
	m           map[tableKey]tableVal
	initialized bool
}

type tableKey struct {
	s string
	i int64
}

type tableVal struct {
	s string
	i int64
	f float64
}

// NewHashTable returns an empty table.
func NewHashTable(key, value tensor.DType) *HashTable {
	return &HashTable{KeyDType: key, ValueDType: value, m: map[tableKey]tableVal{}}
}

// HashTableTensor wraps a table in a DT_RESOURCE scalar handle tensor.
func HashTableTensor(h *HashTable) *tensor.Tensor {
	return &tensor.Tensor{DType: tensor.Resource, Shape: tensor.Shape{}, Data: []any{h}}
}

// Len returns the number of entries.
func (h *HashTable) Len() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.m)
}

func tableKeyType(d tensor.DType) bool {
	return d == tensor.String || d == tensor.Int64 || d == tensor.Int32
}

func tableValueType(d tensor.DType) bool {
	switch d {
	case tensor.String, tensor.Int64, tensor.Int32, tensor.Float32, tensor.Float64, tensor.Bool:
		return true
	}
	return false
}

func keysOf(t *tensor.Tensor) []tableKey {
	k := make([]tableKey, t.Len())
	switch d := t.Data.(type) {
	case []string:
		for i, v := range d {
			k[i].s = v
		}
	case []int64:
		for i, v := range d {
			k[i].i = v
		}
	case []int32:
		for i, v := range d {
			k[i].i = int64(v)
		}
	}
	return k
}

func valuesOf(t *tensor.Tensor) []tableVal {
	v := make([]tableVal, t.Len())
	switch d := t.Data.(type) {
	case []string:
		for i, x := range d {
			v[i].s = x
		}
	case []int64:
		for i, x := range d {
			v[i].i = x
		}
	case []int32:
		for i, x := range d {
			v[i].i = int64(x)
		}
	case []float32:
		for i, x := range d {
			v[i].f = float64(x)
		}
	case []float64:
		for i, x := range d {
			v[i].f = x
		}
	case []bool:
		for i, x := range d {
			if x {
				v[i].i = 1
			}
		}
	}
	return v
}

func setValue(data any, i int, v tableVal) {
	switch d := data.(type) {
	case []string:
		d[i] = v.s
	case []int64:
		d[i] = v.i
	case []int32:
		d[i] = int32(v.i)
	case []float32:
		d[i] = float32(v.f)
	case []float64:
		d[i] = v.f
	case []bool:
		d[i] = v.i != 0
	}
}

func keyString(k tableKey, dt tensor.DType) string {
	if dt == tensor.String {
		return k.s
	}
	return strconv.FormatInt(k.i, 10)
}

func valString(v tableVal, dt tensor.DType) string {
	switch dt {
	case tensor.String:
		return v.s
	case tensor.Float32, tensor.Float64:
		return strconv.FormatFloat(v.f, 'g', -1, 64)
	}
	return strconv.FormatInt(v.i, 10)
}

// insert adds entries; for an immutable (initializer) table a key already
// present with another value is an error, as in TF.
func (h *HashTable) insert(keys []tableKey, vals []tableVal, strict bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, k := range keys {
		if old, ok := h.m[k]; ok && strict && old != vals[i] {
			return Errorf("HashTable has different value for same key. Key %s has %s and trying to add value %s",
				keyString(k, h.KeyDType), valString(old, h.ValueDType), valString(vals[i], h.ValueDType))
		}
		h.m[k] = vals[i]
	}
	h.initialized = true
	return nil
}

func tableOf(op string, t *tensor.Tensor) (*HashTable, error) {
	if t.DType != tensor.Resource {
		return nil, Errorf("%s: expected a table handle, got %v", op, t.DType)
	}
	d, ok := t.Data.([]any)
	if !ok || len(d) != 1 {
		return nil, Errorf("%s: table handle must be a scalar", op)
	}
	h, ok := d[0].(*HashTable)
	if !ok || h == nil {
		return nil, Errorf("%s: resource handle does not hold a lookup table (%T)", op, d[0])
	}
	return h, nil
}

func checkTableTypes(op string, h *HashTable, keys, vals *tensor.Tensor) error {
	if keys != nil && !sameKeyType(keys.DType, h.KeyDType) {
		return Errorf("Key must be type %v but got %v", h.KeyDType, keys.DType)
	}
	if vals != nil && vals.DType != h.ValueDType {
		return Errorf("Value must be type %v but got %v", h.ValueDType, vals.DType)
	}
	return nil
}

func sameKeyType(a, b tensor.DType) bool { return a == b }

func hashTableBuilder(op string) Builder {
	return func(attrs Attrs, _ int) (Func, error) {
		kt, err := typeAttr(op, attrs, "key_dtype")
		if err != nil {
			return nil, err
		}
		vt, err := typeAttr(op, attrs, "value_dtype")
		if err != nil {
			return nil, err
		}
		if !tableKeyType(kt) || !tableValueType(vt) {
			return nil, buildErr(op, "unsupported key/value types %v/%v", kt, vt)
		}
		return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			return []*tensor.Tensor{HashTableTensor(NewHashTable(kt, vt))}, nil
		}, nil
	}
}

func lookupTableFind(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	const op = "LookupTableFindV2"
	if err := checkInputs(op, in, 3); err != nil {
		return nil, err
	}
	h, err := tableOf(op, in[0])
	if err != nil {
		return nil, err
	}
	keys, def := in[1], in[2]
	if err := checkTableTypes(op, h, keys, def); err != nil {
		return nil, err
	}
	perKey := def.Shape.Equal(keys.Shape) && len(keys.Shape) > 0
	if len(def.Shape) != 0 && !perKey && !(def.Len() == 1 && len(def.Shape) == 1) {
		return nil, Errorf("Expected shape %v or [] for default value, got %v", keys.Shape, def.Shape)
	}
	out := ctx.New(h.ValueDType, keys.Shape)
	defs := valuesOf(def)
	h.mu.RLock()
	defer h.mu.RUnlock()
	var k tableKey
	for i := 0; i < keys.Len(); i++ {
		switch d := keys.Data.(type) {
		case []string:
			k.s = d[i]
		case []int64:
			k.i = d[i]
		case []int32:
			k.i = int64(d[i])
		}
		v, ok := h.m[k]
		if !ok {
			if perKey {
				v = defs[i]
			} else {
				v = defs[0]
			}
		}
		setValue(out.Data, i, v)
	}
	return []*tensor.Tensor{out}, nil
}

func lookupTableImport(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	const op = "LookupTableImportV2"
	if err := checkInputs(op, in, 3); err != nil {
		return nil, err
	}
	h, err := tableOf(op, in[0])
	if err != nil {
		return nil, err
	}
	keys, vals := in[1], in[2]
	if err := checkTableTypes(op, h, keys, vals); err != nil {
		return nil, err
	}
	if !keys.Shape.Equal(vals.Shape) {
		return nil, Errorf("Expected shape %v for value, got %v", keys.Shape, vals.Shape)
	}
	// Import replaces the table's contents.
	h.mu.Lock()
	h.m = make(map[tableKey]tableVal, keys.Len())
	h.mu.Unlock()
	return nil, h.insert(keysOf(keys), valuesOf(vals), false)
}

func initializeTable(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	const op = "InitializeTableV2"
	if err := checkInputs(op, in, 3); err != nil {
		return nil, err
	}
	h, err := tableOf(op, in[0])
	if err != nil {
		return nil, err
	}
	keys, vals := in[1], in[2]
	if err := checkTableTypes(op, h, keys, vals); err != nil {
		return nil, err
	}
	if !keys.Shape.Equal(vals.Shape) {
		return nil, Errorf("Keys and values must have the same size %v vs %v", keys.Shape, vals.Shape)
	}
	return nil, h.insert(keysOf(keys), valuesOf(vals), true)
}

func lookupTableSize(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("LookupTableSizeV2", in, 1); err != nil {
		return nil, err
	}
	h, err := tableOf("LookupTableSizeV2", in[0])
	if err != nil {
		return nil, err
	}
	out := ctx.New(tensor.Int64, tensor.Shape{})
	out.I64()[0] = int64(h.Len())
	return []*tensor.Tensor{out}, nil
}

func lookupTableExport(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("LookupTableExportV2", in, 1); err != nil {
		return nil, err
	}
	h, err := tableOf("LookupTableExportV2", in[0])
	if err != nil {
		return nil, err
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	n := len(h.m)
	keys := ctx.New(h.KeyDType, tensor.Shape{n})
	vals := ctx.New(h.ValueDType, tensor.Shape{n})
	i := 0
	for k, v := range h.m {
		switch d := keys.Data.(type) {
		case []string:
			d[i] = k.s
		case []int64:
			d[i] = k.i
		case []int32:
			d[i] = int32(k.i)
		}
		setValue(vals.Data, i, v)
		i++
	}
	return []*tensor.Tensor{keys, vals}, nil
}

// Special column indices of InitializeTableFromTextFile.
const (
	wholeLine  = -2
	lineNumber = -1
)

func initFromTextFileBuilder(attrs Attrs, _ int) (Func, error) {
	const op = "InitializeTableFromTextFileV2"
	ki := attrs.Int("key_index", wholeLine)
	vi := attrs.Int("value_index", lineNumber)
	vocab := attrs.Int("vocab_size", -1)
	delim := attrs.String("delimiter", "\t")
	offset := attrs.Int("offset", 0)
	if ki < wholeLine || vi < wholeLine {
		return nil, buildErr(op, "key_index and value_index must be >= -2, got %d and %d", ki, vi)
	}
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(op, in, 2); err != nil {
			return nil, err
		}
		h, err := tableOf(op, in[0])
		if err != nil {
			return nil, err
		}
		names, err := stringInput(op, in[1], "filename")
		if err != nil || len(names) != 1 {
			return nil, Errorf("filename should be a single string, but got %v", in[1].Shape)
		}
		if ki == lineNumber && h.KeyDType != tensor.Int64 && h.KeyDType != tensor.Int32 {
			return nil, Errorf("Key index for line number requires table key dtype of int64, got %v", h.KeyDType)
		}
		if vi == lineNumber && h.ValueDType != tensor.Int64 && h.ValueDType != tensor.Int32 {
			return nil, Errorf("Value index for line number requires table value dtype of int64, got %v", h.ValueDType)
		}
		if ki == wholeLine && h.KeyDType != tensor.String && h.KeyDType != tensor.Int64 && h.KeyDType != tensor.Int32 {
			return nil, Errorf("Key index for whole line requires string or integer table key, got %v", h.KeyDType)
		}
		data, err := os.ReadFile(names[0])
		if err != nil {
			return nil, Errorf("%s: %v", op, err)
		}
		keys, vals, err := parseVocab(names[0], data, h, ki, vi, vocab, delim, offset)
		if err != nil {
			return nil, err
		}
		return nil, h.insert(keys, vals, true)
	}, nil
}

// parseVocab reads the text-file initializer's lines into keys and values.
func parseVocab(name string, data []byte, h *HashTable, ki, vi, vocab int64, delim string, offset int64) ([]tableKey, []tableVal, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), len(data)+1)
	var keys []tableKey
	var vals []tableVal
	line := int64(0)
	for sc.Scan() {
		if vocab > 0 && line >= vocab {
			break
		}
		text := strings.TrimSuffix(sc.Text(), "\r")
		if text == "" {
			return nil, nil, Errorf("Invalid content in %s: empty line found at position %d.", name, line)
		}
		var cols []string
		if ki >= 0 || vi >= 0 {
			if delim == "" {
				cols = strings.Fields(text)
			} else {
				cols = strings.Split(text, delim)
			}
		}
		pick := func(idx int64, dt tensor.DType, what string) (string, int64, error) {
			switch idx {
			case wholeLine:
				return text, 0, nil
			case lineNumber:
				return "", line + offset, nil
			}
			if idx >= int64(len(cols)) {
				return "", 0, Errorf("Invalid number of columns in %s line %d (%s) : expected %d got %d", name, line, text, max(ki, vi)+1, len(cols))
			}
			return cols[idx], 0, nil
		}
		ks, kn, err := pick(ki, h.KeyDType, "key")
		if err != nil {
			return nil, nil, err
		}
		vs, vn, err := pick(vi, h.ValueDType, "value")
		if err != nil {
			return nil, nil, err
		}
		var k tableKey
		if h.KeyDType == tensor.String {
			k.s = ks
		} else if ki == lineNumber {
			k.i = kn
		} else {
			n, err := strconv.ParseInt(ks, 10, 64)
			if err != nil {
				return nil, nil, Errorf("Field %s in line %d is not a valid int64.", ks, line)
			}
			k.i = n
		}
		var v tableVal
		switch {
		case vi == lineNumber:
			v.i = vn
		case h.ValueDType == tensor.String:
			v.s = vs
		case h.ValueDType == tensor.Float32 || h.ValueDType == tensor.Float64:
			f, err := strconv.ParseFloat(vs, 64)
			if err != nil {
				return nil, nil, Errorf("Field %s in line %d is not a valid float.", vs, line)
			}
			v.f = f
		default:
			n, err := strconv.ParseInt(vs, 10, 64)
			if err != nil {
				return nil, nil, Errorf("Field %s in line %d is not a valid int64.", vs, line)
			}
			v.i = n
		}
		keys = append(keys, k)
		vals = append(vals, v)
		line++
	}
	if err := sc.Err(); err != nil {
		return nil, nil, Errorf("read %s: %v", name, err)
	}
	if vocab > 0 && line < vocab {
		return nil, nil, Errorf("Invalid vocab_size in %s: expected %d but got %d", name, vocab, line)
	}
	return keys, vals, nil
}
