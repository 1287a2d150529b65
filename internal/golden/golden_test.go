package golden

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	c := Case{Expected: json.RawMessage(`{"predictions": [[2.5], [3.0]], "ids": [1, 2]}`), Atol: 1e-5, Rtol: 1e-4}
	if err := c.Check([]byte(`{"ids": [1, 2], "predictions": [[2.50001], [3.0]]}`)); err != nil {
		t.Errorf("within tolerance: %v", err)
	}
	for _, bad := range []string{
		`{"predictions": [[2.6], [3.0]], "ids": [1, 2]}`,
		`{"predictions": [[2.5]], "ids": [1, 2]}`,
		`{"predictions": [[2.5], [3.0]], "ids": [1, 3]}`,
		`{"outputs": [[2.5], [3.0]], "ids": [1, 2]}`,
		`not json`,
	} {
		if err := c.Check([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
	exact := Case{Expected: json.RawMessage(`{"outputs": 2}`)}
	if err := exact.Check([]byte(`{"outputs": 2.5}`)); err == nil {
		t.Error("exact integer accepted 2.5")
	}
}

func TestRecall(t *testing.T) {
	c := Case{Expected: json.RawMessage(`{"ids": [[1, 2, 3, 4], [5, 6, 7, 8]]}`), RecallAt: 4, MinRecall: 0.75}
	ok := `{"predictions": [{"output_1": [0,0,0,0], "output_2": [4, 3, 2, 9]}, {"output_1": [0,0,0,0], "output_2": [5, 6, 7, 8]}]}`
	if err := c.Check([]byte(ok)); err != nil {
		t.Errorf("recall 7/8: %v", err)
	}
	low := `{"predictions": [{"output_2": [9, 9, 9, 1]}, {"output_2": [5, 0, 0, 0]}]}`
	if err := c.Check([]byte(low)); err == nil || !strings.Contains(err.Error(), "recall") {
		t.Errorf("recall 2/8 accepted: %v", err)
	}
}
