package kubernetes

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tfserve/tfserve/internal/kubetest"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/server/flags"
	"github.com/tfserve/tfserve/server/manager"
	"github.com/tfserve/tfserve/server/modelserver"
	"github.com/tfserve/tfserve/tensor"
)

// imageUser is the numeric USER of Dockerfile.serving.
const imageUser = 65532

// drainTimeout is how long tfserve waits for requests in flight after
// SIGTERM: modelserver.Deps.ShutdownTimeout's default, which cmd/tfserve
// keeps.
const drainTimeout = 30 * time.Second

// manifests holds every object of every *.yaml file in this directory.
type manifests struct {
	configMaps  []*corev1.ConfigMap
	deployments []*appsv1.Deployment
	services    []*corev1.Service
	hpas        []*autoscalingv2.HorizontalPodAutoscaler
}

// pick returns the API type a document's apiVersion and kind name (for
// kubetest.DecodeStrict), kept in m.
func (m *manifests) pick(typ string) any {
	switch typ {
	case "v1 ConfigMap":
		o := &corev1.ConfigMap{}
		m.configMaps = append(m.configMaps, o)
		return o
	case "apps/v1 Deployment":
		o := &appsv1.Deployment{}
		m.deployments = append(m.deployments, o)
		return o
	case "v1 Service":
		o := &corev1.Service{}
		m.services = append(m.services, o)
		return o
	case "autoscaling/v2 HorizontalPodAutoscaler":
		o := &autoscalingv2.HorizontalPodAutoscaler{}
		m.hpas = append(m.hpas, o)
		return o
	}
	return nil
}

func load(t *testing.T) manifests {
	t.Helper()
	var m manifests
	kubetest.Load(t, "*.yaml", m.pick)
	if len(m.configMaps) != 1 || len(m.deployments) != 1 || len(m.services) != 1 || len(m.hpas) != 1 {
		t.Fatalf("want one ConfigMap, Deployment, Service and HPA; got %d %d %d %d",
			len(m.configMaps), len(m.deployments), len(m.services), len(m.hpas))
	}
	return m
}

func TestStrictDecoderRejectsUnknownFields(t *testing.T) {
	var m manifests
	good := "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports: [{port: 1}]\n"
	if err := kubetest.DecodeStrict([]byte(good), m.pick); err != nil {
		t.Fatalf("valid Service: %v", err)
	}
	for _, bad := range []string{
		"apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports: [{prot: 1}]\n",
		"apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspce: {}\n",
		"apiVersion: v1\nkind: Deployment\nmetadata: {name: a}\n",
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec:\n  replicas: two\n",
	} {
		if err := kubetest.DecodeStrict([]byte(bad), m.pick); err == nil {
			t.Errorf("accepted:\n%s", bad)
		}
	}
}

// containerPort resolves a probe's or Service's port (a number or a
// container port name).
func containerPort(c *corev1.Container, p intstr.IntOrString) (int32, bool) {
	if p.Type == intstr.Int {
		return p.IntVal, true
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return cp.ContainerPort, true
		}
	}
	return 0, false
}

