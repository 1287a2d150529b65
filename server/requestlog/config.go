package requestlog

import (
	"math"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/servable/status"
)

// CollectorFile is the log_collector_config.type of tfserve's collector:
// TFRecord files of PredictionLog records named from filename_prefix.
const CollectorFile = "file"

// CollectorTypes lists the log collector types tfserve registers.
func CollectorTypes() []string { return []string{CollectorFile} }

// This task's place for per_task_sampling_configs: tfserve has no
// datacenter or task index (RequestLogger is built with dc "" and task
// index -1 in TF Serving's tests).
const (
	taskDC    = ""
	taskIndex = -1
)

// modelConfig is one model's parsed logging_config.
type modelConfig struct {
	model  string
	prefix string
	// sampling is the SamplingConfig logged in log_metadata: the model's,
	// with sampling_rate replaced by the first matching per-task entry.
	sampling *servingpb.SamplingConfig
	rate     float64
}

// parseModelConfig checks one model's logging_config and applies
// RequestLogger's per-task sampling rule. Errors name the model.
func parseModelConfig(name string, lc *servingpb.LoggingConfig) (*modelConfig, error) {
	cc := lc.GetLogCollectorConfig()
	if t := cc.GetType(); t != CollectorFile {
		// LogCollector::Create's error, with what tfserve offers.
		return nil, status.New(status.NotFound, "model "+strconv.Quote(name)+": logging_config: "+
			"Cannot find LogCollector::Factory for type: "+t+
			" (tfserve's log_collector_config types: "+strconv.Quote(CollectorFile)+")")
	}
	if cc.GetFilenamePrefix() == "" {
		return nil, status.New(status.InvalidArgument, "model "+strconv.Quote(name)+
			": logging_config: log_collector_config.filename_prefix is empty")
	}
	sc := lc.GetSamplingConfig()
	if err := checkRate(name, "sampling_config.sampling_rate", sc.GetSamplingRate()); err != nil {
		return nil, err
	}
	for i, pt := range sc.GetPerTaskSamplingConfigs() {
		if err := checkRate(name, "sampling_config.per_task_sampling_configs["+strconv.Itoa(i)+"].sampling_rate", pt.GetSamplingRate()); err != nil {
			return nil, err
		}
	}
	eff := &servingpb.SamplingConfig{}
	if sc != nil {
		eff = proto.Clone(sc).(*servingpb.SamplingConfig)
	}
	for _, pt := range sc.GetPerTaskSamplingConfigs() {
		dcMatch := pt.GetDc() == "" || pt.GetDc() == taskDC
		taskMatch := pt.TaskIndex == nil || pt.GetTaskIndex() == taskIndex
		if dcMatch && taskMatch {
			eff.SamplingRate = pt.GetSamplingRate()
			break
		}
	}
	return &modelConfig{model: name, prefix: cc.GetFilenamePrefix(), sampling: eff, rate: eff.GetSamplingRate()}, nil
}

// checkRate refuses a rate outside logging_config.proto's valid range
// [0, 1] (TF Serving does not check; a negative rate would never log, one
// above 1 always).
func checkRate(model, field string, r float64) error {
	if math.IsNaN(r) || r < 0 || r > 1 {
		return status.New(status.InvalidArgument, "model "+strconv.Quote(model)+": logging_config: "+field+
			" is "+strconv.FormatFloat(r, 'g', -1, 64)+", want a probability in [0, 1]")
	}
	return nil
}
