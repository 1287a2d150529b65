package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// readFloatMatrix reads a 2-D float32 .npy file or an .fvecs file.
func readFloatMatrix(path string) ([]float32, int, int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, 0, err
	}
	if strings.HasSuffix(path, ".fvecs") {
		return readVecs(b, path, func(u uint32) float32 { return math.Float32frombits(u) })
	}
	descr, shape, data, err := parseNpy(b)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	if descr != "<f4" || len(shape) != 2 {
		return nil, 0, 0, fmt.Errorf("%s: want a 2-D <f4 array, got %s %v", path, descr, shape)
	}
	out := make([]float32, shape[0]*shape[1])
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	}
	return out, shape[0], shape[1], nil
}

// readIntMatrix reads a 2-D int32/int64 .npy file or an .ivecs file.
func readIntMatrix(path string) ([]int64, int, int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, 0, err
	}
	if strings.HasSuffix(path, ".ivecs") {
		return readVecs(b, path, func(u uint32) int64 { return int64(int32(u)) })
	}
	descr, shape, data, err := parseNpy(b)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	if len(shape) != 2 {
		return nil, 0, 0, fmt.Errorf("%s: want a 2-D array, got %v", path, shape)
	}
	out := make([]int64, shape[0]*shape[1])
	switch descr {
	case "<i4":
		for i := range out {
			out[i] = int64(int32(binary.LittleEndian.Uint32(data[4*i:])))
		}
	case "<i8":
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(data[8*i:]))
		}
	default:
		return nil, 0, 0, fmt.Errorf("%s: want <i4 or <i8, got %s", path, descr)
	}
	return out, shape[0], shape[1], nil
}

func readVecs[T any](b []byte, path string, conv func(uint32) T) ([]T, int, int, error) {
	if len(b) < 4 {
		return nil, 0, 0, fmt.Errorf("%s: empty", path)
	}
	dim := int(binary.LittleEndian.Uint32(b))
	row := 4 + 4*dim
	if dim <= 0 || len(b)%row != 0 {
		return nil, 0, 0, fmt.Errorf("%s: size %d is not a multiple of rows of dim %d", path, len(b), dim)
	}
	n := len(b) / row
	out := make([]T, 0, n*dim)
	for i := 0; i < n; i++ {
		if d := int(binary.LittleEndian.Uint32(b[i*row:])); d != dim {
			return nil, 0, 0, fmt.Errorf("%s: row %d has dim %d, want %d", path, i, d, dim)
		}
		for j := 0; j < dim; j++ {
			out = append(out, conv(binary.LittleEndian.Uint32(b[i*row+4+4*j:])))
		}
	}
	return out, n, dim, nil
}

var (
	reDescr = regexp.MustCompile(`'descr':\s*'([^']+)'`)
	reOrder = regexp.MustCompile(`'fortran_order':\s*(True|False)`)
	reShape = regexp.MustCompile(`'shape':\s*\(([^)]*)\)`)
)

// parseNpy parses a version 1/2/3 .npy header (C order only).
func parseNpy(b []byte) (descr string, shape []int, data []byte, err error) {
	if len(b) < 10 || string(b[:6]) != "\x93NUMPY" {
		return "", nil, nil, fmt.Errorf("not an .npy file")
	}
	var hlen, off int
	if b[6] == 1 {
		hlen, off = int(binary.LittleEndian.Uint16(b[8:])), 10
	} else {
		if len(b) < 12 {
			return "", nil, nil, fmt.Errorf("short .npy header")
		}
		hlen, off = int(binary.LittleEndian.Uint32(b[8:])), 12
	}
	if off+hlen > len(b) {
		return "", nil, nil, fmt.Errorf("short .npy header")
	}
	h := string(b[off : off+hlen])
	m := reDescr.FindStringSubmatch(h)
	o := reOrder.FindStringSubmatch(h)
	s := reShape.FindStringSubmatch(h)
	if m == nil || o == nil || s == nil {
		return "", nil, nil, fmt.Errorf("bad .npy header %q", h)
	}
	if o[1] == "True" {
		return "", nil, nil, fmt.Errorf("fortran-order arrays are not supported")
	}
	total := 1
	for _, p := range strings.Split(s[1], ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 {
			return "", nil, nil, fmt.Errorf("bad shape %q", s[1])
		}
		shape = append(shape, v)
		total *= v
	}
	size := map[string]int{"<f4": 4, "<i4": 4, "<i8": 8}[m[1]]
	if size == 0 {
		return "", nil, nil, fmt.Errorf("unsupported dtype %s", m[1])
	}
	data = b[off+hlen:]
	if len(data) < total*size {
		return "", nil, nil, fmt.Errorf("data is %d bytes, want %d", len(data), total*size)
	}
	return m[1], shape, data, nil
}
