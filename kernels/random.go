package kernels

import (
	"math"
	"math/rand/v2"

	"github.com/tfserve/tfserve/tensor"
)

// newRand returns the generator for one run of a random op. With a nonzero
// seed or seed2 each run draws the same sequence (TF advances its sequence
// between runs; serving graphs only use these ops in dropout-free paths, so
// determinism is preferred); with both zero it is seeded randomly.
func newRand(seed, seed2 int64) *rand.Rand {
	if seed == 0 && seed2 == 0 {
		return rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	return rand.New(rand.NewPCG(uint64(seed), uint64(seed2)))
}

func randomBuilder(op string) Builder {
	return func(attrs Attrs, _ int) (Func, error) {
		dt, err := typeAttr(op, attrs, "dtype")
		if err != nil {
			return nil, err
		}
		if dt != tensor.Float32 && dt != tensor.Float64 {
			return nil, buildErr(op, "dtype must be float or double, got %v", dt)
		}
		seed, seed2 := attrs.Int("seed", 0), attrs.Int("seed2", 0)
		return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			if err := checkInputs(op, in, 1); err != nil {
				return nil, err
			}
			v, err := vectorInts(op, "shape", in[0], false)
			if err != nil {
				return nil, err
			}
			s, err := shapeFromInts(op, v)
			if err != nil {
				return nil, err
			}
			r := newRand(seed, seed2)
			out := ctx.New(dt, s)
			draw := func() float64 {
				switch op {
				case "RandomUniform":
					return r.Float64()
				case "TruncatedNormal":
					for {
						x := r.NormFloat64()
						if math.Abs(x) <= 2 {
							return x
						}
					}
				}
				return r.NormFloat64()
			}
			switch o := out.Data.(type) {
			case []float32:
				for i := range o {
					o[i] = float32(draw())
					if op == "RandomUniform" && o[i] >= 1 {
						o[i] = math.Nextafter32(1, 0)
					}
				}
			case []float64:
				for i := range o {
					o[i] = draw()
				}
			}
			return []*tensor.Tensor{out}, nil
		}, nil
	}
}
