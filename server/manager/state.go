package manager

import (
	"github.com/tfserve/tfserve/servable/status"
)

// State is a model version's lifecycle state, numbered as TF Serving's
// ModelVersionStatus.State (apis/get_model_status.proto).
type State int32

// Version states.
const (
	StateUnknown   State = 0
	StateStart     State = 10
	StateLoading   State = 20
	StateAvailable State = 30
	StateUnloading State = 40
	StateEnd       State = 50
)

// String returns TF Serving's enum name, e.g. "AVAILABLE".
func (s State) String() string {
	switch s {
	case StateStart:
		return "START"
	case StateLoading:
		return "LOADING"
	case StateAvailable:
		return "AVAILABLE"
	case StateUnloading:
		return "UNLOADING"
	case StateEnd:
		return "END"
	}
	return "UNKNOWN"
}

// VersionStatus is one entry of a model's status: a version, its state and
// the error that ended it (Code OK and an empty Message when none).
type VersionStatus struct {
	Version int64
	State   State
	Code    status.Code
	Message string
}
