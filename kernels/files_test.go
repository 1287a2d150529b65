package kernels

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "asset.txt")
	os.WriteFile(p, []byte("contents\n"), 0o600)
	wantTensor(t, mustRun(t, "ReadFile", nil, strs(sh(), p))[0], strs(sh(), "contents\n"))
	mustFail(t, "ReadFile", nil, "no such file", strs(sh(), filepath.Join(dir, "nope")))
	wantTensor(t, mustRun(t, "ShardedFilename", nil, strs(sh(), "ckpt"), sc32(1), sc32(2))[0], strs(sh(), "ckpt-00001-of-00002"))
}
