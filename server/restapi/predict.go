package restapi

import (
	"context"
	"strconv"
	"time"

	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/server/examplesig"
	"github.com/tfserve/tfserve/server/manager"
	"github.com/tfserve/tfserve/server/restapi/jsontensor"
	"github.com/tfserve/tfserve/server/workers"
	"github.com/tfserve/tfserve/tensor"
)

// runner is what a request that runs a model carries to the run: its
// worker slot, which a batching queue gives back while it waits, and the
// client's deadline from RequestTimeoutHeader (zero without one).
type runner struct {
	slot     *workers.Slot
	deadline time.Time
	served   *int64 // route.served: the version that serves the request
	// rc, when not nil, is a zero run context in the request's state for
	// runContext to start (saving an allocation); nil: runContext makes
	// one.
	rc *runCtx
}

// request is the state of one /v1/ request that outlives handle's frame
// (the run's context keeps the slot; models may keep the context): one
// allocation instead of three.
type request struct {
	slot   workers.Slot
	served int64
	run    runCtx
}

// runScope is a model run's context and what ends it.
type runScope struct {
	ctx    context.Context
	rc     *runCtx            // a queued deadline (runctx.go), or nil
	cancel context.CancelFunc // context.WithDeadline's, or nil
}

// end cancels the run's context (callers defer it).
func (r runScope) end() {
	switch {
	case r.rc != nil:
		r.rc.stop()
	case r.cancel != nil:
		r.cancel()
	}
}

