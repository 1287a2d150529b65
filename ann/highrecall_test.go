package ann

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// unitSet is unit-norm clustered data with queries near datapoints and the
// exact dot-product top 10 of each query (brute force in float64).
type unitSet struct {
	data, queries []float32
	n, nq, dim    int
	truth         [][]int32
}

var (
	unitSetOnce sync.Once
	unitSetData *unitSet
)

func newUnitSet(t testing.TB) *unitSet {
	t.Helper()
	unitSetOnce.Do(func() {
		const n, nq, dim = 4000, 200, 32
		rng := rand.New(rand.NewPCG(12, 13))
		// 256 directions with wide spread: clusters overlap, so that the
		// partition, not the quantization, limits recall at few leaves.
		const nc = 256
		centers := make([]float64, nc*dim)
		for i := range centers {
			centers[i] = rng.NormFloat64()
		}
		us := &unitSet{data: make([]float32, n*dim), n: n, nq: nq, dim: dim}
		for i := 0; i < n; i++ {
			c := rng.IntN(nc)
			row := us.data[i*dim : (i+1)*dim]
			for d := range row {
				row[d] = float32(centers[c*dim+d] + 0.8*rng.NormFloat64())
			}
			normalize(row)
		}
		us.queries = make([]float32, nq*dim)
		for i := 0; i < nq; i++ {
			r := rng.IntN(n)
			q := us.queries[i*dim : (i+1)*dim]
			for d := range q {
				q[d] = us.data[r*dim+d] + float32(0.15*rng.NormFloat64())
			}
			normalize(q)
			us.truth = append(us.truth, exactTopK(us.data, dim, q, 10, DotProduct))
		}
		unitSetData = us
	})
	return unitSetData
}

// TestHighRecallSettings measures recall@10 against brute force for the
// settings that reach high recall: spherical partitioning, more leaves
// searched and larger reordering budgets, with float32 and int8 vectors.
// The floors sit just under the values measured on this data (the build is
// deterministic for a seed).
func TestHighRecallSettings(t *testing.T) {
	us := newUnitSet(t)
	const k = 10
	type point struct {
		leaves, reorder int
	}
	type want struct {
		point
		floor float64
	}
	cases := []struct {
		name                 string
		spherical, int8, f16 bool
		floors               []want
	}{
		{"kmeans", false, false, false, []want{{point{4, 50}, 0.71}, {point{16, 200}, 0.92}, {point{32, 200}, 0.98}, {point{64, 200}, 0.995}}},
		{"spherical", true, false, false, []want{{point{2, 50}, 0.61}, {point{4, 50}, 0.73}, {point{8, 50}, 0.84},
			{point{16, 50}, 0.92}, {point{32, 200}, 0.985}, {point{64, 200}, 0.995}}},
		{"spherical_int8", true, true, false, []want{{point{16, 50}, 0.92}, {point{32, 200}, 0.98}, {point{64, 200}, 0.99}}},
		{"spherical_float16", true, false, true, []want{{point{16, 50}, 0.93}, {point{32, 200}, 0.99}, {point{64, 200}, 0.998}}},
	}
	got := map[string]map[point]float64{}
	for _, tc := range cases {
		cfg := Config{DistanceMeasure: DotProduct, NumLeaves: 64, NumLeavesToSearch: 4, DimensionsPerBlock: 2,
			AnisotropicQuantizationThreshold: 0.2, ReorderingNumNeighbors: 50, ReorderingInt8: tc.int8,
			ReorderingFloat16: tc.f16, Spherical: tc.spherical, Seed: 3}
		ix, err := Build(us.data, us.n, us.dim, cfg)
		if err != nil {
			t.Fatal(err)
		}
		got[tc.name] = map[point]float64{}
		for _, p := range []point{{2, 50}, {4, 50}, {8, 50}, {16, 50}, {16, 200}, {32, 200}, {64, 200}} {
			idx, _, err := ix.SearchBatched(us.queries, k, SearchOptions{LeavesToSearch: p.leaves, PreReorderNumNeighbors: p.reorder})
			if err != nil {
				t.Fatal(err)
			}
			r := recallAt(us.truth, idx, k)
			got[tc.name][p] = r
			t.Logf("%s: leaves=%2d reorder=%3d recall@10=%.4f", tc.name, p.leaves, p.reorder, r)
		}
		for _, w := range tc.floors {
			if r := got[tc.name][w.point]; r < w.floor {
				t.Errorf("%s: leaves=%d reorder=%d: recall@10 %.4f < floor %.3f", tc.name, w.leaves, w.reorder, r, w.floor)
			}
		}
	}
	// Spherical partitioning must find more of the true neighbours than
	// k-means in the same number of leaves (summed over 2, 4, 8, 16).
	var sph, km float64
	for _, l := range []int{2, 4, 8, 16} {
		sph += got["spherical"][point{l, 50}]
		km += got["kmeans"][point{l, 50}]
	}
	if sph <= km {
		t.Errorf("spherical partitioning: summed recall %.4f is not above k-means' %.4f", sph, km)
	}
}

