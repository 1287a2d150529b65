package manager

import (
	"testing"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/tfserve/tfserve/proto/servingpb"
)

// FuzzParseConfig: the model config parser and validator never panic, and a
// config that parses survives a text round trip unchanged.
func FuzzParseConfig(f *testing.F) {
	seeds := []string{
		`model_config_list { config { name: "a" base_path: "/m/a" model_platform: "tensorflow" } }`,
		`model_config_list: { config: { name: "half_plus_two", base_path: "${X}", model_platform: "tensorflow" }, config: { name: "b" } }`,
		`model_config_list { config { name: "m" base_path: "s3://b/m" model_platform: "tensorflow"
		   model_version_policy { specific { versions: 1 versions: 3 } }
		   version_labels { key: "stable" value: 1 } version_labels { key: "canary" value: 3 } } }`,
		`model_config_list { config { name: "m" base_path: "/m" model_type: TENSORFLOW model_version_policy { latest { num_versions: 2 } } } }`,
		`model_config_list { config { name: "m" base_path: "rel" model_platform: "x" model_version_policy { all {} } logging_config { sampling_config { sampling_rate: 0.5 } } } }`,
		`custom_model_config { type_url: "x" }`,
		``, `model_config_list {`, `# comment`,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		cfg, err := ParseConfig([]byte(text))
		if err != nil {
			return
		}
		if list := cfg.GetModelConfigList(); list != nil {
			old := map[string]*servingpb.ModelConfig{}
			for _, mc := range list.GetConfig() {
				old[mc.GetName()+"x"] = mc
			}
			_ = validateConfig(list, old)
			for _, mc := range list.GetConfig() {
				_ = selectVersions(mc.GetModelVersionPolicy(), []int64{1, 5, 3})
			}
		}
		out, err := prototext.Marshal(cfg)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		again, err := ParseConfig(out)
		if err != nil {
			t.Fatalf("re-parse %q: %v", out, err)
		}
		if !proto.Equal(cfg, again) {
			t.Fatalf("round trip changed the config:\n%v\n%v", cfg, again)
		}
	})
}
