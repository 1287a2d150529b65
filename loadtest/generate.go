package loadtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"

	"github.com/tfserve/tfserve/tensor"
)

// DefaultSignature is the signature a predict request uses when it names none.
const DefaultSignature = "serving_default"

// MaxGeneratedElements bounds the number of tensor elements in one generated
// request body, so a bad shape or flag cannot exhaust memory.
const MaxGeneratedElements = 1 << 22

// GenOptions controls how request bodies are generated from a signature.
type GenOptions struct {
	// Signature is the signature to call; "" means serving_default. A
	// non-default name is written as "signature_name" into the body.
	Signature string
	// Batch is the number of rows: the size given to a leading -1 dimension.
	Batch int
	// DimDefault is the size given to every other -1 dimension.
	DimDefault int
	// IntMax bounds integers: they are drawn uniformly from [0, IntMax),
	// further capped by the dtype's range.
	IntMax int64
	// StringLen is the length of generated DT_STRING values.
	StringLen int
	// Columnar selects the "inputs" (columnar) format instead of the
	// "instances" (row) format.
	Columnar bool
	// Seed seeds the random generator, so bodies are reproducible.
	Seed uint64
}

func (o GenOptions) withDefaults() GenOptions {
	if o.Signature == "" {
		o.Signature = DefaultSignature
	}
	if o.Batch == 0 {
		o.Batch = 1
	}
	if o.DimDefault == 0 {
		o.DimDefault = 8
	}
	if o.IntMax == 0 {
		o.IntMax = 100
	}
	if o.StringLen == 0 {
		o.StringLen = 8
	}
	return o
}

// genInput is one input with its resolved, concrete shape.
type genInput struct {
	key   string
	dtype tensor.DType
	shape []int
}

// GenerateBodies returns n distinct random predict request bodies that match
// the inputs of the chosen signature of md.
func GenerateBodies(md *Metadata, opt GenOptions, n int) ([][]byte, error) {
	opt = opt.withDefaults()
	if n <= 0 {
		return nil, fmt.Errorf("generate bodies: count %d must be positive", n)
	}
	plan, err := planInputs(md, opt)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x9e3779b97f4a7c15))
	bodies := make([][]byte, n)
	for i := range bodies {
		var buf bytes.Buffer
		if err := writeBody(&buf, plan, opt, rng); err != nil {
			return nil, err
		}
		bodies[i] = buf.Bytes()
	}
	return bodies, nil
}

func planInputs(md *Metadata, opt GenOptions) ([]genInput, error) {
	if md == nil {
		return nil, errors.New("generate bodies: no metadata")
	}
	if opt.Batch < 0 || opt.DimDefault < 0 {
		return nil, fmt.Errorf("generate bodies: batch %d and dim default %d must not be negative", opt.Batch, opt.DimDefault)
	}
	if opt.IntMax < 0 || opt.StringLen < 0 {
		return nil, fmt.Errorf("generate bodies: int max %d and string length %d must not be negative", opt.IntMax, opt.StringLen)
	}
	sig, ok := md.Signatures[opt.Signature]
	if !ok {
		return nil, fmt.Errorf("generate bodies: model has no signature %q (has %v)", opt.Signature, md.SignatureNames())
	}
	if len(sig.Inputs) == 0 {
		return nil, fmt.Errorf("generate bodies: signature %q has no inputs", opt.Signature)
	}
	keys := make([]string, 0, len(sig.Inputs))
	for k := range sig.Inputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	plan := make([]genInput, 0, len(keys))
	rows := -1
	total := 0
	for _, k := range keys {
		spec := sig.Inputs[k]
		if err := checkGenDType(spec.DType); err != nil {
			return nil, fmt.Errorf("generate bodies: input %q: %w", k, err)
		}
		dims := spec.Dims
		if spec.UnknownRank {
			dims = []int64{-1} // unknown rank: send a vector of batch size
		}
		if !opt.Columnar && len(dims) == 0 {
			return nil, fmt.Errorf("generate bodies: input %q is a scalar, which the row (instances) format cannot carry; use the columnar format", k)
		}
		shape := make([]int, len(dims))
		elems := 1
		for i, d := range dims {
			switch {
			case d == -1 && i == 0:
				shape[i] = opt.Batch
			case d == -1:
				shape[i] = opt.DimDefault
			case d < 0:
				return nil, fmt.Errorf("generate bodies: input %q has invalid dimension %d", k, d)
			case d > MaxGeneratedElements:
				return nil, fmt.Errorf("generate bodies: input %q dimension %d is too large", k, d)
			default:
				shape[i] = int(d)
			}
			elems *= shape[i]
			if elems > MaxGeneratedElements {
				return nil, fmt.Errorf("generate bodies: input %q shape %v exceeds %d elements", k, shape, MaxGeneratedElements)
			}
		}
		total += elems
		if total > MaxGeneratedElements {
			return nil, fmt.Errorf("generate bodies: inputs exceed %d elements", MaxGeneratedElements)
		}
		if !opt.Columnar {
			if rows >= 0 && shape[0] != rows {
				return nil, fmt.Errorf("generate bodies: input %q has %d rows but another input has %d; the row format needs one batch size", k, shape[0], rows)
			}
			rows = shape[0]
		}
		plan = append(plan, genInput{key: k, dtype: spec.DType, shape: shape})
	}
	if !opt.Columnar && rows == 0 {
		return nil, errors.New("generate bodies: zero rows; set a positive batch")
	}
	return plan, nil
}

