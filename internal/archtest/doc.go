// Package archtest holds the architecture test: imports only go down the
// layers README's Architecture section draws (tensor and proto, then kernels
// and ann, servable, graph, loader, server, cmd). It has no non-test code.
package archtest
