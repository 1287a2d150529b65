package jsontensor

import (
	"bytes"
	"math"
	"strconv"

	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/servable/status"
)

// This file holds a JSON parser that accepts exactly what TF Serving's
// parser accepts and fails with the same messages and offsets. TF Serving
// parses request bodies with rapidjson 1.1.0 (kParseIterativeFlag |
// kParseNanAndInfFlag | kParseStopWhenDoneFlag) into a DOM; we build a flat,
// pre-order DOM (one node per value, object keys as string nodes before their
// values) in one pass and without recursion, so deep nesting cannot exhaust
// the stack. Nesting deeper than a limit (--request_max_json_depth) fails,
// and the node array is sized once by a pre-pass (countNodes), so parsing
// allocates at most 16 bytes per 2 input bytes for nodes, plus the decoded
// bytes of strings with escapes.

type kind uint8

const (
	kNull kind = iota
	kFalse
	kTrue
	kObject
	kArray
	kString
	kNumber
)

// Node flags. The number flags mirror rapidjson's GenericValue flags, which
// decide IsInt/IsUint/IsInt64/IsUint64/IsDouble.
const (
	fInt uint8 = 1 << iota
	fUint
	fInt64
	fUint64
	fDouble
	fArena // string bytes live in document.arena instead of document.body
)

// nodeBytes is the size of a node, for memory accounting.
const nodeBytes = 16

type node struct {
	kind  kind
	flags uint8
	// n is the element count (array), member count (object) or byte length
	// (string).
	n uint32
	// v holds a number's bits (uint64 for integers, IEEE bits for doubles),
	// a string's offset into body or arena, or, for an array or object, the
	// index of the first node after its subtree.
	v uint64
}

type document struct {
	body  []byte
	nodes []node
	arena []byte
}

// Parse error codes and their rapidjson GetParseError_En texts.
type parseErrCode uint8

const (
	errNone parseErrCode = iota
	errDocumentEmpty
	errRootNotSingular
	errValueInvalid
	errObjectMissName
	errObjectMissColon
	errObjectMissCommaOrCurlyBracket
	errArrayMissCommaOrSquareBracket
	errStringUnicodeEscapeInvalidHex
	errStringUnicodeSurrogateInvalid
	errStringEscapeInvalid
	errStringMissQuotationMark
	errNumberTooBig
	errNumberMissFraction
	errNumberMissExponent
	errDepth // nesting deeper than the parser's maxDepth (not rapidjson's)
)

var parseErrText = [...]string{
	errNone:                          "No error.",
	errDocumentEmpty:                 "The document is empty.",
	errRootNotSingular:               "The document root must not be followed by other values.",
	errValueInvalid:                  "Invalid value.",
	errObjectMissName:                "Missing a name for object member.",
	errObjectMissColon:               "Missing a colon after a name of object member.",
	errObjectMissCommaOrCurlyBracket: "Missing a comma or '}' after an object member.",
	errArrayMissCommaOrSquareBracket: "Missing a comma or ']' after an array element.",
	errStringUnicodeEscapeInvalidHex: "Incorrect hex digit after \\u escape in string.",
	errStringUnicodeSurrogateInvalid: "The surrogate pair in string is invalid.",
	errStringEscapeInvalid:           "Invalid escape character in string.",
	errStringMissQuotationMark:       "Missing a closing quotation mark in string.",
	errNumberTooBig:                  "Number too big to be stored in double.",
	errNumberMissFraction:            "Miss fraction part in number.",
	errNumberMissExponent:            "Miss exponent in number.",
	errDepth:                         "",
}

// Iterative parser states (rapidjson IterativeParsingState).
type pstate uint8

const (
	stStart pstate = iota
	stFinish
	stError
	stObjectInitial
	stMemberKey
	stKeyValueDelimiter
	stMemberValue
	stMemberDelimiter
	stObjectFinish
	stArrayInitial
	stElement
	stElementDelimiter
	stArrayFinish
	stValue
)

// Tokens (rapidjson Token), decided by one lookahead byte.
type token uint8

