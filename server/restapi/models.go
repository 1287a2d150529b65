package restapi

import (
	"slices"

	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/server/manager"
)

// ModelLister lists the served (configured) models by name
// (*manager.Manager implements it).
type ModelLister interface {
	Models() []string
}

// lister is Options.Lister, else Options.Models when it can list.
func (s *Server) lister() ModelLister {
	if s.opts.Lister != nil {
		return s.opts.Lister
	}
	if l, ok := s.opts.Models.(ModelLister); ok {
		return l
	}
	return nil
}

// isModelList reports whether r is GET /v1/models (any case, nothing
// after it), which TF Serving answers 400 "Missing model name in request."
// and we answer with the list of models.
func isModelList(r *route) bool {
	return r.kind == routeStatus && r.name == "" && !r.hasVersion && !r.hasLabel && !r.badVersion
}

// appendModelList answers GET /v1/models, our extension: every served
// model, sorted by name, with the versions and states GET
// /v1/models/{name} gives (GetModelStatusResponse, printed the same way):
//
//	{
//	 "models": [
//	  {
//	   "name": "a",
//	   "model_version_status": [ ... ]
//	  }
//	 ]
//	}
//
// A model with no version seen yet has an empty model_version_status.
func (s *Server) appendModelList(out []byte) ([]byte, error) {
	l := s.lister()
	if l == nil {
		return out, status.New(status.Unimplemented, "This server cannot list its models.")
	}
	names := slices.Clone(l.Models())
	slices.Sort(names)
	w := pjWriter{buf: out}
	w.open('{')
	w.key("models")
	w.open('[')
	for _, n := range names {
		sts, err := s.opts.Models.ModelStatus(manager.Spec{Name: n})
		if err != nil {
			sts = nil // no version yet, or removed since the list was made
		}
		w.elem()
		w.open('{')
		w.str("name", n)
		writeVersionStatus(&w, sts)
		w.close('}')
	}
	w.close(']')
	w.close('}')
	return append(w.buf, '\n'), nil
}
