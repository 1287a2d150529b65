"""A client that is not ours: compiles proto/inference/grpc_predict_v2.proto
with grpc_tools.protoc and calls inference.GRPCInferenceService through
Python grpcio.

usage: python_client.py PROTO_ROOT OUT_DIR HOST:PORT MODEL
MODEL must be fakemodel's half_plus_two look-alike with version 1
(y = 0.5 x + 2) and version 2 (y = 3 x + 2), both AVAILABLE.
"""
import importlib
import os
import struct
import sys

from grpc_tools import protoc


def check(what, got, want):
    if got != want:
        sys.exit("%s: got %r, want %r" % (what, got, want))


def main():
    proto_root, out_dir, addr, model = sys.argv[1:5]
    src = os.path.join(proto_root, "inference", "grpc_predict_v2.proto")
    if protoc.main(["grpc_tools.protoc", "-I" + proto_root, "--python_out=" + out_dir,
                    "--grpc_python_out=" + out_dir, src]) != 0:
        sys.exit("protoc failed")
    sys.path.insert(0, out_dir)
    import grpc
    pb = importlib.import_module("inference.grpc_predict_v2_pb2")
    svc = importlib.import_module("inference.grpc_predict_v2_pb2_grpc")

    channel = grpc.insecure_channel(addr)
    grpc.channel_ready_future(channel).result(timeout=20)
    stub = svc.GRPCInferenceServiceStub(channel)

    check("ServerLive", stub.ServerLive(pb.ServerLiveRequest()).live, True)
    check("ServerReady", stub.ServerReady(pb.ServerReadyRequest()).ready, True)
    check("ModelReady", stub.ModelReady(pb.ModelReadyRequest(name=model, version="1")).ready, True)
    check("ModelReady(9)", stub.ModelReady(pb.ModelReadyRequest(name=model, version="9")).ready, False)
    sm = stub.ServerMetadata(pb.ServerMetadataRequest())
    check("ServerMetadata", (sm.name, list(sm.extensions)), ("tfserve", ["binary_tensor_data"]))
    md = stub.ModelMetadata(pb.ModelMetadataRequest(name=model))
    check("ModelMetadata", (md.name, list(md.versions), md.platform,
                            [(t.name, t.datatype, list(t.shape)) for t in md.inputs],
                            [(t.name, t.datatype, list(t.shape)) for t in md.outputs]),
          (model, ["1", "2"], "tensorflow_savedmodel", [("x", "FP32", [-1, 1])], [("y", "FP32", [-1, 1])]))

    # Typed contents.
    req = pb.ModelInferRequest(model_name=model, model_version="1", id="py-1")
    x = req.inputs.add(name="x", datatype="FP32", shape=[3, 1])
    x.contents.fp32_contents.extend([1.0, 2.0, 5.0])
    resp = stub.ModelInfer(req)
    check("typed infer", (resp.model_name, resp.model_version, resp.id, resp.outputs[0].name,
                          resp.outputs[0].datatype, list(resp.outputs[0].shape),
                          list(resp.outputs[0].contents.fp32_contents)),
          (model, "1", "py-1", "y", "FP32", [3, 1], [2.5, 3.0, 4.5]))

    # Raw contents, as tritonclient sends them; the latest version.
    req = pb.ModelInferRequest(model_name=model)
    req.inputs.add(name="x", datatype="FP32", shape=[2, 1])
    req.raw_input_contents.append(struct.pack("<2f", 1.0, -1.0))
    req.outputs.add(name="y")
    resp = stub.ModelInfer(req)
    check("raw infer", (resp.model_version, list(resp.outputs[0].shape),
                        struct.unpack("<2f", resp.raw_output_contents[0])), ("2", [2, 1], (5.0, -1.0)))

    # An error is a gRPC status.
    req = pb.ModelInferRequest(model_name=model, model_version="1")
    req.inputs.add(name="x", datatype="FP64", shape=[1, 1]).contents.fp64_contents.append(1.0)
    try:
        stub.ModelInfer(req)
        sys.exit("FP64 input accepted")
    except grpc.RpcError as e:
        check("error code", e.code(), grpc.StatusCode.INVALID_ARGUMENT)
        if "does not match the model's FP32" not in e.details():
            sys.exit("error details: %r" % e.details())
    print("PYTHON KSERVE CLIENT OK")


if __name__ == "__main__":
    main()
