// Package scann runs the ScaNN custom ops that TensorFlow Recommenders
// exports (Scann>TensorsToScann, Scann>ScannSearchBatched, Scann>ScannSearch)
// on tfserve's own quantized index (package ann), so ScaNN SavedModels serve
// with no ScaNN and no TensorFlow. The searcher state (ScannConfig, k-means
// partitioner, AH codebook) is decoded by ann/scannstate; facts in
// ../shared/docs/scann.md.
package scann

import (
	"fmt"
	"strings"
	"sync"

	"github.com/tfserve/tfserve/ann"
	"github.com/tfserve/tfserve/ann/scannstate"
	"github.com/tfserve/tfserve/graph"
	"github.com/tfserve/tfserve/kernels"
	"github.com/tfserve/tfserve/tensor"
)

// Options tune how ScaNN models are searched.
type Options struct {
	// Exhaustive searches every datapoint exactly (over the stored float
	// vectors, or the vectors reconstructed from the AH codes).
	Exhaustive bool
	// LeavesToSearch overrides the config's leaves per query (0 keeps it).
	LeavesToSearch int
}

// Searcher is the resource TensorsToScann produces.
type Searcher struct {
	Index  *ann.Index
	Config *scannstate.Config
	opts   Options
}

// Registry returns base extended with the ScaNN ops (both the "Scann>" and
// the older "Addons>" prefixes).
func Registry(base graph.Registry, opts Options) graph.Registry {
	build := &builder{opts: opts, cache: map[cacheKey]*Searcher{}}
	return func(op string) (kernels.Builder, bool) {
		name := op
		if i := strings.IndexByte(op, '>'); i >= 0 {
			name = op[i+1:]
			if p := op[:i]; p != "Scann" && p != "Addons" {
				return base(op)
			}
		} else {
			return base(op)
		}
		switch name {
		case "TensorsToScann":
			return build.tensorsToScann, true
		case "ScannSearchBatched":
			return searchBuilder(true), true
		case "ScannSearch":
			return searchBuilder(false), true
		}
		return base(op)
	}
}

// cacheKey identifies the state tensors a searcher was built from. The
// model re-creates the handle on every call from its variables; variables
// return the same tensors, so the index is built once.
type cacheKey [9]any

type builder struct {
	opts  Options
	mu    sync.Mutex
	cache map[cacheKey]*Searcher
}

func dataKey(t *tensor.Tensor) any {
	switch d := t.Data.(type) {
	case []float32:
		if len(d) > 0 {
			return &d[0]
		}
	case []int32:
		if len(d) > 0 {
			return &d[0]
		}
	case []uint8:
		if len(d) > 0 {
			return &d[0]
		}
	case []int8:
		if len(d) > 0 {
			return &d[0]
		}
	case []string:
		if len(d) > 0 {
			return &d[0]
		}
	}
	return t
}

// present treats ScaNN's rank-0 placeholders as absent components.
func present(t *tensor.Tensor) bool { return len(t.Shape) > 0 && t.Len() > 0 }

func oneString(t *tensor.Tensor, name string) ([]byte, error) {
	s := t.Strings()
	if len(s) != 1 {
		return nil, kernels.Errorf("TensorsToScann: %s must hold one serialized proto, got %v", name, t)
	}
	return []byte(s[0]), nil
}

