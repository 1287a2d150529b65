package manager

import (
	"net/url"
	"path"
	"path/filepath"
	"strings"

	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/servable/redact"
	"github.com/tfserve/tfserve/servable/status"
)

// BasePathPolicy is --allowed_model_base_paths: the prefixes that model base
// paths must lie under. A nil policy allows every base path.
type BasePathPolicy struct {
	prefixes []location
	shown    string // the prefixes as given, for error messages
}

// location is a base path reduced to what is compared: the lower-cased
// scheme ("" and "file" both mean a local path, stored as ""), the
// lower-cased host, and the cleaned, percent-decoded path. User info, query
// and fragment are dropped.
type location struct {
	scheme, host, path string
}

// NewBasePathPolicy parses the prefixes of --allowed_model_base_paths. No
// prefixes: nil, which allows any base path.
func NewBasePathPolicy(prefixes []string) (*BasePathPolicy, error) {
	var p BasePathPolicy
	for _, s := range prefixes {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		loc, err := parseLocation(s)
		if err != nil {
			return nil, status.New(status.InvalidArgument, "--allowed_model_base_paths: prefix "+
				redact.String(s)+": "+err.Error())
		}
		p.prefixes = append(p.prefixes, loc)
	}
	if len(p.prefixes) == 0 {
		return nil, nil
	}
	p.shown = redact.String(strings.Join(prefixes, ","))
	return &p, nil
}

// Allows reports whether basePath lies under one of the prefixes.
func (p *BasePathPolicy) Allows(basePath string) bool {
	if p == nil {
		return true
	}
	loc, err := parseLocation(basePath)
	if err != nil {
		return false
	}
	for _, pre := range p.prefixes {
		if pre.contains(loc) {
			return true
		}
	}
	return false
}

// CheckConfig refuses a config that names a base path outside the
// prefixes, with PERMISSION_DENIED naming the model, the (redacted) path and
// the flag.
func (p *BasePathPolicy) CheckConfig(list *servingpb.ModelConfigList) error {
	if p == nil {
		return nil
	}
	for _, mc := range list.GetConfig() {
		if !p.Allows(mc.GetBasePath()) {
			return status.New(status.PermissionDenied, "base path "+redact.String(mc.GetBasePath())+
				" of model "+mc.GetName()+" is not under --allowed_model_base_paths="+p.shown)
		}
	}
	return nil
}

func parseLocation(s string) (location, error) {
	scheme := ""
	if i := strings.IndexByte(s, ':'); i > 1 && !strings.ContainsAny(s[:i], "/\\") {
		scheme = strings.ToLower(s[:i])
	}
	if scheme == "" {
		if !filepath.IsAbs(s) {
			return location{}, errString("not an absolute path or URI")
		}
		return location{path: cleanPath(s)}, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return location{}, errString("not a URI")
	}
	if scheme == "file" {
		if u.Host != "" && u.Host != "localhost" {
			return location{}, errString("file URI with a remote host")
		}
		if !path.IsAbs(u.Path) {
			return location{}, errString("not an absolute path")
		}
		return location{path: cleanPath(u.Path)}, nil
	}
	p := u.Path
	if u.Opaque != "" {
		p = u.Opaque
	}
	return location{scheme: scheme, host: strings.ToLower(u.Host), path: cleanPath(p)}, nil
}

// cleanPath resolves "." and ".." (never above the root) and drops a
// trailing slash, so that "/models/../etc" is "/etc".
func cleanPath(p string) string {
	if p == "" {
		return ""
	}
	c := path.Clean("/" + strings.ReplaceAll(p, "\\", "/"))
	if c == "/" {
		return ""
	}
	return c
}

// contains reports whether loc is pre or under it (by whole path elements:
// "/models" contains "/models/a", not "/models2").
func (pre location) contains(loc location) bool {
	if pre.scheme != loc.scheme {
		return false
	}
	if pre.host == "" && pre.path == "" {
		return true // "s3://", "models:/": the whole scheme
	}
	if pre.host != loc.host {
		return false
	}
	return pre.path == "" || loc.path == pre.path || strings.HasPrefix(loc.path, pre.path+"/")
}

type errString string

func (e errString) Error() string { return string(e) }
