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
// For dot products on (nearly) unit-norm data, Config.Spherical (ScaNN's tree
// spherical=True) trains the partitioner with spherical k-means and ranks
// leaves by q·c/‖c‖, the cosine to each leaf's direction, which is how the
// datapoints were assigned; on normalised Fashion-MNIST it finds 99% of the
// true top 10 in 8 of 200 leaves where plain k-means ranked by q·c needs 20.
// Indexes built from ScaNN state keep ScaNN's q·c ranking.
//
// High recall comes from searching more leaves (SearchOptions.LeavesToSearch)
// and keeping more candidates for exact rescoring
// (SearchOptions.PreReorderNumNeighbors). Rescoring reads the stored vectors:
// float32 is exact; float16 (Config.ReorderingFloat16) halves the bytes read
// and keeps about 3 significant digits per value, so recall stays at
// float32's level; int8 (Config.ReorderingInt8, stored as residuals to the
// leaf center with one step per dimension) is 4x smaller and fastest but
// misses close calls, capping recall a little below 1 on data with many
// near-ties. The quantized scan gathers candidates above a running k-th best
// threshold and selects the best in place (no heap per candidate).
//
// Search settings per call are SearchOptions; for served models, tfserve.json
// (loader.ModelOptions) sets "ann": {"leaves_to_search": N}. The bench
// (bench/ann/RESULTS.md) lists the settings that reach recall@10 0.8, 0.9,
// 0.95 and 0.99 on its data sets.
//
// Index files are versioned (see file.go): version 2 adds the spherical,
// residual-int8 and float16 flags, and version 1 files are still read.
//
// Parameter names follow ScaNN's builder (num_leaves, num_leaves_to_search,
// training_sample_size, dimensions_per_block, anisotropic_quantization_threshold,
// reordering_num_neighbors, distance_measure) so that a ScaNN user recognises
// them. NewFromScaNN builds an index from the state a ScaNN searcher saves
// (leaf centers, datapoint-to-leaf tokens, AH codebook, hashed dataset).
//
// An Index is immutable after construction and safe for concurrent searches.
package ann
