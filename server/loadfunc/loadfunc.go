// Package loadfunc builds the function the model manager calls to load one
// model version: tfserve's SavedModel loader, with the engine, recurrent
// fusion and server-side batching the command line asks for.
package loadfunc

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"

	"github.com/tfserve/tfserve/loader"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/server/batching"
	"github.com/tfserve/tfserve/server/flags"
	"github.com/tfserve/tfserve/server/modelserver"
)

// Engine lowers a loaded model to another execution engine (e.g. gorgonia).
type Engine func(m *loader.Model) (servable.Model, error)

// Options configure New.
type Options struct {
	Logger *slog.Logger
	// DisableFusion runs Keras GRU/LSTM loops op by op.
	DisableFusion bool
	// Engines maps --engine values other than "default" to their lowering.
	Engines map[string]Engine
}

// Loader loads versions as configured. Close stops its batch threads.
type Loader struct {
	opts      Options
	scheduler *batching.Scheduler
	perModel  bool
	cpus      int
}

// New reads the batching flags and returns the loader.
func New(o flags.Options, opts Options) (*Loader, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	l := &Loader{opts: opts, cpus: runtime.GOMAXPROCS(0)}
	if o.EnableBatching {
		p := batching.DefaultParams(l.cpus)
		if o.BatchingParametersFile != "" {
			text, err := os.ReadFile(o.BatchingParametersFile)
			if err != nil {
				return nil, fmt.Errorf("read --batching_parameters_file: %w", err)
			}
			if p, err = batching.ParseParams(text, l.cpus); err != nil {
				return nil, fmt.Errorf("--batching_parameters_file %s: %w", o.BatchingParametersFile, err)
			}
		}
		p.Logger = opts.Logger
		s, err := batching.NewScheduler(p)
		if err != nil {
			return nil, err
		}
		l.scheduler = s
		l.perModel = o.EnablePerModelBatchingParams
		opts.Logger.Info("batching enabled", "max_batch_size", p.MaxBatchSize, "batch_timeout", p.BatchTimeout,
			"num_batch_threads", p.NumBatchThreads, "max_enqueued_batches", p.MaxEnqueuedBatches)
	}
	return l, nil
}

// Close stops the shared batch threads.
func (l *Loader) Close() {
	if l.scheduler != nil {
		l.scheduler.Close()
	}
}

// Load loads one version directory.
func (l *Loader) Load(ctx context.Context, dir string, lo modelserver.LoadOptions) (servable.Model, error) {
	m, err := loader.Load(ctx, dir, loader.Options{Tags: lo.Tags, Logger: l.opts.Logger, DisableFusion: l.opts.DisableFusion, Limits: lo.Limits})
	if err != nil {
		return nil, err
	}
	var out servable.Model = m
	// A model may pick its engine in assets.extra/tfserve.json.
	if mo := m.ModelOptions(); mo != nil && mo.Engine != "" {
		lo.Engine = mo.Engine
	}
	if lo.Engine != "" && lo.Engine != "default" {
		eng, ok := l.opts.Engines[lo.Engine]
		if !ok {
			m.Close()
			return nil, fmt.Errorf("load %s: unknown --engine=%s (want default or gorgonia)", dir, lo.Engine)
		}
		if out, err = eng(m); err != nil {
			m.Close()
			return nil, fmt.Errorf("load %s with engine %s: %w", dir, lo.Engine, err)
		}
	}
	if l.scheduler == nil {
		return out, nil
	}
	if l.perModel {
		// --enable_per_model_batching_parameters: batching_params.pbtxt in
		// the SavedModel directory gives this model its own scheduler.
		if text, err := os.ReadFile(filepath.Join(dir, "batching_params.pbtxt")); err == nil {
			p, err := batching.ParseParams(text, l.cpus)
			if err != nil {
				out.Close()
				return nil, fmt.Errorf("load %s: batching_params.pbtxt: %w", dir, err)
			}
			p.Logger = l.opts.Logger
			s, err := batching.NewScheduler(p)
			if err != nil {
				out.Close()
				return nil, err
			}
			return &ownScheduler{Model: s.Wrap(out), s: s}, nil
		}
	}
	return l.scheduler.Wrap(out), nil
}

// ownScheduler closes a per-model scheduler with its model.
type ownScheduler struct {
	servable.Model
	s *batching.Scheduler
}

func (o *ownScheduler) Close() error {
	err := o.Model.Close()
	o.s.Close()
	return err
}
