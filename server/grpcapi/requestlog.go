package grpcapi

import (
	"context"
	"strconv"
	"time"

	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/proto"

	"github.com/tfserve/tfserve/proto/kservepb"
	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/servable/status"
)

// requestInfo describes a finished RPC for Options.Observe: its model, API
// and status, the version that served it, the messages' sizes and the
// peer.
func requestInfo(ctx context.Context, model, api string, req, resp any, err error, start time.Time) RequestInfo {
	ri := RequestInfo{Model: model, API: api, Code: status.CodeOf(err), Elapsed: time.Since(start)}
	if m, ok := req.(proto.Message); ok {
		ri.RequestBytes = int64(proto.Size(m))
	}
	if err == nil {
		if m, ok := resp.(proto.Message); ok && m != nil {
			ri.ResponseBytes = int64(proto.Size(m))
		}
		ri.Version = servedVersion(resp)
	}
	if p, ok := peer.FromContext(ctx); ok {
		ri.Client = p.Addr
	}
	return ri
}

// servedVersion is the version in a response's model_spec (the first
// result's for MultiInference), or 0.
func servedVersion(resp any) int64 {
	var ms *servingpb.ModelSpec
	switch r := resp.(type) {
	case interface{ GetModelSpec() *servingpb.ModelSpec }:
		ms = r.GetModelSpec()
	case *servingpb.MultiInferenceResponse:
		if len(r.GetResults()) > 0 {
			ms = r.GetResults()[0].GetModelSpec()
		}
	case *kservepb.ModelInferResponse:
		v, _ := strconv.ParseInt(r.GetModelVersion(), 10, 64)
		return v
	}
	return ms.GetVersion().GetValue()
}

// logRequest hands a successful RPC to Options.RequestLog, which logs it
// when the model's logging_config samples it.
func (s *Server) logRequest(req, resp any) {
	if s.opts.RequestLog == nil {
		return
	}
	rq, ok1 := req.(proto.Message)
	rs, ok2 := resp.(proto.Message)
	if ok1 && ok2 {
		s.opts.RequestLog.LogRPC(rq, rs)
	}
}
