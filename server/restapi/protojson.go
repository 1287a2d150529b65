package restapi

import (
	"maps"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/server/manager"
)

// pjWriter writes JSON the way protobuf's C++ JSON printer does with
// add_whitespace: one space of indent per level, `"key": value`, empty
// objects and arrays as {} and [].
type pjWriter struct {
	buf   []byte
	depth int
	first []bool // per open container: no element written yet
}

func (w *pjWriter) newline() {
	w.buf = append(w.buf, '\n')
	for range w.depth {
		w.buf = append(w.buf, ' ')
	}
}

// elem starts a new element of the current container.
func (w *pjWriter) elem() {
	if len(w.first) == 0 {
		return
	}
	if !w.first[len(w.first)-1] {
		w.buf = append(w.buf, ',')
	}
	w.first[len(w.first)-1] = false
	w.newline()
}

func (w *pjWriter) open(c byte) {
	w.buf = append(w.buf, c)
	w.depth++
	w.first = append(w.first, true)
}

func (w *pjWriter) close(c byte) {
	empty := w.first[len(w.first)-1]
	w.first = w.first[:len(w.first)-1]
	w.depth--
	if !empty {
		w.newline()
	}
	w.buf = append(w.buf, c)
}

func (w *pjWriter) key(k string) {
	w.elem()
	w.buf = appendProtoJSONString(w.buf, k)
	w.buf = append(w.buf, ':', ' ')
}

func (w *pjWriter) str(k, v string) {
	w.key(k)
	w.buf = appendProtoJSONString(w.buf, v)
}

func (w *pjWriter) boolean(k string, v bool) {
	w.key(k)
	w.buf = strconv.AppendBool(w.buf, v)
}

// appendProtoJSONString quotes s as protobuf's JSON printer does: '"' and
// '\\' escaped, control characters as \b \f \n \r \t or \u00XX, '<' and '>'
// as \u003c and \u003e, invalid UTF-8 bytes replaced by U+FFFD.
func appendProtoJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, "\ufffd"...)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
			continue
		}
		switch c {
		case '"':
			b = append(b, '\\', '"')
		case '\\':
			b = append(b, '\\', '\\')
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '<', '>':
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			if c < 0x20 || c == 0x7f {
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			} else {
				b = append(b, c)
			}
		}
		i++
	}
	return append(b, '"')
}

// appendStatusJSON writes a GetModelStatusResponse as TF Serving's REST
// status endpoint prints it (int64 as strings, enums by name).
func appendStatusJSON(b []byte, sts []manager.VersionStatus) []byte {
	w := pjWriter{buf: b}
	w.open('{')
	writeVersionStatus(&w, sts)
	w.close('}')
	return append(w.buf, '\n')
}

// writeVersionStatus writes the "model_version_status" member of a
// GetModelStatusResponse.
func writeVersionStatus(w *pjWriter, sts []manager.VersionStatus) {
	w.key("model_version_status")
	w.open('[')
	for _, st := range sts {
		w.elem()
		w.open('{')
		w.str("version", strconv.FormatInt(st.Version, 10))
		w.str("state", st.State.String())
		w.key("status")
		w.open('{')
		w.str("error_code", st.Code.String())
		w.str("error_message", st.Message)
		w.close('}')
		w.close('}')
	}
	w.close(']')
}

// appendMetadataJSON writes a GetModelMetadataResponse as TF Serving's
// ToJsonString does: it prints model_spec and the SignatureDefMap separately
// and concatenates them into
//
//	{
//	"model_spec":<model spec>,
//	"metadata": {"signature_def": <signature def map>}
//	}
func appendMetadataJSON(b []byte, name string, version int64, sigs map[string]*servable.Signature) []byte {
	b = append(b, "{\n\"model_spec\":"...)
	w := pjWriter{buf: b}
	w.open('{')
	w.str("name", name)
	w.str("signature_name", "")
	w.str("version", strconv.FormatInt(version, 10))
	w.close('}')
	b = append(w.buf, ",\n\"metadata\": {\"signature_def\": "...)

	w = pjWriter{buf: b}
	w.open('{')
	w.key("signature_def")
	w.open('{')
	for _, k := range slices.Sorted(maps.Keys(sigs)) {
		s := sigs[k]
		w.key(k)
		w.open('{')
		w.key("inputs")
		writeTensorInfoMap(&w, s.Inputs)
		w.key("outputs")
		writeTensorInfoMap(&w, s.Outputs)
		w.str("method_name", s.MethodName)
		if s.MethodName != "" {
			// TF Serving's own expected metadata (the *_metadata.json
			// test files) prints the empty defaults map for real
			// signatures but not for __saved_model_init_op.
			w.key("defaults")
			w.open('{')
			w.close('}')
		}
		w.close('}')
	}
	w.close('}')
	w.close('}')
	return append(w.buf, "}\n}\n"...)
}

func writeTensorInfoMap(w *pjWriter, m map[string]servable.TensorInfo) {
	w.open('{')
	for _, k := range slices.Sorted(maps.Keys(m)) {
		ti := m[k]
		w.key(k)
		w.open('{')
		w.str("dtype", ti.DType.String())
		// A TensorInfo stored without a tensor_shape prints without one:
		// a message field has presence, so always_print_fields_with_no_presence
		// does not print it (an unknown rank is a shape, printed as
		// "unknown_rank": true).
		if !ti.NoShape {
			w.key("tensor_shape")
			w.open('{')
			w.key("dim")
			w.open('[')
			if !ti.UnknownRank {
				for _, d := range ti.Dims {
					w.elem()
					w.open('{')
					w.str("size", strconv.FormatInt(d.Size, 10))
					w.str("name", d.Name)
					w.close('}')
				}
			}
			w.close(']')
			w.boolean("unknown_rank", ti.UnknownRank)
			w.close('}')
		}
		w.str("name", ti.Name)
		w.close('}')
	}
	w.close('}')
}
