// Command labse writes the LaBSE benchmark data set for bench/ann: the
// 14,357 768-d vectors reconstructed from the ScaNN fixture
// (../shared/fixtures/tfrs/universaldot_labse_index) as leaf center + AH
// codebook entries (../shared/docs/scann.md), 1,000 queries drawn near
// datapoints (noise 0.3/sqrt(D), seeded), and the exact top-100 by dot
// product, as base.npy, queries.npy and gt.npy.
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tfserve/tfserve/ann/scannstate"
	"github.com/tfserve/tfserve/loader/bundle"
)

func main() {
	fixture := flag.String("fixture", "../shared/fixtures/tfrs/universaldot_labse_index/1", "ScaNN SavedModel directory")
	out := flag.String("out", "/tmp/annbench/labse-768-ip", "output directory")
	nq := flag.Int("nq", 1000, "queries")
	flag.Parse()
	r, err := bundle.Open(filepath.Join(*fixture, "variables", "variables"))
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	get := func(suffix string) any {
		for _, k := range r.Keys() {
			if strings.HasSuffix(k, suffix) {
				t, err := r.Tensor(k)
				if err != nil {
					log.Fatal(err)
				}
				return t.Data
			}
		}
		log.Fatalf("no checkpoint key ending in %s", suffix)
		return nil
	}
	// variables/N follow the sorted names of the searcher's children (scann.md).
	v := func(i int) string { return fmt.Sprintf("variables/%d/.ATTRIBUTES/VARIABLE_VALUE", i) }
	st, _, err := scannstate.Assemble([]byte(get(v(7)).([]string)[0]), []byte(get(v(8)).([]string)[0]),
		[]byte(get(v(0)).([]string)[0]), get(v(1)).([]int32), get(v(4)).([]uint8))
	if err != nil {
		log.Fatal(err)
	}
	n, dim := len(st.DatapointToLeaf), st.Dim
	base := scannstate.Reconstruct(st)
	rng := rand.New(rand.NewPCG(20240611, 1))
	q := make([]float32, *nq*dim)
	sigma := 0.3 / math.Sqrt(float64(dim))
	for i := 0; i < *nq; i++ {
		src := rng.IntN(n)
		for d := 0; d < dim; d++ {
			q[i*dim+d] = base[src*dim+d] + float32(rng.NormFloat64()*sigma)
		}
	}
	const k = 100
	gt := make([]int32, *nq*k)
	idx := make([]int, n)
	sc := make([]float64, n)
	for i := 0; i < *nq; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for d := 0; d < dim; d++ {
				s += float64(q[i*dim+d]) * float64(base[j*dim+d])
			}
			idx[j], sc[j] = j, s
		}
		sort.Slice(idx, func(a, b int) bool { return sc[idx[a]] > sc[idx[b]] || sc[idx[a]] == sc[idx[b]] && idx[a] < idx[b] })
		for j := 0; j < k; j++ {
			gt[i*k+j] = int32(idx[j])
		}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	writeNpy(filepath.Join(*out, "base.npy"), "<f4", []int{n, dim}, base)
	writeNpy(filepath.Join(*out, "queries.npy"), "<f4", []int{*nq, dim}, q)
	writeNpy(filepath.Join(*out, "gt.npy"), "<i4", []int{*nq, k}, gt)
	fmt.Printf("wrote %d base and %d query vectors of %d dims to %s\n", n, *nq, dim, *out)
}

// writeNpy writes a version 1.0 .npy file of 4-byte little-endian values.
func writeNpy[T float32 | int32](path, descr string, shape []int, data []T) {
	dims := make([]string, len(shape))
	for i, s := range shape {
		dims[i] = fmt.Sprint(s)
	}
	header := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, strings.Join(dims, ", "))
	pad := 64 - (10+len(header)+1)%64
	header += strings.Repeat(" ", pad) + "\n"
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	f.Write([]byte("\x93NUMPY\x01\x00"))
	binary.Write(f, binary.LittleEndian, uint16(len(header)))
	f.Write([]byte(header))
	if err := binary.Write(f, binary.LittleEndian, data); err != nil {
		log.Fatal(err)
	}
}
