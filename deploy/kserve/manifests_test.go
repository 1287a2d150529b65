package kserve

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tfserve/tfserve/internal/kubetest"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/tfserve/tfserve/proto/kservepb"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/server/flags"
	"github.com/tfserve/tfserve/server/manager"
	"github.com/tfserve/tfserve/server/modelserver"
	"github.com/tfserve/tfserve/tensor"
)

// Mirrors of the parts of KServe's API types these manifests may use
// (kserve/pkg/apis/serving: v1alpha1.ServingRuntimeSpec and
// ServingRuntimePodSpec, v1beta1.PredictorSpec, ModelSpec and
// ComponentExtensionSpec), with KServe's JSON names. Decoding rejects any
// other field, so a misspelt or misplaced field fails here instead of being
// dropped by a cluster without server-side validation.

type servingRuntime struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              servingRuntimeSpec `json:"spec"`
}

type supportedModelFormat struct {
	Name       string  `json:"name"`
	Version    *string `json:"version,omitempty"`
	AutoSelect *bool   `json:"autoSelect,omitempty"`
	Priority   *int32  `json:"priority,omitempty"`
}

type servingRuntimeSpec struct {
	SupportedModelFormats []supportedModelFormat        `json:"supportedModelFormats,omitempty"`
	MultiModel            *bool                         `json:"multiModel,omitempty"`
	Disabled              *bool                         `json:"disabled,omitempty"`
	ProtocolVersions      []string                      `json:"protocolVersions,omitempty"`
	Containers            []corev1.Container            `json:"containers"`
	Volumes               []corev1.Volume               `json:"volumes,omitempty"`
	NodeSelector          map[string]string             `json:"nodeSelector,omitempty"`
	Affinity              *corev1.Affinity              `json:"affinity,omitempty"`
	Tolerations           []corev1.Toleration           `json:"tolerations,omitempty"`
	Labels                map[string]string             `json:"labels,omitempty"`
	Annotations           map[string]string             `json:"annotations,omitempty"`
	ImagePullSecrets      []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`
	HostIPC               bool                          `json:"hostIPC,omitempty"`
	SchedulerName         string                        `json:"schedulerName,omitempty"`
	GrpcDataEndpoint      *string                       `json:"grpcDataEndpoint,omitempty"`
	HTTPDataEndpoint      *string                       `json:"httpDataEndpoint,omitempty"`
	Replicas              *uint16                       `json:"replicas,omitempty"`
}

type inferenceService struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              struct {
		Predictor predictorSpec `json:"predictor"`
	} `json:"spec"`
}

type predictorSpec struct {
	Model                *modelSpec        `json:"model,omitempty"`
	MinReplicas          *int32            `json:"minReplicas,omitempty"`
	MaxReplicas          int32             `json:"maxReplicas,omitempty"`
	ScaleTarget          *int32            `json:"scaleTarget,omitempty"`
	ScaleMetric          *string           `json:"scaleMetric,omitempty"`
	ContainerConcurrency *int64            `json:"containerConcurrency,omitempty"`
	TimeoutSeconds       *int64            `json:"timeout,omitempty"`
	CanaryTrafficPercent *int64            `json:"canaryTrafficPercent,omitempty"`
	Labels               map[string]string `json:"labels,omitempty"`
	Annotations          map[string]string `json:"annotations,omitempty"`
	ServiceAccountName   string            `json:"serviceAccountName,omitempty"`
	NodeSelector         map[string]string `json:"nodeSelector,omitempty"`
}

type modelSpec struct {
	ModelFormat struct {
		Name    string  `json:"name"`
		Version *string `json:"version,omitempty"`
	} `json:"modelFormat"`
	Runtime          *string `json:"runtime,omitempty"`
	StorageURI       *string `json:"storageUri,omitempty"`
	RuntimeVersion   *string `json:"runtimeVersion,omitempty"`
	ProtocolVersion  *string `json:"protocolVersion,omitempty"`
	corev1.Container `json:",inline"`
}

type manifests struct {
	runtimes []*servingRuntime
	isvcs    []*inferenceService
}

// pick returns the type a document's apiVersion and kind name (for
// kubetest.DecodeStrict), kept in m.
func (m *manifests) pick(typ string) any {
	switch typ {
	case "serving.kserve.io/v1alpha1 ClusterServingRuntime", "serving.kserve.io/v1alpha1 ServingRuntime":
		o := &servingRuntime{}
		m.runtimes = append(m.runtimes, o)
		return o
	case "serving.kserve.io/v1beta1 InferenceService":
		o := &inferenceService{}
		m.isvcs = append(m.isvcs, o)
		return o
	}
	return nil
}

func load(t *testing.T) manifests {
	t.Helper()
	var m manifests
	kubetest.Load(t, "*.yaml", m.pick)
	if len(m.runtimes) != 1 || len(m.isvcs) < 2 {
		t.Fatalf("want one runtime and the example InferenceServices; got %d and %d", len(m.runtimes), len(m.isvcs))
	}
	return m
}

func TestStrictDecoderRejectsUnknownFields(t *testing.T) {
	var m manifests
	good := "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: a}\n" +
		"spec:\n  predictor:\n    model:\n      modelFormat: {name: tensorflow}\n      args: [--port=1]\n"
	if err := kubetest.DecodeStrict([]byte(good), m.pick); err != nil {
		t.Fatalf("valid InferenceService: %v", err)
	}
	for _, bad := range []string{
		strings.Replace(good, "modelFormat", "modelFromat", 1),
		strings.Replace(good, "args:", "argz:", 1),
		"apiVersion: serving.kserve.io/v1alpha1\nkind: ServingRuntime\nmetadata: {name: a}\nspec:\n  protocolVersion: [v2]\n  containers: []\n",
		"apiVersion: serving.kserve.io/v1alpha1\nkind: ServingRuntime\nmetadata: {name: a}\nspec:\n  containers: [{name: c, prots: []}]\n",
		"apiVersion: serving.kserve.io/v1\nkind: ServingRuntime\nmetadata: {name: a}\n",
	} {
		if err := kubetest.DecodeStrict([]byte(bad), m.pick); err == nil {
			t.Errorf("accepted:\n%s", bad)
		}
	}
}

// runtimeArgs are the runtime container's args as KServe passes them for
// an InferenceService named name (it expands {{.Name}}).
func runtimeArgs(c *corev1.Container, name string) []string {
	out := make([]string, len(c.Args))
	for i, a := range c.Args {
		out[i] = strings.ReplaceAll(a, "{{.Name}}", name)
	}
	return out
}

func TestManifests(t *testing.T) {
	m := load(t)
	rt := m.runtimes[0]
	if len(rt.Spec.Containers) != 1 || rt.Spec.Containers[0].Name != "kserve-container" {
		t.Fatalf("runtime containers %+v: want one named kserve-container (KServe merges the predictor into it)", rt.Spec.Containers)
	}
	c := &rt.Spec.Containers[0]
	for _, p := range []string{"v1", "v2", "grpc-v1", "grpc-v2"} {
		if !slices.Contains(rt.Spec.ProtocolVersions, p) {
			t.Errorf("protocolVersions %v lack %s", rt.Spec.ProtocolVersions, p)
		}
	}
	tf := false
	for _, f := range rt.Spec.SupportedModelFormats {
		tf = tf || (f.Name == "tensorflow" && f.AutoSelect != nil && *f.AutoSelect)
	}
	if !tf {
		t.Errorf("supportedModelFormats %+v: want tensorflow, auto-selected", rt.Spec.SupportedModelFormats)
	}
	opts, err := flags.Parse(runtimeArgs(c, "isvc"), nil)
	if err != nil || len(opts.Unknown) > 0 || len(opts.NoEffect()) > 0 {
		t.Fatalf("runtime args %q: %v, unknown %v, no effect %v", c.Args, err, opts.Unknown, opts.NoEffect())
	}
	if err := modelserver.Validate(opts); err != nil {
		t.Fatalf("runtime args: %v", err)
	}
	// KServe's conventions (pkg/constants): the storage initializer's
	// mount, the model named after the InferenceService, HTTP on 8080.
	if opts.ModelBasePath != "/mnt/models" || opts.ModelName != "isvc" || opts.RESTPort != 8080 {
		t.Errorf("--model_base_path=%s --model_name=%s --rest_api_port=%d: want /mnt/models, {{.Name}}, 8080",
			opts.ModelBasePath, opts.ModelName, opts.RESTPort)
	}
	if len(c.Ports) != 1 || c.Ports[0].ContainerPort != int32(opts.RESTPort) || c.Ports[0].Name != "http1" {
		t.Errorf("runtime ports %+v: want http1 on the REST port %d", c.Ports, opts.RESTPort)
	}
	if pr := c.ReadinessProbe; pr == nil || pr.HTTPGet == nil || pr.HTTPGet.Port != intstr.FromInt32(int32(opts.RESTPort)) ||
		pr.HTTPGet.Path != "/v2/health/ready" {
		t.Errorf("readiness probe %+v: want GET /v2/health/ready on the REST port", pr)
	}
	if sc := c.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.AllowPrivilegeEscalation == nil ||
		*sc.AllowPrivilegeEscalation {
		t.Errorf("securityContext %+v", sc)
	}

	for _, is := range m.isvcs {
		md := is.Spec.Predictor.Model
		if md == nil || md.Runtime == nil || *md.Runtime != rt.Name {
			t.Errorf("InferenceService %s: want predictor.model.runtime %s", is.Name, rt.Name)
			continue
		}
		if !slices.ContainsFunc(rt.Spec.SupportedModelFormats, func(f supportedModelFormat) bool {
			return f.Name == md.ModelFormat.Name && (md.ModelFormat.Version == nil || (f.Version != nil && *f.Version == *md.ModelFormat.Version))
		}) {
			t.Errorf("InferenceService %s: model format %+v is not one the runtime supports", is.Name, md.ModelFormat)
		}
		if md.ProtocolVersion == nil || !slices.Contains(rt.Spec.ProtocolVersions, *md.ProtocolVersion) {
			t.Errorf("InferenceService %s: protocolVersion %v is not the runtime's", is.Name, md.ProtocolVersion)
			continue
		}
		if md.StorageURI == nil || *md.StorageURI == "" {
			t.Errorf("InferenceService %s: no storageUri", is.Name)
		}
		if strings.HasPrefix(*md.ProtocolVersion, "grpc-") {
			// KServe sends HTTP/2 to the h2c port: tfserve's --port.
			if len(md.Ports) != 1 || md.Ports[0].Name != "h2c" || md.Ports[0].ContainerPort != int32(opts.GRPCPort) {
				t.Errorf("InferenceService %s: ports %+v, want h2c on the gRPC port %d", is.Name, md.Ports, opts.GRPCPort)
			}
		} else if len(md.Ports) != 0 {
			t.Errorf("InferenceService %s: ports %+v override the runtime's http1 port", is.Name, md.Ports)
		}
	}
}

// doubler is y = 2x with a serving_default signature x float[-1,1] ->
// y float[-1,1].
type doubler struct{}

func (doubler) Signatures() map[string]*servable.Signature {
	ti := func(n string) servable.TensorInfo {
		return servable.TensorInfo{Name: n, DType: tensor.Float32, Dims: []servable.Dim{{Size: -1}, {Size: 1}}}
	}
	return map[string]*servable.Signature{servable.DefaultSignature: {Name: servable.DefaultSignature,
		MethodName: servable.MethodPredict, Inputs: map[string]servable.TensorInfo{"x": ti("x:0")},
		Outputs: map[string]servable.TensorInfo{"y": ti("y:0")}}}
}

func (doubler) Run(_ context.Context, _ string, in map[string]*tensor.Tensor, _ []string) (map[string]*tensor.Tensor, error) {
	x := in["x"]
	y := make([]float32, x.Len())
	for i, v := range x.F32() {
		y[i] = 2 * v
	}
	return map[string]*tensor.Tensor{"y": tensor.FromSlice(x.Shape, y)}, nil
}

func (doubler) Close() error { return nil }

type oneVersion struct{}

func (oneVersion) Versions(context.Context) ([]int64, error)    { return []int64{7}, nil }
func (oneVersion) Fetch(context.Context, int64) (string, error) { return "/mnt/models/7", nil }
func (oneVersion) String() string                               { return "/mnt/models" }

// TestRuntimeServesKServe runs the real server (modelserver.Run) with the
// runtime's args for the REST InferenceService, on loopback listeners,
// and queries it as KServe and its clients do: the readiness probe, model
// readiness and metadata, infer over REST and gRPC.
func TestRuntimeServesKServe(t *testing.T) {
	m := load(t)
	c := &m.runtimes[0].Spec.Containers[0]
	name := m.isvcs[0].Name
	opts, err := flags.Parse(runtimeArgs(c, name), nil)
	if err != nil {
		t.Fatal(err)
	}
	restLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	grpcLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var opened []string
	ready := make(chan net.Addr, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- modelserver.Run(ctx, opts, modelserver.Deps{
			Load: func(context.Context, string, modelserver.LoadOptions) (servable.Model, error) { return doubler{}, nil },
			OpenSource: func(_ context.Context, p string) (manager.Source, error) {
				opened = append(opened, p)
				return oneVersion{}, nil
			},
			Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
			RESTListener: restLn,
			GRPCListener: grpcLn,
			Ready:        func(a net.Addr, _ *manager.Manager) { ready <- a },
			Version:      "9.9.9",
		})
	}()
	var addr net.Addr
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("server did not start with the runtime's args: %v", err)
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatal("server not started after 20 s")
	}
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	if !slices.Equal(opened, []string{"/mnt/models"}) {
		t.Errorf("sources opened %q, want the storage initializer's /mnt/models", opened)
	}
	base := "http://" + addr.String()
	client := &http.Client{Timeout: 5 * time.Second}
	call := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, _ := call("GET", c.ReadinessProbe.HTTPGet.Path, "")
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readiness probe %s: %d", c.ReadinessProbe.HTTPGet.Path, code)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, body := call("GET", "/v2/models/"+name+"/ready", ""); code != 200 {
		t.Errorf("model ready: %d %s", code, body)
	}
	wantMD := `{"name":"` + name + `","versions":["7"],"platform":"tensorflow_savedmodel",` +
		`"inputs":[{"name":"x","datatype":"FP32","shape":[-1,1]}],"outputs":[{"name":"y","datatype":"FP32","shape":[-1,1]}]}`
	if code, body := call("GET", "/v2/models/"+name, ""); code != 200 || body != wantMD {
		t.Errorf("model metadata: %d %s\nwant %s", code, body, wantMD)
	}
	if code, body := call("GET", "/v2", ""); code != 200 || body != `{"name":"tfserve","version":"9.9.9","extensions":["binary_tensor_data"]}` {
		t.Errorf("server metadata: %d %s", code, body)
	}
	wantInfer := `{"model_name":"` + name + `","model_version":"7","outputs":[{"name":"y","datatype":"FP32","shape":[2,1],"data":[2.0,-7.0]}]}`
	if code, body := call("POST", "/v2/models/"+name+"/infer", `{"inputs":[{"name":"x","shape":[2,1],"datatype":"FP32","data":[1,-3.5]}]}`); code != 200 || body != wantInfer {
		t.Errorf("infer: %d %s\nwant %s", code, body, wantInfer)
	}
	// Protocol v1 on the same port.
	if code, body := call("POST", "/v1/models/"+name+":predict", `{"instances":[[1.5]]}`); code != 200 || !strings.Contains(body, "3.0") {
		t.Errorf("v1 predict: %d %s", code, body)
	}

	conn, err := grpc.NewClient(grpcLn.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	gc := kservepb.NewGRPCInferenceServiceClient(conn)
	gctx, gcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer gcancel()
	mr, err := gc.ModelReady(gctx, &kservepb.ModelReadyRequest{Name: name})
	if err != nil || !mr.GetReady() {
		t.Errorf("gRPC ModelReady: %v %v", mr, err)
	}
	resp, err := gc.ModelInfer(gctx, &kservepb.ModelInferRequest{ModelName: name,
		Inputs: []*kservepb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "FP32", Shape: []int64{1, 1},
			Contents: &kservepb.InferTensorContents{Fp32Contents: []float32{4}}}}})
	if err != nil || resp.GetModelVersion() != "7" || !slices.Equal(resp.GetOutputs()[0].GetContents().GetFp32Contents(), []float32{8}) {
		t.Errorf("gRPC ModelInfer: %v %v", resp, err)
	}
}
