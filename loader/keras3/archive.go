package keras3

import (
	"archive/zip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Limits bound what a .keras file may hold. Zero fields take the defaults.
type Limits struct {
	// MaxConfigBytes bounds config.json and metadata.json (default 16 MiB).
	MaxConfigBytes int64
	// MaxWeightsBytes bounds model.weights.h5 (default 4 GiB).
	MaxWeightsBytes int64
}

// Defaults for Limits' zero fields, and the most members an archive may
// list.
const (
	DefaultMaxConfigBytes  = 16 << 20
	DefaultMaxWeightsBytes = 4 << 30
	maxMembers             = 64
)

func (l Limits) withDefaults() Limits {
	if l.MaxConfigBytes <= 0 {
		l.MaxConfigBytes = DefaultMaxConfigBytes
	}
	if l.MaxWeightsBytes <= 0 {
		l.MaxWeightsBytes = DefaultMaxWeightsBytes
	}
	return l
}

// archive is what a .keras zip holds for serving.
type archive struct {
	config, weights []byte
	kerasVersion    string
}

// readArchive reads config.json, metadata.json and model.weights.h5 from a
// .keras zip of size bytes. Every member's declared size is checked against
// lim before it is read, and the reads stop at the limit whatever the
// header said; members are never extracted to disk.
func readArchive(r io.ReaderAt, size int64, lim Limits) (*archive, error) {
	lim = lim.withDefaults()
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf(".keras archive: %w", err)
	}
	if len(zr.File) > maxMembers {
		return nil, fmt.Errorf(".keras archive: %d members (limit %d)", len(zr.File), maxMembers)
	}
	members := map[string]*zip.File{}
	for _, f := range zr.File {
		members[strings.TrimPrefix(f.Name, "./")] = f
	}
	a := &archive{}
	var meta []byte
	for _, m := range []struct {
		name     string
		limit    int64
		dst      *[]byte
		required bool
	}{
		{"config.json", lim.MaxConfigBytes, &a.config, true},
		{"metadata.json", lim.MaxConfigBytes, &meta, false},
		{"model.weights.h5", lim.MaxWeightsBytes, &a.weights, true},
	} {
		f, ok := members[m.name]
		if !ok {
			if m.required {
				return nil, fmt.Errorf(".keras archive: no %s member (a Keras 3 model.save file holds config.json, metadata.json and model.weights.h5)", m.name)
			}
			continue
		}
		if *m.dst, err = readMember(f, m.limit); err != nil {
			return nil, err
		}
	}
	if meta != nil {
		var md struct {
			KerasVersion string `json:"keras_version"`
		}
		if err := json.Unmarshal(meta, &md); err != nil {
			return nil, fmt.Errorf(".keras archive: metadata.json: %w", err)
		}
		if md.KerasVersion != "" && !strings.HasPrefix(md.KerasVersion, "3.") {
			return nil, fmt.Errorf(".keras archive: written by Keras %s; only Keras 3 files are supported", md.KerasVersion)
		}
		a.kerasVersion = md.KerasVersion
	}
	return a, nil
}

// readMember reads one member within limit bytes.
func readMember(f *zip.File, limit int64) ([]byte, error) {
	if f.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf(".keras archive: %s is %d bytes (limit %d)", f.Name, f.UncompressedSize64, limit)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf(".keras archive: %s: %w", f.Name, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		if errors.Is(err, zip.ErrChecksum) {
			return nil, fmt.Errorf(".keras archive: %s is corrupt (checksum)", f.Name)
		}
		return nil, fmt.Errorf(".keras archive: %s: %w", f.Name, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf(".keras archive: %s holds more than its limit of %d bytes", f.Name, limit)
	}
	return data, nil
}
