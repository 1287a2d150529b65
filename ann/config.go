package ann

import (
	"fmt"
	"math"
	"strings"
)

// DistanceMeasure says how a query is compared with a datapoint.
type DistanceMeasure uint8

const (
	// DotProduct is maximum inner product search (ScaNN "dot_product").
	// Scores are dot products; larger is closer.
	DotProduct DistanceMeasure = iota + 1
	// SquaredL2 is Euclidean search (ScaNN "squared_l2"). Scores are squared
	// distances; smaller is closer.
	SquaredL2
	// Cosine normalises the dataset and every query to unit length and then
	// searches by dot product. Scores are cosine similarities.
	Cosine
)

// String returns ScaNN's name for the measure ("cosine" for Cosine).
func (m DistanceMeasure) String() string {
	switch m {
	case DotProduct:
		return "dot_product"
	case SquaredL2:
		return "squared_l2"
	case Cosine:
		return "cosine"
	}
	return fmt.Sprintf("DistanceMeasure(%d)", uint8(m))
}

// ParseDistanceMeasure accepts ScaNN's builder names ("dot_product",
// "squared_l2"), ScaNN's proto names ("DotProductDistance",
// "SquaredL2Distance") and "cosine".
func ParseDistanceMeasure(s string) (DistanceMeasure, error) {
	switch strings.ToLower(s) {
	case "dot_product", "dotproductdistance", "dot", "ip", "mips":
		return DotProduct, nil
	case "squared_l2", "squaredl2distance", "l2":
		return SquaredL2, nil
	case "cosine", "cosinedistance":
		return Cosine, nil
	}
	return 0, fmt.Errorf("ann: unknown distance measure %q (want dot_product, squared_l2 or cosine)", s)
}

// Config holds the build parameters. The names mirror ScaNN's builder:
//
//	scann_ops_pybind.builder(db, k, distance_measure).
//	    tree(num_leaves, num_leaves_to_search, training_sample_size).
//	    score_ah(dimensions_per_block, anisotropic_quantization_threshold).
//	    reorder(reordering_num_neighbors)
type Config struct {
	DistanceMeasure DistanceMeasure

	// NumLeaves is the number of k-means partitions (tree num_leaves).
	NumLeaves int
	// NumLeavesToSearch is the default number of leaves a query visits.
	NumLeavesToSearch int
	// TrainingSampleSize caps the datapoints used to train the partitioner
	// and the codebooks (default 100000, ScaNN's default).
	TrainingSampleSize int
	// TrainingIterations is the partitioner's number of k-means iterations
	// (default 12, ScaNN's tree training_iterations).
	TrainingIterations int
	// Spherical trains the partitioner with spherical k-means (ScaNN's
	// tree spherical=True): datapoints go to the leaf whose center direction
	// has the largest cosine, and a query ranks leaves by q·c/‖c‖, so that
	// assignment and search agree. Residuals stay relative to the mean of
	// each leaf's members. For DotProduct and Cosine on (nearly) unit-norm
	// data, where it finds the true neighbours in far fewer leaves.
	Spherical bool

	// DimensionsPerBlock is the width of each product-quantization block; each
	// block gets a 4-bit code (16 centers). Default 2.
	DimensionsPerBlock int
	// AnisotropicQuantizationThreshold enables ScaNN's score-aware loss when
	// > 0 (0.2 is ScaNN's usual value for unit-norm data). NaN or <= 0 means
	// plain residual product quantization, as in ScaNN. Only for DotProduct
	// and Cosine.
	AnisotropicQuantizationThreshold float64
	// AHTrainingIterations is the number of k-means iterations per codebook
	// (default 10, ScaNN's score_ah training_iterations).
	AHTrainingIterations int

	// ReorderingNumNeighbors, when > 0, keeps that many candidates from the
	// quantized scores and rescored them exactly. It requires stored vectors.
	ReorderingNumNeighbors int
	// ReorderingInt8 stores the vectors for reordering as int8 with one
	// multiplier per dimension (4x smaller, approximately exact).
	ReorderingInt8 bool
	// ReorderingFloat16 stores the vectors for reordering as IEEE half
	// floats (scaled by one power of two into the half range): 2x smaller
	// than float32, and rescoring stays exact to about 3 significant
	// digits per value, which keeps recall at float32's level where int8
	// loses the close calls. Exclusive with ReorderingInt8.
	ReorderingFloat16 bool

	// BruteForce skips partitioning and quantization: every search is an
	// exact scan of the stored float32 vectors (ScaNN's score_brute_force).
	BruteForce bool

	// Seed makes the build deterministic: the same data, config and seed
	// give the same index on the same CPU kernels.
	Seed uint64
}

