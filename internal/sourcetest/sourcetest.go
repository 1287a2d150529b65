// Package sourcetest holds what model-source tests share: Dir, a model
// source over a local folder (the stand-in for loader/source's local
// source that the manager, the REST and gRPC APIs and modelserver are
// tested with; it satisfies server/manager.Source without importing it),
// and CheckTree, which asserts what a source downloaded.
package sourcetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// Dir is a base path whose version folders are its numerically named
// subfolders ("3", or "00000123" for version 123).
type Dir string

// Versions lists the numeric subfolders; a missing base path is an error.
func (d Dir) Versions(context.Context) ([]int64, error) {
	ents, err := os.ReadDir(string(d))
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, e := range ents {
		if v, err := strconv.ParseInt(e.Name(), 10, 64); err == nil && e.IsDir() {
			out = append(out, v)
		}
	}
	return out, nil
}

// Fetch returns the folder of version v, whatever its zero padding.
func (d Dir) Fetch(_ context.Context, v int64) (string, error) {
	ents, err := os.ReadDir(string(d))
	if err != nil {
		return "", err
	}
	for _, e := range ents {
		if n, err := strconv.ParseInt(e.Name(), 10, 64); err == nil && n == v && e.IsDir() {
			return filepath.Join(string(d), e.Name()), nil
		}
	}
	return "", fmt.Errorf("%s: version %d not found", string(d), v)
}

// String is the base path.
func (d Dir) String() string { return string(d) }
