package grpcapi

import (
	"context"

	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/servable/status"
)

// GetModelStatus is TF Serving's ModelService.GetModelStatus
// (get_model_status_impl.cc): one version's state when the spec names a
// version, else every version's, highest first.
func (s *Server) GetModelStatus(ctx context.Context, req *servingpb.GetModelStatusRequest) (*servingpb.GetModelStatusResponse, error) {
	spec, err := specOf(req.GetModelSpec())
	if err != nil {
		return nil, err
	}
	sts, err := s.opts.Models.ModelStatus(spec)
	if err != nil {
		return nil, err
	}
	resp := &servingpb.GetModelStatusResponse{ModelVersionStatus: make([]*servingpb.ModelVersionStatus, len(sts))}
	for i, st := range sts {
		resp.ModelVersionStatus[i] = &servingpb.ModelVersionStatus{
			Version: st.Version,
			State:   servingpb.ModelVersionStatus_State(st.State),
			Status:  &servingpb.StatusProto{ErrorCode: tfpb.Code(st.Code), ErrorMessage: st.Message},
		}
	}
	return resp, nil
}

// HandleReloadConfigRequest is TF Serving's
// ModelService.HandleReloadConfigRequest (model_service_impl.cc): the
// config's model_config_list replaces the served models the way the config
// file poller does (new models load before the call returns, removed ones
// unload after their in-flight requests finish). Only model_config_list is
// supported. A failure is returned as the RPC's status.
func (s *Server) HandleReloadConfigRequest(ctx context.Context, req *servingpb.ReloadConfigRequest) (*servingpb.ReloadConfigResponse, error) {
	cfg := req.GetConfig()
	if _, ok := cfg.GetConfig().(*servingpb.ModelServerConfig_ModelConfigList); !ok {
		return nil, status.New(status.InvalidArgument,
			"ServerModelConfig type not supported by HandleReloadConfigRequest. Only ModelConfigList is currently supported")
	}
	if err := s.opts.Models.ReloadConfig(ctx, cfg); err != nil {
		s.log.Error("ServerCore::ReloadConfig failed", "error", status.StatusString(err))
		return nil, err
	}
	return &servingpb.ReloadConfigResponse{Status: &servingpb.StatusProto{}}, nil
}
