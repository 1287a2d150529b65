package jsontensor

import (
	"math"
	"strconv"

	"github.com/tfserve/tfserve/servable/status"
)

// prettyWriter reproduces the bytes of rapidjson 1.1.0's PrettyWriter (four
// spaces of indent) that TF Serving writes every JSON response and error
// message with, including its kFormatSingleLineArray option, which TF Serving
// switches on and off in the middle of a document.
type prettyWriter struct {
	buf []byte
	// The open arrays and objects: the first eight in lv, deeper ones in
	// deep (inline, so that a writer on the stack stays there).
	lv    [8]pwLevel
	deep  []pwLevel
	depth int
	// single is kFormatSingleLineArray: array elements are separated by ", "
	// without newlines (objects still break lines).
	single bool
	// limit, when positive, emulates TF Serving's JsonWriterWithLimit: an
	// event is refused once the output holds limit bytes or more.
	limit int
	// max, when positive, bounds a response (--response_max_bytes): callers
	// check full() before each value and give up once it is passed.
	max  int64
	base int // length of buf before this writer started writing
}

// newPrettyWriter returns a writer appending to dst.
func newPrettyWriter(dst []byte) *prettyWriter {
	return &prettyWriter{buf: dst, base: len(dst)}
}

// top is the innermost open level (depth > 0).
func (w *prettyWriter) top() *pwLevel {
	if w.depth <= len(w.lv) {
		return &w.lv[w.depth-1]
	}
	return &w.deep[w.depth-1-len(w.lv)]
}

func (w *prettyWriter) push(l pwLevel) {
	if w.depth < len(w.lv) {
		w.lv[w.depth] = l
	} else {
		w.deep = append(w.deep[:w.depth-len(w.lv)], l)
	}
	w.depth++
}

func (w *prettyWriter) pop() pwLevel {
	l := *w.top()
	w.depth--
	return l
}

type pwLevel struct {
	inArray bool
	count   int
}

func (w *prettyWriter) ok() bool { return w.limit <= 0 || len(w.buf)-w.base < w.limit }

// full reports whether the output is past max.
func (w *prettyWriter) full() bool { return w.max > 0 && int64(len(w.buf)-w.base) > w.max }

// tooLarge is the error for output past max.
func (w *prettyWriter) tooLarge() error {
	return status.Errorf(status.InvalidArgument,
		"JSON response is larger than the limit of %d bytes (--response_max_bytes)", w.max)
}

func (w *prettyWriter) indent() {
	for range w.depth {
		w.buf = append(w.buf, "    "...)
	}
}

// grow makes room for one event (its indent and a short value) by doubling
// the buffer: append's own growth for large slices (1.25x) would allocate
// about five times the final size in all.
func (w *prettyWriter) grow() {
	need := 4*w.depth + 64
	if cap(w.buf)-len(w.buf) >= need {
		return
	}
	b := make([]byte, len(w.buf), 2*cap(w.buf)+need)
	copy(b, w.buf)
	w.buf = b
}

// prefix is rapidjson's PrettyPrefix.
func (w *prettyWriter) prefix() {
	w.grow()
	if w.depth == 0 {
		return
	}
	l := w.top()
	if l.inArray {
		if l.count > 0 {
			w.buf = append(w.buf, ',')
			if w.single {
				w.buf = append(w.buf, ' ')
			}
		}
		if !w.single {
			w.buf = append(w.buf, '\n')
			w.indent()
		}
	} else {
		if l.count > 0 {
			if l.count%2 == 0 {
				w.buf = append(w.buf, ",\n"...)
			} else {
				w.buf = append(w.buf, ": "...)
			}
		} else {
			w.buf = append(w.buf, '\n')
		}
		if l.count%2 == 0 {
			w.indent()
		}
	}
	l.count++
}

func (w *prettyWriter) startObject() {
	w.prefix()
	w.push(pwLevel{})
	w.buf = append(w.buf, '{')
}

func (w *prettyWriter) endObject() {
	l := w.pop()
	if l.count > 0 {
		w.buf = append(w.buf, '\n')
		w.indent()
	}
	w.buf = append(w.buf, '}')
}

func (w *prettyWriter) startArray() {
	w.prefix()
	w.push(pwLevel{inArray: true})
	w.buf = append(w.buf, '[')
}

