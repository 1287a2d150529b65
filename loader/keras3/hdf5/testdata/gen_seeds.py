"""Writes the small HDF5 files FuzzOpen's seed corpus was made from.

Usage: gen_seeds.py OUTDIR, then
HDF5_WRITE_SEEDS=OUTDIR go test -run TestWriteSeedCorpus ./loader/keras3/hdf5/
turns each OUTDIR/*.h5 into testdata/fuzz/FuzzOpen/<name>.
"""

import os
import sys

import h5py
import numpy as np

os.makedirs(sys.argv[1], exist_ok=True)
os.chdir(sys.argv[1])


def kl(f, n=2):
    v = f.create_group("layers/gru/cell/vars")
    v.attrs["name"] = "gru_cell"
    v["0"] = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    v["1"] = np.arange(3, dtype=np.float16)
    f["opt"] = np.int64(3)
with h5py.File("v0_keras.h5", "w") as f:
    kl(f)
with h5py.File("v0_chunked.h5", "w") as f:
    f.create_dataset("c", data=np.arange(30, dtype=">f8").reshape(6, 5), chunks=(4, 2), shuffle=True, compression="gzip", fletcher32=True)
    d = f.create_dataset("m", shape=(4, 4), dtype=np.int16, chunks=(2, 2), fillvalue=7)
    d[0, 0] = 1
    f.attrs["s"] = np.array(["a", "bc"], dtype=h5py.string_dtype())
    f.attrs["x"] = np.bytes_(b"fixed")
with h5py.File("latest_dense.h5", "w", libver="latest") as f:
    g = f.create_group("g")
    f["x"] = np.arange(2, dtype=np.uint8)
    for i in range(10):
        g["l%d" % i] = f["x"]
        f["x"].attrs["a%d" % i] = np.int8(i)
    f.create_dataset("fa", data=np.arange(12, dtype=np.float32).reshape(3, 4), chunks=(2, 2), compression="gzip")
    f.create_dataset("bt", data=np.arange(6, dtype=np.int32).reshape(2, 3), maxshape=(None, None), chunks=(1, 2))
    f.create_dataset("one", data=np.arange(4, dtype=np.float64), chunks=(4,))
    g["up"] = f["/"]
with h5py.File("v2.h5", "w", libver=("v108", "v108")) as f:
    kl(f)
