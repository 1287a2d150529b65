package kernels

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/tfserve/tfserve/tensor"
)

func stringInput(op string, t *tensor.Tensor, what string) ([]string, error) {
	s, ok := t.Data.([]string)
	if !ok {
		return nil, Errorf("%s: %s must be a string tensor, got %v", op, what, t.DType)
	}
	return s, nil
}

func stringJoinBuilder(attrs Attrs, _ int) (Func, error) {
	sep := attrs.String("separator", "")
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkMinInputs("StringJoin", in, 1); err != nil {
			return nil, err
		}
		var shape tensor.Shape
		for _, t := range in {
			if _, err := stringInput("StringJoin", t, "inputs"); err != nil {
				return nil, err
			}
			if len(t.Shape) == 0 {
				continue
			}
			if shape == nil {
				shape = t.Shape
			} else if !shape.Equal(t.Shape) {
				return nil, Errorf("Input shapes do not match: %v vs. %v", shape, t.Shape)
			}
		}
		if shape == nil {
			shape = tensor.Shape{}
		}
		out := ctx.New(tensor.String, shape)
		o := out.Strings()
		var b strings.Builder
		for i := range o {
			b.Reset()
			for j, t := range in {
				if j > 0 {
					b.WriteString(sep)
				}
				s := t.Strings()
				if len(t.Shape) == 0 {
					b.WriteString(s[0])
				} else {
					b.WriteString(s[i])
				}
			}
			o[i] = b.String()
		}
		return []*tensor.Tensor{out}, nil
	}, nil
}

// compileFull compiles an RE2 pattern anchored at both ends.
func compileFull(pattern string) (*regexp.Regexp, error) {
	return regexp.Compile(`^(?:` + pattern + `)$`)
}

func staticRegexFullMatchBuilder(attrs Attrs, _ int) (Func, error) {
	pattern := attrs.String("pattern", "")
	re, err := compileFull(pattern)
	if err != nil {
		return nil, buildErr("StaticRegexFullMatch", "invalid pattern %q: %v", pattern, err)
	}
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("StaticRegexFullMatch", in, 1); err != nil {
			return nil, err
		}
		return regexMatch(ctx, in[0], re)
	}, nil
}

func regexMatch(ctx *Context, x *tensor.Tensor, re *regexp.Regexp) ([]*tensor.Tensor, error) {
	s, err := stringInput("RegexFullMatch", x, "input")
	if err != nil {
		return nil, err
	}
	out := ctx.New(tensor.Bool, x.Shape)
	o := out.Bools()
	for i, v := range s {
		o[i] = re.MatchString(v)
	}
	return []*tensor.Tensor{out}, nil
}

func regexFullMatch(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("RegexFullMatch", in, 2); err != nil {
		return nil, err
	}
	p, err := stringInput("RegexFullMatch", in[1], "pattern")
	if err != nil || len(p) != 1 {
		return nil, Errorf("RegexFullMatch: pattern must be a string scalar")
	}
	re, err := compileFull(p[0])
	if err != nil {
		return nil, Errorf("Invalid pattern: %s, error: %v", p[0], err)
	}
	return regexMatch(ctx, in[0], re)
}

// re2Rewrite converts an RE2 rewrite string (\1) to Go's template ($1).
func re2Rewrite(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			b.WriteString("${" + string(s[i+1]) + "}")
			i++
		case c == '\\' && i+1 < len(s) && s[i+1] == '\\':
			b.WriteByte('\\')
			i++
		case c == '$':
			b.WriteString("$$")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func regexReplace(ctx *Context, x *tensor.Tensor, re *regexp.Regexp, rewrite string, global bool) ([]*tensor.Tensor, error) {
	s, err := stringInput("RegexReplace", x, "input")
	if err != nil {
		return nil, err
	}
	tmpl := re2Rewrite(rewrite)
	out := ctx.New(tensor.String, x.Shape)
	o := out.Strings()
	for i, v := range s {
		if global {
			o[i] = re.ReplaceAllString(v, tmpl)
			continue
		}
		loc := re.FindStringSubmatchIndex(v)
		if loc == nil {
			o[i] = v
			continue
		}
		o[i] = v[:loc[0]] + string(re.ExpandString(nil, tmpl, v, loc)) + v[loc[1]:]
	}
	return []*tensor.Tensor{out}, nil
}

func staticRegexReplaceBuilder(attrs Attrs, _ int) (Func, error) {
	re, err := regexp.Compile(attrs.String("pattern", ""))
	if err != nil {
		return nil, buildErr("StaticRegexReplace", "invalid pattern: %v", err)
	}
	rw := attrs.String("rewrite", "")
	global := attrs.Bool("replace_global", true)
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("StaticRegexReplace", in, 1); err != nil {
			return nil, err
		}
		return regexReplace(ctx, in[0], re, rw, global)
	}, nil
}

