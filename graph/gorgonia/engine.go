// Package gorgonia is tfserve's second engine: it lowers a loaded
// model's IR (package graph) to a gorgonia ExprGraph built from gorgonia's
// own ops and runs it on gorgonia TapeMachines.
//
// Lowering happens per (signature, input shapes): gorgonia fixes every shape
// when a graph is built. Nodes that do not depend on the request (restored
// variables, shape arithmetic, loop counters) are evaluated once with
// tfserve's own kernels and become gorgonia constants; request-dependent
// nodes become gorgonia ops. Calls are inlined, While loops are unrolled
// (their trip count is known once shapes are), TensorLists become slices
// and concatenations across the unrolled steps, and the fused Keras GRU
// (_FusedGRU, see graph/fuse) is written out as the GRU equations with
// gorgonia's MatMul, Add, Sigmoid, Tanh and HadamardProd.
//
// A TapeMachine is not goroutine-safe, so each input-shape key keeps a free
// list of machines (each with its own ExprGraph); a request takes one,
// runs it and puts it back. Concurrent requests of one shape build more
// machines as needed.
package gorgonia

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/tfserve/tfserve/graph"
	"github.com/tfserve/tfserve/graph/fuse"
	"github.com/tfserve/tfserve/kernels"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/tensor"
)

// Options configure New.
type Options struct {
	// Logger receives lowering events; nil means slog.Default().
	Logger *slog.Logger
	// Registry evaluates request-independent nodes (nil means the fused-op
	// registry over kernels.Lookup, as the loader uses).
	Registry graph.Registry
	// MaxUnroll bounds the iterations of one unrolled While loop
	// (default 100000).
	MaxUnroll int
	// MaxShapes bounds the distinct input-shape keys (each one a lowered
	// graph with its machines) a model keeps; requests with a new shape
	// beyond it get RESOURCE_EXHAUSTED (default 256).
	MaxShapes int
}

// UnsupportedError says that ops of the model cannot be written with
// gorgonia's ops.
type UnsupportedError struct {
	Op   string
	Node string
	Why  string
}

func (e *UnsupportedError) Error() string {
	s := fmt.Sprintf("gorgonia engine: op %s (node %s) cannot be expressed with gorgonia ops", e.Op, e.Node)
	if e.Why != "" {
		s += ": " + e.Why
	}
	return s
}

// Source is a loaded model whose signature plans the engine lowers
// (*loader.Model implements it).
type Source interface {
	Signatures() map[string]*servable.Signature
	// SignatureNames lists the runnable signatures, sorted.
	SignatureNames() []string
	SignaturePlan(name string) (*graph.SignaturePlan, bool)
	// Session holds the kernels and resources the plans share.
	Session() *graph.Session
	// Graph is the translated graph the plans' ports belong to.
	Graph() *graph.Graph
	Close() error
}

// Model runs a loaded model's signatures on gorgonia. It implements
// servable.Model and is safe for concurrent use.
type Model struct {
	m    Source
	opts Options
	log  *slog.Logger

	mu    sync.Mutex
	pools map[string]*pool
	// unsupported holds, per signature other than the default one, why it
	// cannot run on gorgonia.
	unsupported map[string]error
}

var _ servable.Model = (*Model)(nil)

type pool struct {
	mu   sync.Mutex
	free []*machine
	// err is a lowering error for this key: later requests get it without
	// lowering again.
	err error
}

// New wraps a loaded model. It lowers every runnable signature once with
// its declared shapes (unknown sizes taken as 1) so that a model using an
// op gorgonia cannot express fails here, naming the op; the machines built
// by that check serve the matching requests.
func New(m Source, opts Options) (*Model, error) {
	if m == nil {
		return nil, errors.New("gorgonia engine: nil model")
	}
	if opts.Registry == nil {
		opts.Registry = m.Session().Registry()
	}
	if opts.Registry == nil {
		opts.Registry = fuse.Registry(kernels.Lookup)
	}
	if opts.MaxUnroll <= 0 {
		opts.MaxUnroll = 100000
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	gm := &Model{m: m, opts: opts, log: log, pools: map[string]*pool{}, unsupported: map[string]error{}}
	for _, name := range m.SignatureNames() {
		sp, _ := m.SignaturePlan(name)
		sig := m.Signatures()[name]
		shapes := make([]tensor.Shape, len(sp.Inputs))
		known := true
		for i, alias := range sp.Inputs {
			ti, ok := sig.Inputs[alias]
			if !ok || ti.UnknownRank {
				known = false
				break
			}
			s := ti.Shape()
			for j := range s {
				if s[j] < 0 {
					s[j] = 1
				}
			}
			shapes[i] = s
		}
		if !known {
			continue
		}
		mc, err := gm.build(name, sp, shapes, nil)
		if err != nil {
			var ue *UnsupportedError
			if errors.As(err, &ue) {
				if name == servable.DefaultSignature || len(m.SignatureNames()) == 1 {
					return nil, fmt.Errorf("signature %s: %w", name, err)
				}
				// Other signatures (e.g. classify/regress over serialized
				// tf.Examples) are left out; requests get this error.
				log.Warn("gorgonia engine: signature cannot be lowered", "signature", name, "err", err)
				gm.unsupported[name] = err
				continue
			}
			// Not an unsupported op: the probe's stand-in sizes (1 for
			// each unknown dimension) may be what failed, so requests
			// lower with their own shapes; say so where operators look.
			log.Warn("gorgonia engine: lowering with stand-in shapes failed; requests will lower with their own shapes", "signature", name, "err", err)
			continue
		}
		p, err := gm.pool(key(name, shapes))
		if err != nil {
			return nil, err
		}
		p.free = append(p.free, mc)
	}
	return gm, nil
}

// Signatures returns the wrapped model's signatures.
func (gm *Model) Signatures() map[string]*servable.Signature { return gm.m.Signatures() }

// Close drops the machines.
func (gm *Model) Close() error {
	gm.mu.Lock()
	gm.pools = map[string]*pool{}
	gm.mu.Unlock()
	return nil
}

func key(sig string, shapes []tensor.Shape) string {
	var b strings.Builder
	b.WriteString(sig)
	for _, s := range shapes {
		b.WriteByte('|')
		for i, d := range s {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(d))
		}
	}
	return b.String()
}

