package warmup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/server/examplesig"
	"github.com/tfserve/tfserve/tensor"
	"github.com/tfserve/tfserve/tensor/tensorproto"
)

// LoadFunc loads one SavedModel version directory (the shape of
// manager.LoadFunc).
type LoadFunc = func(ctx context.Context, dir string) (servable.Model, error)

// Result describes one replay.
type Result struct {
	// Found is false when the version has no warmup file (nothing ran).
	Found bool
	// Records is the number of records replayed successfully.
	Records int
	// Elapsed is the wall time of the replay.
	Elapsed time.Duration
}

// Options configure the replay.
type Options struct {
	// Limits bound what each record may decode (its tensors, its merged
	// tf.Examples), as they bound a request (--request_max_*): a record
	// over budget fails the load. Zero fields take limits' defaults.
	Limits limits.Request
	// Iterations is --num_request_iterations_for_warmup: how many times each
	// record runs. Zero or negative means 1, TF Serving's default.
	Iterations int
	// Observe, when set, is called after each replay of an existing warmup
	// file, with the version directory, the result and the error (nil on
	// success). Metrics hook in here.
	Observe func(versionDir string, r Result, err error)
	// Logger receives progress at info level; nil discards it.
	Logger *slog.Logger
}

// WrapLoad returns a LoadFunc that loads the version with load, then replays
// its warmup file. If the replay fails the model is closed and the load
// fails with the replay's error, as in TF Serving.
func WrapLoad(load LoadFunc, opts Options) LoadFunc {
	return func(ctx context.Context, dir string) (servable.Model, error) {
		m, err := load(ctx, dir)
		if err != nil || m == nil {
			return m, err
		}
		if _, err := Replay(ctx, m, dir, opts); err != nil {
			if cerr := m.Close(); cerr != nil && opts.Logger != nil {
				opts.Logger.Warn("closing model after failed warmup", "dir", dir, "error", cerr)
			}
			return nil, err
		}
		return m, nil
	}
}

// Replay runs the warmup records of versionDir against m. A missing warmup
// file is not an error (Result.Found is false).
func Replay(ctx context.Context, m servable.Model, versionDir string, opts Options) (res Result, err error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	path := Path(versionDir)
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			log.Info("No warmup data file found", "path", path)
			return Result{}, nil
		}
		return Result{}, status.Errorf(status.Internal, "open warmup file: %v", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Result{}, status.Errorf(status.Internal, "stat warmup file: %v", err)
	}
	iters := max(opts.Iterations, 1)
	log.Info("Starting to read warmup data for model", "path", path, "iterations", iters)
	start := time.Now()
	res.Found = true
	err = replay(ctx, m, NewRecordReaderSize(f, st.Size()), path, iters, opts.Limits, &res.Records)
	res.Elapsed = time.Since(start)
	if opts.Observe != nil {
		opts.Observe(versionDir, res, err)
	}
	if err != nil {
		return res, err
	}
	log.Info("Finished reading warmup data for model", "path", path, "records", res.Records,
		"elapsed", res.Elapsed.Round(time.Microsecond))
	return res, nil
}

func replay(ctx context.Context, m servable.Model, rr *RecordReader, path string, iters int, budget limits.Request, count *int) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = status.Errorf(status.Internal, "warmup record %d of %s: model panicked: %v", *count, path, p)
		}
	}()
	for {
		off := rr.Offset()
		rec, err := rr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if status.CodeOf(err) == status.DataLoss {
				return status.New(status.DataLoss, "warmup file "+path+": "+err.Error()+
					". Please verify your warmup data is in TFRecord format.")
			}
			return fmt.Errorf("warmup file %s: %w", path, err)
		}
		if *count >= MaxRecords {
			return status.Errorf(status.InvalidArgument,
				"Number of warmup records exceeds the maximum (%d) at %s", MaxRecords, path)
		}
		l, err := DecodeLog(rec)
		if err != nil {
			return status.Errorf(status.InvalidArgument, "Failed to parse warmup record %d (offset %d) from %s: %v",
				*count, off, path, err)
		}
		for range iters {
			if err := runLog(ctx, m, l, limits.NewBudget(budget)); err != nil {
				return status.New(status.CodeOf(err), "warmup record "+strconv.Itoa(*count)+" ("+l.Kind()+
					") of "+path+" failed: "+err.Error())
			}
		}
		*count++
	}
}

