package ann

import (
	"fmt"
	"testing"
)

// BenchmarkSearchBatched measures one batch of 256 queries over 20k
// synthetic 128-d points (go test -bench SearchBatched -run '^$' ./ann/).
// bench/ann/run.sh compares against faiss and hnswlib on real data.
func BenchmarkSearchBatched(b *testing.B) {
	const n, dim, nq = 20000, 128, 256
	data := clustered(1, n, dim)
	queries := clustered(2, nq, dim)
	for _, int8v := range []bool{false, true} {
		ix, err := Build(data, n, dim, Config{DistanceMeasure: DotProduct, NumLeaves: 140, NumLeavesToSearch: 8,
			AnisotropicQuantizationThreshold: 2, ReorderingNumNeighbors: 50, ReorderingInt8: int8v, Seed: 1, TrainingSampleSize: 10000})
		if err != nil {
			b.Fatal(err)
		}
		for _, k := range []kernelSet{defaultKernels(), portableKernels()} {
			ix.kern = k
			b.Run(fmt.Sprintf("int8=%v/kernels=%s", int8v, k.name), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if _, _, err := ix.SearchBatched(queries, 10, SearchOptions{}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(nq*b.N)/b.Elapsed().Seconds(), "queries/s")
			})
		}
	}
}
