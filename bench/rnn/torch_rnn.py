#!/usr/bin/python3
"""Peer measurements for bench/rnn: torch.nn.GRU, torch.nn.LSTM and
numpy/OpenBLAS SGEMM on one thread, and a numerical cross-check of tfserve's
GRU and LSTM against torch (the same weights and inputs fed to both).

  torch_rnn.py bench OUT.json       time torch.nn.GRU, nn.LSTM and numpy matmul
  torch_rnn.py check CASES.json     compare Go outputs with torch.nn.GRU/LSTM

Keras -> torch mapping. GRU (reset_after=True, ../shared/docs/savedmodel.md):
weight_ih = [K_r|K_z|K_h]^T, weight_hh = [R_r|R_z|R_h]^T, bias_ih / bias_hh =
bias rows 0 / 1 reordered to r, z, h. LSTM: Keras's gate order i, f, c, o is
torch's i, f, g, o, so weight_ih = K^T, weight_hh = R^T, bias_ih = bias and
bias_hh = 0. Timing is per call, best of several repetitions, as wall time
and as this thread's CPU time (time.thread_time), like the Go runner.
"""
import json
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)
MIN_TIME = float(os.environ.get("MINTIME", "0.15"))
REPS = int(os.environ.get("REPS", "3"))


def measure(f, reps=None):
    f()
    wall = cpu = float("inf")
    for _ in range(reps or REPS):
        n = 0
        t0, c0 = time.perf_counter(), time.thread_time()
        while True:
            f()
            n += 1
            if time.perf_counter() - t0 >= MIN_TIME:
                break
        wall = min(wall, (time.perf_counter() - t0) / n)
        cpu = min(cpu, (time.thread_time() - c0) / n)
    return wall, cpu


def torch_gru(kernel, rec, bias, inp, units):
    """Builds torch.nn.GRU from Keras weights (numpy arrays)."""
    U = units
    K = kernel.reshape(inp, 3 * U)
    R = rec.reshape(U, 3 * U)
    B = bias.reshape(2, 3 * U)

    def rzh(m):  # Keras z, r, h column blocks -> torch r, z, n
        return np.concatenate([m[..., U:2 * U], m[..., :U], m[..., 2 * U:]], axis=-1)

    g = torch.nn.GRU(inp, U, batch_first=True)
    with torch.no_grad():
        g.weight_ih_l0.copy_(torch.from_numpy(np.ascontiguousarray(rzh(K).T)))
        g.weight_hh_l0.copy_(torch.from_numpy(np.ascontiguousarray(rzh(R).T)))
        g.bias_ih_l0.copy_(torch.from_numpy(rzh(B[0])))
        g.bias_hh_l0.copy_(torch.from_numpy(rzh(B[1])))
    return g


def torch_lstm(kernel, rec, bias, inp, units):
    """Builds torch.nn.LSTM from Keras weights (numpy arrays)."""
    U = units
    g = torch.nn.LSTM(inp, U, batch_first=True)
    with torch.no_grad():
        g.weight_ih_l0.copy_(torch.from_numpy(np.ascontiguousarray(kernel.reshape(inp, 4 * U).T)))
        g.weight_hh_l0.copy_(torch.from_numpy(np.ascontiguousarray(rec.reshape(U, 4 * U).T)))
        g.bias_ih_l0.copy_(torch.from_numpy(bias.reshape(4 * U)))
        g.bias_hh_l0.zero_()
    return g


