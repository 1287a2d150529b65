package ann

import (
	"fmt"
	"math"
)

// ScaNNState is the trained state a ScaNN searcher serialises (for TFRS: the
// variables of the `_serialized_searcher` object), already decoded into
// arrays. Optional slices are nil when ScaNN saved them as absent.
type ScaNNState struct {
	// DistanceMeasure is DotProduct or SquaredL2 (ScaNN's distance_measure).
	DistanceMeasure DistanceMeasure
	// Dim is the datapoint dimension (projection input_dim).
	Dim int
	// LeafCenters are the partitioner's leaf centers, [L, Dim] row-major.
	LeafCenters []float32
	// DatapointToLeaf is datapoint_to_token: each datapoint's leaf, [N].
	DatapointToLeaf []int32
	// Codebook is the AH codebook, [NumBlocks][16][DimsPerBlock], of
	// residuals to the leaf center. Block b covers dimensions
	// [b*DimsPerBlock, (b+1)*DimsPerBlock) (CHUNK projection).
	Codebook                []float32
	NumBlocks, DimsPerBlock int
	// HashedCodes is hashed_dataset, [N, NumBlocks], one code 0..15 per byte.
	HashedCodes []uint8

	// Dataset holds the float vectors for reordering, [N, Dim] (optional).
	Dataset []float32
	// Int8Dataset and Int8Multipliers hold ScaNN's fixed-point vectors for
	// reordering (optional): Int8Dataset is [N, Dim] and Int8Multipliers is
	// ScaNN's multiplier per dimension, [Dim], with int8 ≈ x·multiplier, so
	// x ≈ int8 / multiplier.
	Int8Dataset     []int8
	Int8Multipliers []float32
	// DPNorms are the squared L2 norms of the datapoints, [N] (optional; used
	// for squared_l2 reordering).
	DPNorms []float32

	// NumLeavesToSearch is the default leaves per query (0: all leaves).
	NumLeavesToSearch int
	// ReorderingNumNeighbors is the default candidates kept for exact
	// reordering (ignored without Dataset or Int8Dataset).
	ReorderingNumNeighbors int
}

// NewFromScaNN builds an index from pre-trained ScaNN state. Search then
// follows ScaNN's tree-AH search: leaves ranked by q·center (dot product) or
// squared distance, LUT16 scores of residual codes, optional reordering.
func NewFromScaNN(s ScaNNState) (*Index, error) {
	if s.DistanceMeasure != DotProduct && s.DistanceMeasure != SquaredL2 {
		return nil, fmt.Errorf("ann: scann state: distance measure %v, want dot_product or squared_l2", s.DistanceMeasure)
	}
	dim, nb, dpb := s.Dim, s.NumBlocks, s.DimsPerBlock
	if dim <= 0 || nb <= 0 || dpb <= 0 {
		return nil, fmt.Errorf("ann: scann state: dim %d, blocks %d, dims per block %d must be positive", dim, nb, dpb)
	}
	if nb*dpb < dim || (nb-1)*dpb >= dim {
		return nil, fmt.Errorf("ann: scann state: %d blocks x %d dims do not cover dimension %d", nb, dpb, dim)
	}
	if len(s.LeafCenters) == 0 || len(s.LeafCenters)%dim != 0 {
		return nil, fmt.Errorf("ann: scann state: %d leaf center values are not a multiple of dim %d", len(s.LeafCenters), dim)
	}
	L := len(s.LeafCenters) / dim
	n := len(s.DatapointToLeaf)
	if n == 0 {
		return nil, fmt.Errorf("ann: scann state: no datapoints")
	}
	if len(s.HashedCodes) != n*nb {
		return nil, fmt.Errorf("ann: scann state: hashed dataset has %d codes, want %d x %d", len(s.HashedCodes), n, nb)
	}
	if len(s.Codebook) != nb*centersPerBlock*dpb {
		return nil, fmt.Errorf("ann: scann state: codebook has %d values, want %d x 16 x %d", len(s.Codebook), nb, dpb)
	}
	for i, c := range s.HashedCodes {
		if c >= centersPerBlock {
			return nil, fmt.Errorf("ann: scann state: datapoint %d block %d has code %d > 15 (only 4-bit LUT16 codes are supported)", i/nb, i%nb, c)
		}
	}
	for _, arr := range []struct {
		name string
		v    []float32
	}{{"leaf centers", s.LeafCenters}, {"codebook", s.Codebook}, {"dataset", s.Dataset}, {"int8 multipliers", s.Int8Multipliers}, {"dp_norms", s.DPNorms}} {
		for i, v := range arr.v {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("ann: scann state: %s value %d is not finite", arr.name, i)
			}
		}
	}
	if s.Dataset != nil && len(s.Dataset) != n*dim {
		return nil, fmt.Errorf("ann: scann state: dataset has %d values, want %d x %d", len(s.Dataset), n, dim)
	}
	if s.Int8Dataset != nil {
		if s.Dataset != nil {
			return nil, fmt.Errorf("ann: scann state: both a float and an int8 dataset")
		}
		if len(s.Int8Dataset) != n*dim || len(s.Int8Multipliers) != dim {
			return nil, fmt.Errorf("ann: scann state: int8 dataset %d values and %d multipliers, want %d x %d and %d",
				len(s.Int8Dataset), len(s.Int8Multipliers), n, dim, dim)
		}
		for d, m := range s.Int8Multipliers {
			if m == 0 {
				return nil, fmt.Errorf("ann: scann state: int8 multiplier %d is zero", d)
			}
		}
	}
	if s.DPNorms != nil && len(s.DPNorms) != n {
		return nil, fmt.Errorf("ann: scann state: dp_norms has %d values, want %d", len(s.DPNorms), n)
	}
	if s.NumLeavesToSearch < 0 || s.NumLeavesToSearch > L {
		return nil, fmt.Errorf("ann: scann state: num_leaves_to_search %d not in [0, %d]", s.NumLeavesToSearch, L)
	}

	ix := newIndex(s.DistanceMeasure, dim, n)
	ix.leaves = L
	ix.defLeaves = s.NumLeavesToSearch
	if ix.defLeaves == 0 {
		ix.defLeaves = L
	}
	ix.defReord = max(0, s.ReorderingNumNeighbors)
	ix.centers = append([]float32(nil), s.LeafCenters...)
	ix.dpb, ix.nblocks = dpb, nb
	ix.codebook = append([]float32(nil), s.Codebook...)
	if err := ix.layout(s.DatapointToLeaf, s.HashedCodes, s.Dataset, precFloat32); err != nil {
		return nil, fmt.Errorf("ann: scann state: %w", err)
	}
	if s.Int8Dataset != nil {
		ix.vecs8 = make([]int8, n*dim)
		for p, id := range ix.ids {
			copy(ix.vecs8[p*dim:(p+1)*dim], s.Int8Dataset[int(id)*dim:(int(id)+1)*dim])
		}
		ix.mult8 = make([]float32, dim)
		for d, m := range s.Int8Multipliers {
			ix.mult8[d] = 1 / m
		}
		ix.finishVectors()
	}
	if s.DPNorms != nil && ix.exactNorm != nil {
		for p, id := range ix.ids {
			ix.exactNorm[p] = s.DPNorms[id]
		}
	}
	return ix, nil
}
