"""A client that is not ours: compiles tfserve's .proto files with
grpc_tools.protoc and calls Predict, GetModelStatus and GetModelMetadata
through Python grpcio.

usage: python_client.py PROTO_ROOT OUT_DIR HOST:PORT MODEL [CA_PEM [KEY_PEM CERT_PEM]]
The model must be a half_plus_two SavedModel (y = 0.5 x + 2, "x" -> "y").
With CA_PEM the channel is TLS, trusting that CA; with KEY_PEM and CERT_PEM
it presents that client certificate too. With EXPECT_REFUSED=1 in the
environment, one Predict must fail with UNAVAILABLE (the server refused the
handshake) and the script prints "REFUSED OK".
"""
import glob
import importlib
import os
import sys

from grpc_tools import protoc


def main():
    proto_root, out_dir, addr, model = sys.argv[1:5]
    well_known = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    files = sorted(glob.glob(os.path.join(proto_root, "**", "*.proto"), recursive=True))

    def compile_protos(fs):
        args = ["grpc_tools.protoc", "-I" + proto_root, "-I" + well_known,
                "--python_out=" + out_dir, "--grpc_python_out=" + out_dir] + fs
        return protoc.main(args) == 0

    full = compile_protos(files)
    if not full:
        # Old protoc (Debian 12's grpc_tools bundles 3.5.1) cannot parse
        # proto3 `optional` in the config protos that model_service.proto
        # reaches through model_management.proto: compile the rest and call
        # ModelService through a generic stub. The request-log protos
        # (logging.proto, prediction_log.proto) reach logging_config.proto.
        skip = ("tensorflow_serving/config/", "apis/model_management.proto", "apis/model_service.proto",
                "apis/logging.proto", "apis/prediction_log.proto")
        rest = [f for f in files if not any(k in f.replace(os.sep, "/") for k in skip)]
        if not compile_protos(rest):
            sys.exit("protoc failed")
        print("old protoc: compiled", len(rest), "of", len(files), "files; ModelService via a generic stub")
    sys.path.insert(0, out_dir)

    import grpc
    from google.protobuf import wrappers_pb2  # noqa: F401
    predict_pb2 = importlib.import_module("tensorflow_serving.apis.predict_pb2")
    gms_pb2 = importlib.import_module("tensorflow_serving.apis.get_model_status_pb2")
    gmm_pb2 = importlib.import_module("tensorflow_serving.apis.get_model_metadata_pb2")
    ps_grpc = importlib.import_module("tensorflow_serving.apis.prediction_service_pb2_grpc")
    tensor_pb2 = importlib.import_module("tensorflow.core.framework.tensor_pb2")
    shape_pb2 = importlib.import_module("tensorflow.core.framework.tensor_shape_pb2")
    types_pb2 = importlib.import_module("tensorflow.core.framework.types_pb2")

    channel = open_channel(grpc, addr, sys.argv[5:])
    if os.environ.get("EXPECT_REFUSED") == "1":
        expect_refused(grpc, channel, ps_grpc, predict_pb2, model)
        return
    grpc.channel_ready_future(channel).result(timeout=20)
    pred = ps_grpc.PredictionServiceStub(channel)
    if full:
        ms_grpc = importlib.import_module("tensorflow_serving.apis.model_service_pb2_grpc")
        get_model_status = ms_grpc.ModelServiceStub(channel).GetModelStatus
    else:
        get_model_status = channel.unary_unary(
            "/tensorflow.serving.ModelService/GetModelStatus",
            request_serializer=gms_pb2.GetModelStatusRequest.SerializeToString,
            response_deserializer=gms_pb2.GetModelStatusResponse.FromString)

    xs = [1.0, 2.0, 5.0, -3.0]
    req = predict_pb2.PredictRequest()
    req.model_spec.name = model
    req.model_spec.signature_name = "serving_default"
    req.inputs["x"].CopyFrom(tensor_pb2.TensorProto(
        dtype=types_pb2.DT_FLOAT,
        tensor_shape=shape_pb2.TensorShapeProto(dim=[shape_pb2.TensorShapeProto.Dim(size=len(xs)),
                                                     shape_pb2.TensorShapeProto.Dim(size=1)]),
        float_val=xs))
    resp = pred.Predict(req, timeout=20)
    ys = list(resp.outputs["y"].float_val)
    want = [0.5 * x + 2 for x in xs]
    assert ys == want, (ys, want)
    assert resp.model_spec.name == model and resp.model_spec.version.value > 0, resp.model_spec
    print("Predict ok:", ys, "version", resp.model_spec.version.value)

    # A scalar broadcast sent as one float_val over shape [3, 1].
    req.inputs["x"].CopyFrom(tensor_pb2.TensorProto(
        dtype=types_pb2.DT_FLOAT,
        tensor_shape=shape_pb2.TensorShapeProto(dim=[shape_pb2.TensorShapeProto.Dim(size=3),
                                                     shape_pb2.TensorShapeProto.Dim(size=1)]),
        float_val=[4.0]))
    ys = list(pred.Predict(req, timeout=20).outputs["y"].float_val)
    assert ys == [4.0, 4.0, 4.0], ys

    # Errors carry TF Serving's codes.
    req.model_spec.name = "no_such_model"
    try:
        pred.Predict(req, timeout=20)
        sys.exit("Predict on a missing model succeeded")
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.NOT_FOUND, e
        print("NOT_FOUND ok:", e.details())

    sreq = gms_pb2.GetModelStatusRequest()
    sreq.model_spec.name = model
    sresp = get_model_status(sreq, timeout=20)
    states = [(v.version, gms_pb2.ModelVersionStatus.State.Name(v.state), v.status.error_code)
              for v in sresp.model_version_status]
    assert states and all(s[1] == "AVAILABLE" and s[2] == 0 for s in states), states
    print("GetModelStatus ok:", states)

    mreq = gmm_pb2.GetModelMetadataRequest()
    mreq.model_spec.name = model
    mreq.metadata_field.append("signature_def")
    mresp = pred.GetModelMetadata(mreq, timeout=20)
    sigs = gmm_pb2.SignatureDefMap()
    assert mresp.metadata["signature_def"].Unpack(sigs), mresp.metadata["signature_def"].type_url
    sd = sigs.signature_def["serving_default"]
    assert sd.method_name == "tensorflow/serving/predict", sd
    assert sd.inputs["x"].dtype == types_pb2.DT_FLOAT, sd.inputs["x"]
    assert [d.size for d in sd.inputs["x"].tensor_shape.dim] == [-1, 1], sd.inputs["x"]
    print("GetModelMetadata ok:", sorted(sigs.signature_def.keys()))
    print("PYTHON CLIENT OK")


def open_channel(grpc, addr, tls_files):
    """A plaintext channel, or TLS with the CA (and client key and cert)."""
    if not tls_files:
        return grpc.insecure_channel(addr)

    def read(path):
        with open(path, "rb") as f:
            return f.read()

    ca = read(tls_files[0])
    key = read(tls_files[1]) if len(tls_files) > 2 else None
    cert = read(tls_files[2]) if len(tls_files) > 2 else None
    creds = grpc.ssl_channel_credentials(root_certificates=ca, private_key=key, certificate_chain=cert)
    return grpc.secure_channel(addr, creds)


def expect_refused(grpc, channel, ps_grpc, predict_pb2, model):
    req = predict_pb2.PredictRequest()
    req.model_spec.name = model
    try:
        ps_grpc.PredictionServiceStub(channel).Predict(req, timeout=10)
        sys.exit("Predict succeeded on a channel the server should refuse")
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.UNAVAILABLE, e
        print("REFUSED OK:", e.code())


if __name__ == "__main__":
    main()