// runContext bounds a model run by --rest_api_timeout_in_ms and by the
// client's deadline, whichever comes first; a run whose deadline has
// passed stops before its first kernel (DEADLINE_EXCEEDED, 504). The
// context carries the request's worker slot (workers.FromContext).
func (s *Server) runContext(rn runner) runScope {
	deadline := rn.deadline
	if s.opts.Timeout > 0 {
		if d := time.Now().Add(s.opts.Timeout); deadline.IsZero() || d.Before(deadline) {
			if s.opts.Timeout >= minQueuedTimeout {
				// The usual case: no timer of its own (runctx.go).
				c := rn.rc
				if c == nil || c.owner != nil {
					c = new(runCtx) // no state, or its context already used
				}
				s.deadlines.startIn(c, context.Background(), rn.slot, d)
				return runScope{ctx: c, rc: c}
			}
			deadline = d
		}
	}
	ctx := workers.NewContext(context.Background(), rn.slot)
	if deadline.IsZero() {
		return runScope{ctx: ctx}
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	return runScope{ctx: ctx, cancel: cancel}
}

// predict follows TF Serving's ProcessPredictRequest: the JSON is decoded
// against the signature (looked up through the model, so JSON errors come
// before NotFound), then RunPredict's checks, the run, and the JSON output.
func (s *Server) predict(spec manager.Spec, rn runner, body, out []byte) ([]byte, error) {
	var (
		h    manager.Handle
		have bool
	)
	budget := limits.NewBudget(s.limits)
	req, err := jsontensor.ParsePredictRequestLimited(body, budget, func(name string) (*servable.Signature, error) {
		if !have {
			var err error
			if h, err = s.opts.Models.Get(spec); err != nil {
				return nil, err
			}
			have = true
		}
		sig := h.Signatures()[name]
		if sig == nil {
			return nil, jsontensor.ErrSignatureNotFound(name)
		}
		return sig, nil
	})
	if have {
		defer h.Release()
	}
	if err != nil {
		return out, err
	}
	if !have {
		// The parser decided without asking for the signature.
		if h, err = s.opts.Models.Get(spec); err != nil {
			return out, err
		}
		defer h.Release()
	}
	rn.serve(h)
	// RunPredict's checks (servable/predict.go). The JSON already named
	// every input the signature has, and only those, so CheckInputs is a
	// safeguard here: it answers as it does for gRPC.
	sig, err := servable.PredictSignature(h.Signatures(), req.SignatureName, s.opts.EnableSignatureMethodNameCheck)
	if err != nil {
		return out, err
	}
	if err := servable.CheckInputs(sig, req.Inputs); err != nil {
		return out, err
	}
	run := s.runContext(rn)
	defer run.end()
	outputs, err := h.Run(run.ctx, req.SignatureName, req.Inputs, nil)
	if err != nil {
		return out, err
	}
	for alias := range sig.Outputs {
		if outputs[alias] == nil {
			return out, status.New(status.Unknown, "Predict internal error")
		}
	}
	if len(outputs) != len(sig.Outputs) {
		// Keep only what the signature declares, as TF Serving fetches
		// exactly the signature's outputs.
		kept := make(map[string]*tensor.Tensor, len(sig.Outputs))
		for alias := range sig.Outputs {
			kept[alias] = outputs[alias]
		}
		outputs = kept
	}
	out, err = jsontensor.AppendPredictResponseLimited(out, s.limits.MaxResponseBytes, req.Format, outputs, nil)
	if err == nil {
		s.logPredict(spec, h, req, outputs)
	}
	return out, err
}

// Signature keys of classify and regress signatures (TF's
// signature_constants.h).

// exampleSignature looks up the signature of a classify or regress request
// and validates it as GetClassificationSignatureDef /
// GetRegressionSignatureDef do.
func (s *Server) exampleSignature(h manager.Handle, name, method string) (*servable.Signature, error) {
	return examplesig.Lookup(h.Signatures(), name, method, s.opts.EnableSignatureMethodNameCheck)
}

// runExamples parses a classify/regress body, resolves the model and
// signature, and runs the serialized tf.Examples through the signature's
// single input. It returns the outputs, the number of examples and, when
// the request log samples the request, what it needs to log it.
func (s *Server) runExamples(spec manager.Spec, rn runner, body []byte, method string, want []string) (map[string]*tensor.Tensor, *servable.Signature, int, *exampleLog, error) {
	budget := limits.NewBudget(s.limits)
	req, err := jsontensor.ParseClassifyRegressRequestLimited(body, budget)
	if err != nil {
		return nil, nil, 0, nil, err
	}
	h, err := s.opts.Models.Get(spec)
	if err != nil {
		return nil, nil, 0, nil, err
	}
	defer h.Release()
	rn.serve(h)
	sig, err := s.exampleSignature(h, req.SignatureName, method)
	if err != nil {
		return nil, nil, 0, nil, err
	}
	strs, err := req.InputStrings(budget)
	if err != nil {
		return nil, nil, 0, nil, err
	}
	if len(strs) == 0 {
		return nil, nil, 0, nil, status.New(status.InvalidArgument, "Input is empty.")
	}
	in := map[string]*tensor.Tensor{examplesig.Inputs: tensor.FromSlice(tensor.Shape{len(strs)}, strs)}
	var fetch []string
	for _, o := range want {
		if _, ok := sig.Outputs[o]; ok {
			fetch = append(fetch, o)
		}
	}
	run := s.runContext(rn)
	defer run.end()
	outputs, err := h.Run(run.ctx, req.SignatureName, in, fetch)
	if err != nil {
		return nil, nil, 0, nil, err
	}
	for _, o := range fetch {
		if outputs[o] == nil {
			return nil, nil, 0, nil, status.New(status.InvalidArgument,
				"Expected "+strconv.Itoa(len(fetch))+" output tensor(s).  Got: "+strconv.Itoa(countPresent(outputs, fetch)))
		}
	}
	return outputs, sig, len(strs), s.sampleExamples(spec, h, req), nil
}

func countPresent(m map[string]*tensor.Tensor, keys []string) int {
	n := 0
	for _, k := range keys {
		if m[k] != nil {
			n++
		}
	}
	return n
}

// classify is ProcessClassifyRequest: RunClassify plus
// PostProcessClassificationResult's checks.
func (s *Server) classify(spec manager.Spec, rn runner, body, out []byte) ([]byte, error) {
	outputs, _, n, lg, err := s.runExamples(spec, rn, body, servable.MethodClassify, []string{examplesig.Classes, examplesig.Scores})
	if err != nil {
		return out, err
	}
	cls, err := examplesig.ClassifyResult(outputs, n)
	if err != nil {
		return out, err
	}
	numClasses, labels, vals := cls.NumClasses, cls.Labels, cls.Scores
	results := make([][]jsontensor.Class, n)
	flat := make([]jsontensor.Class, n*numClasses)
	for i := range n {
		row := flat[i*numClasses : (i+1)*numClasses]
		for c := range row {
			if labels != nil {
				row[c].Label = labels[i*numClasses+c]
			}
			if vals != nil {
				row[c].Score = vals[i*numClasses+c]
			}
		}
		results[i] = row
	}
	out, err = jsontensor.AppendClassifyResponse(out, s.limits.MaxResponseBytes, results)
	if err == nil {
		lg.classify(cls)
	}
	return out, err
}

// regress is ProcessRegressRequest: RunRegress plus
// PostProcessRegressionResult's checks.
func (s *Server) regress(spec manager.Spec, rn runner, body, out []byte) ([]byte, error) {
	outputs, sig, n, lg, err := s.runExamples(spec, rn, body, servable.MethodRegress, []string{examplesig.Outputs})
	if err != nil {
		return out, err
	}
	vals, err := examplesig.RegressResult(outputs, sig, n)
	if err != nil {
		return out, err
	}
	out, err = jsontensor.AppendRegressResponse(out, s.limits.MaxResponseBytes, vals)
	if err == nil {
		lg.regress(vals)
	}
	return out, err
}
