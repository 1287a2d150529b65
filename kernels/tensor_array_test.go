package kernels

import (
	"testing"

	"github.com/tfserve/tfserve/tensor"
)

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
