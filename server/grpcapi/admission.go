package grpcapi

import (
	"context"
	"net/netip"
	"time"

	"github.com/tfserve/tfserve/proto/kservepb"
	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/server/admission"
	"google.golang.org/grpc/peer"
)

// admit asks Options.Admission to start an RPC that runs a model; other
// RPCs pass with a zero Ticket. The gRPC deadline is the request's
// deadline: one that has passed is not started (DEADLINE_EXCEEDED), and the
// wait for admission ends with it; a client over
// --admission_max_in_flight_per_client is refused at once. A refusal is
// RESOURCE_EXHAUSTED; it is
// observed (request_count) and returned as a gRPC status.
func (s *Server) admit(ctx context.Context, req any) (admission.Ticket, error) {
	if s.opts.Admission == nil || !runsModel(req) {
		return admission.Ticket{}, nil
	}
	start := time.Now()
	var client netip.Addr
	if p, ok := peer.FromContext(ctx); ok {
		client = admission.ClientOf(p.Addr)
	}
	t, err := s.opts.Admission.AcquireFrom(ctx, client)
	if err != nil {
		if s.opts.Observe != nil {
			api, model := describe(req)
			s.opts.Observe(requestInfo(ctx, model, api, req, nil, err, start))
		}
		return t, toGRPC(err)
	}
	return t, nil
}

func runsModel(req any) bool {
	switch req.(type) {
	case *servingpb.PredictRequest, *servingpb.ClassificationRequest, *servingpb.RegressionRequest,
		*servingpb.MultiInferenceRequest, *kservepb.ModelInferRequest:
		return true
	}
	return false
}
