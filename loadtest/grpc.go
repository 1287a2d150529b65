package loadtest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/server/grpcapi"
	"github.com/tfserve/tfserve/server/restapi/jsontensor"
	"github.com/tfserve/tfserve/tensor/tensorproto"
)

// GRPCOptions configures a GRPCTarget.
type GRPCOptions struct {
	// Conns is the number of HTTP/2 connections requests are spread over
	// (round robin); 0 means 4.
	Conns int
	// Timeout bounds each request; 0 means 30s.
	Timeout time.Duration
	// TensorContent sends inputs as tensor_content instead of the typed
	// repeated fields.
	TensorContent bool
}

// GRPCTarget sends PredictionService.Predict calls, round robin over a set
// of requests, to a TF Serving-compatible gRPC server. Do reports the HTTP
// status TF Serving's REST API would give the call's code ("200" for OK,
// "404" for NOT_FOUND, ...), so reports read the same for both protocols;
// UNAVAILABLE and client-side deadline or cancellation count as transport
// errors.
type GRPCTarget struct {
	conns   []*grpc.ClientConn
	clients []servingpb.PredictionServiceClient
	reqs    []*servingpb.PredictRequest
	next    atomic.Uint64
	timeout time.Duration
}

var _ Target = (*GRPCTarget)(nil)

// NewGRPCTarget dials addr (host:port or unix:///path) and turns each REST
// predict body into a PredictRequest for model, parsing it against the
// signatures GetModelMetadata returns (version and label are not set: the
// latest version serves).
func NewGRPCTarget(ctx context.Context, addr, model string, bodies [][]byte, opt GRPCOptions) (*GRPCTarget, error) {
	if len(bodies) == 0 {
		return nil, errors.New("grpc target: no request bodies")
	}
	if opt.Conns <= 0 {
		opt.Conns = 4
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 30 * time.Second
	}
	t := &GRPCTarget{timeout: opt.Timeout}
	for range opt.Conns {
		c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(1<<31-1), grpc.MaxCallSendMsgSize(1<<31-1)))
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("grpc target %s: %w", addr, err)
		}
		t.conns = append(t.conns, c)
		t.clients = append(t.clients, servingpb.NewPredictionServiceClient(c))
	}
	mctx, cancel := context.WithTimeout(ctx, opt.Timeout)
	defer cancel()
	md, err := t.clients[0].GetModelMetadata(mctx, &servingpb.GetModelMetadataRequest{
		ModelSpec: &servingpb.ModelSpec{Name: model}, MetadataField: []string{"signature_def"}})
	if err != nil {
		t.Close()
		return nil, fmt.Errorf("grpc target: GetModelMetadata(%s): %w", model, err)
	}
	var sigs servingpb.SignatureDefMap
	if a := md.GetMetadata()["signature_def"]; a == nil || a.UnmarshalTo(&sigs) != nil {
		t.Close()
		return nil, fmt.Errorf("grpc target: GetModelMetadata(%s) has no SignatureDefMap", model)
	}
	for i, b := range bodies {
		req, err := PredictRequestFromJSON(model, b, &sigs, opt.TensorContent)
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("grpc target: body %d: %w", i, err)
		}
		t.reqs = append(t.reqs, req)
	}
	return t, nil
}

// PredictRequestFromJSON converts a REST predict body ({"instances": ...}
// or {"inputs": ...}) into a gRPC PredictRequest for model, using sigs
// (GetModelMetadata's SignatureDefMap) to type the values.
func PredictRequestFromJSON(model string, body []byte, sigs *servingpb.SignatureDefMap, tensorContent bool) (*servingpb.PredictRequest, error) {
	pr, err := jsontensor.ParsePredictRequest(body, func(name string) (*servable.Signature, error) {
		d := sigs.GetSignatureDef()[name]
		if d == nil {
			return nil, jsontensor.ErrSignatureNotFound(name)
		}
		return grpcapi.ServableSignature(name, d), nil
	})
	if err != nil {
		return nil, err
	}
	req := &servingpb.PredictRequest{
		ModelSpec: &servingpb.ModelSpec{Name: model, SignatureName: pr.SignatureName},
		Inputs:    make(map[string]*tfpb.TensorProto, len(pr.Inputs)),
	}
	for alias, tt := range pr.Inputs {
		enc := tensorproto.EncodeTyped
		if tensorContent {
			enc = tensorproto.Encode
		}
		p, err := enc(tt)
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", alias, err)
		}
		req.Inputs[alias] = p
	}
	return req, nil
}

// Do sends the next request.
func (t *GRPCTarget) Do(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	i := t.next.Add(1)
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	_, err := t.clients[i%uint64(len(t.clients))].Predict(ctx, t.reqs[i%uint64(len(t.reqs))])
	if err == nil {
		return "200", nil
	}
	st, ok := grpcstatus.FromError(err)
	if !ok {
		return "", err
	}
	switch st.Code() {
	case codes.Unavailable:
		return "", err
	case codes.DeadlineExceeded, codes.Canceled:
		if ctx.Err() != nil {
			return "", err
		}
	}
	return strconv.Itoa(status.HTTPStatus(status.Code(st.Code()))), nil
}

// Close closes the connections.
func (t *GRPCTarget) Close() error {
	var errs []error
	for _, c := range t.conns {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}
