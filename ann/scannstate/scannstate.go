// Package scannstate decodes the serialized protos a ScaNN searcher saves
// (in TFRS SavedModels: the string variables scann_config,
// serialized_partitioner and ah_codebook) from raw bytes, with protowire and
// no generated code, into the arrays ann.NewFromScaNN takes.
//
// Field numbers follow ScaNN's public protos as documented in
// shared/docs/scann.md; only what tree-AH search needs is decoded. Unknown
// fields are skipped; malformed input returns an error, never a panic.
package scannstate

import (
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("scannstate: malformed proto")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// field is one decoded top-level field of a message.
type field struct {
	num protowire.Number
	typ protowire.Type
	v   uint64 // varint, fixed32, fixed64
	b   []byte // bytes
}

// fields splits a message into its fields.
func fields(b []byte, what string) ([]field, error) {
	var out []field
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, malformed("%s: bad tag: %v", what, protowire.ParseError(n))
		}
		b = b[n:]
		f := field{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.v, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(b)
			f.v = uint64(v)
		case protowire.Fixed64Type:
			f.v, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			f.b, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return nil, malformed("%s: field %d: %v", what, num, protowire.ParseError(n))
		}
		b = b[n:]
		out = append(out, f)
	}
	return out, nil
}

func (f field) int(what string) (int64, error) {
	if f.typ != protowire.VarintType {
		return 0, malformed("%s: field %d has wire type %d, want varint", what, f.num, f.typ)
	}
	return int64(f.v), nil
}

func (f field) msg(what string) ([]field, error) {
	if f.typ != protowire.BytesType {
		return nil, malformed("%s: field %d has wire type %d, want a message", what, f.num, f.typ)
	}
	return fields(f.b, what)
}

func (f field) float64(what string) (float64, error) {
	switch f.typ {
	case protowire.Fixed64Type:
		return math.Float64frombits(f.v), nil
	case protowire.Fixed32Type:
		return float64(math.Float32frombits(uint32(f.v))), nil
	}
	return 0, malformed("%s: field %d has wire type %d, want a float", what, f.num, f.typ)
}

// appendFloats appends a repeated float (fixed32) or double (fixed64) field,
// packed or not, as float32.
func appendFloats(dst []float32, f field, double bool, what string) ([]float32, error) {
	size := 4
	if double {
		size = 8
	}
	switch {
	case f.typ == protowire.BytesType:
		if len(f.b)%size != 0 {
			return nil, malformed("%s: packed field %d has %d bytes, not a multiple of %d", what, f.num, len(f.b), size)
		}
		for i := 0; i < len(f.b); i += size {
			if double {
				v, _ := protowire.ConsumeFixed64(f.b[i:])
				dst = append(dst, float32(math.Float64frombits(v)))
			} else {
				v, _ := protowire.ConsumeFixed32(f.b[i:])
				dst = append(dst, math.Float32frombits(v))
			}
		}
		return dst, nil
	case double && f.typ == protowire.Fixed64Type:
		return append(dst, float32(math.Float64frombits(f.v))), nil
	case !double && f.typ == protowire.Fixed32Type:
		return append(dst, math.Float32frombits(uint32(f.v))), nil
	}
	return nil, malformed("%s: field %d has wire type %d, want repeated floats", what, f.num, f.typ)
}

// Partitioner is a one-level k-means tree: leaf k has center Centers[k].
type Partitioner struct {
	NumTokens int
	Dim       int
	Centers   []float32 // [NumTokens, Dim], indexed by leaf id (token)
}

