package modelserver

import (
	"log/slog"
	"runtime"
	"time"

	"github.com/tfserve/tfserve/server/admission"
	"github.com/tfserve/tfserve/server/flags"
	"github.com/tfserve/tfserve/server/kserve"
	"github.com/tfserve/tfserve/server/restapi"
	"github.com/tfserve/tfserve/server/workers"
)

// newKServe builds the Open Inference Protocol (KServe v2) server on the
// same models, admission control and limits as TF Serving's APIs, and
// wires it into ro: /v2 on the REST port, sharing REST's worker pool
// (--rest_api_num_threads) and request observer (metrics, access log).
// startGRPC registers its gRPC service.
func newKServe(o flags.Options, version string, models kserve.Models, lim *admission.Limiter, ro *restapi.Options,
	log *slog.Logger) (*kserve.Server, error) {
	n := o.RESTNumThreads
	if n <= 0 {
		n = 4 * runtime.NumCPU() // restapi's default
	}
	pool := workers.New(n)
	ks, err := kserve.New(kserve.Options{
		Models:                         models,
		Version:                        version,
		Admission:                      lim,
		Workers:                        pool,
		Timeout:                        time.Duration(max(o.RESTTimeoutMs, 0)) * time.Millisecond,
		MaxBodyBytes:                   o.RESTMaxBodyBytes,
		Limits:                         o.RequestLimits(),
		EnableSignatureMethodNameCheck: o.EnableSignatureMethodNameCheck,
		Observe:                        ro.Observe,
		Logger:                         log,
	})
	if err != nil {
		return nil, err
	}
	ro.Workers, ro.V2 = pool, ks.HandleHTTP
	return ks, nil
}
