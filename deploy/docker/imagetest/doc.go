// Package imagetest holds the end-to-end test of tfserve's serving image
// (Dockerfile.serving, deploy/docker/Dockerfile.prebuilt): it builds the
// image with buildah the way `make image` does, runs it in a private network
// namespace and checks a prediction. It has no non-test code; run it with
// `make image-test` (TFSERVE_IMAGE_TEST=1, or CI=true).
package imagetest
