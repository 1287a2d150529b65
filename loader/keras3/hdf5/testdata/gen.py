"""Writes the small HDF5 files the hdf5 package tests read, and beside each
one a JSON file of what h5py reads back from it (shapes, types, every
value), so the Go reader can be compared value by value.

Usage: gen.py OUTDIR

The committed files under testdata/ were made by this script (h5py 3.7,
HDF5 1.10.8); TestAgainstH5py runs it again at test time where python3 with
h5py is installed.
"""

import json
import os
import sys

import h5py
import numpy as np

OUT = sys.argv[1]
rng = np.random.default_rng(1234)


def dtype_str(dt):
    if h5py.check_string_dtype(dt) is not None and dt.kind == "O":
        info = h5py.check_string_dtype(dt)
        return "vlen-utf8" if info.encoding == "utf-8" else "vlen-ascii"
    if dt.kind == "S":
        return "|S%d" % dt.itemsize
    if dt.kind == "b":
        return "|i1"
    if dt.itemsize == 1:
        return "|" + dt.kind + "1"
    order = ">" if dt.byteorder == ">" else "<"
    return "%s%s%d" % (order, dt.kind, dt.itemsize)


def values(arr, dt):
    flat = np.asarray(arr).reshape(-1)
    if dt.kind == "f":
        return [repr(float(v)) for v in flat]
    if dt.kind in "iub":
        return [str(int(v)) for v in flat]
    out = []
    for v in flat:
        if isinstance(v, bytes):
            v = v.decode("utf-8")
        out.append(v)
    return out


def layout_str(ds):
    dcpl = ds.id.get_create_plist()
    lay = dcpl.get_layout()
    if lay == h5py.h5d.COMPACT:
        return "compact"
    if lay == h5py.h5d.CONTIGUOUS:
        return "contiguous"
    return "chunked"


def filters(ds):
    dcpl = ds.id.get_create_plist()
    names = {1: "deflate", 2: "shuffle", 3: "fletcher32"}
    return [names.get(dcpl.get_filter(i)[0], "filter-%d" % dcpl.get_filter(i)[0]) for i in range(dcpl.get_nfilters())]


def describe(path, unreadable=()):
    """The expectations for one file, read back with h5py."""
    exp = {"datasets": {}, "attrs": {}, "members": {}, "walk": []}
    with h5py.File(path, "r") as f:
        exp["superblock"] = f.id.get_create_plist().get_version()[0]

        def attrs_of(name, obj):
            out = {}
            for k in obj.attrs:
                aid = obj.attrs.get_id(k)
                dt = aid.dtype
                v = obj.attrs[k]
                shape = list(aid.shape) if aid.get_space().get_simple_extent_type() != h5py.h5s.NULL else None
                out[k] = {"dtype": dtype_str(dt), "shape": shape, "values": values(v, dt) if shape is not None else []}
            if out:
                exp["attrs"][name] = out

        def dataset(name, ds):
            e = {"shape": list(ds.shape) if ds.shape is not None else None, "dtype": dtype_str(ds.dtype),
                 "layout": layout_str(ds), "filters": filters(ds)}
            if name in unreadable:
                e["error"] = "unsupported"
            elif ds.shape is not None:
                e["values"] = values(ds[()], ds.dtype)
            exp["datasets"][name] = e

        attrs_of("", f)
        exp["members"][""] = sorted(f.keys())
        visited = {h5py.h5o.get_info(f.id).addr}
        stack = [("", f)]
        # Depth-first in byte-wise name order, groups entered once, soft
        # and external links skipped: what File.Walk promises.
        order = []
        first = {}  # dataset address -> first path

        def walk(prefix, grp):
            for k in sorted(grp.keys(), key=lambda s: s.encode()):
                link = grp.get(k, getlink=True)
                if not isinstance(link, h5py.HardLink):
                    continue
                obj = grp[k]
                p = prefix + k
                addr = h5py.h5o.get_info(obj.id).addr
                if isinstance(obj, h5py.Dataset):
                    order.append(p)
                    if addr in first:
                        exp["datasets"][p] = {"same_as": first[addr]}
                    else:
                        first[addr] = p
                        dataset(p, obj)
                        attrs_of(p, obj)
                    continue
                if addr in visited:
                    continue
                visited.add(addr)
                exp["members"][p] = sorted(obj.keys())
                attrs_of(p, obj)
                walk(p + "/", obj)

        walk("", f)
        exp["walk"] = order
    with open(path[:-3] + ".json", "w") as out:
        json.dump(exp, out, sort_keys=True, separators=(",", ":"))


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def common_attrs(obj):
    obj.attrs["name"] = "gru_cell"  # what Keras writes: scalar vlen utf-8
    obj.attrs["unicode"] = "naïve ✓"
    obj.attrs.create("fixed", np.bytes_(b"abc"))
    obj.attrs.create("fixed_pad", np.array([b"ab", b"cde"], dtype="S5"))
    obj.attrs["vlen_list"] = np.array(["x", "", "yz"], dtype=h5py.string_dtype())
    obj.attrs["ints"] = np.array([1, -2, 3], dtype=np.int32)
    obj.attrs["be_f8"] = np.array([1.5, -2.25], dtype=">f8")
    obj.attrs["f2"] = np.float16(0.333)
    obj.attrs["u8"] = np.uint64(2**63 + 5)
    obj.attrs["scalar_i"] = np.int64(-7)
    obj.attrs["flag"] = True
    obj.attrs["empty"] = h5py.Empty("f4")


