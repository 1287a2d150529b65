package loader_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/internal/fixtures"
	"github.com/tfserve/tfserve/loader"
	"github.com/tfserve/tfserve/servable/limits"
)

// TestFixturesWithinLoadBudgets loads every fixture SavedModel under the
// default load budgets and under budgets too large to matter: each loads
// (or fails) the same way under both. It reports the largest use of each
// budget, and checks that the budgets count for real: a budget one below
// the biggest fixture's use fails that fixture with the limit's error.
func TestFixturesWithinLoadBudgets(t *testing.T) {
	fx := fixtures.Dir(t)
	var dirs []string
	filepath.WalkDir(fx, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "saved_model.pb" {
			dirs = append(dirs, filepath.Dir(p))
		}
		return nil
	})
	if len(dirs) < 40 {
		t.Fatalf("found only %d SavedModels under %s", len(dirs), fx)
	}
	huge := limits.Load{MaxNodes: 1 << 40, MaxConstBytes: 1 << 50, MaxFoldBytes: 1 << 50}
	var top struct {
		nodes, consts, fold       int64
		nodesDir, constsDir, fDir string
	}
	loaded := 0
	for _, dir := range dirs {
		m, err := loader.Load(context.Background(), dir, loader.Options{Logger: quiet})
		mh, errh := loader.Load(context.Background(), dir, loader.Options{Logger: quiet, Limits: huge})
		if (err == nil) != (errh == nil) {
			t.Errorf("%s: default budgets: %v; unbounded: %v", dir, err, errh)
		}
		if err != nil || errh != nil {
			t.Logf("%s does not load: %v", dir, err)
			continue
		}
		loaded++
		st := m.LoadStats()
		if st != mh.LoadStats() {
			t.Errorf("%s: stats %+v under the defaults, %+v unbounded", dir, st, mh.LoadStats())
		}
		m.Close()
		mh.Close()
		if st.Nodes <= 0 {
			t.Errorf("%s: expansion of %d nodes", dir, st.Nodes)
		}
		if st.Nodes > top.nodes {
			top.nodes, top.nodesDir = st.Nodes, dir
		}
		if st.ConstBytes > top.consts {
			top.consts, top.constsDir = st.ConstBytes, dir
		}
		if st.BiggestFold > top.fold {
			top.fold, top.fDir = st.BiggestFold, dir
		}
	}
	if loaded < 30 {
		t.Fatalf("only %d of %d SavedModels loaded", loaded, len(dirs))
	}
	rel := func(p string) string { r, _ := filepath.Rel(fx, p); return r }
	t.Logf("%d of %d SavedModels loaded; ", loaded, len(dirs))
	t.Logf("most nodes after inlining: %d (%s); most constant bytes: %d (%s); biggest fold: %d bytes (%s)",
		top.nodes, rel(top.nodesDir), top.consts, rel(top.constsDir), top.fold, rel(top.fDir))

	for _, c := range []struct {
		dir  string
		lim  limits.Load
		flag string
	}{
		{top.nodesDir, limits.Load{MaxNodes: int(top.nodes - 1)}, "--model_max_nodes"},
		{top.constsDir, limits.Load{MaxConstBytes: top.consts - 1}, "--model_max_const_bytes"},
	} {
		_, err := loader.Load(context.Background(), c.dir, loader.Options{Logger: quiet, Limits: c.lim})
		if err == nil || !strings.Contains(err.Error(), c.flag) {
			t.Errorf("%s with %+v: %v", rel(c.dir), c.lim, err)
		}
	}
}
