package fakemodel

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tfserve/tfserve/servable"
)

// Folders loads a version folder written by WriteVersion as a HalfPlusTwo
// with the folder's A, and keeps every model it made.
type Folders struct {
	// Tweak, when set, adjusts each model before it is served.
	Tweak func(*HalfPlusTwo)

	mu   sync.Mutex
	made []*HalfPlusTwo
}

// Load reads dir/model ("A" for y = A x + 2); it has the shape of
// manager.Options.Load.
func (f *Folders) Load(_ context.Context, dir string) (servable.Model, error) {
	b, err := os.ReadFile(filepath.Join(dir, "model"))
	if err != nil {
		return nil, err
	}
	a, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 32)
	if err != nil {
		return nil, fmt.Errorf("bad model file %s", dir)
	}
	m := New()
	m.A = float32(a)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Tweak != nil {
		f.Tweak(m)
	}
	f.made = append(f.made, m)
	return m, nil
}

// Made lists the models Load made, oldest first.
func (f *Folders) Made() []*HalfPlusTwo {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*HalfPlusTwo(nil), f.made...)
}

// WriteVersion writes version v of a model with A = a under base. The
// folder appears whole (written aside, then renamed), so a polling manager
// never loads it half-written.
func WriteVersion(t testing.TB, base string, v int64, a string) {
	t.Helper()
	name := strconv.FormatInt(v, 10)
	tmp := filepath.Join(base, ".tmp"+name)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "model"), []byte(a), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(base, name)); err != nil {
		t.Fatal(err)
	}
}
