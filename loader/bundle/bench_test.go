package bundle

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/tfserve/tfserve/loader/bundle/sstable"
	"github.com/tfserve/tfserve/tensor"
)

// benchBundle writes a bundle with one 1M-element float32 tensor, 100k
// short strings and n small tensors.
func benchBundle(b *testing.B, n int, comp byte) string {
	b.Helper()
	rng := rand.New(rand.NewSource(1))
	ts := map[string]*tensor.Tensor{
		"big":     randomTensor(rng, tensor.Float32, tensor.Shape{1024, 1024}),
		"strings": tensor.New(tensor.String, tensor.Shape{100_000}),
	}
	strs := ts["strings"].Strings()
	for i := range strs {
		strs[i] = fmt.Sprintf("item-%d", i)
	}
	for i := 0; i < n; i++ {
		ts[fmt.Sprintf("layer_with_weights-%d/kernel/.OPTIMIZER_SLOT/optimizer/m/.ATTRIBUTES/VARIABLE_VALUE", i)] = tensor.Scalar(float32(i))
	}
	prefix := filepath.Join(b.TempDir(), "variables")
	if err := WriteBundleWith(prefix, ts, WriteOptions{Compression: comp}); err != nil {
		b.Fatal(err)
	}
	return prefix
}

func BenchmarkParseIndex10k(b *testing.B) {
	for _, comp := range []byte{sstable.NoCompression, sstable.SnappyCompression} {
		b.Run(fmt.Sprintf("compression=%d", comp), func(b *testing.B) {
			data, err := os.ReadFile(IndexPath(benchBundle(b, 10_000, comp)))
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := ParseIndex(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTensorFloat32 reads and verifies a 4 MiB tensor; the
// PeerReadAt sub-benchmark reads the same bytes with a bare ReadAt, the
// floor any reader pays.
func BenchmarkTensorFloat32(b *testing.B) {
	prefix := benchBundle(b, 0, sstable.NoCompression)
	r, err := Open(prefix)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	e, _ := r.Entry("big")
	b.Run("Reader.Tensor", func(b *testing.B) {
		b.SetBytes(e.Size)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := r.Tensor("big"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("PeerReadAt", func(b *testing.B) {
		f, err := os.Open(DataPath(prefix, 0, 1))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		b.SetBytes(e.Size)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			buf := make([]byte, e.Size)
			if _, err := f.ReadAt(buf, e.Offset); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkTensorStrings100k(b *testing.B) {
	r, err := Open(benchBundle(b, 0, sstable.NoCompression))
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	e, _ := r.Entry("strings")
	b.SetBytes(e.Size)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := r.Tensor("strings"); err != nil {
			b.Fatal(err)
		}
	}
}
