package manager

import (
	"slices"

	"github.com/tfserve/tfserve/proto/servingpb"
)

// selectVersions applies a ServableVersionPolicy to the versions found on
// disk (FileSystemStoragePathSource): latest{N} (the default, N at least 1)
// keeps the N highest, all keeps every one, specific keeps those listed that
// exist. The result is sorted ascending.
func selectVersions(p *servingpb.FileSystemStoragePathSourceConfig_ServableVersionPolicy, found []int64) []int64 {
	vs := slices.Clone(found)
	slices.Sort(vs)
	vs = slices.Compact(vs)
	switch {
	case p.GetAll() != nil:
		return vs
	case p.GetSpecific() != nil:
		want := p.GetSpecific().GetVersions()
		out := vs[:0]
		for _, v := range vs {
			if slices.Contains(want, v) {
				out = append(out, v)
			}
		}
		return out
	}
	n := 1
	if l := p.GetLatest(); l != nil && l.GetNumVersions() > 1 {
		n = int(min(l.GetNumVersions(), uint32(len(vs)+1)))
	}
	if n > len(vs) {
		n = len(vs)
	}
	return vs[len(vs)-n:]
}
