package kernels

import (
	"testing"

	"github.com/tfserve/tfserve/tensor"
)

func TestIdentityConst(t *testing.T) {
	c := mustRun(t, "Const", Attrs{"value": vec32(1, 2), "dtype": tensor.Int32})[0]
	wantTensor(t, c, vec32(1, 2))
	if _, err := runOp(t, "Const", Attrs{"value": vec32(1), "dtype": tensor.Float32}); err == nil {
		t.Fatal("Const dtype mismatch must fail")
	}
	out := mustRun(t, "IdentityN", nil, vec32(1), strs(sh(), "a"))
	if len(out) != 2 || out[1].Strings()[0] != "a" {
		t.Fatal("IdentityN")
	}
}
