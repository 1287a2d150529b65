package archtest

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/tfserve/tfserve/"

// rule forbids packages under from (a module-relative prefix) to depend on
// packages under any of banned.
type rule struct {
	from   string
	banned []string
	// direct restricts the rule to direct imports (transitive otherwise).
	direct bool
	why    string
}

var rules = []rule{
	{from: "tensor", banned: []string{"kernels", "ann", "servable", "graph", "loader", "server", "cmd"}, why: "tensor is the bottom layer"},
	{from: "kernels", banned: []string{"ann", "servable", "graph", "loader", "server", "cmd"}, why: "kernels know nothing above them"},
	{from: "ann", banned: []string{"kernels", "servable", "graph", "loader", "server", "cmd"}, why: "ann knows nothing above it"},
	{from: "servable", banned: []string{"graph", "loader", "server", "cmd"}, why: "servable is the contract every layer shares"},
	{from: "graph", banned: []string{"loader", "server", "cmd"}, why: "graph does not know loader or server"},
	{from: "loader", banned: []string{"server", "cmd"}, why: "loader does not know server"},
	{from: "server", banned: []string{"cmd"}, why: "cmd holds thin binaries"},
	{from: "server", banned: []string{"graph", "kernels"}, direct: true, why: "server reaches models through servable, not graph internals"},
}

// under reports whether pkg (module-relative) is prefix or below it.
func under(pkg, prefix string) bool {
	return pkg == prefix || strings.HasPrefix(pkg, prefix+"/")
}

// packages maps each module package (module-relative) to its imports or
// deps (module-relative, module packages only).
func packages(t *testing.T, field string) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join ."+field+" \" \"}}", module+"...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	m := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		pkg := strings.TrimPrefix(f[0], module)
		m[pkg] = nil
		for _, d := range f[1:] {
			if strings.HasPrefix(d, module) {
				m[pkg] = append(m[pkg], strings.TrimPrefix(d, module))
			}
		}
	}
	if len(m) < 20 {
		t.Fatalf("go list found %d packages; want the whole module", len(m))
	}
	return m
}

// violations lists "pkg -> dep (why)" for every broken rule.
func violations(imports, deps map[string][]string) []string {
	var out []string
	for _, r := range rules {
		graph := deps
		if r.direct {
			graph = imports
		}
		for pkg, ds := range graph {
			if !under(pkg, r.from) {
				continue
			}
			for _, d := range ds {
				for _, b := range r.banned {
					if under(d, b) {
						out = append(out, pkg+" -> "+d+" ("+r.why+")")
					}
				}
			}
		}
	}
	return out
}

func TestImportsGoDown(t *testing.T) {
	for _, v := range violations(packages(t, "Imports"), packages(t, "Deps")) {
		t.Error(v)
	}
}

// TestRulesCatchUpwardImports checks the checker on a made-up graph.
func TestRulesCatchUpwardImports(t *testing.T) {
	imports := map[string][]string{
		"kernels/gemm":   {"tensor"},
		"loader/source":  {"server/status"},
		"server/restapi": {"graph/fuse", "servable"},
		"graphics":       {"loader"}, // not under graph
	}
	got := violations(imports, imports)
	want := []string{
		"loader/source -> server/status (loader does not know server)",
		"server/restapi -> graph/fuse (server reaches models through servable, not graph internals)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
