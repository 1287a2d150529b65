package bundle

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tfserve/tfserve/internal/fixtures"
	"github.com/tfserve/tfserve/tensor"
)

// fixtureIndexes lists every variables.index under the fixtures folder.
func fixtureIndexes(t *testing.T) (root string, prefixes []string) {
	root = fixtures.Dir(t)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() == "variables.index" {
			prefixes = append(prefixes, strings.TrimSuffix(p, ".index"))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(prefixes) == 0 {
		t.Fatalf("no variables.index under %s", root)
	}
	sort.Strings(prefixes)
	return root, prefixes
}

// summaryEntry is what SUMMARY.txt (written by an independent Python reader)
// says about one model's variables.index.
type summaryEntry struct {
	entries int
	shards  int
	keys    []summaryKey // the first keys, in order
}

type summaryKey struct {
	name  string
	dtype tensor.DType
	shape tensor.Shape
}

var (
	summaryIndexRE = regexp.MustCompile(`variables\.index: (\d+) entries, header=\{'num_shards': (\d+)`)
	summaryKeyRE   = regexp.MustCompile(`(\S+) ([a-z0-9]+)\[([0-9,]*)\]`)
)

// readSummary parses the "variables.index:" and "keys:" lines of
// SUMMARY.txt, keyed by model directory relative to the fixtures root.
func readSummary(t *testing.T, root string) map[string]summaryEntry {
	f, err := os.Open(filepath.Join(root, "SUMMARY.txt"))
	if err != nil {
		t.Fatalf("SUMMARY.txt: %v", err)
	}
	defer f.Close()
	out := map[string]summaryEntry{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	var cur string
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "### ") {
			cur = strings.Fields(line[4:])[0]
			continue
		}
		line = strings.TrimSpace(line)
		if m := summaryIndexRE.FindStringSubmatch(line); m != nil {
			if _, seen := out[cur]; seen {
				continue
			}
			n, _ := strconv.Atoi(m[1])
			s, _ := strconv.Atoi(m[2])
			out[cur] = summaryEntry{entries: n, shards: s}
			continue
		}
		if strings.HasPrefix(line, "keys: ") {
			e, ok := out[cur]
			if !ok || e.keys != nil {
				continue
			}
			for _, m := range summaryKeyRE.FindAllStringSubmatch(line[len("keys: "):], -1) {
				dt, ok := tensor.ParseDType("DT_" + strings.ToUpper(m[2]))
				if !ok {
					t.Fatalf("SUMMARY.txt: unknown dtype %q", m[2])
				}
				shape := tensor.Shape{}
				if m[3] != "" {
					for _, d := range strings.Split(m[3], ",") {
						n, _ := strconv.Atoi(d)
						shape = append(shape, n)
					}
				}
				e.keys = append(e.keys, summaryKey{name: m[1], dtype: dt, shape: shape})
			}
			out[cur] = e
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFixtures opens every real TensorFlow checkpoint, verifies every block
// and data checksum by reading every tensor, and compares the index with
// the independent summary in SUMMARY.txt.
func TestFixtures(t *testing.T) {
	root, prefixes := fixtureIndexes(t)
	summary := readSummary(t, root)
	checked := 0
	for _, prefix := range prefixes {
		rel, _ := filepath.Rel(root, filepath.Dir(filepath.Dir(prefix)))
		t.Run(rel, func(t *testing.T) {
			r, err := Open(prefix)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			keys := r.Keys()
			if !sort.StringsAreSorted(keys) {
				t.Errorf("keys not sorted: %q", keys)
			}
			for _, k := range keys {
				tt, err := r.Tensor(k)
				if err != nil {
					t.Errorf("tensor %q: %v", k, err)
					continue
				}
				e, _ := r.Entry(k)
				if err := tt.Validate(); err != nil {
					t.Errorf("tensor %q: %v", k, err)
				}
				if tt.DType != e.DType || !tt.Shape.Equal(e.Shape) {
					t.Errorf("tensor %q is %v, entry says %v%v", k, tt, e.DType, e.Shape)
				}
			}
			s, ok := summary[filepath.ToSlash(rel)]
			if !ok {
				// half_plus_two_pbtxt (text saved_model.pbtxt) is not in
				// the summary; the count check below catches any other gap.
				t.Logf("%s not described in SUMMARY.txt", rel)
				checkObjectGraph(t, r)
				return
			}
			checked++
			if len(keys) != s.entries {
				t.Errorf("%d keys, SUMMARY.txt says %d", len(keys), s.entries)
			}
			if r.Header().NumShards != s.shards {
				t.Errorf("num_shards %d, SUMMARY.txt says %d", r.Header().NumShards, s.shards)
			}
			if len(s.keys) == 0 {
				t.Errorf("SUMMARY.txt lists no keys")
			}
			for i, sk := range s.keys {
				if i >= len(keys) || keys[i] != sk.name {
					t.Errorf("key %d: SUMMARY.txt says %q, have %q", i, sk.name, keys)
					break
				}
				e, _ := r.Entry(sk.name)
				if e.DType != sk.dtype || !e.Shape.Equal(sk.shape) {
					t.Errorf("%q: %v%v, SUMMARY.txt says %v%v", sk.name, e.DType, e.Shape, sk.dtype, sk.shape)
				}
			}
			checkObjectGraph(t, r)
		})
	}
	if checked != len(summary) {
		t.Errorf("checked %d fixtures, SUMMARY.txt describes %d variables.index files", checked, len(summary))
	}
}

// checkObjectGraph parses _CHECKPOINTABLE_OBJECT_GRAPH (a string scalar
// holding a TrackableObjectGraph) and checks that the checkpoint keys it
// names are exactly the other keys of the bundle.
func checkObjectGraph(t *testing.T, r *Reader) {
	const key = "_CHECKPOINTABLE_OBJECT_GRAPH"
	e, ok := r.Entry(key)
	if !ok {
		return // TF1 name-based checkpoint
	}
	if e.DType != tensor.String || len(e.Shape) != 0 {
		t.Errorf("%s is %v%v, want a string scalar", key, e.DType, e.Shape)
		return
	}
	tt, err := r.Tensor(key)
	if err != nil {
		t.Error(err)
		return
	}
	// TrackableObjectGraph: nodes=1 (TrackableObject: attributes=2
	// (SerializedTensor: checkpoint_key=3)).
	named := map[string]bool{}
	nodes := 0
	err = walk([]byte(tt.Strings()[0]), func(num protowire.Number, typ protowire.Type, _ uint64, node []byte) error {
		if num != 1 || typ != protowire.BytesType {
			return nil
		}
		nodes++
		return walk(node, func(num protowire.Number, typ protowire.Type, _ uint64, attr []byte) error {
			if num != 2 || typ != protowire.BytesType {
				return nil
			}
			return walk(attr, func(num protowire.Number, typ protowire.Type, _ uint64, ck []byte) error {
				if num == 3 && typ == protowire.BytesType {
					named[string(ck)] = true
				}
				return nil
			})
		})
	})
	if err != nil {
		t.Errorf("%s: %v", key, err)
		return
	}
	if nodes == 0 {
		t.Errorf("%s has no nodes", key)
	}
	for _, k := range r.Keys() {
		if k != key && !named[k] {
			t.Errorf("key %q is not named by the object graph", k)
		}
		delete(named, k)
	}
	for k := range named {
		t.Errorf("object graph names %q, which the bundle lacks", k)
	}
}

// TestFixtureKnownValues checks variables whose values follow from what the
// models compute (y = 0.5x + 2, 0.5x + 3, x*3, x*2, ...).
func TestFixtureKnownValues(t *testing.T) {
	root, prefixes := fixtureIndexes(t)
	found := 0
	for _, prefix := range prefixes {
		rel, _ := filepath.Rel(root, prefix)
		rel = filepath.ToSlash(rel)
		want := map[string]any{}
		switch {
		case strings.Contains(rel, "half_plus_three"):
			want = map[string]any{"a": float32(0.5), "b": float32(3)}
		case strings.Contains(rel, "half_plus_two") && !strings.Contains(rel, "tf2_cpu"):
			// TF1 models: y = a*x + b; the x2→y3 signature uses c = 3.
			want = map[string]any{"a": float32(0.5), "b": float32(2)}
		case strings.Contains(rel, "tfjs/saved_model/times_three_float"):
			want = map[string]any{"v/.ATTRIBUTES/VARIABLE_VALUE": float32(3)}
		case strings.Contains(rel, "tfjs/saved_model/times_two_int"):
			want = map[string]any{"v/.ATTRIBUTES/VARIABLE_VALUE": int32(2)}
		default:
			continue
		}
		r, err := Open(prefix)
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		for k, v := range want {
			tt, err := r.Tensor(k)
			if err != nil {
				t.Errorf("%s: %v", rel, err)
				continue
			}
			if len(tt.Shape) != 0 {
				t.Errorf("%s %s: shape %v, want scalar", rel, k, tt.Shape)
			}
			var got any
			switch d := tt.Data.(type) {
			case []float32:
				got = d[0]
			case []int32:
				got = d[0]
			}
			if got != v {
				t.Errorf("%s %s = %v (%T), want %v (%T)", rel, k, got, got, v, v)
			}
			found++
		}
		if c, ok := r.Entry("c"); ok && strings.Contains(rel, "half_plus") {
			tt, err := r.Tensor("c")
			if err != nil || c.DType != tensor.Float32 || tt.F32()[0] != 3 {
				t.Errorf("%s c = %v, %v; want 3", rel, tt, err)
			}
		}
		r.Close()
	}
	if found < 20 {
		t.Errorf("checked only %d known values", found)
	}
}

// TestWriterReproducesFixtures re-writes every fixture's tensors with our
// Writer, adding them in the fixture's data-file order and with the same
// block compression, and requires byte-identical index and data files:
// TensorFlow's own bytes are the reference for the writer.
func TestWriterReproducesFixtures(t *testing.T) {
	_, prefixes := fixtureIndexes(t)
	for _, prefix := range prefixes {
		r, err := Open(prefix)
		if err != nil {
			t.Fatal(err)
		}
		keys := r.Keys()
		sort.SliceStable(keys, func(i, j int) bool {
			a, _ := r.Entry(keys[i])
			b, _ := r.Entry(keys[j])
			return a.Offset < b.Offset
		})
		opts := WriteOptions{}
		for _, typ := range r.Index().BlockTypes {
			if typ == 1 {
				opts.Compression = 1
			}
		}
		out := filepath.Join(t.TempDir(), "variables")
		w, err := NewWriter(out, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			tt, err := r.Tensor(k)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Add(k, tt); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Finish(); err != nil {
			t.Fatal(err)
		}
		r.Close()
		for _, pair := range [][2]string{
			{IndexPath(prefix), IndexPath(out)},
			{DataPath(prefix, 0, 1), DataPath(out, 0, 1)},
		} {
			a, err := os.ReadFile(pair[0])
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(pair[1])
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, b) {
				t.Errorf("%s: our writer produced %d bytes that differ from TensorFlow's %d", pair[0], len(b), len(a))
			}
		}
	}
}
