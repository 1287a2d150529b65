#!/usr/bin/python3
"""Peers for the tfserve ann benchmark: faiss and hnswlib, single thread.

  peers.py prepare OUTDIR          write Fashion-MNIST (Debian dataset-fashion-mnist)
                                   as OUTDIR/fashion-mnist-784-{l2,ip}/{base,queries,gt}.npy
  peers.py run DIR METRIC OUT      measure recall@10 vs QPS of faiss/hnswlib on DIR,
                                   append JSON lines to OUT (METRIC: squared_l2|dot_product)

Every peer searches the whole query batch with one thread (OMP/OpenBLAS = 1,
faiss.omp_set_num_threads(1), hnswlib num_threads=1), pinned to CPU
$ANN_PIN_CPU when set (run.sh sets it); indexes are built with
$ANN_BUILD_THREADS threads (default 2), which is not timed.

Peers: faiss Flat (exact, 1,000 queries), IVF-PQ 8-bit (+ refinement),
IVF-PQ fast scan (4-bit, 2 or 4 dims per code, two list counts, refinement),
HNSW-flat M 32 and 48, and hnswlib M 16, 32 (efConstruction 200) and 48
(efConstruction 400), each over a sweep of its search setting.
"""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import datetime
import gzip
import json
import sys
import time

import numpy as np

K = 10
# Threads for building the peers' indexes (not timed: every search runs on
# one thread). Build CPU seconds are reported as process time either way.
BUILD_THREADS = int(os.environ.get("ANN_BUILD_THREADS", "2"))
FMNIST = "/usr/share/datasets/fashion-mnist"


def read_idx_images(path):
    with gzip.open(path, "rb") as f:
        b = f.read()
    n, rows, cols = (int.from_bytes(b[i:i + 4], "big") for i in (4, 8, 12))
    return np.frombuffer(b, dtype=np.uint8, offset=16).reshape(n, rows * cols).astype(np.float32)


def exact_gt(base, queries, metric, k=100):
    import faiss
    faiss.omp_set_num_threads(os.cpu_count() or 1)  # ground truth only, not timed
    index = faiss.IndexFlatL2(base.shape[1]) if metric == "l2" else faiss.IndexFlatIP(base.shape[1])
    index.add(base)
    _, idx = index.search(queries, k)
    return idx.astype(np.int32)


def prepare(outdir):
    base = read_idx_images(os.path.join(FMNIST, "train-images-idx3-ubyte.gz"))
    queries = read_idx_images(os.path.join(FMNIST, "t10k-images-idx3-ubyte.gz"))
    for metric in ("l2", "ip"):
        b, q = base, queries
        if metric == "ip":
            b = b / np.linalg.norm(b, axis=1, keepdims=True)
            q = q / np.linalg.norm(q, axis=1, keepdims=True)
            b, q = b.astype(np.float32), q.astype(np.float32)
        d = os.path.join(outdir, "fashion-mnist-784-" + metric)
        os.makedirs(d, exist_ok=True)
        np.save(os.path.join(d, "base.npy"), np.ascontiguousarray(b))
        np.save(os.path.join(d, "queries.npy"), np.ascontiguousarray(q))
        np.save(os.path.join(d, "gt.npy"), exact_gt(b, q, metric))
        print("prepared", d, b.shape, q.shape, file=sys.stderr)


def recall(I, gt):
    hits = 0
    for row, truth in zip(I, gt[:, :K]):
        hits += len(set(row.tolist()) & set(truth.tolist()))
    return hits / (len(gt) * K)


