package modelserver

import (
	"context"

	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/server/grpcapi"
	"github.com/tfserve/tfserve/server/manager"
)

// ReloadDisabledMessage is the PERMISSION_DENIED message of
// ModelService.HandleReloadConfigRequest under --grpc_allow_reload_config=false.
const ReloadDisabledMessage = "HandleReloadConfigRequest is disabled on this server (--grpc_allow_reload_config=false)"

// reloadPolicy gives gRPC the manager, or, with --grpc_allow_reload_config
// false, the manager with ReloadConfig answering PERMISSION_DENIED (the
// caller is not allowed to change the models; the method exists, so not
// UNIMPLEMENTED). The config file poller is not affected.
func reloadPolicy(mgr *manager.Manager, allow bool) grpcapi.Models {
	if allow {
		return mgr
	}
	return noReload{mgr}
}

type noReload struct{ *manager.Manager }

func (noReload) ReloadConfig(context.Context, *servingpb.ModelServerConfig) error {
	return status.New(status.PermissionDenied, ReloadDisabledMessage)
}