// runLog runs one record as saved_model_warmup.cc's RunWarmupRequest does,
// decoding its tensors or examples within budget.
func runLog(ctx context.Context, m servable.Model, l Log, budget *limits.Budget) error {
	switch {
	case l.Predict != nil:
		return runPredict(ctx, m, l.Predict, budget)
	case l.Classify != nil:
		return runExamples(ctx, m, l.Classify.GetModelSpec(), servable.MethodClassify, l.Classify.GetInput(), budget)
	case l.Regress != nil:
		return runExamples(ctx, m, l.Regress.GetModelSpec(), servable.MethodRegress, l.Regress.GetInput(), budget)
	case l.MultiInference != nil:
		tasks := l.MultiInference.GetTasks()
		if len(tasks) == 0 {
			return status.New(status.InvalidArgument, "Expected at least one task")
		}
		for _, t := range tasks {
			switch t.GetMethodName() {
			case servable.MethodClassify, servable.MethodRegress:
			default:
				return status.New(status.Unimplemented, "Unsupported signature method_name: "+t.GetMethodName())
			}
			if err := runExamples(ctx, m, t.GetModelSpec(), t.GetMethodName(), l.MultiInference.GetInput(), budget); err != nil {
				return err
			}
		}
		return nil
	case l.Other == "session_run_log":
		return status.New(status.Unimplemented, "Unsupported log_type for warmup: session_run_log")
	}
	// Empty logs and predict_streamed_log are skipped, as in TF Serving.
	return nil
}

func signatureName(ms *servingpb.ModelSpec) string {
	if n := ms.GetSignatureName(); n != "" {
		return n
	}
	return servable.DefaultSignature
}

// runPredict checks the request against the signature as predict_util.cc
// RunPredict does, with the same rules and messages as the Predict APIs
// (servable/predict.go): the signature, the input aliases, each tensor
// (decoded within budget), the output filter; the model's run checks the
// dtypes. The method name check is a server flag TF Serving's warmup also
// obeys; replay has no servers' flags and skips it.
func runPredict(ctx context.Context, m servable.Model, req *servingpb.PredictRequest, budget *limits.Budget) error {
	name := signatureName(req.GetModelSpec())
	sig, err := servable.PredictSignature(m.Signatures(), name, false)
	if err != nil {
		return err
	}
	if err := servable.CheckInputs(sig, req.GetInputs()); err != nil {
		return err
	}
	inputs := make(map[string]*tensor.Tensor, len(req.GetInputs()))
	for _, alias := range slices.Sorted(maps.Keys(req.GetInputs())) {
		tp := req.GetInputs()[alias]
		if err := budget.Rank(len(tp.GetTensorShape().GetDim())); err != nil {
			return status.New(status.InvalidArgument, "input "+alias+": "+err.Error())
		}
		t, err := tensorproto.DecodeLimited(tp, budget.Take)
		if err != nil {
			// A budget's error names its limit; anything else is
			// GetInputValues's parsing error.
			var se *status.Error
			if errors.As(err, &se) {
				return status.New(se.Code, "input "+alias+": "+se.Msg)
			}
			return status.New(status.InvalidArgument, "tensor parsing error: "+alias)
		}
		inputs[alias] = t
	}
	if err := sig.CheckOutputFilter(req.GetOutputFilter()); err != nil {
		return err
	}
	var outputs []string
	if len(req.GetOutputFilter()) > 0 {
		outputs = req.GetOutputFilter()
	}
	_, err = m.Run(ctx, name, inputs, outputs)
	return err
}

// Signature keys of classify and regress signatures (signature_constants.h).
const (
	exampleInputs   = "inputs"
	classifyClasses = "classes"
	classifyScores  = "scores"
	regressOutputs  = "outputs"
)

// runExamples runs a classify or regress request: the serialized
// tf.Examples (the context's bytes first when there is one, as
// InputToSerializedExampleTensor does) go into the signature's "inputs" as a
// DT_STRING vector.
func runExamples(ctx context.Context, m servable.Model, ms *servingpb.ModelSpec, method string, in *servingpb.Input, budget *limits.Budget) error {
	name := signatureName(ms)
	sig := m.Signatures()[name]
	if sig == nil {
		return status.New(status.InvalidArgument, "No signature was found with the name: "+name)
	}
	if len(sig.Inputs) != 1 {
		return status.New(status.InvalidArgument, "Expected one input Tensor.")
	}
	if _, ok := sig.Inputs[exampleInputs]; !ok {
		return status.New(status.InvalidArgument, "signature \""+name+"\" has no input \""+exampleInputs+"\"")
	}
	want := []string{regressOutputs}
	if method == servable.MethodClassify {
		want = []string{classifyClasses, classifyScores}
	}
	var fetch []string
	for _, o := range want {
		if _, ok := sig.Outputs[o]; ok {
			fetch = append(fetch, o)
		}
	}
	if len(fetch) == 0 {
		return status.New(status.InvalidArgument, "signature \""+name+"\" has none of the outputs {"+
			strings.Join(want, ",")+"} of "+method)
	}
	examples, err := examplesig.Serialize(in, budget.Take)
	if err != nil {
		return err
	}
	_, err = m.Run(ctx, name, map[string]*tensor.Tensor{
		exampleInputs: tensor.FromSlice(tensor.Shape{len(examples)}, examples),
	}, fetch)
	return err
}
