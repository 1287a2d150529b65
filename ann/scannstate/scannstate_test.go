package scannstate

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tfserve/tfserve/ann"
	"github.com/tfserve/tfserve/internal/fixtures"
	"github.com/tfserve/tfserve/loader/bundle"
)

// Keys per shared/docs/scann.md (children of _serialized_searcher, sorted).
const (
	keyCodebook    = "variables/0/.ATTRIBUTES/VARIABLE_VALUE"
	keyTokens      = "variables/1/.ATTRIBUTES/VARIABLE_VALUE"
	keyHashed      = "variables/4/.ATTRIBUTES/VARIABLE_VALUE"
	keyConfig      = "variables/7/.ATTRIBUTES/VARIABLE_VALUE"
	keyPartitioner = "variables/8/.ATTRIBUTES/VARIABLE_VALUE"
)

type fixtureState struct {
	config, partitioner, codebook []byte
	tokens                        []int32
	hashed                        []uint8
}

func readFixture(t *testing.T) (*fixtureState, string) {
	dir := fixtures.Path(t, "tfrs", "universaldot_labse_index")
	r, err := bundle.Open(filepath.Join(dir, "1", "variables", "variables"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	str := func(k string) []byte {
		tt, err := r.Tensor(k)
		if err != nil {
			t.Fatal(err)
		}
		s := tt.Strings()
		if len(s) != 1 {
			t.Fatalf("%s: %d strings", k, len(s))
		}
		return []byte(s[0])
	}
	fs := &fixtureState{config: str(keyConfig), partitioner: str(keyPartitioner), codebook: str(keyCodebook)}
	tok, err := r.Tensor(keyTokens)
	if err != nil {
		t.Fatal(err)
	}
	fs.tokens = tok.I32()
	h, err := r.Tensor(keyHashed)
	if err != nil {
		t.Fatal(err)
	}
	hb, ok := h.Data.([]uint8)
	if !ok {
		t.Fatalf("hashed_dataset is %T", h.Data)
	}
	fs.hashed = hb
	return fs, dir
}

func TestFixtureState(t *testing.T) {
	fs, _ := readFixture(t)
	cfg, err := ParseConfig(fs.config)
	if err != nil {
		t.Fatal(err)
	}
	// Values listed in shared/docs/scann.md.
	if cfg.NumNeighbors != 10 || cfg.DistanceMeasure != "DotProductDistance" || cfg.NumChildren != 100 ||
		cfg.PartitioningDistance != "SquaredL2Distance" || cfg.QueryTokenizationDistance != "DotProductDistance" ||
		cfg.SpillingType != 4 || cfg.MaxSpillCenters != 10 || cfg.NumBlocks != 384 || cfg.DimsPerBlock != 2 ||
		cfg.InputDim != 768 || cfg.NumClustersPerBlock != 16 || cfg.LookupType != 3 ||
		!cfg.UseResidualQuantization || !math.IsNaN(cfg.NoiseShapingThreshold) {
		t.Errorf("config = %+v", cfg)
	}
	p, err := ParsePartitioner(fs.partitioner)
	if err != nil {
		t.Fatal(err)
	}
	if p.NumTokens != 100 || p.Dim != 768 {
		t.Fatalf("partitioner %d x %d, want 100 x 768", p.NumTokens, p.Dim)
	}
	for k := 0; k < 100; k++ {
		var n float64
		for _, v := range p.Centers[k*768 : (k+1)*768] {
			n += float64(v) * float64(v)
		}
		if n = math.Sqrt(n); n < 0.6 || n > 0.95 {
			t.Errorf("center %d norm %.3f outside the documented 0.69-0.89", k, n)
		}
	}
	cb, err := ParseCodebook(fs.codebook)
	if err != nil {
		t.Fatal(err)
	}
	if cb.NumBlocks != 384 || cb.NumCenters != 16 || cb.DimsPerBlock != 2 {
		t.Fatalf("codebook %d x %d x %d", cb.NumBlocks, cb.NumCenters, cb.DimsPerBlock)
	}
	// The residual formula: every datapoint's reconstruction is nearest (L2)
	// to its own token's center (scann.md reports 100%).
	own := 0
	for i := 0; i < 300; i++ {
		x := make([]float64, 768)
		tok := int(fs.tokens[i])
		for b := 0; b < 384; b++ {
			c := int(fs.hashed[i*384+b])
			for j := 0; j < 2; j++ {
				x[2*b+j] = float64(p.Centers[tok*768+2*b+j]) + float64(cb.Centers[(b*16+c)*2+j])
			}
		}
		best, bestD := -1, math.Inf(1)
		for k := 0; k < 100; k++ {
			var d float64
			for j, v := range x {
				e := v - float64(p.Centers[k*768+j])
				d += e * e
			}
			if d < bestD {
				best, bestD = k, d
			}
		}
		if best == tok {
			own++
		}
	}
	if own < 295 {
		t.Errorf("%d/300 reconstructions nearest to their own leaf", own)
	}
}

type goldenCase struct {
	Request struct {
		Instances [][]float32 `json:"instances"`
	} `json:"request"`
	Expected struct {
		IDs [][]int32 `json:"ids"`
	} `json:"expected"`
	RecallAt  int     `json:"recall_at"`
	MinRecall float64 `json:"min_recall"`
	About     string  `json:"about"`
}

// TestFixtureGolden searches the fixture's own index for golden.json's
// requests and checks recall@10 against its exact ids.
func TestFixtureGolden(t *testing.T) {
	fs, dir := readFixture(t)
	st, _, err := Assemble(fs.config, fs.partitioner, fs.codebook, fs.tokens, fs.hashed)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := ann.NewFromScaNN(st)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Cases []goldenCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) == 0 {
		t.Fatal("no golden cases")
	}
	for ci, c := range g.Cases {
		var q []float32
		for _, row := range c.Request.Instances {
			q = append(q, row...)
		}
		k := c.RecallAt
		idx, _, err := ix.SearchBatched(q, k, ann.SearchOptions{})
		if err != nil {
			t.Fatalf("case %d: %v", ci, err)
		}
		hit := 0
		for i, want := range c.Expected.IDs {
			for _, id := range idx[i*k : (i+1)*k] {
				if slices.Contains(want[:k], id) {
					hit++
				}
			}
		}
		r := float64(hit) / float64(len(c.Expected.IDs)*k)
		t.Logf("case %d (%d queries, %.40s...): recall@%d = %.3f, min %.2f", ci, len(c.Expected.IDs), c.About, k, r, c.MinRecall)
		if r < c.MinRecall {
			t.Errorf("case %d: recall %.3f < %.2f", ci, r, c.MinRecall)
		}
	}
}

func TestMalformed(t *testing.T) {
	var center []byte
	center = protowire.AppendTag(center, 1, protowire.BytesType)
	center = protowire.AppendBytes(center, []byte{1, 2, 3}) // 3 bytes: not doubles
	var root []byte
	root = protowire.AppendTag(root, 1, protowire.BytesType)
	root = protowire.AppendBytes(root, center)
	var tree, km, part []byte
	tree = protowire.AppendTag(tree, 1, protowire.BytesType)
	tree = protowire.AppendBytes(tree, root)
	km = protowire.AppendTag(km, 1, protowire.BytesType)
	km = protowire.AppendBytes(km, tree)
	part = protowire.AppendTag(part, 2, protowire.BytesType)
	part = protowire.AppendBytes(part, km)
	for name, fn := range map[string]func([]byte) error{
		"partitioner": func(b []byte) error { _, err := ParsePartitioner(b); return err },
		"codebook":    func(b []byte) error { _, err := ParseCodebook(b); return err },
	} {
		for _, in := range [][]byte{nil, {0xff}, {0x0a, 0x05, 0x01}, part} {
			if err := fn(in); err == nil || !errors.Is(err, ErrMalformed) {
				t.Errorf("%s(%x): err = %v, want ErrMalformed", name, in, err)
			}
		}
	}
	if _, err := ParseConfig([]byte{0x1a, 0x01}); err == nil {
		t.Error("config with a truncated field: no error")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x08, 0x02, 0x12, 0x00})
	// A small valid partitioner and codebook as seeds.
	var c []byte
	c = protowire.AppendTag(c, 1, protowire.BytesType)
	c = protowire.AppendBytes(c, protowire.AppendFixed64(protowire.AppendFixed64(nil, math.Float64bits(1)), math.Float64bits(2)))
	var child []byte
	child = protowire.AppendTag(child, 5, protowire.VarintType)
	child = protowire.AppendVarint(child, 0)
	var root []byte
	root = protowire.AppendTag(root, 1, protowire.BytesType)
	root = protowire.AppendBytes(root, c)
	root = protowire.AppendTag(root, 3, protowire.BytesType)
	root = protowire.AppendBytes(root, child)
	var tree, km, part []byte
	tree = protowire.AppendTag(tree, 1, protowire.BytesType)
	tree = protowire.AppendBytes(tree, root)
	km = protowire.AppendTag(km, 1, protowire.BytesType)
	km = protowire.AppendBytes(km, tree)
	part = protowire.AppendTag(part, 1, protowire.VarintType)
	part = protowire.AppendVarint(part, 1)
	part = protowire.AppendTag(part, 2, protowire.BytesType)
	part = protowire.AppendBytes(part, km)
	if p, err := ParsePartitioner(part); err != nil || p.Dim != 2 {
		f.Fatalf("seed partitioner: %v %+v", err, p)
	}
	f.Add(part)
	var fv []byte
	fv = protowire.AppendTag(fv, 4, protowire.BytesType)
	fv = protowire.AppendBytes(fv, protowire.AppendFixed32(nil, math.Float32bits(0.5)))
	var sub []byte
	for i := 0; i < 16; i++ {
		sub = protowire.AppendTag(sub, 1, protowire.BytesType)
		sub = protowire.AppendBytes(sub, fv)
	}
	var cb []byte
	cb = protowire.AppendTag(cb, 1, protowire.BytesType)
	cb = protowire.AppendBytes(cb, sub)
	f.Add(cb)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, err := range []error{
			func() error { _, err := ParseConfig(b); return err }(),
			func() error { _, err := ParsePartitioner(b); return err }(),
			func() error { _, err := ParseCodebook(b); return err }(),
		} {
			if err != nil && !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
		}
	})
}