const (
	tLeftBracket token = iota
	tRightBracket
	tLeftCurly
	tRightCurly
	tComma
	tColon
	tString
	tFalse
	tTrue
	tNull
	tNumber
)

func tokenize(c byte) token {
	switch c {
	case '[':
		return tLeftBracket
	case ']':
		return tRightBracket
	case '{':
		return tLeftCurly
	case '}':
		return tRightCurly
	case ',':
		return tComma
	case ':':
		return tColon
	case '"':
		return tString
	case 'f':
		return tFalse
	case 't':
		return tTrue
	case 'n':
		return tNull
	}
	return tNumber
}

func isScalarToken(t token) bool { return t >= tString }

// predict is rapidjson's state transition table G.
func predict(s pstate, t token) pstate {
	switch s {
	case stStart:
		switch {
		case t == tLeftBracket:
			return stArrayInitial
		case t == tLeftCurly:
			return stObjectInitial
		case isScalarToken(t):
			return stValue
		}
	case stObjectInitial:
		switch t {
		case tRightCurly:
			return stObjectFinish
		case tString:
			return stMemberKey
		}
	case stMemberKey:
		if t == tColon {
			return stKeyValueDelimiter
		}
	case stKeyValueDelimiter:
		switch {
		case t == tLeftBracket:
			return stArrayInitial
		case t == tLeftCurly:
			return stObjectInitial
		case isScalarToken(t):
			return stMemberValue
		}
	case stMemberValue:
		switch t {
		case tRightCurly:
			return stObjectFinish
		case tComma:
			return stMemberDelimiter
		}
	case stMemberDelimiter:
		switch t {
		case tRightCurly:
			return stObjectFinish
		case tString:
			return stMemberKey
		}
	case stArrayInitial, stElementDelimiter:
		switch {
		case t == tLeftBracket:
			return stArrayInitial
		case t == tRightBracket:
			return stArrayFinish
		case t == tLeftCurly:
			return stObjectInitial
		case isScalarToken(t):
			return stElement
		}
	case stElement:
		switch t {
		case tRightBracket:
			return stArrayFinish
		case tComma:
			return stElementDelimiter
		}
	}
	return stError
}

type frame struct {
	ret  pstate // state to resume in when this container closes
	node uint32 // index of the container's node
}

type parser struct {
	body     []byte
	pos      int
	doc      *document
	stack    []frame
	maxDepth int
	errc     parseErrCode
	errOff   int
}

func (p *parser) peek() byte {
	if p.pos < len(p.body) {
		return p.body[p.pos]
	}
	return 0
}