func (gm *Model) pool(k string) (*pool, error) {
	gm.mu.Lock()
	defer gm.mu.Unlock()
	p, ok := gm.pools[k]
	if !ok {
		limit := gm.opts.MaxShapes
		if limit <= 0 {
			limit = 256
		}
		if len(gm.pools) >= limit {
			return nil, status.Errorf(status.ResourceExhausted, "gorgonia engine: %d distinct input shapes already lowered for this model (limit %d); use the default engine for variable shapes", len(gm.pools), limit)
		}
		p = &pool{}
		gm.pools[k] = p
	}
	return p, nil
}

// Run evaluates a signature on a gorgonia machine built for the inputs'
// shapes. Errors carry TF status codes, as the default engine's do.
func (gm *Model) Run(ctx context.Context, signature string, inputs map[string]*tensor.Tensor, outputs []string) (map[string]*tensor.Tensor, error) {
	if signature == "" {
		signature = servable.DefaultSignature
	}
	sp, ok := gm.m.SignaturePlan(signature)
	if !ok {
		_, exists := gm.m.Signatures()[signature]
		return nil, graph.SignatureError(signature, exists)
	}
	if err, bad := gm.unsupported[signature]; bad {
		return nil, status.New(status.Unimplemented, err.Error())
	}
	args, err := sp.Args(inputs, outputs, nil)
	if err != nil {
		return nil, err
	}
	shapes := make([]tensor.Shape, len(args))
	for i, t := range args {
		shapes[i] = t.Shape
	}
	if err := ctx.Err(); err != nil {
		// Not started: the request's deadline passed or it was cancelled.
		return nil, status.Errorf(status.CodeOf(err), "%v", err)
	}
	p, err := gm.pool(key(signature, shapes))
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	if p.err != nil {
		err := p.err
		p.mu.Unlock()
		return nil, status.New(status.InvalidArgument, err.Error())
	}
	var mc *machine
	if n := len(p.free); n > 0 {
		mc, p.free = p.free[n-1], p.free[:n-1]
	}
	p.mu.Unlock()
	if mc == nil {
		var err error
		mc, err = gm.build(signature, sp, shapes, args)
		if err != nil {
			p.mu.Lock()
			p.err = err
			p.mu.Unlock()
			return nil, status.New(status.InvalidArgument, err.Error())
		}
	}
	res, err := mc.run(args)
	if err != nil {
		// A machine that failed mid-run is dropped, not reused.
		return nil, status.New(status.Internal, err.Error())
	}
	p.mu.Lock()
	p.free = append(p.free, mc)
	p.mu.Unlock()
	return sp.Results(res, outputs), nil
}

// build lowers a signature for concrete input shapes into a fresh machine.
func (gm *Model) build(signature string, sp *graph.SignaturePlan, shapes []tensor.Shape, args []*tensor.Tensor) (mc *machine, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("gorgonia engine: lowering %s panicked: %v\n%s", signature, r, debug.Stack())
		}
	}()
	lw := newLowerer(gm.m.Session(), gm.opts)
	lw.args = args
	return lw.lowerSignature(gm.m.Graph(), sp, shapes)
}

// Unsupported returns, per signature that New found gorgonia cannot run
// (other than the default signature, which makes New fail), the reason.
func (gm *Model) Unsupported() map[string]error { return gm.unsupported }

// Lowered reports, for tests and diagnostics, how many input-shape keys
// have machines and how many machines exist in total.
func (gm *Model) Lowered() (keys, machines int) {
	gm.mu.Lock()
	defer gm.mu.Unlock()
	ks := make([]string, 0, len(gm.pools))
	for k := range gm.pools {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	for _, k := range ks {
		p := gm.pools[k]
		p.mu.Lock()
		if p.err == nil {
			keys++
			machines += len(p.free)
		}
		p.mu.Unlock()
	}
	return keys, machines
}

// LoadFunc wraps a model loader so that every model it loads runs on
// gorgonia (for `--engine=gorgonia`).
func LoadFunc[M Source](base func(ctx context.Context, dir string) (M, error), opts Options) func(ctx context.Context, dir string) (servable.Model, error) {
	return func(ctx context.Context, dir string) (servable.Model, error) {
		m, err := base(ctx, dir)
		if err != nil {
			return nil, err
		}
		gm, err := New(m, opts)
		if err != nil {
			m.Close()
			return nil, fmt.Errorf("load %s: %w", dir, err)
		}
		return gm, nil
	}
}
