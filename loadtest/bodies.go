package loadtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
)

// MaxBodyBytes bounds one request body read from a file.
const MaxBodyBytes = 256 << 20

// ReadJSONL reads one JSON request body per line. Blank lines are skipped;
// a line that is not valid JSON is an error naming its line number.
func ReadJSONL(r io.Reader) ([][]byte, error) {
	br := bufio.NewReader(r)
	var bodies [][]byte
	total := 0
	for line := 1; ; line++ {
		raw, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read jsonl line %d: %w", line, err)
		}
		total += len(raw)
		if total > MaxBodyBytes {
			return nil, fmt.Errorf("read jsonl: more than %d bytes", MaxBodyBytes)
		}
		b := bytes.TrimSpace(raw)
		if len(b) > 0 {
			if !json.Valid(b) {
				return nil, fmt.Errorf("jsonl line %d: not valid JSON: %s", line, truncate(string(b), 80))
			}
			bodies = append(bodies, bytes.Clone(b))
		}
		if err != nil { // io.EOF
			break
		}
	}
	if len(bodies) == 0 {
		return nil, errors.New("jsonl: no request bodies")
	}
	return bodies, nil
}

// ReadJSONLFile reads a JSONL file with ReadJSONL.
func ReadJSONLFile(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open bodies: %w", err)
	}
	defer f.Close()
	bodies, err := ReadJSONL(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return bodies, nil
}

// ReadBodyFile reads a file holding a single JSON request body.
func ReadBodyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open body: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxBodyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read body %s: %w", path, err)
	}
	if len(b) > MaxBodyBytes {
		return nil, fmt.Errorf("body %s: more than %d bytes", path, MaxBodyBytes)
	}
	b = bytes.TrimSpace(b)
	if !json.Valid(b) {
		return nil, fmt.Errorf("body %s: not valid JSON", path)
	}
	return b, nil
}

// Bodies hands out request bodies round robin. It is safe for concurrent use.
type Bodies struct {
	list [][]byte
	next atomic.Uint64
}

// NewBodies returns a round-robin source over list, which must not be empty.
// The slices are shared, not copied; callers must not modify them.
func NewBodies(list [][]byte) (*Bodies, error) {
	if len(list) == 0 {
		return nil, errors.New("no request bodies")
	}
	return &Bodies{list: list}, nil
}

// Next returns the next body in round-robin order.
func (b *Bodies) Next() []byte {
	return b.list[b.nextIndex()]
}

func (b *Bodies) nextIndex() int {
	return int((b.next.Add(1) - 1) % uint64(len(b.list)))
}

// Len returns the number of distinct bodies.
func (b *Bodies) Len() int { return len(b.list) }