def numeric_datasets(g):
    g["f2"] = rng.standard_normal((3, 4)).astype(np.float16)
    g["f4"] = f32(5, 6)
    g["f8"] = rng.standard_normal((4,))
    g["be_f4"] = f32(2, 3).astype(">f4")
    g["be_f8"] = rng.standard_normal((3,)).astype(">f8")
    g["special"] = np.array([np.inf, -np.inf, -0.0, 1e-45, 3.4e38], dtype=np.float32)
    g["f2_special"] = np.array([np.inf, 6e-8, -65504, 0.0], dtype=np.float16)
    for t in ["i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", ">i4", ">u2", ">i8"]:
        info = np.iinfo(np.dtype(t))
        lo, hi = int(info.min), min(int(info.max), 2**62)
        g[t.replace(">", "be_")] = np.array([lo, -1 if lo < 0 else 0, 0, 1, hi], dtype=t)
    g["bool"] = np.array([True, False, True])
    g["scalar_i8"] = np.int64(42)
    g["scalar_f4"] = np.float32(2.5)
    g["empty"] = np.zeros((0, 3), dtype=np.float32)
    g["null"] = h5py.Empty("f4")
    g["fixed_str"] = np.array([b"ab", b"cdef", b""], dtype="S4")
    g["vlen_str"] = np.array(["alpha", "βeta", ""], dtype=h5py.string_dtype())


def chunked_datasets(g):
    g.create_dataset("deflate", data=f32(10, 7), chunks=(4, 3), compression="gzip", compression_opts=4)
    g.create_dataset("shuffle_deflate_fletcher", data=rng.standard_normal((9, 5)).astype(">f8"), chunks=(2, 2),
                     shuffle=True, compression="gzip", fletcher32=True)
    g.create_dataset("fletcher_only", data=np.arange(13, dtype=np.int32), chunks=(5,), fletcher32=True)
    g.create_dataset("shuffle_only", data=np.arange(11, dtype=np.int16) * 300, chunks=(4,), shuffle=True)
    g.create_dataset("deflate_1d", data=(np.arange(100) % 17).astype(np.int16), chunks=(7,), compression="gzip")
    g.create_dataset("plain", data=f32(6, 4), chunks=(3, 4))
    d = g.create_dataset("missing", shape=(8, 8), dtype=np.float32, chunks=(4, 4), fillvalue=1.5)
    d[0:4, 0:4] = f32(4, 4)
    d[5, 6] = 9.0
    g.create_dataset("f2_chunked", data=rng.standard_normal((5, 5)).astype(np.float16), chunks=(2, 5), compression="gzip")
    g.create_dataset("rank3", data=f32(3, 4, 5), chunks=(2, 3, 2), compression="gzip")