// ParsePartitioner decodes serialized_partitioner:
// {1: n_tokens, 2: kmeans {1: kmeans_tree {1: root}}}, where the root has
// repeated 1: center {1: packed double} and 3: child {5: leaf_id}. Only
// one-level trees (children without children) are supported.
func ParsePartitioner(b []byte) (*Partitioner, error) {
	top, err := fields(b, "partitioner")
	if err != nil {
		return nil, err
	}
	nTokens := int64(-1)
	var root []field
	for _, f := range top {
		switch f.num {
		case 1:
			if nTokens, err = f.int("partitioner.n_tokens"); err != nil {
				return nil, err
			}
		case 2:
			km, err := f.msg("partitioner.kmeans")
			if err != nil {
				return nil, err
			}
			for _, g := range km {
				if g.num != 1 {
					continue
				}
				tree, err := g.msg("kmeans_tree")
				if err != nil {
					return nil, err
				}
				for _, h := range tree {
					if h.num == 1 {
						if root, err = h.msg("kmeans_tree.root"); err != nil {
							return nil, err
						}
					}
				}
			}
		}
	}
	if root == nil {
		return nil, malformed("partitioner: no kmeans_tree root")
	}
	var centers [][]float32
	var leafIDs []int64
	for _, f := range root {
		switch f.num {
		case 1:
			c, err := f.msg("root.center")
			if err != nil {
				return nil, err
			}
			var v []float32
			for _, g := range c {
				if g.num == 1 {
					if v, err = appendFloats(v, g, true, "root.center"); err != nil {
						return nil, err
					}
				}
			}
			centers = append(centers, v)
		case 3:
			ch, err := f.msg("root.child")
			if err != nil {
				return nil, err
			}
			id := int64(-1)
			for _, g := range ch {
				switch g.num {
				case 1, 3:
					return nil, malformed("partitioner: multi-level k-means trees are not supported")
				case 5:
					if id, err = g.int("child.leaf_id"); err != nil {
						return nil, err
					}
				}
			}
			leafIDs = append(leafIDs, id)
		}
	}
	if len(centers) == 0 || len(centers) != len(leafIDs) {
		return nil, malformed("partitioner: %d centers and %d children", len(centers), len(leafIDs))
	}
	if nTokens != int64(len(centers)) {
		return nil, malformed("partitioner: n_tokens %d but %d leaves", nTokens, len(centers))
	}
	dim := len(centers[0])
	if dim == 0 {
		return nil, malformed("partitioner: empty center")
	}
	p := &Partitioner{NumTokens: len(centers), Dim: dim, Centers: make([]float32, len(centers)*dim)}
	seen := make([]bool, len(centers))
	for k, c := range centers {
		id := leafIDs[k]
		if len(c) != dim {
			return nil, malformed("partitioner: center %d has %d values, want %d", k, len(c), dim)
		}
		if id < 0 || id >= int64(len(centers)) || seen[id] {
			return nil, malformed("partitioner: child %d has leaf_id %d (out of range or repeated)", k, id)
		}
		seen[id] = true
		copy(p.Centers[int(id)*dim:], c)
	}
	return p, nil
}

// Codebook is an AH codebook: Centers[b][c][j], [NumBlocks, NumCenters, DimsPerBlock].
type Codebook struct {
	NumBlocks, NumCenters, DimsPerBlock int
	Centers                             []float32
}

// ParseCodebook decodes ah_codebook: {1: subspace {1: center}}, each center
// a GenericFeatureVector with packed float values in field 4 (or doubles in
// field 5).
func ParseCodebook(b []byte) (*Codebook, error) {
	top, err := fields(b, "codebook")
	if err != nil {
		return nil, err
	}
	cb := &Codebook{}
	for _, f := range top {
		if f.num != 1 {
			continue
		}
		sub, err := f.msg("codebook.subspace")
		if err != nil {
			return nil, err
		}
		nc := 0
		for _, g := range sub {
			if g.num != 1 {
				continue
			}
			fv, err := g.msg("codebook.center")
			if err != nil {
				return nil, err
			}
			before := len(cb.Centers)
			for _, h := range fv {
				switch h.num {
				case 4:
					cb.Centers, err = appendFloats(cb.Centers, h, false, "center.feature_value_float")
				case 5:
					cb.Centers, err = appendFloats(cb.Centers, h, true, "center.feature_value_double")
				}
				if err != nil {
					return nil, err
				}
			}
			d := len(cb.Centers) - before
			if cb.DimsPerBlock == 0 {
				cb.DimsPerBlock = d
			}
			if d == 0 || d != cb.DimsPerBlock {
				return nil, malformed("codebook: block %d center %d has %d values, want %d", cb.NumBlocks, nc, d, cb.DimsPerBlock)
			}
			nc++
		}
		if cb.NumBlocks == 0 {
			cb.NumCenters = nc
		}
		if nc == 0 || nc != cb.NumCenters {
			return nil, malformed("codebook: block %d has %d centers, want %d", cb.NumBlocks, nc, cb.NumCenters)
		}
		cb.NumBlocks++
	}
	if cb.NumBlocks == 0 {
		return nil, malformed("codebook: no subspaces")
	}
	return cb, nil
}