func (b *builder) tensorsToScann(attrs kernels.Attrs, numInputs int) (kernels.Func, error) {
	if numInputs != 9 {
		return nil, fmt.Errorf("TensorsToScann takes 9 inputs, got %d", numInputs)
	}
	return func(ctx *kernels.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		var key cacheKey
		for i, t := range in {
			key[i] = dataKey(t)
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		s, ok := b.cache[key]
		if !ok {
			var err error
			s, err = b.build(in)
			if err != nil {
				return nil, err
			}
			b.cache = map[cacheKey]*Searcher{key: s} // keep only the latest
		}
		return []*tensor.Tensor{{DType: tensor.Resource, Shape: tensor.Shape{}, Data: []any{s}}}, nil
	}, nil
}

func (b *builder) build(in []*tensor.Tensor) (*Searcher, error) {
	for i, name := range []string{"serialized_partitioner", "datapoint_to_token", "ah_codebook", "hashed_dataset"} {
		if !present(in[2+i]) {
			return nil, kernels.Errorf("ScaNN model has no %s; only partitioned asymmetric-hashing (tree-AH) searchers are supported", name)
		}
	}
	cfgBytes, err := oneString(in[1], "scann_config")
	if err != nil {
		return nil, err
	}
	pb, err := oneString(in[2], "serialized_partitioner")
	if err != nil {
		return nil, err
	}
	cbBytes, err := oneString(in[4], "ah_codebook")
	if err != nil {
		return nil, err
	}
	hashed, ok := in[5].Data.([]uint8)
	if !ok {
		return nil, kernels.Errorf("ScaNN hashed_dataset must be uint8, got %v", in[5].DType)
	}
	st, cfg, err := scannstate.Assemble(cfgBytes, pb, cbBytes, in[3].I32(), hashed)
	if err != nil {
		return nil, kernels.Errorf("ScaNN state: %v", err)
	}
	if present(in[0]) {
		st.Dataset = in[0].F32()
	}
	if present(in[6]) {
		st.Int8Dataset, _ = in[6].Data.([]int8)
		if !present(in[7]) {
			return nil, kernels.Errorf("ScaNN int8_dataset without int8_multipliers")
		}
		st.Int8Multipliers = in[7].F32()
	}
	if present(in[8]) {
		st.DPNorms = in[8].F32()
	}
	if st.Dataset == nil && st.Int8Dataset == nil && b.opts.Exhaustive {
		st.Dataset = scannstate.Reconstruct(st)
	}
	leaves := len(st.LeafCenters) / st.Dim
	if b.opts.LeavesToSearch > 0 {
		st.NumLeavesToSearch = min(b.opts.LeavesToSearch, leaves)
	}
	ix, err := ann.NewFromScaNN(st)
	if err != nil {
		return nil, kernels.Errorf("%v", err)
	}
	return &Searcher{Index: ix, Config: cfg, opts: b.opts}, nil
}

func scalarInt(t *tensor.Tensor) int {
	switch d := t.Data.(type) {
	case []int32:
		if len(d) == 1 {
			return int(d[0])
		}
	case []int64:
		if len(d) == 1 {
			return int(d[0])
		}
	}
	return -1
}

func searchBuilder(batched bool) kernels.Builder {
	return func(attrs kernels.Attrs, numInputs int) (kernels.Func, error) {
		if numInputs < 5 {
			return nil, fmt.Errorf("ScaNN search takes at least 5 inputs, got %d", numInputs)
		}
		return func(ctx *kernels.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			res, ok := in[0].Data.([]any)
			if !ok || len(res) != 1 {
				return nil, kernels.Errorf("ScaNN search: first input is not a searcher handle")
			}
			s, ok := res[0].(*Searcher)
			if !ok {
				return nil, kernels.Errorf("ScaNN search: handle holds %T", res[0])
			}
			q := in[1]
			qs := q.F32()
			if q.DType != tensor.Float32 {
				return nil, kernels.Errorf("ScaNN search: queries must be float32, got %v", q.DType)
			}
			dim := s.Index.Dim()
			var nq int
			if batched {
				if len(q.Shape) != 2 {
					return nil, kernels.Errorf("ScaNN search: queries must be [batch, %d], got %v", dim, q.Shape)
				}
				nq = q.Shape[0]
				if q.Shape[1] != dim {
					return nil, kernels.Errorf("ScaNN search: query width %d does not match the index dimension %d", q.Shape[1], dim)
				}
			} else {
				if len(q.Shape) != 1 || q.Shape[0] != dim {
					return nil, kernels.Errorf("ScaNN search: query width %v does not match the index dimension %d", q.Shape, dim)
				}
				nq = 1
			}
			k := scalarInt(in[2])
			if k <= 0 {
				k = s.Config.NumNeighbors
			}
			if k <= 0 {
				k = 10
			}
			k = min(k, s.Index.Len())
			opt := ann.SearchOptions{Exact: s.opts.Exhaustive}
			if v := scalarInt(in[4]); v > 0 {
				opt.LeavesToSearch = v
			}
			if v := scalarInt(in[3]); v > 0 {
				opt.PreReorderNumNeighbors = v
			}
			if nq == 0 {
				return []*tensor.Tensor{
					tensor.FromSlice(tensor.Shape{0, k}, []int32{}),
					tensor.FromSlice(tensor.Shape{0, k}, []float32{}),
				}, nil
			}
			idx, sc, err := s.Index.SearchBatched(qs, k, opt)
			if err != nil {
				return nil, kernels.Errorf("ScaNN search: %v", err)
			}
			shape := tensor.Shape{nq, k}
			if !batched {
				shape = tensor.Shape{k}
			}
			return []*tensor.Tensor{tensor.FromSlice(shape, idx), tensor.FromSlice(shape, sc)}, nil
		}, nil
	}
}