def compact_dataset(parent, name, data):
    data = np.ascontiguousarray(data)
    space = h5py.h5s.create_simple(data.shape)
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)
    tid = h5py.h5t.py_create(data.dtype)
    dsid = h5py.h5d.create(parent.id, name.encode(), tid, space, dcpl=dcpl)
    dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, data)


def keras_like(f):
    cell = f.create_group("layers/gru/cell/vars")
    cell.attrs["name"] = "gru_cell"
    cell["0"] = f32(3, 12)
    cell["1"] = f32(4, 12)
    cell["2"] = f32(2, 12)
    f.create_group("layers/gru/vars").attrs["name"] = "gru"
    f.create_group("optimizer/vars").attrs["name"] = "adam"
    f["optimizer/vars/0"] = np.int64(7)


def v0():
    path = os.path.join(OUT, "v0.h5")
    with h5py.File(path, "w") as f:
        keras_like(f)
        common_attrs(f)
        common_attrs(f["layers/gru/cell/vars/0"])
        numeric_datasets(f.create_group("dtypes"))
        chunked_datasets(f.create_group("chunked"))
        compact_dataset(f, "compact", f32(4, 5))
        compact_dataset(f, "compact_be", np.arange(6, dtype=">i2").reshape(2, 3))
        g = f
        for i in range(12):
            g = g.create_group("d%d" % i)
        g["leaf"] = np.arange(3, dtype=np.uint8)
        f["layers/loop"] = f["/"]  # a cycle back to the root
        f["layers/again"] = f["layers/gru/cell/vars/0"]  # a second path to a dataset
        f["soft"] = h5py.SoftLink("/layers")
        f["ext"] = h5py.ExternalLink("other.h5", "/x")
    describe(path)


def small_offsets():
    # 4-byte addresses and lengths; a group of 300 hard links (enough symbol
    # table nodes for a two-level group B-tree) and 100 chunks (a two-level
    # chunk B-tree).
    path = os.path.join(OUT, "offsets4.h5")
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    fcpl.set_sizes(4, 4)
    fid = h5py.h5f.create(path.encode(), h5py.h5f.ACC_TRUNC, fcpl=fcpl)
    with h5py.File(fid) as f:
        f["one"] = np.array([1, 2], dtype=np.int8)
        g = f.create_group("many")
        for i in range(300):
            g["m%03d" % i] = f["one"]
        f.create_dataset("grid", data=f32(30, 30), chunks=(3, 3), compression="gzip")
        f.create_dataset("grid_plain", data=np.arange(24 * 24, dtype=np.int32).reshape(24, 24), chunks=(2, 3))
        f.attrs["s"] = "four-byte offsets"
    describe(path)


def smallk():
    # Tiny B-tree K values, set through the HDF5 C library h5py uses (h5py
    # has no binding for them): a version 1 superblock, and multi-level
    # group and chunk B-trees from few entries. Skipped where that library
    # cannot be reached.
    import ctypes
    import ctypes.util
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    for name in ["libhdf5_serial.so.103", ctypes.util.find_library("hdf5_serial"), ctypes.util.find_library("hdf5")]:
        try:
            lib = ctypes.CDLL(name)
            if lib.H5Pset_istore_k(ctypes.c_int64(fcpl.id), ctypes.c_uint(2)) >= 0 and \
                    lib.H5Pset_sym_k(ctypes.c_int64(fcpl.id), ctypes.c_uint(2), ctypes.c_uint(2)) >= 0:
                break
        except (OSError, TypeError, AttributeError):
            pass
    else:
        return
    path = os.path.join(OUT, "smallk.h5")
    fid = h5py.h5f.create(path.encode(), h5py.h5f.ACC_TRUNC, fcpl=fcpl)
    with h5py.File(fid) as f:
        g = f.create_group("g")
        for i in range(30):
            g["x%02d" % i] = np.int8(i)
        f.create_dataset("c", data=f32(10, 10), chunks=(2, 2), compression="gzip")
        f.create_dataset("c3", data=np.arange(120, dtype=np.int16).reshape(4, 5, 6), chunks=(1, 2, 3))
    describe(path)