def emit(out, **kw):
    kw.setdefault("threads", 1)
    kw["measured"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    print(json.dumps(kw), file=out, flush=True)
    print("%-8s %-34s %-22s recall=%.4f qps=%.0f cpu_qps=%.0f" % (kw["library"], kw["index"], kw["search"], kw["recall"], kw["qps"], kw["cpu_qps"]),
          file=sys.stderr, flush=True)


def timed_search(fn, q):
    """Returns the results, wall-clock QPS and process-CPU-time QPS. With
    ANN_PIN_CPU set, the search runs pinned to that CPU (builds are not)."""
    pin = os.environ.get("ANN_PIN_CPU", "")
    saved = os.sched_getaffinity(0)
    if pin:
        os.sched_setaffinity(0, {int(pin)})
    try:
        fn(q[:200])  # warm up
        c = time.process_time()
        t = time.perf_counter()
        I = fn(q)
        wall = time.perf_counter() - t
        cpu = time.process_time() - c
    finally:
        os.sched_setaffinity(0, saved)
    return I, len(q) / wall, len(q) / cpu


def run(d, metric, outpath):
    import faiss
    import hnswlib
    faiss.omp_set_num_threads(1)
    name = os.path.basename(os.path.normpath(d))
    base = np.load(os.path.join(d, "base.npy"))
    q = np.load(os.path.join(d, "queries.npy"))
    gt = np.load(os.path.join(d, "gt.npy"))
    nq = int(os.environ.get("ANN_NQ", "0"))
    if nq > 0:  # exploration only: the first nq queries
        q, gt = q[:nq], gt[:nq]
    n, dim = base.shape
    ip = metric == "dot_product"
    fmetric = faiss.METRIC_INNER_PRODUCT if ip else faiss.METRIC_L2
    out = open(outpath, "a")
    common = dict(dataset=name, metric=metric, queries=len(q))
    # ANN_PEERS selects peers (comma list of flat,ivfpq,fastscan,hnsw,hnswlib).
    want = set(os.environ.get("ANN_PEERS", "flat,ivfpq,fastscan,hnsw,hnswlib").split(","))

    def measure(lib, index_name, build_s, search_name, fn, nq=None):
        qq, gg = (q, gt) if nq is None else (q[:nq], gt[:nq])
        I, qps, cpu_qps = timed_search(fn, qq)
        c = dict(common, queries=len(qq))
        emit(out, library=lib, index=index_name, search=search_name, build_s=build_s,
             recall=recall(I, gg), qps=qps, cpu_qps=cpu_qps, **c)

    # Exact baseline.
    if "flat" in want:
        flat = faiss.IndexFlatIP(dim) if ip else faiss.IndexFlatL2(dim)
        flat.add(base)
        measure("faiss", "Flat", 0.0, "exact", lambda x: flat.search(x, K)[1], nq=1000)

    # IVF-PQ (8-bit codes), optionally with exact refinement.
    nlist = 256 if n >= 50000 else 120
    # Sub-quantizer counts must divide the dimension: 14 dims per code for
    # 784-d Fashion-MNIST, 16 for 768-d LaBSE.
    pq8 = 56 if dim % 56 == 0 else 48
    for m in ((pq8,) if "ivfpq" in want else ()):
        t = time.process_time()
        quant = faiss.IndexFlatIP(dim) if ip else faiss.IndexFlatL2(dim)
        ivf = faiss.IndexIVFPQ(quant, dim, nlist, m, 8, fmetric)
        # 8-bit PQ training is the slowest step; train on a fixed 20k sample.
        sample = base[np.random.default_rng(1).choice(n, min(n, 20000), replace=False)]
        ivf.train(sample)
        refine = faiss.IndexRefineFlat(ivf)  # wraps the empty index; add() fills both
        refine.add(base)
        build = time.process_time() - t
        for nprobe in (4, 8, 16):
            faiss.extract_index_ivf(ivf).nprobe = nprobe
            measure("faiss", "IVF%d,PQ%d" % (nlist, m), build, "nprobe=%d" % nprobe, lambda x: ivf.search(x, K)[1])
            for kf in (10,):
                refine.k_factor = kf
                measure("faiss", "IVF%d,PQ%d,RFlat" % (nlist, m), build, "nprobe=%d,k_factor=%d" % (nprobe, kf),
                        lambda x: refine.search(x, K)[1])

    # IVF-PQ fast scan (4-bit codes, SIMD LUTs), the closest peer to LUT16:
    # nlist lists with 4 and 2 dimensions per 4-bit code, and 4x the lists
    # with 2 dimensions per code probed deeper; exact refinement throughout.
    if hasattr(faiss, "IndexIVFPQFastScan") and "fastscan" in want:
        for nl, m, probes in ((nlist, dim // 4, (2, 4, 8, 16)), (nlist, dim // 2, (2, 4, 8, 16)),
                              (4 * nlist, dim // 2, (8, 16, 32, 64))):
            t = time.process_time()
            quant = faiss.IndexFlatIP(dim) if ip else faiss.IndexFlatL2(dim)
            fs = faiss.IndexIVFPQFastScan(quant, dim, nl, m, 4, fmetric)
            fs.train(base)
            refine = faiss.IndexRefineFlat(fs)
            refine.add(base)
            build = time.process_time() - t
            for nprobe in probes:
                fs.nprobe = nprobe
                for kf in (2, 5, 10):
                    refine.k_factor = kf
                    measure("faiss", "IVF%d,PQ%dx4fs,RFlat" % (nl, m), build, "nprobe=%d,k_factor=%d" % (nprobe, kf),
                            lambda x: refine.search(x, K)[1])

    # faiss HNSW (flat storage), M 32 and 48.
    for M in ((32, 48) if "hnsw" in want else ()):
        t = time.process_time()
        hnsw = faiss.IndexHNSWFlat(dim, M, fmetric)
        hnsw.hnsw.efConstruction = 200
        faiss.omp_set_num_threads(BUILD_THREADS)  # build only, not timed
        hnsw.add(base)
        faiss.omp_set_num_threads(1)
        build = time.process_time() - t
        for ef in (16, 32, 64, 128, 256):
            hnsw.hnsw.efSearch = ef
            measure("faiss", "HNSW%d,efC=200" % M, build, "efSearch=%d" % ef, lambda x: hnsw.search(x, K)[1])

    # hnswlib, M 16, 32 and 48 (M 48 with efConstruction 400).
    for M in ((16, 32, 48) if "hnswlib" in want else ()):
        efc = 400 if M >= 48 else 200
        t = time.process_time()
        h = hnswlib.Index(space="ip" if ip else "l2", dim=dim)
        h.init_index(max_elements=n, ef_construction=efc, M=M)
        h.add_items(base, num_threads=BUILD_THREADS)  # build only, not timed
        build = time.process_time() - t
        for ef in (10, 15, 20, 30, 40, 60, 80, 120, 160, 240):
            h.set_ef(ef)
            measure("hnswlib", "M=%d,efC=%d" % (M, efc), build, "ef=%d" % ef, lambda x: h.knn_query(x, k=K, num_threads=1)[0])
    out.close()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "prepare":
        prepare(sys.argv[2])
    elif len(sys.argv) == 5 and sys.argv[1] == "run":
        run(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
