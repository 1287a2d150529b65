// Package scann runs the ScaNN custom ops that TensorFlow Recommenders
// exports (Scann>TensorsToScann, Scann>ScannSearchBatched, Scann>ScannSearch)
// on tfserve's own quantized index (package ann), so ScaNN SavedModels serve
// with no ScaNN and no TensorFlow. It decodes ScaNN's serialized state
// (ScannConfig, the k-means partitioner, the asymmetric-hashing codebook)
// from the op inputs by hand with protowire; facts in
// ../shared/docs/scann.md.
package scann

import (
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Config is the part of ScannConfig that search needs.
type Config struct {
	NumNeighbors     int
	DistanceMeasure  string // e.g. "DotProductDistance"
	NumChildren      int
	MaxSpillCenters  int
	SpillingType     int
	NumBlocks        int
	DimsPerBlock     int
	InputDim         int
	ProjectionType   int
	ClustersPerBlock int
	HasReordering    bool
	ReorderNeighbors int
	HasBruteForce    bool
}

type field struct {
	num protowire.Number
	typ protowire.Type
	v   uint64 // varint / fixed value
	b   []byte // bytes value
}

// fields splits a message into its fields.
func fields(b []byte) ([]field, error) {
	var out []field
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
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
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		out = append(out, f)
	}
	return out, nil
}

func sub(fs []field, num protowire.Number) []byte {
	for _, f := range fs {
		if f.num == num && f.typ == protowire.BytesType {
			return f.b
		}
	}
	return nil
}

func varint(fs []field, num protowire.Number) (int, bool) {
	for _, f := range fs {
		if f.num == num && f.typ == protowire.VarintType {
			return int(int64(f.v)), true
		}
	}
	return 0, false
}

func has(fs []field, num protowire.Number) bool {
	for _, f := range fs {
		if f.num == num {
			return true
		}
	}
	return false
}

// ParseConfig decodes a serialized ScannConfig.
func ParseConfig(b []byte) (*Config, error) {
	top, err := fields(b)
	if err != nil {
		return nil, fmt.Errorf("scann config: %w", err)
	}
	c := &Config{}
	c.NumNeighbors, _ = varint(top, 3)
	if dm := sub(top, 5); dm != nil {
		dfs, err := fields(dm)
		if err != nil {
			return nil, fmt.Errorf("scann config distance_measure: %w", err)
		}
		c.DistanceMeasure = string(sub(dfs, 1))
	}
	if p := sub(top, 8); p != nil {
		pfs, err := fields(p)
		if err != nil {
			return nil, fmt.Errorf("scann config partitioning: %w", err)
		}
		c.NumChildren, _ = varint(pfs, 3)
		if qs := sub(pfs, 21); qs != nil {
			qfs, err := fields(qs)
			if err != nil {
				return nil, fmt.Errorf("scann config query_spilling: %w", err)
			}
			c.SpillingType, _ = varint(qfs, 1)
			c.MaxSpillCenters, _ = varint(qfs, 3)
		}
	}
	if h := sub(top, 13); h != nil {
		hfs, err := fields(h)
		if err != nil {
			return nil, fmt.Errorf("scann config hash: %w", err)
		}
		ah := sub(hfs, 5)
		if ah == nil {
			return nil, fmt.Errorf("scann config: hash section without asymmetric_hash is not supported")
		}
		afs, err := fields(ah)
		if err != nil {
			return nil, fmt.Errorf("scann config asymmetric_hash: %w", err)
		}
		if pr := sub(afs, 1); pr != nil {
			prf, err := fields(pr)
			if err != nil {
				return nil, fmt.Errorf("scann config projection: %w", err)
			}
			c.ProjectionType, _ = varint(prf, 1)
			c.NumBlocks, _ = varint(prf, 2)
			c.DimsPerBlock, _ = varint(prf, 3)
			c.InputDim, _ = varint(prf, 9)
		}
		c.ClustersPerBlock, _ = varint(afs, 2)
	}
	// exact_reordering (field 4 in ScannConfig) with approx_num_neighbors (1).
	if er := sub(top, 4); er != nil {
		c.HasReordering = true
		efs, err := fields(er)
		if err == nil {
			c.ReorderNeighbors, _ = varint(efs, 1)
		}
	}
	c.HasBruteForce = has(top, 6)
	return c, nil
}

// Partitioner is a one-level k-means tree: one center per leaf.
type Partitioner struct {
	Centers []float32 // [leaves, dim]
	Dim     int
	Leaves  int
}

