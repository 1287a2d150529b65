package scannstate

import (
	"fmt"

	"github.com/tfserve/tfserve/ann"
)

// spillingFixedNumberOfCenters is QuerySpillingConfig.FIXED_NUMBER_OF_CENTERS.
const spillingFixedNumberOfCenters = 4

// Assemble decodes scann_config, serialized_partitioner and ah_codebook and
// combines them with datapoint_to_token ([N]) and hashed_dataset ([N,
// blocks], one code per byte) into the state ann.NewFromScaNN takes. The
// caller may then set the optional reordering fields (Dataset, Int8Dataset,
// Int8Multipliers, DPNorms) before calling ann.NewFromScaNN.
func Assemble(config, partitioner, codebook []byte, datapointToToken []int32, hashed []uint8) (ann.ScaNNState, *Config, error) {
	var s ann.ScaNNState
	cfg, err := ParseConfig(config)
	if err != nil {
		return s, nil, fmt.Errorf("scann_config: %w", err)
	}
	part, err := ParsePartitioner(partitioner)
	if err != nil {
		return s, nil, fmt.Errorf("serialized_partitioner: %w", err)
	}
	cb, err := ParseCodebook(codebook)
	if err != nil {
		return s, nil, fmt.Errorf("ah_codebook: %w", err)
	}
	switch cfg.DistanceMeasure {
	case "DotProductDistance":
		s.DistanceMeasure = ann.DotProduct
	case "SquaredL2Distance":
		s.DistanceMeasure = ann.SquaredL2
	default:
		return s, nil, fmt.Errorf("scann_config: distance measure %q is not supported", cfg.DistanceMeasure)
	}
	if !cfg.HasPartitioning || !cfg.HasAHHash {
		return s, nil, fmt.Errorf("scann_config: only tree + asymmetric hashing searchers are supported")
	}
	if cb.NumCenters != 16 {
		return s, nil, fmt.Errorf("ah_codebook: %d centers per block, only 16 (LUT16) is supported", cb.NumCenters)
	}
	if cfg.NumBlocks != 0 && cfg.NumBlocks != cb.NumBlocks {
		return s, nil, fmt.Errorf("scann_config says %d blocks, ah_codebook has %d", cfg.NumBlocks, cb.NumBlocks)
	}
	if cfg.InputDim != 0 && cfg.InputDim != part.Dim {
		return s, nil, fmt.Errorf("scann_config input_dim %d, partitioner centers have %d", cfg.InputDim, part.Dim)
	}
	leaves := cfg.MaxSpillCenters
	if cfg.SpillingType != spillingFixedNumberOfCenters || leaves <= 0 || leaves > part.NumTokens {
		leaves = part.NumTokens
	}
	s.Dim = part.Dim
	s.LeafCenters = part.Centers
	s.DatapointToLeaf = datapointToToken
	s.Codebook = cb.Centers
	s.NumBlocks, s.DimsPerBlock = cb.NumBlocks, cb.DimsPerBlock
	s.HashedCodes = hashed
	s.NumLeavesToSearch = leaves
	return s, cfg, nil
}

// Reconstruct rebuilds the datapoint vectors an asymmetric-hashing state
// represents: leaf center + the codebook entry of each block's code, [N, Dim].
func Reconstruct(st ann.ScaNNState) []float32 {
	n, dim, dpb := len(st.DatapointToLeaf), st.Dim, st.DimsPerBlock
	out := make([]float32, n*dim)
	for i := 0; i < n; i++ {
		row := out[i*dim : (i+1)*dim]
		leaf := int(st.DatapointToLeaf[i])
		copy(row, st.LeafCenters[leaf*dim:(leaf+1)*dim])
		for blk := 0; blk < st.NumBlocks; blk++ {
			code := int(st.HashedCodes[i*st.NumBlocks+blk])
			for d := 0; d < dpb; d++ {
				if j := blk*dpb + d; j < dim {
					row[j] += st.Codebook[(blk*16+code)*dpb+d]
				}
			}
		}
	}
	return out
}
