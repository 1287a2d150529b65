#!/usr/bin/python3
"""Turns the JSON lines of annbench (Go) and peers.py into RESULTS.md tables
and a recall/QPS plot.

  report.py RESULTS.jsonl OUT.md OUT.png "command line" "machine description"
"""
import collections
import json
import sys


def family(r):
    """Index family for the frontier: library + index without search knobs."""
    return "%s %s" % (r["library"], r["index"])


def frontier(rows, key):
    """Pareto frontier (recall up, qps up), sorted by recall."""
    rows = sorted(rows, key=lambda r: (-r["recall"], -r[key]))
    out, best = [], -1.0
    for r in rows:
        if r[key] > best:
            out.append(r)
            best = r[key]
    return sorted(out, key=lambda r: r["recall"])


def best_at(rows, key, floor):
    ok = [r for r in rows if r["recall"] >= floor]
    return max(ok, key=lambda r: r[key]) if ok else None


def main(src, md, png, cmd, machine):
    rows = [json.loads(l) for l in open(src) if l.strip().startswith("{")]
    by_ds = collections.OrderedDict()
    for r in rows:
        r.setdefault("cpu_qps", r["qps"])
        by_ds.setdefault((r["dataset"], r["metric"]), []).append(r)
    lines = ["# ann benchmark: tfserve ann vs faiss and hnswlib", "",
             "Recall@10 against exact search, queries per second on **one core** (GOMAXPROCS=1, "
             "OMP/OpenBLAS threads = 1, faiss.omp_set_num_threads(1), hnswlib num_threads=1), whole query batch "
             "per call. `qps` is wall-clock; `cpu_qps` divides by the process CPU time spent in the search, which is "
             "steadier when other jobs share the machine (both include all of the search; neither includes loading).",
             "", "Command: `%s`" % cmd, "", "Machine: %s" % machine, ""]
    for (ds, metric), rs in by_ds.items():
        ours = [r for r in rs if r["library"] == "tfserve-ann"]
        peers = [r for r in rs if r["library"] != "tfserve-ann" and r["index"] != "Flat"]
        lines += ["## %s, %s (%d queries)" % (ds, metric, max(r["queries"] for r in rs)), ""]
        lines += ["| at recall@10 >= | ours: best cpu_qps (setting) | best peer: cpu_qps (setting) | ratio (cpu) | ratio (wall) | >= 2x (cpu) |",
                  "|---|---|---|---|---|---|"]
        for floor in (0.8, 0.9, 0.95, 0.99):
            a, b = best_at(ours, "cpu_qps", floor), best_at(peers, "cpu_qps", floor)
            aw, bw = best_at(ours, "qps", floor), best_at(peers, "qps", floor)
            fa = "%.0f (%s; %s; r=%.3f)" % (a["cpu_qps"], a["index"], a["search"], a["recall"]) if a else "-"
            fb = "%.0f (%s %s; %s; r=%.3f)" % (b["cpu_qps"], b["library"], b["index"], b["search"], b["recall"]) if b else "-"
            ratio = "%.2fx" % (a["cpu_qps"] / b["cpu_qps"]) if a and b else "-"
            wratio = "%.2fx" % (aw["qps"] / bw["qps"]) if aw and bw else "-"
            met = "-" if not b else ("yes" if a and a["cpu_qps"] >= 2 * b["cpu_qps"] else "no")
            lines.append("| %.2f | %s | %s | %s | %s | %s |" % (floor, fa, fb, ratio, wratio, met))
        lines += ["", "<details><summary>all measurements</summary>", "",
                  "| library | index | search | recall@10 | qps | cpu_qps | build CPU s |", "|---|---|---|---|---|---|---|"]
        for r in sorted(rs, key=lambda r: (r["library"], r["index"], -r["cpu_qps"])):
            lines.append("| %s | %s | %s | %.4f | %.0f | %.0f | %.1f |" % (
                r["library"], r["index"], r["search"], r["recall"], r["qps"], r["cpu_qps"], r.get("build_s", 0)))
        lines += ["", "</details>", ""]
    lines += ["![recall vs QPS](%s)" % png.split("/")[-1], ""]
    open(md, "w").write("\n".join(lines))
    plot(by_ds, png)


def plot(by_ds, png):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(by_ds), figsize=(7 * len(by_ds), 5.5), squeeze=False)
    for ax, ((ds, metric), rs) in zip(axes[0], by_ds.items()):
        fams = collections.OrderedDict()
        for r in rs:
            if r["index"] == "Flat":
                continue
            fams.setdefault(family(r), []).append(r)
        for name, fr in fams.items():
            f = frontier(fr, "cpu_qps")
            style = "-o" if name.startswith("tfserve") else "--."
            ax.plot([r["recall"] for r in f], [r["cpu_qps"] for r in f], style, label=name, markersize=4)
        ax.set_yscale("log")
        ax.set_xlabel("recall@10")
        ax.set_ylabel("queries/s per core (CPU time)")
        ax.set_title("%s (%s)" % (ds, metric))
        ax.set_xlim(0.5, 1.005)
        ax.axvline(0.9, color="grey", lw=0.5)
        ax.grid(True, which="both", lw=0.3)
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(png, dpi=110)


if __name__ == "__main__":
    if len(sys.argv) != 6:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(*sys.argv[1:])