func (w *prettyWriter) endArray() {
	l := w.pop()
	if l.count > 0 && !w.single {
		w.buf = append(w.buf, '\n')
		w.indent()
	}
	w.buf = append(w.buf, ']')
}

// raw writes a value's text as is (RawValue, Int, Bool, ...).
func (w *prettyWriter) raw(s string) {
	w.prefix()
	w.buf = append(w.buf, s...)
}

func (w *prettyWriter) rawBytes(s []byte) {
	w.prefix()
	w.buf = append(w.buf, s...)
}

func (w *prettyWriter) int64(v int64) {
	w.prefix()
	w.buf = strconv.AppendInt(w.buf, v, 10)
}

func (w *prettyWriter) uint64(v uint64) {
	w.prefix()
	w.buf = strconv.AppendUint(w.buf, v, 10)
}

func (w *prettyWriter) bool(v bool) {
	if v {
		w.raw("true")
	} else {
		w.raw("false")
	}
}

func (w *prettyWriter) float32(v float32) {
	w.prefix()
	w.buf = AppendFloat32(w.buf, v)
}

func (w *prettyWriter) float64(v float64) {
	w.prefix()
	w.buf = AppendFloat64(w.buf, v)
}

// seqSep returns the separator rapidjson writes between the elements of the
// innermost open array (", ", or ",\n" and the indent), in sep's storage;
// ok is false when that is not an array or the indent does not fit.
func (w *prettyWriter) seqSep(sep *[40]byte) ([]byte, bool) {
	if w.depth == 0 || !w.top().inArray {
		return nil, false
	}
	if w.single {
		return append(sep[:0], ',', ' '), true
	}
	if 2+4*w.depth > len(sep) {
		return nil, false
	}
	b := append(sep[:0], ',', '\n')
	for range w.depth {
		b = append(b, "    "...)
	}
	return b, true
}

// writeSeq writes the elements of v into the innermost open array, as one
// call of put per element would after prefix, checking full() before each;
// false when the output passed max. put should write at most 32 bytes
// (more is correct, only slower).
func writeSeq[T any](w *prettyWriter, v []T, put func([]byte, T) []byte) bool {
	var sepBuf [40]byte
	sep, ok := w.seqSep(&sepBuf)
	if !ok || len(v) == 0 {
		for _, x := range v {
			if w.full() {
				return false
			}
			w.prefix()
			w.buf = put(w.buf, x)
		}
		return true
	}
	if w.full() {
		return false
	}
	w.prefix()
	w.buf = put(w.buf, v[0])
	need := len(sep) + 32
	for _, x := range v[1:] {
		if w.full() {
			return false
		}
		if cap(w.buf)-len(w.buf) < need {
			w.grow()
		}
		w.buf = append(w.buf, sep...)
		w.buf = put(w.buf, x)
	}
	w.top().count += len(v) - 1
	return true
}

// float32s is writeSeq for float32 values, with the formatter called
// directly.
func (w *prettyWriter) float32s(v []float32) bool {
	var sepBuf [40]byte
	sep, ok := w.seqSep(&sepBuf)
	if !ok || len(v) == 0 {
		return writeSeq(w, v, AppendFloat32)
	}
	if w.full() {
		return false
	}
	w.prefix()
	w.buf = AppendFloat32(w.buf, v[0])
	need := len(sep) + 32
	for _, x := range v[1:] {
		if w.full() {
			return false
		}
		if cap(w.buf)-len(w.buf) < need {
			w.grow()
		}
		if w.single {
			w.buf = append(w.buf, ',', ' ')
		} else {
			w.buf = append(w.buf, sep...)
		}
		w.buf = AppendFloat32(w.buf, x)
	}
	w.top().count += len(v) - 1
	return true
}

// string writes a string (or an object key) escaped as rapidjson's Writer
// does: '"', '\\' and control bytes are escaped (\b \t \n \f \r, others as
// \u00XX with upper-case hex); all other bytes, including '/', DEL and
// invalid UTF-8, are copied unchanged.
func (w *prettyWriter) string(s []byte) {
	w.prefix()
	w.buf = appendJSONString(w.buf, s)
}

func (w *prettyWriter) stringS(s string) {
	w.prefix()
	w.buf = appendJSONString(w.buf, s)
}

const hexUpper = "0123456789ABCDEF"