func checkGenDType(d tensor.DType) error {
	switch d {
	case tensor.Float32, tensor.Float64, tensor.Half, tensor.BFloat16,
		tensor.Int8, tensor.Int16, tensor.Int32, tensor.Int64,
		tensor.Uint8, tensor.Uint16, tensor.Uint32, tensor.Uint64,
		tensor.Bool, tensor.String:
		return nil
	}
	return fmt.Errorf("dtype %v cannot be generated as JSON", d)
}

func writeBody(buf *bytes.Buffer, plan []genInput, opt GenOptions, rng *rand.Rand) error {
	buf.WriteByte('{')
	if opt.Signature != DefaultSignature {
		buf.WriteString(`"signature_name":`)
		writeJSONString(buf, opt.Signature)
		buf.WriteByte(',')
	}
	if opt.Columnar {
		buf.WriteString(`"inputs":{`)
		for i, in := range plan {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeJSONString(buf, in.key)
			buf.WriteByte(':')
			writeNested(buf, in.shape, in.dtype, opt, rng)
		}
		buf.WriteString("}}")
		return nil
	}
	buf.WriteString(`"instances":[`)
	rows := plan[0].shape[0]
	for r := 0; r < rows; r++ {
		if r > 0 {
			buf.WriteByte(',')
		}
		if len(plan) == 1 {
			writeNested(buf, plan[0].shape[1:], plan[0].dtype, opt, rng)
			continue
		}
		buf.WriteByte('{')
		for i, in := range plan {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeJSONString(buf, in.key)
			buf.WriteByte(':')
			writeNested(buf, in.shape[1:], in.dtype, opt, rng)
		}
		buf.WriteByte('}')
	}
	buf.WriteString("]}")
	return nil
}

func writeNested(buf *bytes.Buffer, shape []int, dt tensor.DType, opt GenOptions, rng *rand.Rand) {
	if len(shape) == 0 {
		writeLeaf(buf, dt, opt, rng)
		return
	}
	buf.WriteByte('[')
	for i := 0; i < shape[0]; i++ {
		if i > 0 {
			buf.WriteByte(',')
		}
		writeNested(buf, shape[1:], dt, opt, rng)
	}
	buf.WriteByte(']')
}

// intLimit is one more than the largest value of an integer dtype, capped
// at MaxInt64.
func intLimit(dt tensor.DType) int64 {
	switch dt {
	case tensor.Int8:
		return math.MaxInt8 + 1
	case tensor.Uint8:
		return math.MaxUint8 + 1
	case tensor.Int16:
		return math.MaxInt16 + 1
	case tensor.Uint16:
		return math.MaxUint16 + 1
	case tensor.Int32:
		return math.MaxInt32 + 1
	case tensor.Uint32:
		return math.MaxUint32 + 1
	}
	return math.MaxInt64
}

const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func writeLeaf(buf *bytes.Buffer, dt tensor.DType, opt GenOptions, rng *rand.Rand) {
	var tmp [32]byte
	switch dt {
	case tensor.Float32, tensor.Half, tensor.BFloat16:
		buf.Write(strconv.AppendFloat(tmp[:0], float64(float32(rng.Float64()*2-1)), 'g', -1, 32))
	case tensor.Float64:
		buf.Write(strconv.AppendFloat(tmp[:0], rng.Float64()*2-1, 'g', -1, 64))
	case tensor.Bool:
		if rng.IntN(2) == 1 {
			buf.WriteString("true")
		} else {
			buf.WriteString("false")
		}
	case tensor.String:
		buf.WriteByte('"')
		for i := 0; i < opt.StringLen; i++ {
			buf.WriteByte(alnum[rng.IntN(len(alnum))])
		}
		buf.WriteByte('"')
	default: // integer types, checked by checkGenDType
		hi := min(opt.IntMax, intLimit(dt))
		var v int64
		if hi > 0 {
			v = rng.Int64N(hi)
		}
		buf.Write(strconv.AppendInt(tmp[:0], v, 10))
	}
}

func writeJSONString(buf *bytes.Buffer, s string) {
	b, _ := json.Marshal(s) // marshaling a string cannot fail
	buf.Write(b)
}