func regexReplaceBuilder(attrs Attrs, _ int) (Func, error) {
	global := attrs.Bool("replace_global", true)
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("RegexReplace", in, 3); err != nil {
			return nil, err
		}
		p, err1 := stringInput("RegexReplace", in[1], "pattern")
		r, err2 := stringInput("RegexReplace", in[2], "rewrite")
		if err1 != nil || err2 != nil || len(p) != 1 || len(r) != 1 {
			return nil, Errorf("RegexReplace: pattern and rewrite must be string scalars")
		}
		re, err := regexp.Compile(p[0])
		if err != nil {
			return nil, Errorf("Invalid pattern: %s, error: %v", p[0], err)
		}
		return regexReplace(ctx, in[0], re, r[0], global)
	}, nil
}

func stringLengthBuilder(attrs Attrs, _ int) (Func, error) {
	unit := attrs.String("unit", "BYTE")
	if unit != "BYTE" && unit != "UTF8_CHAR" {
		return nil, buildErr("StringLength", "unit must be BYTE or UTF8_CHAR, got %q", unit)
	}
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("StringLength", in, 1); err != nil {
			return nil, err
		}
		s, err := stringInput("StringLength", in[0], "input")
		if err != nil {
			return nil, err
		}
		out := ctx.New(tensor.Int32, in[0].Shape)
		o := out.I32()
		for i, v := range s {
			if unit == "BYTE" {
				o[i] = int32(len(v))
			} else {
				o[i] = int32(utf8CharCount(v))
			}
		}
		return []*tensor.Tensor{out}, nil
	}, nil
}

// utf8CharCount counts characters as TF does: bytes that are not UTF-8
// continuation bytes.
func utf8CharCount(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i]&0xc0 != 0x80 {
			n++
		}
	}
	return n
}

func stringToNumberBuilder(attrs Attrs, _ int) (Func, error) {
	ot := attrs.Type("out_type", tensor.Float32)
	switch ot {
	case tensor.Float32, tensor.Float64, tensor.Int32, tensor.Int64:
	default:
		return nil, buildErr("StringToNumber", "out_type %v is not supported", ot)
	}
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("StringToNumber", in, 1); err != nil {
			return nil, err
		}
		s, err := stringInput("StringToNumber", in[0], "string_tensor")
		if err != nil {
			return nil, err
		}
		out := ctx.New(ot, in[0].Shape)
		for i, v := range s {
			t := strings.TrimSpace(v)
			bad := func() error {
				return Errorf("StringToNumberOp could not correctly convert string: %s", v)
			}
			switch o := out.Data.(type) {
			case []float32:
				f, err := strconv.ParseFloat(t, 32)
				if err != nil && !isRangeErr(err) {
					return nil, bad()
				}
				o[i] = float32(f)
			case []float64:
				f, err := strconv.ParseFloat(t, 64)
				if err != nil && !isRangeErr(err) {
					return nil, bad()
				}
				o[i] = f
			case []int32:
				n, err := strconv.ParseInt(t, 10, 32)
				if err != nil {
					return nil, bad()
				}
				o[i] = int32(n)
			case []int64:
				n, err := strconv.ParseInt(t, 10, 64)
				if err != nil {
					return nil, bad()
				}
				o[i] = n
			}
		}
		return []*tensor.Tensor{out}, nil
	}, nil
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

func asStringBuilder(attrs Attrs, _ int) (Func, error) {
	prec := attrs.Int("precision", -1)
	sci := attrs.Bool("scientific", false)
	shortest := attrs.Bool("shortest", false)
	width := attrs.Int("width", -1)
	fillc := attrs.String("fill", "")
	if sci && shortest {
		return nil, buildErr("AsString", "Cannot select both scientific and shortest notation")
	}
	if len(fillc) > 1 {
		return nil, buildErr("AsString", "Fill string must be one or fewer characters")
	}
	if fillc != "" && fillc != " " && fillc != "0" {
		return nil, buildErr("AsString", "Fill argument not supported: %q", fillc)
	}
	flags := "%"
	if fillc == "0" {
		flags += "0"
	}
	if width > -1 {
		flags += strconv.FormatInt(width, 10)
	}
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("AsString", in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		out := ctx.New(tensor.String, x.Shape)
		o := out.Strings()
		ffmt := flags
		if prec > -1 {
			ffmt += "." + strconv.FormatInt(prec, 10)
		}
		switch {
		case sci:
			ffmt += "e"
		case shortest:
			if prec < 0 {
				ffmt += ".6" // C's %g default precision
			}
			ffmt += "g"
		default:
			ffmt += "f"
		}
		switch d := x.Data.(type) {
		case []float32:
			for i, v := range d {
				o[i] = formatFloat(ffmt, float64(v))
			}
		case []float64:
			for i, v := range d {
				o[i] = formatFloat(ffmt, v)
			}
		case []bool:
			for i, v := range d {
				o[i] = fmt.Sprintf(flags+"s", strconv.FormatBool(v))
			}
		case []string:
			for i, v := range d {
				o[i] = fmt.Sprintf(flags+"s", v)
			}
		default:
			if !x.DType.Numeric() {
				return nil, noKernel("AsString", x.DType)
			}
			for i := range o {
				o[i] = fmt.Sprintf(flags+"d", elemAt(x.Data, i))
			}
		}
		return []*tensor.Tensor{out}, nil
	}, nil
}

// formatFloat prints like C's printf, including inf/nan spelling.
func formatFloat(f string, v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	return fmt.Sprintf(f, v)
}