def latest():
    path = os.path.join(OUT, "latest.h5")
    with h5py.File(path, "w", libver="latest") as f:
        keras_like(f)
        common_attrs(f)
        tgt = f.create_dataset("target", data=np.arange(4, dtype=np.float32))
        for i in range(25):
            tgt.attrs["attr%02d" % i] = np.arange(i + 1, dtype=np.int16)
        tgt.attrs["s"] = "dense vlen string"
        dense = f.create_group("dense")
        for i in range(200):
            dense["link_with_a_longer_name_%03d" % i] = tgt
        dense["up"] = f["/"]
        small = f.create_group("small")
        small["a"] = np.float32(1)
        small["b"] = np.float64(2)
        to = f.create_group("tracked", track_order=True)
        for i in range(12):
            to["t%d" % i] = np.int32(i)
        c = f.create_group("chunked")
        c.create_dataset("single", data=f32(5, 5), chunks=(5, 5))
        c.create_dataset("single_filtered", data=f32(5, 5), chunks=(5, 5), compression="gzip", shuffle=True)
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_chunk((3, 4))
        dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
        sid = h5py.h5s.create_simple((7, 9))
        dsid = h5py.h5d.create(c.id, b"implicit", h5py.h5t.NATIVE_FLOAT, sid, dcpl=dcpl)
        dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, f32(7, 9))
        c.create_dataset("fixed", data=f32(20, 30), chunks=(3, 4), compression="gzip")
        c.create_dataset("fixed_plain", data=np.arange(40, dtype=np.int64).reshape(8, 5), chunks=(3, 2))
        c.create_dataset("fixed_paged", data=(np.arange(2100) % 251).astype(np.uint8), chunks=(2,))
        c.create_dataset("fixed_paged_filtered", data=f32(1100 * 3), chunks=(3,), compression="gzip", fletcher32=True)
        fm = c.create_dataset("fixed_maxshape", shape=(10, 10), maxshape=(20, 20), chunks=(3, 3), dtype=np.float32)
        fm[...] = f32(10, 10)
        b2 = c.create_dataset("btree2", data=f32(10, 12), maxshape=(None, None), chunks=(4, 5), compression="gzip")
        b2.resize((11, 13))
        b2[10, :] = 3.0
        c.create_dataset("btree2_plain", data=np.arange(30, dtype=np.int16).reshape(5, 6), maxshape=(None, None), chunks=(2, 2))
        c.create_dataset("earray", data=f32(10, 3), maxshape=(None, 3), chunks=(4, 3))
        compact_dataset(f, "compact", np.arange(12, dtype=np.float64).reshape(3, 4))
        f["be"] = np.arange(5, dtype=">f4")
    describe(path, unreadable={"chunked/earray"})


def deep():
    # Version 2 B-trees two levels deep (a group of 3000 links) and one
    # level deep over chunks (1600 single-element chunks).
    path = os.path.join(OUT, "deep.h5")
    with h5py.File(path, "w", libver="latest") as f:
        f["x"] = np.int8(1)
        g = f.create_group("g")
        for i in range(3000):
            g["%04d" % i] = f["x"]
        d = f.create_dataset("cells", shape=(40, 40), maxshape=(None, None), chunks=(1, 1), dtype=np.int8)
        d[...] = (np.arange(1600) % 127).astype(np.int8).reshape(40, 40)
    describe(path)


def v2():
    path = os.path.join(OUT, "v2.h5")
    with h5py.File(path, "w", libver=("v108", "v108")) as f:
        keras_like(f)
        f.attrs["note"] = "superblock 2"
        f.create_dataset("z", data=f32(6, 6), chunks=(4, 4), compression="gzip", shuffle=True)
        g = f.create_group("many")
        for i in range(20):
            g["n%02d" % i] = np.int16(i)
    describe(path)


def userblock():
    path = os.path.join(OUT, "userblock.h5")
    with h5py.File(path, "w", userblock_size=512) as f:
        keras_like(f)
    with open(path, "r+b") as fh:
        fh.write(b"user block text, not HDF5")
    describe(path)


os.makedirs(OUT, exist_ok=True)
v0()
small_offsets()
smallk()
latest()
deep()
v2()
userblock()
