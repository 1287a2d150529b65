// Package ann is tfserve's in-process approximate nearest neighbour index, a
// stand-in for ScaNN inside TFRS retrieval models.
//
// An Index partitions the dataset with k-means into leaves (NumLeaves), encodes
// every datapoint's residual to its leaf center with 4-bit product quantization
// (16 centers per block of DimensionsPerBlock dimensions), optionally with
// ScaNN's anisotropic (score-aware) loss, and scores a query against the
// NumLeavesToSearch closest leaves with uint8 lookup tables (LUT16). On amd64
// with AVX2 the table lookups use VPSHUFB byte shuffles; elsewhere a pure-Go
// loop computes the same integer sums. The best ReorderingNumNeighbors
// candidates can be rescored exactly with stored float32 (or int8) vectors.
//
// Parameter names follow ScaNN's builder (num_leaves, num_leaves_to_search,
// training_sample_size, dimensions_per_block, anisotropic_quantization_threshold,
// reordering_num_neighbors, distance_measure) so that a ScaNN user recognises
// them. NewFromScaNN builds an index from the state a ScaNN searcher saves
// (leaf centers, datapoint-to-leaf tokens, AH codebook, hashed dataset).
//
// An Index is immutable after construction and safe for concurrent searches.
package ann
