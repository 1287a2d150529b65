package manager

import (
	"context"
	"errors"
	"testing"

	"github.com/tfserve/tfserve/proto/servingpb"
)

// TestPrepareConfig: Options.PrepareConfig sees each config that passed
// the other checks; its error rejects the config whole, and commit runs
// once the config is applied (not for an unchanged or rejected one).
func TestPrepareConfig(t *testing.T) {
	r := &registry{}
	base := t.TempDir()
	writeVersion(t, base, "1", "ok 0.5")
	var (
		seen    []*servingpb.ModelConfigList
		commits int
		refuse  error
	)
	m := newTestManager(t, r, func(o *Options) {
		o.PrepareConfig = func(list *servingpb.ModelConfigList) (func(), error) {
			seen = append(seen, list)
			if refuse != nil {
				return nil, refuse
			}
			return func() { commits++ }, nil
		}
	})
	ctx := context.Background()
	if err := m.ReloadConfig(ctx, listCfg(modelCfg("a", base))); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || commits != 1 || len(seen[0].GetConfig()) != 1 || !m.Configured("a") {
		t.Fatalf("first config: seen %d, commits %d", len(seen), commits)
	}
	// Unchanged: nothing to prepare.
	if err := m.ReloadConfig(ctx, listCfg(modelCfg("a", base))); err != nil || len(seen) != 1 {
		t.Fatalf("unchanged config: %v, seen %d", err, len(seen))
	}
	// A config another check refuses never reaches PrepareConfig.
	if err := m.ReloadConfig(ctx, listCfg(modelCfg("a", "relative"))); err == nil || len(seen) != 1 {
		t.Fatalf("bad base path: %v, seen %d", err, len(seen))
	}
	// Refused by PrepareConfig: nothing changes.
	refuse = errors.New("model \"b\": no")
	if err := m.ReloadConfig(ctx, listCfg(modelCfg("a", base), modelCfg("b", base))); !errors.Is(err, refuse) {
		t.Fatalf("refused config: %v", err)
	}
	if m.Configured("b") || commits != 1 || len(m.Config().GetModelConfigList().GetConfig()) != 1 {
		t.Fatalf("a refused config was applied")
	}
}