// Config holds the ScannConfig fields tree-AH search needs. Zero values mean
// the field was absent.
type Config struct {
	NumNeighbors    int
	DistanceMeasure string // e.g. "DotProductDistance", "SquaredL2Distance"

	// partitioning
	NumChildren                int
	PartitioningDistance       string
	QueryTokenizationDistance  string
	SpillingType               int
	MaxSpillCenters            int
	MaxClusteringIterations    int
	QueryTokenizationType      int
	HasPartitioning, HasAHHash bool

	// hash.asymmetric_hash
	ProjectionType          int
	NumBlocks, DimsPerBlock int
	InputDim                int
	NumClustersPerBlock     int
	LookupType              int
	UseResidualQuantization bool
	// NoiseShapingThreshold is the anisotropic threshold; NaN when absent or
	// disabled.
	NoiseShapingThreshold float64
}

// distanceName reads a DistanceMeasureConfig {1: distance_measure string}.
func distanceName(f field, what string) (string, error) {
	m, err := f.msg(what)
	if err != nil {
		return "", err
	}
	for _, g := range m {
		if g.num == 1 {
			if g.typ != protowire.BytesType {
				return "", malformed("%s: name has wire type %d", what, g.typ)
			}
			return string(g.b), nil
		}
	}
	return "", nil
}

// ParseConfig decodes the serialized ScannConfig.
func ParseConfig(b []byte) (*Config, error) {
	top, err := fields(b, "scann_config")
	if err != nil {
		return nil, err
	}
	c := &Config{NoiseShapingThreshold: math.NaN()}
	ival := func(f field, what string, dst *int) error {
		v, err := f.int(what)
		if err != nil {
			return err
		}
		if v < math.MinInt32 || v > math.MaxInt32 {
			return malformed("%s: %d out of range", what, v)
		}
		*dst = int(v)
		return nil
	}
	for _, f := range top {
		switch f.num {
		case 3:
			err = ival(f, "num_neighbors", &c.NumNeighbors)
		case 5:
			c.DistanceMeasure, err = distanceName(f, "distance_measure")
		case 8:
			c.HasPartitioning = true
			err = c.parsePartitioning(f, ival)
		case 13:
			err = c.parseHash(f, ival)
		}
		if err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *Config) parsePartitioning(f field, ival func(field, string, *int) error) error {
	m, err := f.msg("partitioning")
	if err != nil {
		return err
	}
	for _, g := range m {
		switch g.num {
		case 3:
			err = ival(g, "partitioning.num_children", &c.NumChildren)
		case 6:
			err = ival(g, "partitioning.max_clustering_iterations", &c.MaxClusteringIterations)
		case 10:
			c.PartitioningDistance, err = distanceName(g, "partitioning.partitioning_distance")
		case 21:
			var sp []field
			if sp, err = g.msg("partitioning.query_spilling"); err != nil {
				return err
			}
			for _, h := range sp {
				switch h.num {
				case 1:
					err = ival(h, "query_spilling.spilling_type", &c.SpillingType)
				case 3:
					err = ival(h, "query_spilling.max_spill_centers", &c.MaxSpillCenters)
				}
				if err != nil {
					return err
				}
			}
		case 25:
			c.QueryTokenizationDistance, err = distanceName(g, "partitioning.query_tokenization_distance_override")
		case 28:
			err = ival(g, "partitioning.query_tokenization_type", &c.QueryTokenizationType)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *Config) parseHash(f field, ival func(field, string, *int) error) error {
	m, err := f.msg("hash")
	if err != nil {
		return err
	}
	for _, g := range m {
		if g.num != 5 {
			continue
		}
		c.HasAHHash = true
		ah, err := g.msg("hash.asymmetric_hash")
		if err != nil {
			return err
		}
		for _, h := range ah {
			switch h.num {
			case 1:
				var pr []field
				if pr, err = h.msg("asymmetric_hash.projection"); err != nil {
					return err
				}
				for _, p := range pr {
					switch p.num {
					case 1:
						err = ival(p, "projection.projection_type", &c.ProjectionType)
					case 2:
						err = ival(p, "projection.num_blocks", &c.NumBlocks)
					case 3:
						err = ival(p, "projection.num_dims_per_block", &c.DimsPerBlock)
					case 9:
						err = ival(p, "projection.input_dim", &c.InputDim)
					}
					if err != nil {
						return err
					}
				}
			case 2:
				err = ival(h, "asymmetric_hash.num_clusters_per_block", &c.NumClustersPerBlock)
			case 20:
				err = ival(h, "asymmetric_hash.lookup_type", &c.LookupType)
			case 22:
				var v int
				if err = ival(h, "asymmetric_hash.use_residual_quantization", &v); err == nil {
					c.UseResidualQuantization = v != 0
				}
			case 28:
				c.NoiseShapingThreshold, err = h.float64("asymmetric_hash.noise_shaping_threshold")
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}