// TestSphericalConfig checks that spherical partitioning is refused for
// squared_l2 and that its centers are the means of their leaves' members.
func TestSphericalConfig(t *testing.T) {
	us := newUnitSet(t)
	for m, want := range map[DistanceMeasure]bool{Cosine: true, DotProduct: false, SquaredL2: false} {
		if got := DefaultConfig(m, 1000).Spherical; got != want {
			t.Errorf("DefaultConfig(%v).Spherical = %v, want %v", m, got, want)
		}
	}
	cfg := Config{DistanceMeasure: SquaredL2, NumLeaves: 8, Spherical: true}
	if _, err := Build(us.data, us.n, us.dim, cfg); err == nil {
		t.Error("spherical squared_l2 build: no error")
	}
	cfg.DistanceMeasure = Cosine
	ix, err := Build(us.data, us.n, us.dim, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !ix.spherical || len(ix.rankScale) != 8 {
		t.Fatalf("spherical %v, %d rank scales", ix.spherical, len(ix.rankScale))
	}
	dim := us.dim
	for l := 0; l < ix.leaves; l++ {
		mean := make([]float64, dim)
		cnt := int(ix.leafStart[l+1] - ix.leafStart[l])
		for p := ix.leafStart[l]; p < ix.leafStart[l+1]; p++ {
			row := us.data[int(ix.ids[p])*dim:]
			for d := range mean {
				mean[d] += float64(row[d]) / float64(cnt)
			}
		}
		var sq float64
		for d := range mean {
			if diff := math.Abs(mean[d] - float64(ix.centers[l*dim+d])); diff > 1e-5 {
				t.Fatalf("leaf %d dim %d: center %g, mean of members %g", l, d, ix.centers[l*dim+d], mean[d])
			}
			sq += mean[d] * mean[d]
		}
		if want := 1 / math.Sqrt(sq); math.Abs(float64(ix.rankScale[l])-want) > 1e-4*want {
			t.Errorf("leaf %d: rank scale %g, want 1/‖c‖ = %g", l, ix.rankScale[l], want)
		}
	}
}

// TestLoadVersion1 reads index files written by the version-1 code (before
// spherical partitioning) and checks that they answer as they did then.
func TestLoadVersion1(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "v1_results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]struct {
		Indices []int32
		Scores  []float32
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	// The queries were the first 8 datapoints of 300 x 9 normal values.
	rng := rand.New(rand.NewPCG(21, 22))
	const dim = 9
	queries := make([]float32, 8*dim)
	for i := range queries {
		queries[i] = float32(rng.NormFloat64())
	}
	for _, name := range []string{"v1_dot", "v1_l2_int8"} {
		raw, err := os.ReadFile(filepath.Join("testdata", name+".ann"))
		if err != nil {
			t.Fatal(err)
		}
		if v := binary.LittleEndian.Uint32(raw[8:]); v != 1 {
			t.Fatalf("%s: version %d, want a version-1 file", name, v)
		}
		ix, err := Decode(raw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		idx, sc, err := ix.SearchBatched(queries, 5, SearchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w := want[name]
		if !slices.Equal(idx, w.Indices) {
			t.Errorf("%s: indices %v, want %v", name, idx, w.Indices)
		}
		for i := range sc {
			if math.Abs(float64(sc[i]-w.Scores[i])) > 1e-4*max(1, math.Abs(float64(w.Scores[i]))) {
				t.Errorf("%s: score %d = %g, want %g", name, i, sc[i], w.Scores[i])
			}
		}
		// A version-1 file cannot carry the spherical flag.
		bad := bytes.Clone(raw)
		flags := binary.LittleEndian.Uint32(bad[24:])
		binary.LittleEndian.PutUint32(bad[24:], flags|flagSpherical)
		if _, err := Decode(resealed(bad)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: version 1 with the spherical flag: err %v, want ErrCorrupt", name, err)
		}
	}
}

// TestVersion2RoundTrip saves indexes that use the version-2 features
// (spherical flag, residual int8 and float16 vectors) and checks that the
// loaded copies answer identically, and that inconsistent flags are refused.
func TestVersion2RoundTrip(t *testing.T) {
	us := newUnitSet(t)
	for _, tc := range []struct {
		name      string
		cfg       Config
		wantFlags uint32
	}{
		{"spherical", Config{DistanceMeasure: DotProduct, Spherical: true}, flagSpherical | flagFloat},
		{"spherical_f16", Config{DistanceMeasure: Cosine, Spherical: true, ReorderingFloat16: true}, flagSpherical | flagFloat16},
		{"l2_int8", Config{DistanceMeasure: SquaredL2, ReorderingInt8: true}, flagInt8 | flagInt8Residual},
		{"l2_f16", Config{DistanceMeasure: SquaredL2, ReorderingFloat16: true}, flagFloat16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.NumLeaves, cfg.NumLeavesToSearch, cfg.ReorderingNumNeighbors, cfg.Seed = 16, 3, 20, 2
			ix, err := Build(us.data, us.n, us.dim, cfg)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := ix.Save(&buf); err != nil {
				t.Fatal(err)
			}
			raw := buf.Bytes()
			if v, f := binary.LittleEndian.Uint32(raw[8:]), binary.LittleEndian.Uint32(raw[24:]); v != 2 || f != tc.wantFlags {
				t.Fatalf("version %d flags %#x, want version 2 with flags %#x", v, f, tc.wantFlags)
			}
			got, err := Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			for _, opt := range []SearchOptions{{}, {Exact: true}} {
				i1, s1, err := ix.SearchBatched(us.queries, 10, opt)
				if err != nil {
					t.Fatal(err)
				}
				i2, s2, err := got.SearchBatched(us.queries, 10, opt)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(i1, i2) || !slices.Equal(s1, s2) {
					t.Fatalf("exact=%v: the loaded index answers differently", opt.Exact)
				}
				if opt.Exact {
					// Exact search over the stored vectors: float16 and
					// residual int8 stay close to brute force.
					floor := 0.999
					if tc.cfg.ReorderingInt8 {
						floor = 0.985
					}
					truth := us.truth
					if tc.cfg.DistanceMeasure == SquaredL2 {
						truth = nil
						for i := 0; i < us.nq; i++ {
							truth = append(truth, exactTopK(us.data, us.dim, us.queries[i*us.dim:(i+1)*us.dim], 10, SquaredL2))
						}
					}
					r := recallAt(truth, i1, 10)
					t.Logf("exact search over the stored vectors: recall@10 %.4f", r)
					if r < floor {
						t.Errorf("exact search over the stored vectors: recall %.4f < %.3f", r, floor)
					}
				}
			}
			for _, f := range []uint32{tc.wantFlags | flagFloat, tc.wantFlags | flagFloat16, tc.wantFlags &^ flagInt8} {
				if f == tc.wantFlags || f&(flagFloat|flagInt8|flagFloat16) == 0 {
					continue
				}
				bad := bytes.Clone(raw)
				binary.LittleEndian.PutUint32(bad[24:], f)
				if _, err := Decode(resealed(bad)); !errors.Is(err, ErrCorrupt) {
					t.Errorf("flags %#x: err %v, want ErrCorrupt", f, err)
				}
			}
			if tc.wantFlags&flagSpherical != 0 {
				bad := bytes.Clone(raw)
				binary.LittleEndian.PutUint32(bad[20:], uint32(SquaredL2))
				if _, err := Decode(resealed(bad)); !errors.Is(err, ErrCorrupt) {
					t.Errorf("spherical squared_l2 file: err %v, want ErrCorrupt", err)
				}
			}
		})
	}
	cfg := Config{DistanceMeasure: DotProduct, NumLeaves: 4, ReorderingInt8: true, ReorderingFloat16: true}
	if _, err := Build(us.data, us.n, us.dim, cfg); err == nil {
		t.Error("int8 and float16 reordering together: no error")
	}
}
