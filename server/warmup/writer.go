package warmup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// FileName is the warmup file's name inside AssetsExtraDir.
const FileName = "tf_serving_warmup_requests"

// AssetsExtraDir is the SavedModel directory that holds the warmup file.
const AssetsExtraDir = "assets.extra"

// MaxRecords is TF Serving's WarmupConsts::kMaxNumRecords: a warmup file with
// more records fails the load.
const MaxRecords = 1000

// Path is the warmup file of a SavedModel version directory.
func Path(versionDir string) string {
	return filepath.Join(versionDir, AssetsExtraDir, FileName)
}

// Writer writes PredictionLog records in TFRecord framing.
type Writer struct{ rw *RecordWriter }

// NewWriter returns a Writer to w.
func NewWriter(w io.Writer) *Writer { return &Writer{rw: NewRecordWriter(w)} }

// Write appends one PredictionLog record holding l's request.
func (w *Writer) Write(l Log) error {
	b, err := EncodeLog(l)
	if err != nil {
		return err
	}
	return w.rw.Write(b)
}

// WriteFile writes logs as versionDir/assets.extra/tf_serving_warmup_requests,
// creating assets.extra when needed and replacing an existing file
// atomically.
func WriteFile(versionDir string, logs ...Log) error {
	p := Path(versionDir)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("write warmup file: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), "."+FileName+".tmp*")
	if err != nil {
		return fmt.Errorf("write warmup file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	w := NewWriter(f)
	for i, l := range logs {
		if err := w.Write(l); err != nil {
			f.Close()
			return fmt.Errorf("write warmup record %d to %s: %w", i, p, err)
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write warmup file %s: %w", p, err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return fmt.Errorf("write warmup file %s: %w", p, err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("write warmup file %s: %w", p, err)
	}
	return nil
}

// ReadLogs reads every PredictionLog record of a warmup file (at most
// MaxRecords).
func ReadLogs(ctx context.Context, r io.Reader) ([]Log, error) {
	rr := NewRecordReader(r)
	var logs []Log
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rec, err := rr.Next()
		if errors.Is(err, io.EOF) {
			return logs, nil
		}
		if err != nil {
			return nil, err
		}
		if len(logs) >= MaxRecords {
			return nil, fmt.Errorf("more than %d warmup records", MaxRecords)
		}
		l, err := DecodeLog(rec)
		if err != nil {
			return nil, fmt.Errorf("warmup record %d: %w", len(logs), err)
		}
		logs = append(logs, l)
	}
}
