#!/usr/bin/python3
"""Writes bench/gru/RESULTS.md from the Go (go.json) and torch/numpy
(torch.json) measurements of one run.sh run.

usage: report.py GO.json TORCH.json CHECK.txt COMMAND MACHINE > RESULTS.md
"""
import datetime
import json
import sys


def main():
    go_path, torch_path, check_path, command, machine = sys.argv[1:6]
    go = json.load(open(go_path))
    pt = json.load(open(torch_path))
    check = open(check_path).read().strip()
    limit = max(s["Flops"] / s["CPUSec"] for s in pt["SGEMM"] if s["M"] >= 512)
    limit_wall = max(s["Flops"] / s["WallSec"] for s in pt["SGEMM"] if s["M"] >= 512)
    gf = lambda c, k="CPUSec": c["Flops"] / c[k] / 1e9  # noqa: E731
    key = lambda c: (c["Batch"], c["Input"], c["Units"], c["Steps"])  # noqa: E731
    tor = {key(c): c for c in pt["GRU"]}
    out = []
    w = out.append
    w("# GRU kernel vs torch.nn.GRU (one core)\n")
    w(f"- Date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}")
    w(f"- Machine: {machine}")
    w(f"- Command: `{command}`")
    w(f"- Peers: torch {pt['torch']} (torch.set_num_threads(1), inference_mode), numpy {pt['numpy']} "
      f"with OpenBLAS (OPENBLAS_NUM_THREADS=1); ours with GOMAXPROCS={go['GOMAXPROCS']}, asm={go['Asm']}.")
    w("- Layer: Keras GRU, reset_after=True, tanh/sigmoid, with bias, return_sequences=True, float32, "
      "x [B,T,I] batch-major. FLOPs counted as 2·B·T·(I+U)·3U.")
    w(f"- Times are per call, best of {pt['reps']} repetitions of at least {pt['mintime']} s, measured as the "
      "calling thread's CPU time (the machine is shared; wall-clock ratios are listed too).")
    w(f"- **SGEMM limit** (numpy/OpenBLAS single thread, best of 512³ and 1024³, measured before and after "
      f"the torch runs): **{limit / 1e9:.1f} GFLOP/s** (wall: {limit_wall / 1e9:.1f}).\n")
    w("## SGEMM\n")
    w("| m×n×k | ours GFLOP/s | numpy/OpenBLAS GFLOP/s | ours/OpenBLAS |")
    w("|---|---:|---:|---:|")
    npk = {(s["M"], s["N"], s["K"]): s for s in pt["SGEMM"]}
    for s in go["SGEMM"]:
        p = npk.get((s["Batch"], s["Units"], s["Input"]))
        if p:
            w(f"| {s['Batch']}×{s['Units']}×{s['Input']} | {gf(s):.1f} | {gf(p):.1f} | {gf(s) / gf(p):.2f} |")
    w("\n## GRU\n")
    w("| B | I | U | T | ours ms | ours GFLOP/s | % of SGEMM limit | torch ms | torch GFLOP/s | "
      "ours/torch (CPU) | ours/torch (wall) | target | met |")
    w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    met_all = True
    for c in go["GRU"]:
        t = tor[key(c)]
        ratio = t["CPUSec"] / c["CPUSec"]
        ratio_wall = t["WallSec"] / c["WallSec"]
        frac = c["Flops"] / c["CPUSec"] / limit
        b = c["Batch"]
        if b <= 8:
            target, ok = "≥2× torch", ratio >= 2
        elif b == 64:
            target, ok = "≥60% limit", frac >= 0.6
        else:
            target, ok = "≥1× torch", ratio >= 1
        met_all &= ok
        w(f"| {b} | {c['Input']} | {c['Units']} | {c['Steps']} | {c['CPUSec'] * 1e3:.3f} | {gf(c):.1f} | "
          f"{100 * frac:.0f}% | {t['CPUSec'] * 1e3:.3f} | {gf(t):.1f} | {ratio:.2f} | {ratio_wall:.2f} | "
          f"{target} | {'yes' if ok else '**no**'} |")
    w(f"\nAll targets met in this run: **{'yes' if met_all else 'no'}**.\n")
    w("Notes:")
    w("- Batch 1: each step is a matrix-vector product that streams the whole packed recurrent kernel "
      "(U×3U floats, 786 KB at U=256) from L2, so it is bound by L2 bandwidth (the 1-row micro-kernel alone reaches "
      "~75 GFLOP/s on L1-resident data, ~40-50 from L2), not by FMA throughput.")
    w("- The machine is shared with other jobs (load average in the header). Thread CPU time removes "
      "descheduling but not cache and memory contention; single cells move by up to ±25% between runs, "
      "so read the table as a whole.")
    w("")
    w("## Numerical cross-check against torch.nn.GRU\n")
    w("```\n" + check + "\n```")
    print("\n".join(out))


if __name__ == "__main__":
    main()
