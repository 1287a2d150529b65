package ann

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"sync"
	"testing"
)

// clustered returns n rows of dim values drawn around 32 random centers.
func clustered(seed uint64, n, dim int) []float32 {
	rng := rand.New(rand.NewPCG(seed, 99))
	const nc = 32
	centers := make([]float64, nc*dim)
	for i := range centers {
		centers[i] = rng.NormFloat64()
	}
	x := make([]float32, n*dim)
	for i := 0; i < n; i++ {
		c := rng.IntN(nc)
		for d := 0; d < dim; d++ {
			x[i*dim+d] = float32(centers[c*dim+d] + 0.6*rng.NormFloat64())
		}
	}
	return x
}

// exactTopK is the test's reference: float64 scores over all rows, ties to
// the lower index.
func exactTopK(data []float32, dim int, q []float32, k int, m DistanceMeasure) []int32 {
	n := len(data) / dim
	type pair struct {
		s float64
		i int32
	}
	qq := make([]float64, dim)
	var qn float64
	for d := range qq {
		qq[d] = float64(q[d])
		qn += qq[d] * qq[d]
	}
	all := make([]pair, n)
	for i := 0; i < n; i++ {
		row := data[i*dim : (i+1)*dim]
		var s, xn float64
		for d := range row {
			x := float64(row[d])
			switch m {
			case SquaredL2:
				t := qq[d] - x
				s -= t * t
			default:
				s += qq[d] * x
			}
			xn += x * x
		}
		if m == Cosine && xn > 0 {
			s /= math.Sqrt(xn)
		}
		all[i] = pair{s, int32(i)}
	}
	sort.Slice(all, func(a, b int) bool {
		if all[a].s != all[b].s {
			return all[a].s > all[b].s
		}
		return all[a].i < all[b].i
	})
	out := make([]int32, k)
	for j := range out {
		out[j] = all[j].i
	}
	return out
}

func recallAt(want [][]int32, got []int32, k int) float64 {
	hit := 0
	for i, w := range want {
		g := got[i*k : (i+1)*k]
		for _, id := range w {
			if slices.Contains(g, id) {
				hit++
			}
		}
	}
	return float64(hit) / float64(len(want)*k)
}

type testSet struct {
	data, queries []float32
	n, nq, dim    int
	truth         map[DistanceMeasure][][]int32
}

var (
	testSetOnce sync.Once
	testSetData *testSet
)

// newTestSet returns the shared, read-only test data (built once).
func newTestSet(t testing.TB) *testSet {
	t.Helper()
	testSetOnce.Do(func() { testSetData = makeTestSet() })
	return testSetData
}

func makeTestSet() *testSet {
	const n, nq, dim, k = 3000, 100, 24, 10
	ts := &testSet{data: clustered(1, n, dim), n: n, nq: nq, dim: dim, truth: map[DistanceMeasure][][]int32{}}
	rng := rand.New(rand.NewPCG(5, 6))
	ts.queries = make([]float32, nq*dim)
	for i := 0; i < nq; i++ {
		r := rng.IntN(n)
		for d := 0; d < dim; d++ {
			ts.queries[i*dim+d] = ts.data[r*dim+d] + float32(0.5*rng.NormFloat64())
		}
	}
	for _, m := range []DistanceMeasure{DotProduct, SquaredL2, Cosine} {
		for i := 0; i < nq; i++ {
			ts.truth[m] = append(ts.truth[m], exactTopK(ts.data, dim, ts.queries[i*dim:(i+1)*dim], k, m))
		}
	}
	return ts
}

func TestRecall(t *testing.T) {
	ts := newTestSet(t)
	const k = 10
	for _, tc := range []struct {
		name   string
		m      DistanceMeasure
		thresh float64
		int8   bool
	}{
		{"dot_pq", DotProduct, 0, false},
		{"dot_aniso", DotProduct, 2.5, false},
		{"l2_pq", SquaredL2, 0, false},
		{"cosine_aniso", Cosine, 0.2, false},
		{"dot_int8_reorder", DotProduct, 2.5, true},
		{"l2_int8_reorder", SquaredL2, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{
				DistanceMeasure: tc.m, NumLeaves: 40, NumLeavesToSearch: 4,
				DimensionsPerBlock: 2, AnisotropicQuantizationThreshold: tc.thresh,
				ReorderingNumNeighbors: 50, ReorderingInt8: tc.int8, Seed: 7,
			}
			ix, err := Build(ts.data, ts.n, ts.dim, cfg)
			if err != nil {
				t.Fatal(err)
			}
			truth := ts.truth[tc.m]
			prev := -1.0
			for _, leaves := range []int{1, 4, 10, 40} {
				for _, reorder := range []int{-1, 50} {
					idx, _, err := ix.SearchBatched(ts.queries, k, SearchOptions{LeavesToSearch: leaves, PreReorderNumNeighbors: reorder})
					if err != nil {
						t.Fatal(err)
					}
					r := recallAt(truth, idx, k)
					t.Logf("leaves=%2d reorder=%3d recall@10=%.3f", leaves, reorder, r)
					if reorder > 0 {
						if r+0.02 < prev {
							t.Errorf("recall dropped from %.3f to %.3f when searching more leaves", prev, r)
						}
						prev = r
					}
					// Floors: all leaves with exact reordering must be near
					// perfect; quantized-only scores must still be useful.
					switch {
					case leaves == 40 && reorder > 0 && !tc.int8 && r < 0.97:
						t.Errorf("all leaves + reordering: recall %.3f < 0.97", r)
					case leaves == 40 && reorder > 0 && r < 0.9:
						t.Errorf("all leaves + int8 reordering: recall %.3f < 0.9", r)
					case leaves == 40 && reorder < 0 && r < 0.6:
						t.Errorf("all leaves, no reordering: recall %.3f < 0.6", r)
					}
				}
			}
		})
	}
}

