// Package golden reads the golden.json files that sit beside the real
// TensorFlow fixtures in ../shared/fixtures and checks REST responses
// against them: ids and integers exactly, floats within each case's
// atol/rtol, and retrieval cases by recall@k.
package golden

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
)

// File is one golden.json.
type File struct {
	Note          string `json:"note"`
	SignatureName string `json:"signature_name"`
	Cases         []Case `json:"cases"`
}

// Case is one request with its expected response.
type Case struct {
	Desc      string          `json:"desc"`
	Request   json.RawMessage `json:"request"`
	Expected  json.RawMessage `json:"expected"`
	Atol      float64         `json:"atol"`
	Rtol      float64         `json:"rtol"`
	RecallAt  int             `json:"recall_at"`
	MinRecall float64         `json:"min_recall"`
}

// Read parses a golden.json file.
func Read(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f := &File{}
	if err := json.Unmarshal(data, f); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return f, nil
}

// Check compares an actual REST response body with a case's expectation.
func (c *Case) Check(actual []byte) error {
	var got any
	dec := json.NewDecoder(bytes.NewReader(actual))
	dec.UseNumber()
	if err := dec.Decode(&got); err != nil {
		return fmt.Errorf("response is not JSON: %v: %s", err, truncate(actual))
	}
	var want any
	dec = json.NewDecoder(bytes.NewReader(c.Expected))
	dec.UseNumber()
	if err := dec.Decode(&want); err != nil {
		return fmt.Errorf("expected is not JSON: %v", err)
	}
	if c.MinRecall > 0 {
		return c.checkRecall(want, got)
	}
	return compare("$", want, got, c.Atol, c.Rtol)
}

func compare(path string, want, got any, atol, rtol float64) error {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: want object, got %T", path, got)
		}
		if len(g) != len(w) {
			return fmt.Errorf("%s: want keys %v, got %v", path, keys(w), keys(g))
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				return fmt.Errorf("%s: missing key %q", path, k)
			}
			if err := compare(path+"."+k, wv, gv, atol, rtol); err != nil {
				return err
			}
		}
		return nil
	case []any:
		g, ok := got.([]any)
		if !ok {
			return fmt.Errorf("%s: want array, got %T", path, got)
		}
		if len(g) != len(w) {
			return fmt.Errorf("%s: want %d elements, got %d", path, len(w), len(g))
		}
		for i := range w {
			if err := compare(fmt.Sprintf("%s[%d]", path, i), w[i], g[i], atol, rtol); err != nil {
				return err
			}
		}
		return nil
	case json.Number:
		g, ok := got.(json.Number)
		if !ok {
			return fmt.Errorf("%s: want number %s, got %v", path, w, got)
		}
		wi, werr := w.Int64()
		gi, gerr := g.Int64()
		if werr == nil && gerr == nil && isInt(w) && isInt(g) {
			if wi != gi {
				return fmt.Errorf("%s: want %d, got %d", path, wi, gi)
			}
			return nil
		}
		wf, _ := w.Float64()
		gf, err := g.Float64()
		if err != nil {
			return fmt.Errorf("%s: %v", path, err)
		}
		if isInt(w) && !isInt(g) && atol == 0 && rtol == 0 {
			// An exact integer expectation must come back as an integer
			// when the dtype is integral; floats like 2.0 print with ".0".
			if wf != gf {
				return fmt.Errorf("%s: want %s, got %s", path, w, g)
			}
		}
		if math.Abs(wf-gf) > atol+rtol*math.Abs(wf) {
			return fmt.Errorf("%s: want %s, got %s (atol %g, rtol %g)", path, w, g, atol, rtol)
		}
		return nil
	default:
		if fmt.Sprint(want) != fmt.Sprint(got) {
			return fmt.Errorf("%s: want %v, got %v", path, want, got)
		}
		return nil
	}
}

func isInt(n json.Number) bool {
	for _, c := range n.String() {
		if c == '.' || c == 'e' || c == 'E' {
			return false
		}
	}
	return true
}

// checkRecall compares retrieved ids with the expected exact top-k ids:
// want is {"ids": [[...], ...]}; got is a predict response whose rows hold
// the ids under "output_2".
func (c *Case) checkRecall(want, got any) error {
	wm, ok := want.(map[string]any)
	if !ok {
		return fmt.Errorf("recall case expects {\"ids\": ...}")
	}
	wantIDs, err := intRows(wm["ids"])
	if err != nil {
		return fmt.Errorf("expected ids: %w", err)
	}
	gm, ok := got.(map[string]any)
	if !ok {
		return fmt.Errorf("response is not an object")
	}
	var gotIDs [][]int64
	switch p := gm["predictions"].(type) {
	case []any:
		for i, row := range p {
			rm, ok := row.(map[string]any)
			if !ok {
				return fmt.Errorf("predictions[%d] is not an object", i)
			}
			ids, err := intRows([]any{rm["output_2"]})
			if err != nil {
				return fmt.Errorf("predictions[%d].output_2: %w", i, err)
			}
			gotIDs = append(gotIDs, ids[0])
		}
	default:
		om, ok := gm["outputs"].(map[string]any)
		if !ok {
			return fmt.Errorf("response has neither predictions nor outputs")
		}
		gotIDs, err = intRows(om["output_2"])
		if err != nil {
			return fmt.Errorf("outputs.output_2: %w", err)
		}
	}
	if len(gotIDs) != len(wantIDs) {
		return fmt.Errorf("want %d rows of ids, got %d", len(wantIDs), len(gotIDs))
	}
	k := c.RecallAt
	hit, total := 0, 0
	for i := range wantIDs {
		set := map[int64]bool{}
		for j, id := range wantIDs[i] {
			if j < k {
				set[id] = true
			}
		}
		for j, id := range gotIDs[i] {
			if j < k && set[id] {
				hit++
				delete(set, id)
			}
		}
		total += min(k, len(wantIDs[i]))
	}
	recall := float64(hit) / float64(total)
	if recall < c.MinRecall {
		return fmt.Errorf("recall@%d %.3f below the floor %.3f", k, recall, c.MinRecall)
	}
	return nil
}

func intRows(v any) ([][]int64, error) {
	rows, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("not an array")
	}
	out := make([][]int64, len(rows))
	for i, r := range rows {
		cols, ok := r.([]any)
		if !ok {
			return nil, fmt.Errorf("row %d is not an array", i)
		}
		for _, c := range cols {
			n, ok := c.(json.Number)
			if !ok {
				return nil, fmt.Errorf("row %d holds %T", i, c)
			}
			x, err := n.Int64()
			if err != nil {
				return nil, err
			}
			out[i] = append(out[i], x)
		}
	}
	return out, nil
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}
