package flags

import (
	"slices"
	"testing"
)

func TestApplyEnv(t *testing.T) {
	env := func(kv map[string]string) func(string) string {
		return func(k string) string { return kv[k] }
	}
	image := map[string]string{EnvModelName: "half_plus_two", EnvModelBasePath: "/models"}
	cases := []struct {
		name      string
		args      []string
		env       map[string]string
		wantName  string
		wantBase  string
		wantApply []string
	}{
		{"image defaults", nil, map[string]string{EnvModelName: "model", EnvModelBasePath: "/models"},
			"model", "/models/model", []string{"model_name", "model_base_path"}},
		{"docker run -e MODEL_NAME", nil, image, "half_plus_two", "/models/half_plus_two", []string{"model_name", "model_base_path"}},
		{"trailing slash", nil, map[string]string{EnvModelName: "m", EnvModelBasePath: "s3://bucket/models/"},
			"m", "s3://bucket/models/m", []string{"model_name", "model_base_path"}},
		{"only base path: name defaults to model", nil, map[string]string{EnvModelBasePath: "/models"},
			"default", "/models/model", []string{"model_base_path"}},
		{"no env: plain tensorflow_model_server defaults", nil, nil, "default", "", nil},
		{"--model_base_path wins; MODEL_NAME still names the model",
			[]string{"--model_base_path=models:/recommender/Production"}, image,
			"half_plus_two", "models:/recommender/Production", []string{"model_name"}},
		{"--model_name wins; base path appends MODEL_NAME as TF's entrypoint does",
			[]string{"--model_name=other"}, image, "other", "/models/half_plus_two", []string{"model_base_path"}},
		{"--model_config_file: env ignored", []string{"--model_config_file=/c/models.config"}, image, "default", "", nil},
	}
	for _, c := range cases {
		o, err := Parse(c.args, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got := ApplyEnv(&o, env(c.env))
		if o.ModelName != c.wantName || o.ModelBasePath != c.wantBase || !slices.Equal(got, c.wantApply) {
			t.Errorf("%s: name %q base %q applied %v; want %q %q %v", c.name, o.ModelName, o.ModelBasePath, got,
				c.wantName, c.wantBase, c.wantApply)
		}
	}
	if ApplyEnv(nil, env(image)) != nil {
		t.Error("nil options")
	}
}
