package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/tfserve/tfserve/tensor"
)

// Metadata is the part of a TF Serving model metadata response
// (GET /v1/models/<name>[/versions/N]/metadata) that the load tester needs.
type Metadata struct {
	// Model is model_spec.name.
	Model string
	// Version is model_spec.version (a decimal string, may be empty).
	Version string
	// Signatures maps signature names to their definitions.
	Signatures map[string]Signature
}

// Signature is one SignatureDef of the metadata response.
type Signature struct {
	MethodName string
	Inputs     map[string]TensorSpec
	Outputs    map[string]TensorSpec
}

// TensorSpec describes one signature input or output.
type TensorSpec struct {
	// Name is the graph tensor name, e.g. "x:0".
	Name  string
	DType tensor.DType
	// Dims holds the dimension sizes; -1 means unknown. Empty with
	// UnknownRank false means a scalar.
	Dims        []int64
	UnknownRank bool
}

// SignatureNames returns the signature names in sorted order.
func (m *Metadata) SignatureNames() []string {
	names := make([]string, 0, len(m.Signatures))
	for n := range m.Signatures {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// protoInt64 decodes a proto-JSON int64, which is printed as a string
// ("-1") but may also appear as a plain number.
type protoInt64 int64

func (p *protoInt64) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if s == "null" {
		return nil
	}
	if len(s) >= 2 && s[0] == '"' {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		s = str
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("int64 %q: %w", s, err)
	}
	*p = protoInt64(v)
	return nil
}

// protoDType decodes a DataType enum printed either as its name
// ("DT_FLOAT") or as its number.
type protoDType tensor.DType

func (p *protoDType) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if s == "null" {
		return nil
	}
	if len(s) >= 2 && s[0] == '"' {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		d, ok := tensor.ParseDType(str)
		if !ok {
			return fmt.Errorf("unknown dtype %q", str)
		}
		*p = protoDType(d)
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return fmt.Errorf("dtype %s: %w", s, err)
	}
	*p = protoDType(v)
	return nil
}

type jsonTensorInfo struct {
	Name        string     `json:"name"`
	DType       protoDType `json:"dtype"`
	TensorShape struct {
		Dim []struct {
			Size protoInt64 `json:"size"`
			Name string     `json:"name"`
		} `json:"dim"`
		UnknownRank bool `json:"unknown_rank"`
	} `json:"tensor_shape"`
}

type jsonSignatureDef struct {
	Inputs     map[string]jsonTensorInfo `json:"inputs"`
	Outputs    map[string]jsonTensorInfo `json:"outputs"`
	MethodName string                    `json:"method_name"`
}

type jsonMetadata struct {
	ModelSpec struct {
		Name    string     `json:"name"`
		Version protoInt64 `json:"version"`
	} `json:"model_spec"`
	Metadata struct {
		SignatureDef *struct {
			SignatureDef map[string]jsonSignatureDef `json:"signature_def"`
		} `json:"signature_def"`
	} `json:"metadata"`
}

// ParseMetadata parses a TF Serving REST metadata response.
func ParseMetadata(data []byte) (*Metadata, error) {
	var jm jsonMetadata
	if err := json.Unmarshal(data, &jm); err != nil {
		return nil, fmt.Errorf("parse model metadata: %w", err)
	}
	if jm.Metadata.SignatureDef == nil {
		return nil, errors.New("parse model metadata: no metadata.signature_def field")
	}
	md := &Metadata{
		Model:      jm.ModelSpec.Name,
		Signatures: make(map[string]Signature, len(jm.Metadata.SignatureDef.SignatureDef)),
	}
	if jm.ModelSpec.Version != 0 {
		md.Version = strconv.FormatInt(int64(jm.ModelSpec.Version), 10)
	}
	for name, sd := range jm.Metadata.SignatureDef.SignatureDef {
		sig := Signature{
			MethodName: sd.MethodName,
			Inputs:     make(map[string]TensorSpec, len(sd.Inputs)),
			Outputs:    make(map[string]TensorSpec, len(sd.Outputs)),
		}
		for k, ti := range sd.Inputs {
			sig.Inputs[k] = ti.spec()
		}
		for k, ti := range sd.Outputs {
			sig.Outputs[k] = ti.spec()
		}
		md.Signatures[name] = sig
	}
	return md, nil
}

func (ti jsonTensorInfo) spec() TensorSpec {
	ts := TensorSpec{Name: ti.Name, DType: tensor.DType(ti.DType), UnknownRank: ti.TensorShape.UnknownRank}
	if !ts.UnknownRank {
		ts.Dims = make([]int64, len(ti.TensorShape.Dim))
		for i, d := range ti.TensorShape.Dim {
			ts.Dims[i] = int64(d.Size)
		}
	}
	return ts
}

// MetadataURL derives the metadata URL from a predict (or classify/regress)
// URL: http://h:8501/v1/models/m/versions/2:predict becomes
// http://h:8501/v1/models/m/versions/2/metadata.
func MetadataURL(predictURL string) (string, error) {
	u, err := url.Parse(predictURL)
	if err != nil {
		return "", fmt.Errorf("parse url %q: %w", predictURL, err)
	}
	p := u.Path
	i := strings.LastIndex(p, ":")
	if i < 0 || !strings.Contains(p, "/v1/models/") {
		return "", fmt.Errorf("url %q is not a /v1/models/<name>...:<verb> URL", predictURL)
	}
	// Versions and labels stay: the metadata endpoint accepts both.
	u.Path = p[:i] + "/metadata"
	u.RawPath = ""
	u.RawQuery = ""
	return u.String(), nil
}

// FetchMetadata GETs url and returns the body of a 200 response.
func FetchMetadata(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("metadata request %s: %w", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get metadata %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("read metadata %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("get metadata %s: HTTP %d: %s", url, resp.StatusCode, truncate(string(body), 200))
	}
	return body, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
