package kernels

import (
	"math"

	"github.com/tfserve/tfserve/tensor"
)

func convNum[S, D number](dst []D, src []S) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = D(v)
	}
}

// convFloatToInt converts with saturation and NaN -> 0, so the result does
// not depend on the CPU (C++ leaves these cases undefined).
func convFloatToInt[S floating, D integer](dst []D, src []S) {
	lo, hi := float64(lowest[D]()), float64(highest[D]())
	for i, v := range src {
		f := float64(v)
		switch {
		case f != f:
			dst[i] = 0
		case f <= lo:
			dst[i] = lowest[D]()
		case f >= hi:
			dst[i] = highest[D]()
		default:
			dst[i] = D(f)
		}
	}
}

func castFromNum[S number](dst any, src []S) bool {
	fl := isFloat[S]()
	switch d := dst.(type) {
	case []float32:
		convNum(d, src)
	case []float64:
		convNum(d, src)
	case []bool:
		for i, v := range src {
			d[i] = v != 0
		}
	case []int32:
		castInt(d, src, fl)
	case []int64:
		castInt(d, src, fl)
	case []int8:
		castInt(d, src, fl)
	case []int16:
		castInt(d, src, fl)
	case []uint8:
		castInt(d, src, fl)
	case []uint16:
		castInt(d, src, fl)
	case []uint32:
		castInt(d, src, fl)
	case []uint64:
		castInt(d, src, fl)
	default:
		return false
	}
	return true
}

func castInt[S number, D integer](d []D, src []S, fl bool) {
	if !fl {
		convNum(d, src)
		return
	}
	switch s := any(src).(type) {
	case []float32:
		convFloatToInt(d, s)
	case []float64:
		convFloatToInt(d, s)
	}
}

// castData converts src (of type from) into dst (of type to). Half and
// bfloat16 go through float32.
func castData(dst any, to tensor.DType, src any, from tensor.DType, truncate bool) bool {
	if from == tensor.Half || from == tensor.BFloat16 {
		bits := src.([]uint16)
		f := make([]float32, len(bits))
		for i, b := range bits {
			if from == tensor.Half {
				f[i] = halfToFloat(b)
			} else {
				f[i] = math.Float32frombits(uint32(b) << 16)
			}
		}
		src, from = f, tensor.Float32
	}
	if to == tensor.Half || to == tensor.BFloat16 {
		f := make([]float32, len(dst.([]uint16)))
		if !castData(f, tensor.Float32, src, from, truncate) {
			return false
		}
		o := dst.([]uint16)
		for i, v := range f {
			if to == tensor.Half {
				o[i] = floatToHalf(v)
			} else {
				o[i] = floatToBFloat16(v, truncate)
			}
		}
		return true
	}
	switch s := src.(type) {
	case []float32:
		return castFromNum(dst, s)
	case []float64:
		return castFromNum(dst, s)
	case []int32:
		return castFromNum(dst, s)
	case []int64:
		return castFromNum(dst, s)
	case []int8:
		return castFromNum(dst, s)
	case []int16:
		return castFromNum(dst, s)
	case []uint8:
		return castFromNum(dst, s)
	case []uint16:
		return castFromNum(dst, s)
	case []uint32:
		return castFromNum(dst, s)
	case []uint64:
		return castFromNum(dst, s)
	case []bool:
		u := make([]uint8, len(s))
		for i, v := range s {
			if v {
				u[i] = 1
			}
		}
		return castFromNum(dst, u)
	}
	return false
}

func castBuilder(attrs Attrs, n int) (Func, error) {
	dst, err := typeAttr("Cast", attrs, "DstT")
	if err != nil {
		return nil, err
	}
	truncate := attrs.Bool("Truncate", false)
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("Cast", in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if x.DType == dst {
			return []*tensor.Tensor{x}, nil
		}
		out := ctx.New(dst, x.Shape)
		if !castData(out.Data, dst, x.Data, x.DType, truncate) {
			return nil, Errorf("Unsupported cast from %v to %v", x.DType, dst)
		}
		return []*tensor.Tensor{out}, nil
	}, nil
}

// halfToFloat decodes an IEEE 754 binary16 value.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := int(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		f := float32(mant) / 1024 / 16384 // subnormal: mant * 2^-24
		if sign != 0 {
			f = -f
		}
		return f
	case exp == 31:
		if mant == 0 {
			return math.Float32frombits(sign | 0x7f800000)
		}
		return math.Float32frombits(sign | 0x7fc00000 | mant<<13)
	}
	return math.Float32frombits(sign | uint32(exp-15+127)<<23 | mant<<13)
}

// floatToHalf encodes a float32 as binary16, rounding to nearest even.
func floatToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	if f != f {
		return sign | 0x7e00
	}
	a := math.Abs(float64(f))
	if a >= 65520 { // rounds to infinity
		return sign | 0x7c00
	}
	if a < 6.103515625e-05 { // subnormal range: multiples of 2^-24
		return sign | uint16(math.RoundToEven(a*16777216))
	}
	exp := int(b>>23&0xff) - 127 + 15
	mant := b & 0x7fffff
	h := uint32(exp)<<10 | mant>>13
	rest := mant & 0x1fff
	if rest > 0x1000 || (rest == 0x1000 && h&1 == 1) {
		h++
	}
	return sign | uint16(h)
}

// floatToBFloat16 keeps the top 16 bits, rounding to nearest even unless truncate.
func floatToBFloat16(f float32, truncate bool) uint16 {
	b := math.Float32bits(f)
	if f != f {
		return uint16(b>>16) | 0x40
	}
	if !truncate {
		b += 0x7fff + (b>>16)&1
	}
	return uint16(b >> 16)
}
