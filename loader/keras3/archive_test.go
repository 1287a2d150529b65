package keras3

import (
	"archive/zip"
	"bytes"
	"strings"
	"testing"
)

func zipOf(t *testing.T, members map[string]string, method uint16) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, data := range members {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestReadArchive(t *testing.T) {
	good := map[string]string{"config.json": `{"class_name":"Sequential"}`, "metadata.json": `{"keras_version":"3.6.0"}`, "model.weights.h5": "HDF"}
	for _, method := range []uint16{zip.Store, zip.Deflate} {
		z := zipOf(t, good, method)
		a, err := readArchive(bytes.NewReader(z), int64(len(z)), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if string(a.config) != good["config.json"] || string(a.weights) != "HDF" || a.kerasVersion != "3.6.0" {
			t.Errorf("method %d: read %q %q %q", method, a.config, a.weights, a.kerasVersion)
		}
	}
	cases := []struct {
		members map[string]string
		lim     Limits
		want    string
	}{
		{map[string]string{"config.json": "{}", "metadata.json": "{}"}, Limits{}, "no model.weights.h5 member"},
		{map[string]string{"metadata.json": "{}", "model.weights.h5": "x"}, Limits{}, "no config.json member"},
		{map[string]string{"config.json": "{}", "metadata.json": `{"keras_version":"2.15.0"}`, "model.weights.h5": "x"}, Limits{}, "written by Keras 2.15.0"},
		{map[string]string{"config.json": strings.Repeat(" ", 100), "model.weights.h5": "x"}, Limits{MaxConfigBytes: 50}, "config.json is 100 bytes (limit 50)"},
		{map[string]string{"config.json": "{}", "model.weights.h5": strings.Repeat("w", 100)}, Limits{MaxWeightsBytes: 10}, "model.weights.h5 is 100 bytes (limit 10)"},
	}
	for _, c := range cases {
		z := zipOf(t, c.members, zip.Deflate)
		_, err := readArchive(bytes.NewReader(z), int64(len(z)), c.lim)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want %q", c.members, err, c.want)
		}
	}
	// Truncated: not a zip any more.
	z := zipOf(t, good, zip.Store)
	if _, err := readArchive(bytes.NewReader(z[:len(z)/2]), int64(len(z)/2), Limits{}); err == nil || !strings.Contains(err.Error(), ".keras archive") {
		t.Errorf("truncated: err = %v", err)
	}
}

// A member whose header understates its size fails cleanly, naming it
// (archive/zip checks the size it reads against the header; the limit
// bounds the read whatever the header says).
func TestReadArchiveLyingHeader(t *testing.T) {
	z := zipOf(t, map[string]string{"config.json": "{}", "model.weights.h5": strings.Repeat("w", 4096)}, zip.Store)
	// Patch the central directory's uncompressed size of the weights
	// member (stored: data follows the local header as is) to 16.
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if f.Name == "model.weights.h5" {
			f.UncompressedSize64 = 16
			if _, err := readMember(f, 100); err == nil || !strings.Contains(err.Error(), ".keras archive: model.weights.h5") {
				t.Errorf("err = %v", err)
			}
		}
	}
}