// DefaultConfig returns ScaNN-like settings for n datapoints: sqrt(n)
// leaves, 5% of them searched, 2 dimensions per block, anisotropic threshold
// 0.2 for dot products, and reordering of 100 candidates. Cosine, whose
// vectors are unit length, also gets spherical partitioning.
func DefaultConfig(m DistanceMeasure, n int) Config {
	leaves := max(1, int(math.Sqrt(float64(n))))
	c := Config{
		DistanceMeasure:        m,
		NumLeaves:              leaves,
		NumLeavesToSearch:      max(1, leaves/20),
		DimensionsPerBlock:     2,
		ReorderingNumNeighbors: 100,
		Seed:                   1,
	}
	if m != SquaredL2 {
		c.AnisotropicQuantizationThreshold = 0.2
	}
	c.Spherical = m == Cosine
	return c
}

func (c Config) withDefaults() Config {
	if c.TrainingSampleSize <= 0 {
		c.TrainingSampleSize = 100000
	}
	if c.TrainingIterations <= 0 {
		c.TrainingIterations = 12
	}
	if c.AHTrainingIterations <= 0 {
		c.AHTrainingIterations = 10
	}
	if c.DimensionsPerBlock <= 0 {
		c.DimensionsPerBlock = 2
	}
	if c.NumLeavesToSearch <= 0 {
		c.NumLeavesToSearch = c.NumLeaves
	}
	return c
}

func (c Config) anisotropic() bool {
	t := c.AnisotropicQuantizationThreshold
	return !math.IsNaN(t) && t > 0
}

func (c Config) validate(n, dim int) error {
	switch c.DistanceMeasure {
	case DotProduct, SquaredL2, Cosine:
	default:
		return fmt.Errorf("ann: config: distance_measure %v is not set or unknown", c.DistanceMeasure)
	}
	if n <= 0 || dim <= 0 {
		return fmt.Errorf("ann: config: empty dataset [%d,%d]", n, dim)
	}
	if c.BruteForce {
		return nil
	}
	if c.NumLeaves <= 0 || c.NumLeaves > n {
		return fmt.Errorf("ann: config: num_leaves %d must be in [1, %d] (the number of datapoints)", c.NumLeaves, n)
	}
	if c.NumLeavesToSearch > c.NumLeaves {
		return fmt.Errorf("ann: config: num_leaves_to_search %d exceeds num_leaves %d", c.NumLeavesToSearch, c.NumLeaves)
	}
	if c.DimensionsPerBlock > dim {
		return fmt.Errorf("ann: config: dimensions_per_block %d exceeds the dimension %d", c.DimensionsPerBlock, dim)
	}
	if c.Spherical && c.DistanceMeasure == SquaredL2 {
		return fmt.Errorf("ann: config: spherical partitioning applies to dot_product and cosine only")
	}
	if c.anisotropic() && c.DistanceMeasure == SquaredL2 {
		return fmt.Errorf("ann: config: anisotropic_quantization_threshold applies to dot_product only")
	}
	if c.ReorderingInt8 && c.ReorderingFloat16 {
		return fmt.Errorf("ann: config: reordering vectors are either int8 or float16, not both")
	}
	if c.ReorderingNumNeighbors < 0 {
		return fmt.Errorf("ann: config: reordering_num_neighbors %d < 0", c.ReorderingNumNeighbors)
	}
	return nil
}
