package mlflow

import (
	"fmt"
	"strconv"
	"strings"
)

// Selector says how a models:/ URI picks a version.
type Selector int

const (
	// ByVersion: models:/name/3
	ByVersion Selector = iota + 1
	// ByLatest: models:/name/latest, the largest version number.
	ByLatest
	// ByStage: models:/name/Production, the latest version in the stage.
	ByStage
	// ByAlias: models:/name@champion
	ByAlias
)

// ModelURI is a parsed models:/ URI.
type ModelURI struct {
	Name     string
	Selector Selector
	Version  int64  // ByVersion
	Stage    string // ByStage, canonical spelling ("Production")
	Alias    string // ByAlias
}

func (m ModelURI) String() string {
	switch m.Selector {
	case ByVersion:
		return fmt.Sprintf("models:/%s/%d", m.Name, m.Version)
	case ByLatest:
		return "models:/" + m.Name + "/latest"
	case ByStage:
		return "models:/" + m.Name + "/" + m.Stage
	case ByAlias:
		return "models:/" + m.Name + "@" + m.Alias
	}
	return "models:/" + m.Name
}

// stages are MLflow's registry stages, keyed by lower case.
var stages = map[string]string{
	"none":       "None",
	"staging":    "Staging",
	"production": "Production",
	"archived":   "Archived",
}

// ParseURI parses an MLflow registry URI the way MLflow does
// (store/artifact/utils/models.py): models:/<name>/<version>,
// models:/<name>/latest, models:/<name>/<stage> (case-insensitive) and
// models:/<name>@<alias>. MLflow 3 models:/<model_id> URIs and URIs naming a
// registry in the authority (models://profile@databricks/...) are rejected.
func ParseURI(uri string) (ModelURI, error) {
	fail := func(why string) (ModelURI, error) {
		return ModelURI{}, fmt.Errorf("invalid MLflow model URI %q: %s", uri, why)
	}
	scheme, rest, ok := strings.Cut(uri, ":")
	if !ok || !strings.EqualFold(scheme, "models") {
		return fail("want models:/<name>/<version|stage|latest> or models:/<name>@<alias>")
	}
	if strings.HasPrefix(rest, "//") {
		return fail("a registry in the URI authority is not supported; set MLFLOW_TRACKING_URI instead")
	}
	if strings.ContainsAny(rest, "?#") {
		return fail("query strings and fragments are not allowed")
	}
	if !strings.HasPrefix(rest, "/") || len(rest) <= 1 {
		return fail("the path must start with / and name a model")
	}
	// Like MLflow (urllib.parse.urlparse), the path is not percent-decoded.
	parts := strings.Split(rest[1:], "/")
	if len(parts) > 2 || strings.TrimSpace(parts[0]) == "" {
		return fail("want models:/<name>/<version|stage|latest> or models:/<name>@<alias>")
	}
	if len(parts) == 2 {
		name, suffix := parts[0], parts[1]
		if strings.TrimSpace(suffix) == "" {
			return fail("empty version or stage")
		}
		if isDigits(suffix) {
			v, err := strconv.ParseInt(suffix, 10, 64)
			if err != nil {
				return fail("version number out of range")
			}
			return ModelURI{Name: name, Selector: ByVersion, Version: v}, nil
		}
		if strings.EqualFold(suffix, "latest") {
			return ModelURI{Name: name, Selector: ByLatest}, nil
		}
		stage, ok := stages[strings.ToLower(suffix)]
		if !ok {
			return fail(fmt.Sprintf("unknown stage %q (want a version number, latest, None, Staging, Production or Archived)", suffix))
		}
		return ModelURI{Name: name, Selector: ByStage, Stage: stage}, nil
	}
	i := strings.LastIndexByte(parts[0], '@')
	if i < 0 || strings.TrimSpace(parts[0][i+1:]) == "" {
		return fail("models:/<model_id> (MLflow 3 logged models) is not supported; use models:/<name>/<version> or models:/<name>@<alias>")
	}
	name, alias := parts[0][:i], parts[0][i+1:]
	if strings.TrimSpace(name) == "" {
		return fail("empty model name")
	}
	return ModelURI{Name: name, Selector: ByAlias, Alias: alias}, nil
}

// isDigits reports whether s is non-empty ASCII digits (Python's
// str.isdigit also accepts other Unicode digits, which MLflow then fails to
// parse as a version; here they are stage names and rejected as unknown).
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