func appendJSONString[S ~string | ~[]byte](b []byte, s S) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"':
			b = append(b, '\\', '"')
		case '\\':
			b = append(b, '\\', '\\')
		case '\b':
			b = append(b, '\\', 'b')
		case '\t':
			b = append(b, '\\', 't')
		case '\n':
			b = append(b, '\\', 'n')
		case '\f':
			b = append(b, '\\', 'f')
		case '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, '\\', 'u', '0', '0', hexUpper[c>>4], hexUpper[c&0xF])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// debugLimit is TF Serving's kMaxJsonDebugStringBytes.
const debugLimit = 256

// debugString renders value i as TF Serving's JsonValueToDebugString does:
// a single-line-array PrettyWriter that stops at the first event once 256
// bytes are written, and at the first NaN or infinity (rapidjson's Writer
// refuses to write them, after writing the separator before them).
func (d *document) debugString(i int) string {
	w := newPrettyWriter(nil)
	w.single, w.limit = true, debugLimit
	d.accept(w, i)
	return string(w.buf)
}

// accept writes value i as rapidjson's Document::Accept does, without
// recursion: it stops (returns) at the first event once w.ok() fails and at
// the first NaN or infinity.
func (d *document) accept(w *prettyWriter, i int) {
	type open struct {
		obj  bool
		left uint32 // members or elements not yet written
		next int    // node of the next member's key or next element
	}
	var stack []open
	for {
		if !w.ok() {
			return
		}
		n := &d.nodes[i]
		switch n.kind {
		case kNull:
			w.raw("null")
		case kFalse:
			w.raw("false")
		case kTrue:
			w.raw("true")
		case kString:
			w.string(d.str(i))
		case kNumber:
			switch {
			case n.flags&fDouble != 0:
				v := math.Float64frombits(n.v)
				w.prefix()
				if math.IsNaN(v) || math.IsInf(v, 0) {
					return
				}
				w.buf = appendRapidJSONDouble(w.buf, v)
			case n.flags&fInt64 != 0:
				w.int64(int64(n.v))
			default:
				w.uint64(n.v)
			}
		case kArray:
			w.startArray()
			stack = append(stack, open{left: n.n, next: i + 1})
		case kObject:
			w.startObject()
			stack = append(stack, open{obj: true, left: n.n, next: i + 1})
		}
		// Close finished containers, then move to the next value.
		for {
			if len(stack) == 0 {
				return
			}
			f := &stack[len(stack)-1]
			if f.left == 0 {
				if !w.ok() {
					return
				}
				if f.obj {
					w.endObject()
				} else {
					w.endArray()
				}
				stack = stack[:len(stack)-1]
				continue
			}
			f.left--
			i = f.next
			if f.obj {
				if !w.ok() {
					return
				}
				w.string(d.str(i))
				i++
			}
			f.next = d.next(i)
			break
		}
	}
}

// appendRapidJSONDouble formats v as rapidjson's Writer::Double (dtoa with
// maxDecimalPlaces 324): Grisu2 digits, then "Prettify". This text only
// appears inside error messages.
func appendRapidJSONDouble(b []byte, v float64) []byte {
	if v == 0 {
		if math.Signbit(v) {
			return append(b, "-0.0"...)
		}
		return append(b, "0.0"...)
	}
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	var scratch [32]byte
	digits, k := grisu2(scratch[:0], v)
	length := len(digits)
	kk := length + k
	switch {
	case k >= 0 && kk <= 21:
		b = append(b, digits...)
		for range kk - length {
			b = append(b, '0')
		}
		return append(b, ".0"...)
	case kk > 0 && kk <= 21:
		b = append(b, digits[:kk]...)
		b = append(b, '.')
		return append(b, digits[kk:]...)
	case kk > -6 && kk <= 0:
		b = append(b, "0."...)
		for range -kk {
			b = append(b, '0')
		}
		return append(b, digits...)
	case kk < -324:
		return append(b, "0.0"...)
	case length == 1:
		b = append(b, digits[0], 'e')
		return strconv.AppendInt(b, int64(kk-1), 10)
	default:
		b = append(b, digits[0], '.')
		b = append(b, digits[1:]...)
		b = append(b, 'e')
		return strconv.AppendInt(b, int64(kk-1), 10)
	}
}