func (p *parser) consume(c byte) bool {
	if p.pos < len(p.body) && p.body[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

func (p *parser) fail(c parseErrCode, off int) {
	if p.errc == errNone {
		p.errc = c
		p.errOff = off
	}
}

func (p *parser) skipWS() {
	for p.pos < len(p.body) {
		switch p.body[p.pos] {
		case ' ', '\n', '\r', '\t':
			p.pos++
		default:
			return
		}
	}
}

// addValue appends a node for a completed value and counts it in its parent.
func (p *parser) addValue(n node) {
	p.doc.nodes = append(p.doc.nodes, n)
	p.countInParent()
}

func (p *parser) countInParent() {
	if k := len(p.stack); k > 0 {
		p.doc.nodes[p.stack[k-1].node].n++
	}
}

// parseJSON parses body as TF Serving's ParseJson does, including its check
// that the top-level value is an object. Arrays and objects nested more than
// maxDepth deep (the top-level object counts as 1) fail with an error naming
// --request_max_json_depth.
func parseJSON(body []byte, maxDepth int) (*document, error) {
	if len(body) == 0 {
		return nil, status.New(status.InvalidArgument, "JSON Parse error: The document is empty")
	}
	if len(body) > math.MaxUint32 {
		return nil, status.New(status.InvalidArgument, "JSON Parse error: request body too large")
	}
	doc, errc, errOff := parseDocument(body, maxDepth, false)
	if errc != errNone {
		return nil, parseError(errc, errOff, maxDepth)
	}
	if doc.nodes[0].kind != kObject {
		return nil, status.New(status.InvalidArgument, "JSON Value: "+doc.debugString(0)+" Is not object")
	}
	return doc, nil
}

// parseError is a failed parse's INVALID_ARGUMENT: "JSON Parse error:
// <rapidjson's text> at offset: N", or the --request_max_json_depth limit.
func parseError(errc parseErrCode, errOff, maxDepth int) error {
	if errc == errDepth {
		return status.New(status.InvalidArgument, "JSON Parse error: "+
			limits.Invalid("JSON nesting depth", int64(maxDepth)+1, int64(maxDepth), "request_max_json_depth").Error()+
			" at offset: "+strconv.Itoa(errOff))
	}
	return status.New(status.InvalidArgument,
		"JSON Parse error: "+parseErrText[errc]+" at offset: "+strconv.Itoa(errOff))
}

// parseDocument runs the parser; on failure it returns rapidjson's error
// code and offset. whole also requires nothing but whitespace after the
// top-level value (TF Serving's kParseStopWhenDoneFlag does not).
func parseDocument(body []byte, maxDepth int, whole bool) (*document, parseErrCode, int) {
	doc := &document{body: body, nodes: make([]node, 0, countNodes(body, maxDepth))}
	p := parser{body: body, doc: doc, maxDepth: maxDepth}
	// rapidjson's UTF-8 MemoryStream wrapper skips the bytes EF, BB, BF
	// (each only if the previous was skipped or absent, in this order).
	p.consume(0xEF)
	p.consume(0xBB)
	p.consume(0xBF)
	p.run()
	if whole && p.errc == errNone {
		p.skipWS()
		if p.pos < len(body) {
			p.fail(errRootNotSingular, p.pos)
		}
	}
	if p.errc != errNone {
		return nil, p.errc, p.errOff
	}
	return doc, errNone, 0
}

// run is rapidjson's IterativeParse loop. A NUL byte ends the input, as
// rapidjson's stream reports '\0' at the end.
func (p *parser) run() {
	state := stStart
	p.skipWS()
	for p.peek() != 0 {
		t := tokenize(p.peek())
		n := predict(state, t)
		d := p.transit(state, t, n)
		if d == stError {
			p.handleError(state)
			break
		}
		state = d
		if state == stFinish {
			break // kParseStopWhenDoneFlag: trailing text is ignored
		}
		p.skipWS()
	}
	if state != stFinish {
		p.handleError(state)
	}
}

func (p *parser) handleError(src pstate) {
	if p.errc != errNone {
		return
	}
	switch src {
	case stStart:
		p.fail(errDocumentEmpty, p.pos)
	case stFinish:
		p.fail(errRootNotSingular, p.pos)
	case stObjectInitial, stMemberDelimiter:
		p.fail(errObjectMissName, p.pos)
	case stMemberKey:
		p.fail(errObjectMissColon, p.pos)
	case stMemberValue:
		p.fail(errObjectMissCommaOrCurlyBracket, p.pos)
	case stKeyValueDelimiter, stArrayInitial, stElementDelimiter:
		p.fail(errValueInvalid, p.pos)
	default:
		p.fail(errArrayMissCommaOrSquareBracket, p.pos)
	}
}

func (p *parser) transit(src pstate, t token, dst pstate) pstate {
	switch dst {
	case stError:
		return dst
	case stObjectInitial, stArrayInitial:
		ret := src
		switch src {
		case stArrayInitial, stElementDelimiter:
			ret = stElement
		case stKeyValueDelimiter:
			ret = stMemberValue
		}
		if len(p.stack) >= p.maxDepth {
			p.fail(errDepth, p.pos)
			return stError
		}
		k := kArray
		if dst == stObjectInitial {
			k = kObject
		}
		idx := uint32(len(p.doc.nodes))
		p.doc.nodes = append(p.doc.nodes, node{kind: k})
		p.stack = append(p.stack, frame{ret: ret, node: idx})
		p.pos++
		return dst
	case stMemberKey:
		if !p.parseString() {
			return stError
		}
		return dst
	case stKeyValueDelimiter:
		p.pos++
		return dst
	case stMemberValue, stElement:
		if !p.parseScalar() {
			return stError
		}
		return dst
	case stMemberDelimiter, stElementDelimiter:
		p.pos++
		return dst
	case stObjectFinish, stArrayFinish:
		if src == stMemberDelimiter {
			p.fail(errObjectMissName, p.pos)
			return stError
		}
		if src == stElementDelimiter {
			p.fail(errValueInvalid, p.pos)
			return stError
		}
		top := p.stack[len(p.stack)-1]
		p.stack = p.stack[:len(p.stack)-1]
		cn := &p.doc.nodes[top.node]
		cn.v = uint64(len(p.doc.nodes))
		if cn.kind == kObject {
			cn.n /= 2 // keys and values were both counted
		}
		p.countInParent()
		p.pos++
		if top.ret == stStart {
			return stFinish
		}
		return top.ret
	default: // stValue: a scalar at the root
		if !p.parseScalar() {
			return stError
		}
		return stFinish
	}
}

func (p *parser) parseScalar() bool {
	switch p.peek() {
	case 'n':
		return p.parseLiteral("null", kNull)
	case 't':
		return p.parseLiteral("true", kTrue)
	case 'f':
		return p.parseLiteral("false", kFalse)
	case '"':
		return p.parseString()
	}
	return p.parseNumber()
}

func (p *parser) parseLiteral(lit string, k kind) bool {
	p.pos++
	for i := 1; i < len(lit); i++ {
		if !p.consume(lit[i]) {
			p.fail(errValueInvalid, p.pos)
			return false
		}
	}
	p.addValue(node{kind: k})
	return true
}

// parseString parses a string (a value or an object key). Strings without
// escapes point into the body; others are decoded into the arena. Bytes are
// not validated as UTF-8 (rapidjson copies them unchanged).
func (p *parser) parseString() bool {
	p.pos++ // opening quote
	start := p.pos
	b := p.body
	i := start
	for i < len(b) {
		c := b[i]
		if c == '"' {
			p.pos = i + 1
			p.addValue(node{kind: kString, n: uint32(i - start), v: uint64(start)})
			return true
		}
		if c == '\\' || c < 0x20 {
			break
		}
		i++
	}
	// Slow path: decode into the arena.
	aStart := len(p.doc.arena)
	p.doc.arena = append(p.doc.arena, b[start:i]...)
	p.pos = i
	for {
		c := p.peek()
		switch {
		case c == '\\':
			escOff := p.pos
			p.pos++
			e := p.peek()
			switch e {
			case '"', '\\', '/':
				p.doc.arena = append(p.doc.arena, e)
				p.pos++
			case 'b':
				p.doc.arena = append(p.doc.arena, '\b')
				p.pos++
			case 'f':
				p.doc.arena = append(p.doc.arena, '\f')
				p.pos++
			case 'n':
				p.doc.arena = append(p.doc.arena, '\n')
				p.pos++
			case 'r':
				p.doc.arena = append(p.doc.arena, '\r')
				p.pos++
			case 't':
				p.doc.arena = append(p.doc.arena, '\t')
				p.pos++
			case 'u':
				p.pos++
				cp, ok := p.hex4(escOff)
				if !ok {
					return false
				}
				if cp >= 0xD800 && cp <= 0xDBFF {
					if !p.consume('\\') || !p.consume('u') {
						p.fail(errStringUnicodeSurrogateInvalid, escOff)
						return false
					}
					cp2, ok := p.hex4(escOff)
					if !ok {
						return false
					}
					if cp2 < 0xDC00 || cp2 > 0xDFFF {
						p.fail(errStringUnicodeSurrogateInvalid, escOff)
						return false
					}
					cp = ((cp-0xD800)<<10 | (cp2 - 0xDC00)) + 0x10000
				}
				p.doc.arena = appendUTF8(p.doc.arena, cp)
			default:
				p.fail(errStringEscapeInvalid, escOff)
				return false
			}
		case c == '"':
			p.pos++
			p.addValue(node{kind: kString, flags: fArena, n: uint32(len(p.doc.arena) - aStart), v: uint64(aStart)})
			return true
		case c < 0x20:
			if c == 0 {
				p.fail(errStringMissQuotationMark, p.pos)
			} else {
				p.fail(errStringEscapeInvalid, p.pos)
			}
			return false
		default:
			p.doc.arena = append(p.doc.arena, c)
			p.pos++
		}
	}
}

func (p *parser) hex4(escOff int) (uint32, bool) {
	var cp uint32
	for range 4 {
		c := p.peek()
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		default:
			p.fail(errStringUnicodeEscapeInvalidHex, escOff)
			return 0, false
		}
		cp = cp<<4 | uint32(d)
		p.pos++
	}
	return cp, true
}

// appendUTF8 encodes a code point as rapidjson's UTF8::Encode does: surrogate
// code points (from a lone \uDC00..\uDFFF escape) are written as three bytes,
// not replaced.
func appendUTF8(b []byte, cp uint32) []byte {
	switch {
	case cp <= 0x7F:
		return append(b, byte(cp))
	case cp <= 0x7FF:
		return append(b, byte(0xC0|(cp>>6)&0xFF), byte(0x80|cp&0x3F))
	case cp <= 0xFFFF:
		return append(b, byte(0xE0|(cp>>12)&0xFF), byte(0x80|(cp>>6)&0x3F), byte(0x80|cp&0x3F))
	default:
		return append(b, byte(0xF0|(cp>>18)&0xFF), byte(0x80|(cp>>12)&0x3F), byte(0x80|(cp>>6)&0x3F), byte(0x80|cp&0x3F))
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// parseNumber follows rapidjson 1.1.0 GenericReader::ParseNumber without
// kParseFullPrecisionFlag: integers are classified by range, decimals are
// accumulated in a double with up to 17 significant digits and scaled by an
// exact power of ten (which is not always correctly rounded; we reproduce
// the same bits), NaN/Inf/Infinity are accepted.
func (p *parser) parseNumber() bool {
	start := p.pos
	minus := p.consume('-')
	var i uint32
	var i64 uint64
	var d float64
	use64, useNanOrInf := false, false
	sig := 0 // rapidjson's significandDigit
	c := p.peek()
	switch {
	case c == '0':
		p.pos++
	case c >= '1' && c <= '9':
		i = uint32(c - '0')
		p.pos++
		// Past lim (or at lim with a digit above last) the value no longer
		// fits 32 bits: -2147483648 for negatives, 4294967295 otherwise.
		lim, last := uint32(429496729), byte('5')
		if minus {
			lim, last = 214748364, '8'
		}
		for isDigit(p.peek()) {
			if i >= lim && (i != lim || p.peek() > last) {
				i64, use64 = uint64(i), true
				break
			}
			i = i*10 + uint32(p.peek()-'0')
			p.pos++
			sig++
		}
	case c == 'I' || c == 'N':
		useNanOrInf = true
		if p.consume('N') && p.consume('a') && p.consume('N') {
			d = math.Float64frombits(0x7FF8000000000000) // C++ quiet_NaN
		} else if p.consume('I') && p.consume('n') && p.consume('f') {
			d = math.Inf(1)
			if minus {
				d = math.Inf(-1)
			}
			if p.peek() == 'i' && !(p.consume('i') && p.consume('n') && p.consume('i') && p.consume('t') && p.consume('y')) {
				p.fail(errValueInvalid, p.pos)
				return false
			}
		} else {
			p.fail(errValueInvalid, p.pos)
			return false
		}
	default:
		p.fail(errValueInvalid, p.pos)
		return false
	}

	useDouble := false
	if use64 {
		lim, last := uint64(0x1999999999999999), byte('5')
		if minus {
			lim, last = 0x0CCCCCCCCCCCCCCC, '8'
		}
		for isDigit(p.peek()) {
			if i64 >= lim && (i64 != lim || p.peek() > last) {
				d, useDouble = float64(i64), true
				break
			}
			i64 = i64*10 + uint64(p.peek()-'0')
			p.pos++
			sig++
		}
	}
	if useDouble {
		for isDigit(p.peek()) {
			if d >= 1.7976931348623157e307 {
				p.fail(errNumberTooBig, start)
				return false
			}
			d = d*10 + float64(p.peek()-'0')
			p.pos++
		}
	}

	expFrac := 0
	if p.consume('.') {
		if !isDigit(p.peek()) {
			p.fail(errNumberMissFraction, p.pos)
			return false
		}
		if !useDouble {
			if !use64 {
				i64 = uint64(i)
			}
			for isDigit(p.peek()) {
				if i64 > 0x1FFFFFFFFFFFFF {
					break
				}
				i64 = i64*10 + uint64(p.peek()-'0')
				p.pos++
				expFrac--
				if i64 != 0 {
					sig++
				}
			}
			d = float64(i64)
			useDouble = true
		}
		for isDigit(p.peek()) {
			if sig < 17 {
				d = d*10.0 + float64(p.peek()-'0')
				p.pos++
				expFrac--
				if d > 0.0 {
					sig++
				}
			} else {
				p.pos++
			}
		}
	}

	exp := 0
	if p.consume('e') || p.consume('E') {
		if !useDouble {
			if use64 {
				d = float64(i64)
			} else {
				d = float64(i)
			}
			useDouble = true
		}
		expMinus := false
		if p.consume('+') {
		} else if p.consume('-') {
			expMinus = true
		}
		if !isDigit(p.peek()) {
			p.fail(errNumberMissExponent, p.pos)
			return false
		}
		exp = int(p.peek() - '0')
		p.pos++
		if expMinus {
			for isDigit(p.peek()) {
				exp = exp*10 + int(p.peek()-'0')
				p.pos++
				if exp >= 214748364 {
					for isDigit(p.peek()) {
						p.pos++
					}
				}
			}
			exp = -exp
		} else {
			maxExp := 308 - expFrac
			for isDigit(p.peek()) {
				exp = exp*10 + int(p.peek()-'0')
				p.pos++
				if exp > maxExp {
					p.fail(errNumberTooBig, start)
					return false
				}
			}
		}
	}

	var n node
	n.kind = kNumber
	switch {
	case useDouble:
		d = strtodNormalPrecision(d, exp+expFrac)
		if minus {
			d = -d
		}
		n.flags, n.v = fDouble, math.Float64bits(d)
	case useNanOrInf:
		n.flags, n.v = fDouble, math.Float64bits(d)
	case use64:
		if minus {
			n.flags, n.v = int64Flags(int64(^i64+1)), ^i64+1
		} else {
			n.flags, n.v = uint64Flags(i64), i64
		}
	default:
		if minus {
			v := int64(int32(^i + 1))
			n.flags, n.v = int64Flags(v), uint64(v)
		} else {
			n.flags, n.v = uint64Flags(uint64(i)), uint64(i)
		}
	}
	p.addValue(n)
	return true
}

// int64Flags and uint64Flags are the flags rapidjson sets for an integer.
func int64Flags(v int64) uint8 {
	f := fInt64
	if v >= 0 {
		f |= fUint64
		if v <= math.MaxUint32 {
			f |= fUint
		}
	}
	if v >= math.MinInt32 && v <= math.MaxInt32 {
		f |= fInt
	}
	return f
}

func uint64Flags(v uint64) uint8 {
	f := fUint64
	if v <= math.MaxInt64 {
		f |= fInt64
	}
	if v <= math.MaxUint32 {
		f |= fUint
	}
	if v <= math.MaxInt32 {
		f |= fInt
	}
	return f
}

// pow10 holds the doubles nearest to 1e0..1e308 (rapidjson's Pow10 table).
var pow10 = func() (t [309]float64) {
	for i := range t {
		t[i], _ = strconv.ParseFloat("1e"+strconv.Itoa(i), 64)
	}
	return t
}()

func fastPath(significand float64, exp int) float64 {
	switch {
	case exp < -308:
		return 0.0
	case exp >= 0:
		return significand * pow10[exp]
	default:
		return significand / pow10[-exp]
	}
}

func strtodNormalPrecision(d float64, p int) float64 {
	if p < -308 {
		d = fastPath(d, -308)
		return fastPath(d, p+308)
	}
	return fastPath(d, p)
}

// Accessors.

// next returns the index of the first node after value i's subtree.
func (d *document) next(i int) int {
	if n := &d.nodes[i]; n.kind == kArray || n.kind == kObject {
		return int(n.v)
	}
	return i + 1
}

func (d *document) str(i int) []byte {
	n := &d.nodes[i]
	if n.flags&fArena != 0 {
		return d.arena[n.v : n.v+uint64(n.n)]
	}
	return d.body[n.v : n.v+uint64(n.n)]
}

func (d *document) strEq(i int, s string) bool {
	n := &d.nodes[i]
	return n.kind == kString && int(n.n) == len(s) && string(d.str(i)) == s
}

func (d *document) getDouble(i int) float64 {
	n := &d.nodes[i]
	return numResult{flags: n.flags, v: n.v}.double()
}

func (d *document) is(i int, flag uint8) bool {
	n := &d.nodes[i]
	return n.kind == kNumber && n.flags&flag != 0
}

// findMember returns the value index of the first member of object obj named
// name (rapidjson FindMember), or -1.
func (d *document) findMember(obj int, name string) int {
	o := &d.nodes[obj]
	k := obj + 1
	for range o.n {
		v := k + 1
		if d.strEq(k, name) {
			return v
		}
		k = d.next(v)
	}
	return -1
}

// isB64Object reports whether the value is {"b64": "<string>"} with exactly
// one member (TF Serving's IsValBase64Object).
func (d *document) isB64Object(i int) bool {
	n := &d.nodes[i]
	if n.kind != kObject || n.n != 1 {
		return false
	}
	return d.strEq(i+1, "b64") && d.nodes[i+2].kind == kString
}

// jsonTypeString is TF Serving's JsonTypeString.
func (d *document) jsonTypeString(i int) string {
	switch d.nodes[i].kind {
	case kNull:
		return "Null"
	case kFalse:
		return "False"
	case kTrue:
		return "True"
	case kObject:
		return "Object"
	case kArray:
		return "Array"
	case kString:
		return "String"
	}
	return "Number"
}

// countNodes returns how many nodes parsing body will need when body is
// valid JSON, so the node array is allocated once instead of grown by
// copying. It counts the tokens that start a value or key (a string, '[',
// '{' or a scalar's first byte, where a value or key may start: at the
// start or after '[', '{', ',' or ':'), ignores text inside strings and
// after the top-level value, and stops past maxDepth, where the parser
// fails. Every counted token but the first follows a separator, so for any
// input the count is at most about one per two bytes.
func countNodes(body []byte, maxDepth int) int {
	count, depth := 0, 0
	prev := byte(',') // a value may start here
	for i := 0; i < len(body); i++ {
		c := body[i]
		starts := prev == '[' || prev == '{' || prev == ',' || prev == ':'
		switch c {
		case ' ', '\n', '\r', '\t':
			continue
		case 0:
			return count
		case ',', ':':
		case ']', '}':
			if depth--; depth <= 0 {
				return count
			}
		case '[', '{':
			if prev == '{' {
				starts = false // a key must come first
			}
			if depth++; depth > maxDepth {
				return count
			}
			fallthrough
		default:
			if starts {
				count++
			}
			if c == '"' {
				i = stringEnd(body, i+1)
			}
		}
		prev = c
	}
	return count
}

// stringEnd returns the index of the quote that closes the string starting
// at body[i], or len(body) when there is none.
func stringEnd(body []byte, i int) int {
	for {
		q := bytes.IndexByte(body[i:], '"')
		if q < 0 {
			return len(body)
		}
		i += q
		bs := 0
		for bs < i && body[i-1-bs] == '\\' {
			bs++
		}
		if bs%2 == 0 {
			return i
		}
		i++
	}
}
