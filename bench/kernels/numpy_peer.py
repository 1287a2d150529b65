"""numpy timings for the same element-wise, reduction and matmul cases as the
Go benchmarks in kernels/*_test.go (float32, same shapes). Prints ns/op."""
import time
import numpy as np

rng = np.random.default_rng(1)
a = rng.uniform(-2, 2, (256, 1024)).astype(np.float32)
row = rng.uniform(-2, 2, (1024,)).astype(np.float32)
col = rng.uniform(-2, 2, (256, 1)).astype(np.float32)
b = rng.uniform(-2, 2, (256, 1024)).astype(np.float32)
s = np.float32(1.5)
m1 = rng.uniform(-2, 2, (256, 256)).astype(np.float32)
m2 = rng.uniform(-2, 2, (256, 256)).astype(np.float32)

def sigmoid(x):
    return 1 / (1 + np.exp(-x))

cases = {
    "AddF32SameShape": lambda: a + b,
    "AddF32RowBroadcast": lambda: a + row,
    "AddF32ColBroadcast": lambda: a + col,
    "MulF32Scalar": lambda: a * s,
    "SigmoidF32": lambda: sigmoid(a),
    "SumLastAxisF32": lambda: a.sum(axis=1),
    "MatMulF32_256": lambda: m1 @ m2,
}
for name, f in cases.items():
    f()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < 1.0:
        f()
        n += 1
    print(f"{name} {(time.perf_counter() - t0) / n * 1e9:.0f}")