def bench(out_path):
    res = {"torch": torch.__version__, "numpy": np.__version__, "threads": torch.get_num_threads(),
           "reps": REPS, "mintime": MIN_TIME, "GRU": [], "LSTM": [], "SGEMM": []}
    rng = np.random.default_rng(1)
    square = {n: (rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32))
              for n in (1024, 512)}

    def sgemm_limit():
        # The machine limit: square SGEMMs, extra repetitions, best kept;
        # run before and after the GRU loop, and the better run is kept.
        for n, (a, b) in square.items():
            wall, cpu = measure(lambda: a @ b, reps=2 * REPS)
            old = next((s for s in res["SGEMM"] if s["M"] == n), None)
            if old is None:
                res["SGEMM"].append({"M": n, "N": n, "K": n, "Flops": 2.0 * n ** 3, "WallSec": wall, "CPUSec": cpu})
            else:
                old["WallSec"], old["CPUSec"] = min(old["WallSec"], wall), min(old["CPUSec"], cpu)
            print(f"numpy sgemm {n}: {2.0 * n ** 3 / cpu / 1e9:.1f} GFLOP/s", file=sys.stderr)

    sgemm_limit()
    a = rng.standard_normal((64, 256), dtype=np.float32)
    b = rng.standard_normal((256, 768), dtype=np.float32)
    wall, cpu = measure(lambda: a @ b)
    res["SGEMM"].append({"M": 64, "N": 768, "K": 256, "Flops": 2.0 * 64 * 768 * 256, "WallSec": wall, "CPUSec": cpu})
    for kind, gates, build in (("GRU", 3, torch_gru), ("LSTM", 4, torch_lstm)):
        for B in (1, 8, 64, 256):
            for I in (64, 128):
                for U in (128, 256):
                    for T in (20, 50):
                        nb = 6 * U if kind == "GRU" else 4 * U
                        g = build(rng.standard_normal(I * gates * U, dtype=np.float32) * 0.3,
                                  rng.standard_normal(U * gates * U, dtype=np.float32) * 0.3,
                                  rng.standard_normal(nb, dtype=np.float32) * 0.1, I, U)
                        x = torch.from_numpy(rng.standard_normal((B, T, I), dtype=np.float32))

                        def run():
                            with torch.inference_mode():
                                g(x)
                        wall, cpu = measure(run)
                        flops = 2.0 * B * T * (I + U) * gates * U
                        res[kind].append({"Batch": B, "Input": I, "Units": U, "Steps": T, "Flops": flops,
                                          "WallSec": wall, "CPUSec": cpu})
                        print(f"torch {kind.lower()} B={B} I={I} U={U} T={T}: {flops / cpu / 1e9:.1f} GFLOP/s",
                              file=sys.stderr)
    sgemm_limit()
    with open(out_path, "w") as f:
        json.dump(res, f, indent=1)


# The largest |torch - ours| the check accepts, for outputs and states.
TOLERANCE = 1e-4


def check(path):
    with open(path) as f:
        cases = json.load(f)
    worst = {"GRU": 0.0, "LSTM": 0.0}
    for c in cases:
        kind, I, U, B, T = c["Layer"], c["Input"], c["Units"], c["Batch"], c["Steps"]
        build = torch_gru if kind == "GRU" else torch_lstm
        g = build(np.array(c["Kernel"], np.float32), np.array(c["RecurrentKernel"], np.float32),
                  np.array(c["Bias"], np.float32), I, U)
        x = torch.tensor(c["X"], dtype=torch.float32).reshape(B, T, I)
        if c["GoBackwards"]:
            x = torch.flip(x, [1])  # Keras go_backwards: outputs stay in processing order
        h0 = torch.tensor(c["H0"], dtype=torch.float32).reshape(1, B, U)
        with torch.inference_mode():
            if kind == "LSTM":
                c0 = torch.tensor(c["C0"], dtype=torch.float32).reshape(1, B, U)
                out, (h, cT) = g(x, (h0, c0))
            else:
                out, h = g(x, h0)

        def dev(t, key):
            return float(np.max(np.abs(t.numpy().reshape(-1) - np.array(c[key], np.float32))))
        devs = {"out": dev(out, "Out"), "h": dev(h, "H")}
        if kind == "LSTM":
            devs["c"] = dev(cT, "C")
        print(f"{kind} go_backwards={c['GoBackwards']} B={B} T={T} I={I} U={U}: max|diff| " +
              ", ".join(f"{k} {v:.2e}" for k, v in devs.items()))
        worst[kind] = max(worst[kind], *devs.values())
    for kind, w in worst.items():
        if w > TOLERANCE:
            print(f"FAIL: {kind} max |diff| {w:.2e} > {TOLERANCE:.0e}")
            sys.exit(1)
    print("OK: tfserve matches torch (max |diff| " +
          ", ".join(f"{k} {w:.2e}" for k, w in worst.items()) + f"; asserted <= {TOLERANCE:.0e})")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("bench", "check"):
        sys.exit(__doc__)
    {"bench": bench, "check": check}[sys.argv[1]](sys.argv[2])
