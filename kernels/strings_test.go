package kernels

import (
	"testing"

	"github.com/tfserve/tfserve/tensor"
)

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
}
