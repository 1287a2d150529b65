package kernels

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tfserve/tfserve/tensor"
)

func TestHashTables(t *testing.T) {
	th := mustRun(t, "HashTableV2", Attrs{"key_dtype": tensor.String, "value_dtype": tensor.Int64})[0]
	mustRun(t, "InitializeTableV2", nil, th, strs(sh(3), "a", "b", "c"), i64(sh(3), 1, 2, 3))
	got := mustRun(t, "LookupTableFindV2", nil, th, strs(sh(2, 2), "c", "zz", "a", ""), i64(sh(), -1))[0]
	wantTensor(t, got, i64(sh(2, 2), 3, -1, 1, -1))
	// Per-key defaults with the keys' shape.
	got = mustRun(t, "LookupTableFindV2", nil, th, strs(sh(2), "x", "b"), i64(sh(2), 7, 8))[0]
	wantTensor(t, got, i64(sh(2), 7, 2))
	mustFail(t, "LookupTableFindV2", nil, "for default value", th, strs(sh(2), "x", "b"), i64(sh(3), 7, 8, 9))
	mustFail(t, "LookupTableFindV2", nil, "Key must be type", th, i64(sh(1), 1), i64(sh(), 0))
	wantTensor(t, mustRun(t, "LookupTableSizeV2", nil, th)[0], i64(sh(), 3))
	mustFail(t, "InitializeTableV2", nil, "different value for same key", th, strs(sh(1), "a"), i64(sh(1), 9))
	exp := mustRun(t, "LookupTableExportV2", nil, th)
	if exp[0].Len() != 3 || exp[1].Len() != 3 {
		t.Fatalf("export sizes %v %v", exp[0].Shape, exp[1].Shape)
	}
	for i, k := range exp[0].Strings() {
		if want := map[string]int64{"a": 1, "b": 2, "c": 3}[k]; exp[1].I64()[i] != want {
			t.Fatalf("export %s -> %d", k, exp[1].I64()[i])
		}
	}
	// Mutable table with int64 keys and float values, filled by import.
	mt := mustRun(t, "MutableHashTableV2", Attrs{"key_dtype": tensor.Int64, "value_dtype": tensor.Float32})[0]
	mustRun(t, "LookupTableImportV2", nil, mt, i64(sh(2), 5, 6), f32(sh(2), 0.5, 0.25))
	wantTensor(t, mustRun(t, "LookupTableFindV2", nil, mt, i64(sh(3), 6, 7, 5), f32(sh(), -1))[0], f32(sh(3), 0.25, -1, 0.5))
	if _, err := runOp(t, "HashTableV2", Attrs{"key_dtype": tensor.Float32, "value_dtype": tensor.Int64}); err == nil {
		t.Fatal("float keys must be rejected")
	}
}

func TestInitializeTableFromTextFile(t *testing.T) {
	dir := t.TempDir()
	vocab := filepath.Join(dir, "vocab.txt")
	if err := os.WriteFile(vocab, []byte("hello\t10\nworld\t20\r\nfoo\t30\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Whole line -> line number (StringLookup style vocabularies).
	th := mustRun(t, "HashTableV2", Attrs{"key_dtype": tensor.String, "value_dtype": tensor.Int64})[0]
	attrs := Attrs{"key_index": int64(-2), "value_index": int64(-1)}
	mustRun(t, "InitializeTableFromTextFileV2", attrs, th, strs(sh(), vocab))
	got := mustRun(t, "LookupTableFindV2", nil, th, strs(sh(3), "world\t20", "foo\t30", "hello"), i64(sh(), -1))[0]
	wantTensor(t, got, i64(sh(3), 1, 2, -1))
	// Column 0 -> column 1 as int64, limited to 2 lines.
	th2 := mustRun(t, "HashTableV2", Attrs{"key_dtype": tensor.String, "value_dtype": tensor.Int64})[0]
	attrs = Attrs{"key_index": int64(0), "value_index": int64(1), "vocab_size": int64(2)}
	mustRun(t, "InitializeTableFromTextFileV2", attrs, th2, strs(sh(), vocab))
	got = mustRun(t, "LookupTableFindV2", nil, th2, strs(sh(3), "hello", "world", "foo"), i64(sh(), 0))[0]
	wantTensor(t, got, i64(sh(3), 10, 20, 0))
	attrs["vocab_size"] = int64(5)
	mustFail(t, "InitializeTableFromTextFileV2", attrs, "Invalid vocab_size", mustRun(t, "HashTableV2", Attrs{"key_dtype": tensor.String, "value_dtype": tensor.Int64})[0], strs(sh(), vocab))
	// Line number -> whole line (inverse vocabulary), with offset.
	th3 := mustRun(t, "HashTableV2", Attrs{"key_dtype": tensor.Int64, "value_dtype": tensor.String})[0]
	mustRun(t, "InitializeTableFromTextFileV2", Attrs{"key_index": int64(-1), "value_index": int64(-2), "offset": int64(1)}, th3, strs(sh(), vocab))
	got = mustRun(t, "LookupTableFindV2", nil, th3, i64(sh(2), 1, 3), strs(sh(), "?"))[0]
	wantTensor(t, got, strs(sh(2), "hello\t10", "foo\t30"))
	mustFail(t, "InitializeTableFromTextFileV2", Attrs{"key_index": int64(-2), "value_index": int64(-1)}, "no such file", th, strs(sh(), filepath.Join(dir, "missing")))
	bad := filepath.Join(dir, "bad.txt")
	os.WriteFile(bad, []byte("a\n\nb\n"), 0o600)
	th4 := mustRun(t, "HashTableV2", Attrs{"key_dtype": tensor.String, "value_dtype": tensor.Int64})[0]
	mustFail(t, "InitializeTableFromTextFileV2", Attrs{"key_index": int64(-2), "value_index": int64(-1)}, "empty line", th4, strs(sh(), bad))
}
