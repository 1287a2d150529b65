// Package e2e holds end-to-end tests: the real tfserve server (flags,
// model manager, SavedModel loader, kernels, REST) serving the real
// TensorFlow fixtures in ../shared/fixtures over HTTP on loopback.
package e2e
