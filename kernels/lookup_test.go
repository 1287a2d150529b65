package kernels

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tfserve/tfserve/tensor"
)

func TestVariables(t *testing.T) {
	v := NewVariable(nil)
	v.Name = "w"
	h := VariableTensor(v)
	mustFail(t, "ReadVariableOp", Attrs{"dtype": tensor.Float32}, "resource variable w", h)
	wantTensor(t, mustRun(t, "VarIsInitializedOp", nil, h)[0], bools(sh(), false))
	init := f32(sh(2), 1, 2)
	if out := mustRun(t, "AssignVariableOp", nil, h, init); len(out) != 0 {
		t.Fatal("AssignVariableOp has no outputs")
	}
	init.F32()[0] = 100 // the variable holds its own copy
	r1 := mustRun(t, "ReadVariableOp", Attrs{"dtype": tensor.Float32}, h)[0]
	wantTensor(t, r1, f32(sh(2), 1, 2))
	mustRun(t, "AssignAddVariableOp", nil, h, f32(sh(2), 10, 10))
	wantTensor(t, mustRun(t, "ReadVariableOp", nil, h)[0], f32(sh(2), 11, 12))
	wantTensor(t, r1, f32(sh(2), 1, 2)) // earlier reads are unaffected
	mustRun(t, "AssignSubVariableOp", nil, h, f32(sh(2), 1, 2))
	wantTensor(t, mustRun(t, "ReadVariableOp", nil, h)[0], f32(sh(2), 10, 10))
	mustFail(t, "ReadVariableOp", Attrs{"dtype": tensor.Int32}, "wrong dtype", h)
	mustFail(t, "AssignAddVariableOp", nil, "shapes must be equal", h, f32(sh(1), 1))
	// TF1 ref ops return the new value.
	wantTensor(t, mustRun(t, "AssignAdd", nil, h, f32(sh(2), 1, 1))[0], f32(sh(2), 11, 11))
	wantTensor(t, mustRun(t, "AssignSub", nil, h, f32(sh(2), 1, 2))[0], f32(sh(2), 10, 9))
	wantTensor(t, mustRun(t, "Assign", nil, h, f32(sh(2), 0, 1))[0], f32(sh(2), 0, 1))
	mustFail(t, "Assign", nil, "wrong shape", h, f32(sh(3), 0, 1, 2))
	// ResourceGather.
	tv := NewVariable(iota32(sh(3, 2)))
	wantTensor(t, mustRun(t, "ResourceGather", nil, VariableTensor(tv), vec32(2, 0))[0], f32(sh(2, 2), 4, 5, 0, 1))
	mustFail(t, "ReadVariableOp", nil, "does not hold a variable", HashTableTensor(NewHashTable(tensor.String, tensor.Int64)))
	// Concurrent adds are atomic.
	c := NewVariable(i64(sh(), 0))
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				if _, err := runOp(t, "AssignAddVariableOp", nil, VariableTensor(c), i64(sh(), 1)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if got := c.Read().I64()[0]; got != 800 {
		t.Fatalf("counter = %d, want 800", got)
	}
}

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

func TestTensorListRoundTrip(t *testing.T) {
	x := iota32(sh(3, 2))
	l := mustRun(t, "TensorListFromTensor", Attrs{"element_dtype": tensor.Float32}, x, vec32(2))[0]
	wantTensor(t, mustRun(t, "TensorListLength", nil, l)[0], sc32(3))
	wantTensor(t, mustRun(t, "TensorListGetItem", Attrs{"element_dtype": tensor.Float32}, l, sc32(1), vec32(2))[0], f32(sh(2), 2, 3))
	l2 := mustRun(t, "TensorListSetItem", nil, l, sc32(1), f32(sh(2), 9, 9))[0]
	// The input list is unchanged.
	wantTensor(t, mustRun(t, "TensorListStack", Attrs{"element_dtype": tensor.Float32}, l, vec32(2))[0], x)
	wantTensor(t, mustRun(t, "TensorListStack", Attrs{"element_dtype": tensor.Float32, "num_elements": int64(3)}, l2, vec32(2))[0],
		f32(sh(3, 2), 0, 1, 9, 9, 4, 5))
	mustFail(t, "TensorListStack", Attrs{"element_dtype": tensor.Float32, "num_elements": int64(4)}, "expected a list with 4 elements", l2, vec32(2))
	mustFail(t, "TensorListSetItem", nil, "Trying to modify element 3 in a list with 3 elements", l, sc32(3), f32(sh(2), 1, 1))
	mustFail(t, "TensorListSetItem", nil, "incompatible shape", l, sc32(0), f32(sh(3), 1, 1, 1))

	// Reserve: unset items stack as zeros when the element shape is known.
	r := mustRun(t, "TensorListReserve", Attrs{"element_dtype": tensor.Float32}, vec32(-1, 2), sc32(3))[0]
	r = mustRun(t, "TensorListSetItem", nil, r, sc32(2), f32(sh(1, 2), 7, 8))[0]
	wantTensor(t, mustRun(t, "TensorListStack", Attrs{"element_dtype": tensor.Float32}, r, vec32(-1, 2))[0], f32(sh(3, 1, 2), 0, 0, 0, 0, 7, 8))
	wantTensor(t, mustRun(t, "TensorListGetItem", Attrs{"element_dtype": tensor.Float32}, r, sc32(0), vec32(1, 2))[0], f32(sh(1, 2), 0, 0))
	mustFail(t, "TensorListGetItem", Attrs{"element_dtype": tensor.Float32}, "not fully defined", r, sc32(0), sc32(-1))
	wantTensor(t, mustRun(t, "TensorListElementShape", nil, r)[0], vec32(-1, 2))
	unknown := mustRun(t, "TensorListReserve", Attrs{"element_dtype": tensor.Float32}, sc32(-1), sc32(2))[0]
	wantTensor(t, mustRun(t, "TensorListElementShape", nil, unknown)[0], sc32(-1))
	mustFail(t, "TensorListStack", Attrs{"element_dtype": tensor.Float32}, "non-fully-defined", unknown, sc32(-1))

	// Push/pop, gather, concat, scatter, resize.
	e := mustRun(t, "EmptyTensorList", Attrs{"element_dtype": tensor.Int32}, sc32(-1), sc32(-1))[0]
	e1 := mustRun(t, "TensorListPushBack", nil, e, vec32(1, 2))[0]
	e2 := mustRun(t, "TensorListPushBack", nil, e1, vec32(3))[0]
	wantTensor(t, mustRun(t, "TensorListLength", nil, e1)[0], sc32(1))
	pop := mustRun(t, "TensorListPopBack", nil, e2, sc32(-1))
	wantTensor(t, pop[1], vec32(3))
	wantTensor(t, mustRun(t, "TensorListLength", nil, pop[0])[0], sc32(1))
	cat := mustRun(t, "TensorListConcatV2", nil, e2, sc32(-1), i64(sh(0)))
	wantTensor(t, cat[0], vec32(1, 2, 3))
	wantTensor(t, cat[1], i64(sh(2), 2, 1))
	mustFail(t, "TensorListPopBack", nil, "pop from an empty list", e, sc32(-1))
	g := mustRun(t, "TensorListGather", nil, l2, vec32(2, 0), vec32(2))[0]
	wantTensor(t, g, f32(sh(2, 2), 4, 5, 0, 1))
	sc := mustRun(t, "TensorListScatterIntoExistingList", nil, l, f32(sh(1, 2), -1, -2), vec32(0))[0]
	wantTensor(t, mustRun(t, "TensorListStack", nil, sc, vec32(2))[0], f32(sh(3, 2), -1, -2, 2, 3, 4, 5))
	rs := mustRun(t, "TensorListResize", nil, l, sc32(1))[0]
	wantTensor(t, mustRun(t, "TensorListLength", nil, rs)[0], sc32(1))
	wantTensor(t, mustRun(t, "TensorListLength", nil, l)[0], sc32(3))
}

func TestStrings(t *testing.T) {
	got := mustRun(t, "StringJoin", Attrs{"separator": "/"}, strs(sh(2), "a", "b"), strs(sh(), "x"), strs(sh(2), "1", "2"))[0]
	wantTensor(t, got, strs(sh(2), "a/x/1", "b/x/2"))
	mustFail(t, "StringJoin", nil, "Input shapes do not match", strs(sh(2), "a", "b"), strs(sh(3), "a", "b", "c"))
	m := mustRun(t, "StaticRegexFullMatch", Attrs{"pattern": "^s3://.*"}, strs(sh(3), "s3://b/k", "/tmp/x", "xs3://"))[0]
	wantTensor(t, m, bools(sh(3), true, false, false))
	m = mustRun(t, "StaticRegexFullMatch", Attrs{"pattern": "a|b"}, strs(sh(3), "a", "ab", "b"))[0]
	wantTensor(t, m, bools(sh(3), true, false, true))
	if _, err := runOp(t, "StaticRegexFullMatch", Attrs{"pattern": "("}, strs(sh(1), "a")); err == nil {
		t.Fatal("bad pattern must fail at build")
	}
	rr := mustRun(t, "StaticRegexReplace", Attrs{"pattern": "(a)(b)", "rewrite": `\2\1$`, "replace_global": true}, strs(sh(1), "abab"))[0]
	wantTensor(t, rr, strs(sh(1), "ba$ba$"))
	wantTensor(t, mustRun(t, "StringLength", nil, strs(sh(2), "héllo", ""))[0], i32(sh(2), 6, 0))
	wantTensor(t, mustRun(t, "StringLength", Attrs{"unit": "UTF8_CHAR"}, strs(sh(2), "héllo", ""))[0], i32(sh(2), 5, 0))
	wantTensor(t, mustRun(t, "StringToNumber", nil, strs(sh(3), "1.5", " -2 ", "1e3"))[0], f32(sh(3), 1.5, -2, 1000))
	wantTensor(t, mustRun(t, "StringToNumber", Attrs{"out_type": tensor.Int64}, strs(sh(2), "42", "-7"))[0], i64(sh(2), 42, -7))
	mustFail(t, "StringToNumber", nil, "could not correctly convert string: abc", strs(sh(1), "abc"))
	mustFail(t, "StringToNumber", Attrs{"out_type": tensor.Int32}, "could not correctly convert", strs(sh(1), "3000000000"))
	wantTensor(t, mustRun(t, "AsString", nil, f32(sh(2), 3.14, -1))[0], strs(sh(2), "3.140000", "-1.000000"))
	wantTensor(t, mustRun(t, "AsString", Attrs{"precision": int64(2)}, f64(sh(1), 2.345))[0], strs(sh(1), "2.35"))
	wantTensor(t, mustRun(t, "AsString", Attrs{"width": int64(4), "fill": "0"}, i32(sh(2), 7, -3))[0], strs(sh(2), "0007", "-003"))
	wantTensor(t, mustRun(t, "AsString", nil, bools(sh(1), true))[0], strs(sh(1), "true"))
	dir := t.TempDir()
	p := filepath.Join(dir, "asset.txt")
	os.WriteFile(p, []byte("contents\n"), 0o600)
	wantTensor(t, mustRun(t, "ReadFile", nil, strs(sh(), p))[0], strs(sh(), "contents\n"))
	mustFail(t, "ReadFile", nil, "no such file", strs(sh(), filepath.Join(dir, "nope")))
	wantTensor(t, mustRun(t, "ShardedFilename", nil, strs(sh(), "ckpt"), sc32(1), sc32(2))[0], strs(sh(), "ckpt-00001-of-00002"))
}

func TestAssertCheckNumericsRandom(t *testing.T) {
	if out := mustRun(t, "Assert", nil, bools(sh(), true), strs(sh(), "msg")); len(out) != 0 {
		t.Fatal("Assert has no outputs")
	}
	mustFail(t, "Assert", nil, "assertion failed: [x must be positive] [-1 2 3...]", bools(sh(), false), strs(sh(), "x must be positive"), i32(sh(4), -1, 2, 3, 4))
	mustFail(t, "CheckNumerics", Attrs{"message": "logits"}, "logits : Tensor had NaN values", f32(sh(2), 1, float32(nan())))
	wantTensor(t, mustRun(t, "CheckNumerics", nil, f32(sh(1), 1))[0], f32(sh(1), 1))
	attrs := Attrs{"dtype": tensor.Float32, "seed": int64(1), "seed2": int64(2)}
	a := mustRun(t, "RandomUniform", attrs, vec32(1000))[0]
	b := mustRun(t, "RandomUniform", attrs, vec32(1000))[0]
	wantTensor(t, a, b) // seeded: reproducible
	sum := 0.0
	for _, v := range a.F32() {
		if v < 0 || v >= 1 {
			t.Fatalf("uniform sample %v out of [0,1)", v)
		}
		sum += float64(v)
	}
	if sum < 400 || sum > 600 {
		t.Fatalf("uniform mean %v implausible", sum/1000)
	}
	tn := mustRun(t, "TruncatedNormal", attrs, vec32(1000))[0]
	for _, v := range tn.F32() {
		if v < -2 || v > 2 {
			t.Fatalf("truncated normal sample %v outside [-2, 2]", v)
		}
	}
	n := mustRun(t, "RandomStandardNormal", Attrs{"dtype": tensor.Float64}, vec32(2, 3))[0]
	if !n.Shape.Equal(sh(2, 3)) || n.DType != tensor.Float64 {
		t.Fatalf("normal %v", n)
	}
}

func nan() float64 { var z float64; return z / z }

func TestTensorArray(t *testing.T) {
	out := mustRun(t, "TensorArrayV3", Attrs{"dtype": tensor.Float32, "element_shape": sh(2)}, sc32(3))
	h := out[0]
	mustRun(t, "TensorArrayScatterV3", nil, h, vec32(0, 2), f32(sh(2, 2), 1, 2, 5, 6), out[1])
	mustRun(t, "TensorArrayWriteV3", nil, h, sc32(1), f32(sh(2), 3, 4), out[1])
	wantTensor(t, mustRun(t, "TensorArrayReadV3", nil, h, sc32(1), out[1])[0], f32(sh(2), 3, 4))
	wantTensor(t, mustRun(t, "TensorArraySizeV3", nil, h, out[1])[0], sc32(3))
	g := mustRun(t, "TensorArrayGatherV3", Attrs{"element_shape": sh(2)}, h, vec32(2, 1, 0), out[1])[0]
	wantTensor(t, g, f32(sh(3, 2), 5, 6, 3, 4, 1, 2))
	mustFail(t, "TensorArrayWriteV3", nil, "not resizeable", h, sc32(3), f32(sh(2), 0, 0), out[1])
	mustFail(t, "TensorArrayWriteV3", nil, "incompatible", h, sc32(0), f32(sh(3), 0, 0, 0), out[1])
	mustFail(t, "TensorArrayReadV3", nil, "Tried to read from index 5", h, sc32(5), out[1])
	d := mustRun(t, "TensorArrayV3", Attrs{"dtype": tensor.Int32, "dynamic_size": true}, sc32(0))
	mustRun(t, "TensorArrayWriteV3", nil, d[0], sc32(2), sc32(7), d[1])
	wantTensor(t, mustRun(t, "TensorArraySizeV3", nil, d[0], d[1])[0], sc32(3))
	mustFail(t, "TensorArrayReadV3", nil, "Could not read from TensorArray index 0", d[0], sc32(0), d[1])
}