func TestManifests(t *testing.T) {
	m := load(t)
	dep, svc, hpa, cm := m.deployments[0], m.services[0], m.hpas[0], m.configMaps[0]
	pod := &dep.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	c := &pod.Containers[0]

	// The arguments are tensorflow_model_server flags tfserve knows.
	opts, err := flags.Parse(c.Args, nil)
	if err != nil || len(opts.Unknown) > 0 || len(opts.NoEffect()) > 0 {
		t.Fatalf("container args %q: %v, unknown %v, no effect %v", c.Args, err, opts.Unknown, opts.NoEffect())
	}
	if err := modelserver.Validate(opts); err != nil {
		t.Fatalf("args: %v", err)
	}
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if ports["http"] != int32(opts.RESTPort) || ports["grpc"] != int32(opts.GRPCPort) {
		t.Errorf("container ports %v, server listens on REST %d and gRPC %d", ports, opts.RESTPort, opts.GRPCPort)
	}

	// Probes: GET on the REST port.
	for name, pr := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if pr == nil || pr.HTTPGet == nil {
			t.Errorf("%s probe: want httpGet", name)
			continue
		}
		if p, ok := containerPort(c, pr.HTTPGet.Port); !ok || p != int32(opts.RESTPort) {
			t.Errorf("%s probe port %v, want the REST port %d", name, pr.HTTPGet.Port.String(), opts.RESTPort)
		}
	}
	if c.LivenessProbe.HTTPGet.Path != "/healthz" || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("probe paths %s %s", c.LivenessProbe.HTTPGet.Path, c.ReadinessProbe.HTTPGet.Path)
	}

	// Graceful shutdown: preStop sleep, then SIGTERM and the drain, within
	// the grace period.
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
		t.Fatal("want a preStop sleep (the image has no shell for exec hooks)")
	}
	sleep := time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	if dep.Spec.Template.Spec.TerminationGracePeriodSeconds == nil {
		t.Fatal("no terminationGracePeriodSeconds")
	}
	grace := time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
	if sleep <= 0 || grace <= sleep+drainTimeout {
		t.Errorf("grace period %v must exceed preStop %v + drain %v", grace, sleep, drainTimeout)
	}

	// Resources: requests and limits for CPU and memory, requests <= limits.
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, okReq := c.Resources.Requests[r]
		lim, okLim := c.Resources.Limits[r]
		if !okReq || !okLim || req.Cmp(lim) > 0 || req.Cmp(resource.Quantity{}) <= 0 {
			t.Errorf("%s: request %v limit %v", r, req.String(), lim.String())
		}
	}

	// Security: the image's non-root user, read-only root with writable
	// /tmp and /cache (XDG_CACHE_HOME of the image).
	sc, csc := pod.SecurityContext, c.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser != imageUser {
		t.Errorf("pod securityContext %+v: want runAsNonRoot and runAsUser %d", sc, imageUser)
	}
	if csc == nil || csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem ||
		csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation {
		t.Errorf("container securityContext %+v", csc)
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, vm := range c.VolumeMounts {
		mounts[vm.MountPath] = vm
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}
	for _, dir := range []string{"/tmp", "/cache"} {
		vm, ok := mounts[dir]
		if !ok || volumes[vm.Name].EmptyDir == nil || vm.ReadOnly {
			t.Errorf("%s: want a writable emptyDir (the root filesystem is read-only)", dir)
		}
	}

	// --model_config_file lies in the mounted ConfigMap.
	vm, ok := mounts[filepath.Dir(opts.ModelConfigFile)]
	if !ok || volumes[vm.Name].ConfigMap == nil || volumes[vm.Name].ConfigMap.Name != cm.Name {
		t.Fatalf("--model_config_file=%s is not in a mount of ConfigMap %s", opts.ModelConfigFile, cm.Name)
	}
	if _, ok := cm.Data[filepath.Base(opts.ModelConfigFile)]; !ok {
		t.Fatalf("ConfigMap %s has no key %s", cm.Name, filepath.Base(opts.ModelConfigFile))
	}

	// Labels and references.
	sel, err := metav1.LabelSelectorAsSelector(dep.Spec.Selector)
	if err != nil || sel.Empty() || !sel.Matches(labelSet(dep.Spec.Template.Labels)) {
		t.Errorf("Deployment selector %v does not select its pods %v (%v)", dep.Spec.Selector, dep.Spec.Template.Labels, err)
	}
	for k, v := range svc.Spec.Selector {
		if dep.Spec.Template.Labels[k] != v {
			t.Errorf("Service selector %s=%s does not match the pods", k, v)
		}
	}
	if len(svc.Spec.Selector) == 0 {
		t.Error("Service without selector")
	}
	svcPorts := map[int32]bool{}
	for _, p := range svc.Spec.Ports {
		target, ok := containerPort(c, p.TargetPort)
		if !ok || target != p.Port {
			t.Errorf("Service port %d targets %s (container %d, %v)", p.Port, p.TargetPort.String(), target, ok)
		}
		svcPorts[target] = true
	}
	if !svcPorts[int32(opts.RESTPort)] || !svcPorts[int32(opts.GRPCPort)] {
		t.Errorf("Service ports %v, want REST %d and gRPC %d", svc.Spec.Ports, opts.RESTPort, opts.GRPCPort)
	}
	ref := hpa.Spec.ScaleTargetRef
	if ref.APIVersion != "apps/v1" || ref.Kind != "Deployment" || ref.Name != dep.Name {
		t.Errorf("HPA targets %+v, want Deployment %s", ref, dep.Name)
	}
	if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas < 1 || hpa.Spec.MaxReplicas < *hpa.Spec.MinReplicas {
		t.Errorf("HPA replicas %v..%d", hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas)
	}
	if len(hpa.Spec.Metrics) != 1 || hpa.Spec.Metrics[0].Resource == nil ||
		hpa.Spec.Metrics[0].Resource.Name != corev1.ResourceCPU ||
		hpa.Spec.Metrics[0].Resource.Target.Type != autoscalingv2.UtilizationMetricType ||
		hpa.Spec.Metrics[0].Resource.Target.AverageUtilization == nil {
		t.Errorf("HPA metrics %+v: want CPU utilization", hpa.Spec.Metrics)
	}
}

