package modelserver

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tfserve/tfserve/server/flags"
	"github.com/tfserve/tfserve/server/grpcapi"
	"github.com/tfserve/tfserve/server/requestlog"
	"github.com/tfserve/tfserve/server/restapi"
)

// logging wires the models' logging_config (request logs, checked and
// applied with every model config through the manager's PrepareConfig)
// and --access_log into the API servers. close flushes both; Run calls it
// once the servers have drained their requests.
type logging struct {
	req    *requestlog.Logger
	access *requestlog.AccessLog // nil without --access_log
	log    *slog.Logger
	closed bool
}

func newLogging(o flags.Options, lo LoadOptions, obs *observability, log *slog.Logger) (*logging, error) {
	var reg prometheus.Registerer
	if obs.metrics != nil {
		reg = obs.metrics.Registry()
	}
	req, err := requestlog.New(requestlog.Options{
		Tags:          lo.Tags,
		TensorContent: o.EnableSerializationAsTensorContent,
		Registerer:    reg,
		Logger:        log,
	})
	if err != nil {
		return nil, err
	}
	lg := &logging{req: req, log: log}
	if o.AccessLog != "" {
		if lg.access, err = requestlog.OpenAccessLog(o.AccessLog, requestlog.AccessOptions{Registerer: reg}); err != nil {
			req.Close()
			return nil, fmt.Errorf("--access_log: %w", err)
		}
	}
	return lg, nil
}

// restOptions adds the request logger and the access log to REST.
func (lg *logging) restOptions(ro restapi.Options) restapi.Options {
	ro.RequestLog = lg.req
	if lg.access == nil {
		return ro
	}
	prev := ro.Observe
	ro.Observe = func(ri restapi.RequestInfo) {
		lg.access.Log(requestlog.AccessEntry{Time: time.Now(), Protocol: requestlog.ProtocolREST, API: ri.API,
			Model: ri.Model, Version: ri.Version, Code: ri.Code, HTTPStatus: ri.HTTPStatus, Latency: ri.Elapsed,
			RequestBytes: ri.RequestBytes, ResponseBytes: ri.ResponseBytes, Client: ri.Client})
		if prev != nil {
			prev(ri)
		}
	}
	return ro
}

// grpcOptions adds the request logger and the access log to gRPC.
func (lg *logging) grpcOptions(gro grpcapi.Options) grpcapi.Options {
	gro.RequestLog = lg.req
	if lg.access == nil {
		return gro
	}
	prev := gro.Observe
	gro.Observe = func(ri grpcapi.RequestInfo) {
		lg.access.Log(requestlog.AccessEntry{Time: time.Now(), Protocol: requestlog.ProtocolGRPC, API: ri.API,
			Model: ri.Model, Version: ri.Version, Code: ri.Code, Latency: ri.Elapsed,
			RequestBytes: ri.RequestBytes, ResponseBytes: ri.ResponseBytes, Client: ri.Client})
		if prev != nil {
			prev(ri)
		}
	}
	return gro
}

// close writes every queued request-log record and access-log line and
// closes the files; errors are logged and returned.
func (lg *logging) close() error {
	if lg.closed {
		return nil
	}
	lg.closed = true
	err := errors.Join(lg.req.Close(), lg.access.Close())
	if err != nil {
		lg.log.Error("closing the request and access logs", "error", err)
	}
	return err
}