func TestExactSearchMatchesReference(t *testing.T) {
	ts := newTestSet(t)
	for _, m := range []DistanceMeasure{DotProduct, SquaredL2, Cosine} {
		ix, err := Build(ts.data, ts.n, ts.dim, Config{DistanceMeasure: m, BruteForce: true})
		if err != nil {
			t.Fatal(err)
		}
		idx, sc, err := ix.SearchBatched(ts.queries, 10, SearchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if r := recallAt(ts.truth[m], idx, 10); r < 0.999 {
			t.Errorf("%v: brute-force recall %.4f, want 1", m, r)
		}
		// Scores: recompute for the first query in float64.
		q := ts.queries[:ts.dim]
		for j := 0; j < 10; j++ {
			row := ts.data[int(idx[j])*ts.dim : int(idx[j]+1)*ts.dim]
			var dot, l2, xn, qn float64
			for d := range row {
				dot += float64(q[d]) * float64(row[d])
				l2 += (float64(q[d]) - float64(row[d])) * (float64(q[d]) - float64(row[d]))
				xn += float64(row[d]) * float64(row[d])
				qn += float64(q[d]) * float64(q[d])
			}
			want := map[DistanceMeasure]float64{DotProduct: dot, SquaredL2: l2, Cosine: dot / math.Sqrt(xn*qn)}[m]
			if math.Abs(float64(sc[j])-want) > 1e-3*math.Max(1, math.Abs(want)) {
				t.Errorf("%v: score[%d] = %v, want %v", m, j, sc[j], want)
			}
		}
	}
}

func TestDeterministicBuild(t *testing.T) {
	data := clustered(2, 1500, 20)
	cfg := Config{DistanceMeasure: DotProduct, NumLeaves: 20, NumLeavesToSearch: 3,
		AnisotropicQuantizationThreshold: 0.2, ReorderingNumNeighbors: 20, Seed: 42, TrainingSampleSize: 1000}
	a, err := Build(data, 1500, 20, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build(data, 1500, 20, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.centers, b.centers) || !slices.Equal(a.codebook, b.codebook) ||
		!slices.Equal(a.packed, b.packed) || !slices.Equal(a.ids, b.ids) {
		t.Fatal("two builds with the same seed differ")
	}
	// The build parallelises over GOMAXPROCS; the result must not depend on it.
	prev := runtime.GOMAXPROCS(1)
	one, err := Build(data, 1500, 20, cfg)
	runtime.GOMAXPROCS(prev)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.centers, one.centers) || !slices.Equal(a.packed, one.packed) {
		t.Fatal("GOMAXPROCS=1 build differs")
	}
	cfg.Seed = 43
	c, err := Build(data, 1500, 20, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(a.centers, c.centers) {
		t.Error("a different seed gave the same leaf centers")
	}
}

// TestAnisotropicLoss checks the encoder against its definition: the chosen
// codes must not have a larger anisotropic loss than plain PQ codes, and
// must lower the parallel error on average.
func TestAnisotropicLoss(t *testing.T) {
	const n, dim, dpb = 400, 16, 2
	nb := dim / dpb
	x := clustered(3, n, dim)
	cb := trainCodebook(x, n, nb, dpb, 10, 1)
	plain := make([]uint8, nb)
	aniso := make([]uint8, nb)
	errv := make([]float32, dim)
	var parPlain, parAniso float64
	for i := 0; i < n; i++ {
		row := x[i*dim : (i+1)*dim]
		var sq float64
		for _, v := range row {
			sq += float64(v) * float64(v)
		}
		eta := parallelCostMultiplier(0.5*math.Sqrt(sq), sq, dim)
		encodePlain(row, cb, nb, dpb, plain)
		encodeAnisotropic(row, row, cb, dim, nb, dpb, eta, aniso, errv, 10)
		lp, pp := anisoLoss(row, cb, plain, dpb, eta)
		la, pa := anisoLoss(row, cb, aniso, dpb, eta)
		if la > lp+1e-6*math.Max(1, lp) {
			t.Fatalf("row %d: anisotropic loss %v > plain %v", i, la, lp)
		}
		parPlain += pp
		parAniso += pa
	}
	t.Logf("mean squared parallel error: plain %.4g, anisotropic %.4g", parPlain/n, parAniso/n)
	if parAniso >= parPlain {
		t.Errorf("anisotropic encoding did not reduce the parallel error")
	}
}

func anisoLoss(x, cb []float32, codes []uint8, dpb int, eta float64) (loss, par2 float64) {
	var xn float64
	for _, v := range x {
		xn += float64(v) * float64(v)
	}
	var e2, p float64
	for b, c := range codes {
		for j := 0; j < dpb; j++ {
			e := float64(x[b*dpb+j]) - float64(cb[(b*16+int(c))*dpb+j])
			e2 += e * e
			p += e * float64(x[b*dpb+j]) / math.Sqrt(xn)
		}
	}
	return e2 + (eta-1)*p*p, p * p
}

func TestKernelsGiveSameResults(t *testing.T) {
	ts := newTestSet(t)
	cfg := Config{DistanceMeasure: DotProduct, NumLeaves: 30, NumLeavesToSearch: 5, ReorderingNumNeighbors: 0, Seed: 3}
	ix, err := Build(ts.data, ts.n, ts.dim, cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := ix.SearchBatched(ts.queries, 10, SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ix2 := *ix
	ix2.scratch = new(sync.Pool)
	ix2.kern = portableKernels()
	b, _, err := ix2.SearchBatched(ts.queries, 10, SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Center scores may differ in the last bit between FMA and Go, which can
	// swap a leaf; demand near-identical results.
	if r := recallAt(toRows(b, 10), a, 10); r < 0.99 {
		t.Errorf("%s vs go kernels: overlap %.3f", ix.Kernels(), r)
	}
}

func toRows(idx []int32, k int) [][]int32 {
	var out [][]int32
	for i := 0; i+k <= len(idx); i += k {
		out = append(out, idx[i:i+k])
	}
	return out
}

func TestSearchErrors(t *testing.T) {
	data := clustered(4, 200, 8)
	ix, err := Build(data, 200, 8, Config{DistanceMeasure: SquaredL2, NumLeaves: 4, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ix.SearchBatched(make([]float32, 7), 10, SearchOptions{}); err == nil {
		t.Error("wrong query width: no error")
	}
	if _, _, err := ix.SearchBatched(make([]float32, 8), 0, SearchOptions{}); err == nil {
		t.Error("k=0: no error")
	}
	if _, _, err := ix.SearchBatched(make([]float32, 8), 5, SearchOptions{Exact: true}); err == nil {
		t.Error("exact search without vectors: no error")
	}
	q := make([]float32, 8)
	q[3] = float32(math.NaN())
	if _, _, err := ix.SearchBatched(q, 5, SearchOptions{}); err == nil {
		t.Error("NaN query: no error")
	}
	for _, cfg := range []Config{
		{NumLeaves: 4},
		{DistanceMeasure: DotProduct, NumLeaves: 0},
		{DistanceMeasure: DotProduct, NumLeaves: 201},
		{DistanceMeasure: DotProduct, NumLeaves: 4, NumLeavesToSearch: 5},
		{DistanceMeasure: SquaredL2, NumLeaves: 4, AnisotropicQuantizationThreshold: 0.2},
		{DistanceMeasure: DotProduct, NumLeaves: 4, DimensionsPerBlock: 9},
	} {
		if _, err := Build(data, 200, 8, cfg); err == nil {
			t.Errorf("Build(%+v): no error", cfg)
		}
	}
	// More results than datapoints: padded with -1.
	idx, _, err := ix.SearchBatched(make([]float32, 8), 300, SearchOptions{LeavesToSearch: 4})
	if err != nil {
		t.Fatal(err)
	}
	if idx[199] < 0 || idx[200] != -1 {
		t.Errorf("padding: idx[199]=%d idx[200]=%d", idx[199], idx[200])
	}
}

func TestParallelSearchEqualsSerial(t *testing.T) {
	ts := newTestSet(t)
	ix, err := Build(ts.data, ts.n, ts.dim, Config{DistanceMeasure: SquaredL2, NumLeaves: 30, NumLeavesToSearch: 4,
		ReorderingNumNeighbors: 30, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	i1, s1, err := ix.SearchBatched(ts.queries, 10, SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	i2, s2, err := ix.SearchBatched(ts.queries, 10, SearchOptions{Parallelism: 4})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(i1, i2) || !slices.Equal(s1, s2) {
		t.Fatal("parallel search differs from serial")
	}
	// Single-query Search agrees with the batch.
	res, err := ix.Search(ts.queries[:ts.dim], 10, SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for j, r := range res {
		if r.Index != i1[j] || r.Score != s1[j] {
			t.Fatalf("Search()[%d] = %+v, batch %d/%v", j, r, i1[j], s1[j])
		}
	}
}
