"""A reader that is not ours: Python's protobuf over tfserve's .proto files
reads request-log files.

usage: read_prediction_log.py PROTO_ROOT OUT_DIR FILE...

Compiles the .proto files with protoc --python_out (the system protoc, else
grpc_tools.protoc), reads each file as TFRecords (checking both masked
CRC-32C of every record with a CRC written here), parses each record as
tensorflow.serving.PredictionLog and prints one JSON object per record,
then "PYTHON READER OK".
"""
import base64
import glob
import importlib
import json
import os
import shutil
import struct
import subprocess
import sys


def crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


TABLE = crc32c_table()


def masked_crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    c ^= 0xFFFFFFFF
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def records(path):
    with open(path, "rb") as f:
        data = f.read()
    off = 0
    while off < len(data):
        header = data[off:off + 12]
        if len(header) != 12:
            sys.exit("%s: truncated header at %d" % (path, off))
        (length,) = struct.unpack("<Q", header[:8])
        (hcrc,) = struct.unpack("<I", header[8:])
        if masked_crc32c(header[:8]) != hcrc:
            sys.exit("%s: bad length CRC at %d" % (path, off))
        body = data[off + 12:off + 12 + length]
        footer = data[off + 12 + length:off + 16 + length]
        if len(body) != length or len(footer) != 4:
            sys.exit("%s: truncated record at %d" % (path, off))
        if masked_crc32c(body) != struct.unpack("<I", footer)[0]:
            sys.exit("%s: bad data CRC at %d" % (path, off))
        yield body
        off += 16 + length


def compile_protos(proto_root, out_dir):
    files = sorted(glob.glob(os.path.join(proto_root, "**", "*.proto"), recursive=True))
    protoc = shutil.which("protoc")
    if protoc and subprocess.call([protoc, "-I" + proto_root, "--python_out=" + out_dir] + files) == 0:
        return
    from grpc_tools import protoc as gp
    well_known = os.path.join(os.path.dirname(gp.__file__), "_proto")
    if gp.main(["grpc_tools.protoc", "-I" + proto_root, "-I" + well_known, "--python_out=" + out_dir] + files) != 0:
        sys.exit("protoc failed")


def floats(tensors):
    return {k: list(v.float_val) for k, v in sorted(tensors.items())}


def main():
    proto_root, out_dir = sys.argv[1:3]
    compile_protos(proto_root, out_dir)
    sys.path.insert(0, out_dir)
    pl_pb2 = importlib.import_module("tensorflow_serving.apis.prediction_log_pb2")
    for path in sys.argv[3:]:
        for rec in records(path):
            pl = pl_pb2.PredictionLog()
            pl.ParseFromString(rec)
            md = pl.log_metadata
            kind = pl.WhichOneof("log_type")
            out = {
                "kind": kind,
                "model": md.model_spec.name,
                "version": md.model_spec.version.value,
                "signature": md.model_spec.signature_name,
                "sampling_rate": md.sampling_config.sampling_rate,
                "tags": list(md.saved_model_tags),
                "timestamp_secs": md.timestamp_secs,
                "request_model": (getattr(pl, kind).request.model_spec.name
                                  if kind in ("predict_log", "classify_log", "regress_log") else ""),
                "serialized": base64.b64encode(pl.SerializeToString()).decode(),
            }
            if kind == "predict_log":
                out["inputs"] = floats(pl.predict_log.request.inputs)
                out["outputs"] = floats(pl.predict_log.response.outputs)
            elif kind == "classify_log":
                out["scores"] = [[c.score for c in cl.classes]
                                 for cl in pl.classify_log.response.result.classifications]
            elif kind == "regress_log":
                out["values"] = [r.value for r in pl.regress_log.response.result.regressions]
            print(json.dumps(out, sort_keys=True))
    print("PYTHON READER OK")


if __name__ == "__main__":
    main()
