package requestlog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/server/warmup"
)

// fileTail matches what a collector appends to filename_prefix.
var fileTail = regexp.MustCompile(`^-?[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}-[0-9]{6,}\.tfrecord$`)

// Files lists the request-log files written for filename_prefix, in the
// order they were written (by collector start time, then sequence).
func Files(prefix string) ([]string, error) {
	dir, base := filepath.Split(prefix)
	if dir == "" {
		dir = "."
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		name := e.Name()
		if e.Type().IsRegular() && strings.HasPrefix(name, base) && fileTail.MatchString(name[len(base):]) &&
			(base == "" || name[len(base)] == '-') {
			out = append(out, filepath.Join(dir, name))
		}
	}
	slices.Sort(out)
	return out, nil
}

// Read calls fn with each PredictionLog record of a request-log (or
// warmup) file in r until the end, an error, or fn's error.
func Read(r io.Reader, fn func(*servingpb.PredictionLog) error) error {
	rr := warmup.NewRecordReader(bufio.NewReaderSize(r, 1<<20))
	for i := 0; ; i++ {
		rec, err := rr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		pl := &servingpb.PredictionLog{}
		if err := proto.Unmarshal(rec, pl); err != nil {
			return fmt.Errorf("record %d: %w", i, err)
		}
		if err := fn(pl); err != nil {
			return err
		}
	}
}

// ReadFile returns every PredictionLog record of one file.
func ReadFile(path string) ([]*servingpb.PredictionLog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []*servingpb.PredictionLog
	err = Read(f, func(pl *servingpb.PredictionLog) error {
		out = append(out, pl)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}
