// Package kubernetes holds tfserve's Kubernetes manifests (*.yaml: a
// ConfigMap with the model config, a Deployment, a Service and a
// HorizontalPodAutoscaler; apply them with `kubectl apply -f
// deploy/kubernetes/`) and the test that decodes every manifest strictly into
// the Kubernetes API types and runs the real server with the Deployment's
// arguments and the ConfigMap's model config. It has no non-test code.
package kubernetes
