package kernels

import (
	"testing"

	"github.com/tfserve/tfserve/tensor"
)

func TestCast(t *testing.T) {
	x := f32(sh(5), -1.7, -0.5, 0, 2.9, 300)
	wantTensor(t, mustRun(t, "Cast", Attrs{"DstT": tensor.Int32}, x)[0], i32(sh(5), -1, 0, 0, 2, 300))
	wantTensor(t, mustRun(t, "Cast", Attrs{"DstT": tensor.Bool}, x)[0], bools(sh(5), true, true, false, true, true))
	wantTensor(t, mustRun(t, "Cast", Attrs{"DstT": tensor.Uint8}, i32(sh(2), 257, 3))[0], tensor.FromSlice(sh(2), []uint8{1, 3}))
	wantTensor(t, mustRun(t, "Cast", Attrs{"DstT": tensor.Float32}, bools(sh(2), true, false))[0], f32(sh(2), 1, 0))
	wantTensor(t, mustRun(t, "Cast", Attrs{"DstT": tensor.Float64}, i64(sh(2), 1<<40, -3))[0], f64(sh(2), 1<<40, -3))
	wantTensor(t, mustRun(t, "Cast", Attrs{"DstT": tensor.Int64}, f64(sh(2), 1e10, -2.5))[0], i64(sh(2), 10000000000, -2))
	// Half: 1.0 = 0x3c00, -2 = 0xc000, 65504 = 0x7bff, 1/3 rounds to 0x3555.
	h := mustRun(t, "Cast", Attrs{"DstT": tensor.Half}, f32(sh(4), 1, -2, 65504, 1.0/3))[0]
	if got := h.Data.([]uint16); got[0] != 0x3c00 || got[1] != 0xc000 || got[2] != 0x7bff || got[3] != 0x3555 {
		t.Fatalf("half bits %x", got)
	}
	back := mustRun(t, "Cast", Attrs{"DstT": tensor.Float32}, h)[0]
	wantClose(t, back, f32(sh(4), 1, -2, 65504, 0.333251953125), 0)
	bf := mustRun(t, "Cast", Attrs{"DstT": tensor.BFloat16}, f32(sh(2), 1, -2))[0]
	if got := bf.Data.([]uint16); got[0] != 0x3f80 || got[1] != 0xc000 {
		t.Fatalf("bfloat16 bits %x", got)
	}
	if _, err := runOp(t, "Cast", Attrs{}, x); err == nil {
		t.Fatal("Cast without DstT should fail to build")
	}
	mustFail(t, "Cast", Attrs{"DstT": tensor.Int32}, "Unsupported cast", strs(sh(1), "1"))
}