type labelSet map[string]string

func (l labelSet) Has(k string) bool              { _, ok := l[k]; return ok }
func (l labelSet) Get(k string) string            { return l[k] }
func (l labelSet) Lookup(k string) (string, bool) { v, ok := l[k]; return v, ok }

// emptyModel is a model with no signatures: this test checks serving
// plumbing, not computation.
type emptyModel struct{}

func (emptyModel) Signatures() map[string]*servable.Signature {
	return map[string]*servable.Signature{}
}
func (emptyModel) Run(context.Context, string, map[string]*tensor.Tensor, []string) (map[string]*tensor.Tensor, error) {
	return nil, fmt.Errorf("emptyModel has no signatures")
}
func (emptyModel) Close() error { return nil }

// oneVersion is a model source with version 1 under any base path or URI.
type oneVersion struct{ base string }

func (s oneVersion) Versions(context.Context) ([]int64, error) { return []int64{1}, nil }
func (s oneVersion) Fetch(context.Context, int64) (string, error) {
	return "/fetched/" + strings.NewReplacer(":", "_", "/", "_").Replace(s.base) + "/1", nil
}
func (s oneVersion) String() string { return s.base }

// TestDeploymentRunsConfigMap runs the real server (modelserver.Run) with the
// Deployment's arguments and the ConfigMap's model config (parsed and
// validated by the real manager), on loopback listeners, with sources and a
// loader that stand in for MLflow, S3 and SavedModels. It checks that every
// configured model is served, and that the probes' paths answer 200 on the
// REST port.
func TestDeploymentRunsConfigMap(t *testing.T) {
	m := load(t)
	dep, cm := m.deployments[0], m.configMaps[0]
	c := dep.Spec.Template.Spec.Containers[0]
	opts, err := flags.Parse(c.Args, nil)
	if err != nil {
		t.Fatal(err)
	}
	text := cm.Data[filepath.Base(opts.ModelConfigFile)]
	cfg, err := manager.ParseConfig([]byte(text))
	if err != nil {
		t.Fatalf("ConfigMap model config: %v", err)
	}
	var names []string
	for _, mc := range cfg.GetModelConfigList().GetConfig() {
		names = append(names, mc.GetName())
	}
	if len(names) == 0 {
		t.Fatal("ConfigMap model config lists no models")
	}
	sort.Strings(names)

	// Run with the Deployment's flags; only the config file's location and
	// the listeners differ.
	cfgPath := filepath.Join(t.TempDir(), filepath.Base(opts.ModelConfigFile))
	if err := os.WriteFile(cfgPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	opts.ModelConfigFile = cfgPath
	restLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	grpcLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var opened []string
	ready := make(chan net.Addr, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- modelserver.Run(ctx, opts, modelserver.Deps{
			Load: func(context.Context, string, modelserver.LoadOptions) (servable.Model, error) {
				return emptyModel{}, nil
			},
			OpenSource: func(_ context.Context, p string) (manager.Source, error) {
				mu.Lock()
				opened = append(opened, p)
				mu.Unlock()
				return oneVersion{p}, nil
			},
			Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
			RESTListener: restLn,
			GRPCListener: grpcLn,
			Ready:        func(a net.Addr, _ *manager.Manager) { ready <- a },
		})
	}()
	var addr net.Addr
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("server did not start with the Deployment's args and ConfigMap: %v", err)
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
	base := "http://" + addr.String()
	client := &http.Client{Timeout: 5 * time.Second}
	get := func(path string) (int, string) {
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	for _, pr := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe} {
		path := pr.HTTPGet.Path
		deadline := time.Now().Add(20 * time.Second)
		for {
			code, body := get(path)
			if code == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("probe %s: %d %s", path, code, body)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for _, n := range names {
		code, body := get("/v1/models/" + n)
		if code != http.StatusOK || !strings.Contains(body, `"state": "AVAILABLE"`) {
			t.Errorf("model %s: %d %s", n, code, body)
		}
	}
	mu.Lock()
	got := slices.Clone(opened)
	mu.Unlock()
	var want []string
	for _, mc := range cfg.GetModelConfigList().GetConfig() {
		want = append(want, mc.GetBasePath())
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("sources opened %q, want the ConfigMap's base paths %q", got, want)
	}
}