// ParsePartitioner decodes ScaNN's SerializedPartitioner holding a k-means
// tree. Trees deeper than one level are rejected.
func ParsePartitioner(b []byte) (*Partitioner, error) {
	top, err := fields(b)
	if err != nil {
		return nil, fmt.Errorf("scann partitioner: %w", err)
	}
	km := sub(top, 2)
	if km == nil {
		return nil, fmt.Errorf("scann partitioner: no kmeans section (only k-means tree partitioners are supported)")
	}
	kfs, err := fields(km)
	if err != nil {
		return nil, fmt.Errorf("scann partitioner kmeans: %w", err)
	}
	tree := sub(kfs, 1)
	tfs, err := fields(tree)
	if err != nil || tree == nil {
		return nil, fmt.Errorf("scann partitioner: no kmeans_tree")
	}
	root := sub(tfs, 1)
	rfs, err := fields(root)
	if err != nil || root == nil {
		return nil, fmt.Errorf("scann partitioner: no root node")
	}
	p := &Partitioner{}
	var leafIDs []int
	for _, f := range rfs {
		switch {
		case f.num == 1 && f.typ == protowire.BytesType:
			vals, err := doubles(f.b)
			if err != nil {
				return nil, fmt.Errorf("scann partitioner center %d: %w", p.Leaves, err)
			}
			if p.Dim == 0 {
				p.Dim = len(vals)
			} else if len(vals) != p.Dim {
				return nil, fmt.Errorf("scann partitioner: center %d has %d values, want %d", p.Leaves, len(vals), p.Dim)
			}
			for _, v := range vals {
				p.Centers = append(p.Centers, float32(v))
			}
			p.Leaves++
		case f.num == 3 && f.typ == protowire.BytesType:
			cfs, err := fields(f.b)
			if err != nil {
				return nil, fmt.Errorf("scann partitioner child: %w", err)
			}
			if has(cfs, 1) || has(cfs, 3) {
				return nil, fmt.Errorf("scann partitioner: the k-means tree is deeper than one level, which is not supported")
			}
			id, _ := varint(cfs, 5)
			leafIDs = append(leafIDs, id)
		}
	}
	if p.Leaves == 0 || p.Dim == 0 {
		return nil, fmt.Errorf("scann partitioner: no centers")
	}
	for i, id := range leafIDs {
		if id != i {
			return nil, fmt.Errorf("scann partitioner: child %d has leaf id %d; only leaf id = position is supported", i, id)
		}
	}
	return p, nil
}

// doubles decodes a center: field 1 packed doubles (or repeated fixed64).
func doubles(b []byte) ([]float64, error) {
	fs, err := fields(b)
	if err != nil {
		return nil, err
	}
	var out []float64
	for _, f := range fs {
		if f.num != 1 {
			continue
		}
		switch f.typ {
		case protowire.BytesType:
			if len(f.b)%8 != 0 {
				return nil, fmt.Errorf("packed doubles of %d bytes", len(f.b))
			}
			for i := 0; i < len(f.b); i += 8 {
				v, _ := protowire.ConsumeFixed64(f.b[i:])
				out = append(out, math.Float64frombits(v))
			}
		case protowire.Fixed64Type:
			out = append(out, math.Float64frombits(f.v))
		}
	}
	return out, nil
}

// Codebook is the asymmetric-hashing codebook: [blocks][centers][dims].
type Codebook struct {
	Values                        []float32
	Blocks, CentersPerBlock, Dims int
}

// ParseCodebook decodes a serialized CentersForAllSubspaces.
func ParseCodebook(b []byte) (*Codebook, error) {
	top, err := fields(b)
	if err != nil {
		return nil, fmt.Errorf("scann codebook: %w", err)
	}
	cb := &Codebook{}
	for _, f := range top {
		if f.num != 1 || f.typ != protowire.BytesType {
			continue
		}
		sfs, err := fields(f.b)
		if err != nil {
			return nil, fmt.Errorf("scann codebook subspace %d: %w", cb.Blocks, err)
		}
		centers := 0
		for _, c := range sfs {
			if c.num != 1 || c.typ != protowire.BytesType {
				continue
			}
			vals, err := floats(c.b)
			if err != nil {
				return nil, fmt.Errorf("scann codebook subspace %d center %d: %w", cb.Blocks, centers, err)
			}
			if cb.Dims == 0 {
				cb.Dims = len(vals)
			} else if len(vals) != cb.Dims {
				return nil, fmt.Errorf("scann codebook: center with %d values, want %d", len(vals), cb.Dims)
			}
			cb.Values = append(cb.Values, vals...)
			centers++
		}
		if cb.CentersPerBlock == 0 {
			cb.CentersPerBlock = centers
		} else if centers != cb.CentersPerBlock {
			return nil, fmt.Errorf("scann codebook: subspace %d has %d centers, want %d", cb.Blocks, centers, cb.CentersPerBlock)
		}
		cb.Blocks++
	}
	if cb.Blocks == 0 || cb.Dims == 0 {
		return nil, fmt.Errorf("scann codebook: empty")
	}
	return cb, nil
}

// floats decodes a GenericFeatureVector's float values (field 4, packed
// floats or repeated fixed32); double values (field 5) are narrowed.
func floats(b []byte) ([]float32, error) {
	fs, err := fields(b)
	if err != nil {
		return nil, err
	}
	var out []float32
	for _, f := range fs {
		switch {
		case f.num == 4 && f.typ == protowire.BytesType:
			if len(f.b)%4 != 0 {
				return nil, fmt.Errorf("packed floats of %d bytes", len(f.b))
			}
			for i := 0; i < len(f.b); i += 4 {
				v, _ := protowire.ConsumeFixed32(f.b[i:])
				out = append(out, math.Float32frombits(v))
			}
		case f.num == 4 && f.typ == protowire.Fixed32Type:
			out = append(out, math.Float32frombits(uint32(f.v)))
		case f.num == 5 && f.typ == protowire.BytesType:
			for i := 0; i+8 <= len(f.b); i += 8 {
				v, _ := protowire.ConsumeFixed64(f.b[i:])
				out = append(out, float32(math.Float64frombits(v)))
			}
		}
	}
	return out, nil
}
