package restapi

import (
	"bytes"
	"strconv"

	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/tensor"
)

// text/csv bodies are read as scoring_server.parse_csv_input reads them
// with pandas.read_csv's defaults: the first non-blank line is the header,
// fields are separated by ',' and may be quoted with '"' ("" inside quotes
// is a quote; quoted fields may hold commas and newlines; text after a
// closing quote joins the field), lines end with \n, \r\n or \r, blank
// lines are skipped, a row with fewer fields than the header has missing
// (NaN) cells and one with more fails. Empty header names become
// "Unnamed: i" and repeated ones "x.1", "x.2", as pandas names them (so a
// frame written with DataFrame.to_csv() and its index reads back with the
// index as an ignored "Unnamed: 0" column).
//
// The body is read twice without keeping its cells: first to count rows
// and columns (bounded by mlflowMaxColumns and --request_max_elements
// before anything is allocated), then to convert the fields of the columns
// the signature needs straight into their tensors, charged to the request
// budget before they are allocated. Values are converted to the input's
// dtype (builder.setText). MLflow itself cannot read CSV for a tensor-based
// signature (Schema.pandas_types raises "TensorSpec only supports numpy
// types"); this follows what read_csv would give with the input dtypes.

// csvErr is parse_csv_input's BAD_REQUEST.
func csvErr(msg string) *mlflowErr {
	return badRequest("Failed to parse input as a Pandas DataFrame. Ensure that the input is a valid CSV-formatted " +
		"Pandas DataFrame produced using the `pandas.DataFrame.to_csv()` method. Error: '" + msg + "'")
}

// csvReader splits CSV text into fields.
type csvReader struct {
	b       []byte
	pos     int
	line    int // 1-based line of pos
	scratch []byte
}

// startRecord skips blank lines; false at the end of the text.
func (r *csvReader) startRecord() bool {
	for r.pos < len(r.b) {
		switch r.b[r.pos] {
		case '\n':
			r.pos++
		case '\r':
			r.pos++
			if r.pos < len(r.b) && r.b[r.pos] == '\n' {
				r.pos++
			}
		default:
			return true
		}
		r.line++
	}
	return false
}

// field returns the next field of the current record and whether it was
// the record's last. The field may point into scratch until the next call.
func (r *csvReader) field() (f []byte, last bool, msg string) {
	b := r.b
	end := func(j int) int {
		for j < len(b) && b[j] != ',' && b[j] != '\n' && b[j] != '\r' {
			j++
		}
		return j
	}
	if r.pos < len(b) && b[r.pos] == '"' {
		startLine := r.line
		r.pos++
		start := r.pos
		escaped := false
		r.scratch = r.scratch[:0]
		for {
			q := bytes.IndexByte(b[r.pos:], '"')
			if q < 0 {
				return nil, false, "Error tokenizing data. C error: EOF inside string starting at row " + strconv.Itoa(startLine)
			}
			r.line += bytes.Count(b[r.pos:r.pos+q], []byte{'\n'})
			if r.pos+q+1 < len(b) && b[r.pos+q+1] == '"' {
				r.scratch = append(r.scratch, b[r.pos:r.pos+q+1]...)
				escaped = true
				r.pos += q + 2
				continue
			}
			if escaped {
				r.scratch = append(r.scratch, b[r.pos:r.pos+q]...)
				f = r.scratch
			} else {
				f = b[start : r.pos+q]
			}
			r.pos += q + 1
			break
		}
		if j := end(r.pos); j > r.pos {
			if !escaped {
				r.scratch = append(r.scratch[:0], f...)
			}
			r.scratch = append(r.scratch, b[r.pos:j]...)
			f = r.scratch
			r.pos = j
		}
	} else {
		j := end(r.pos)
		f = b[r.pos:j]
		r.pos = j
	}
	if r.pos >= len(b) {
		return f, true, ""
	}
	switch b[r.pos] {
	case ',':
		r.pos++
		return f, false, ""
	case '\r':
		r.pos++
		if r.pos < len(b) && b[r.pos] == '\n' {
			r.pos++
		}
	default:
		r.pos++
	}
	r.line++
	return f, true, ""
}

// csvFrame is a CSV body after its first reading.
type csvFrame struct {
	body      []byte
	dataStart int // offset of the first data record
	dataLine  int
	rows      int
	labs      []label
}

func (f *csvFrame) numRows() int    { return f.rows }
func (f *csvFrame) labels() []label { return f.labs }

// readCSV reads the header and counts the rows.
func readCSV(body []byte, in *inputCtx) (*csvFrame, *mlflowErr) {
	body = bytes.TrimPrefix(body, []byte("\xEF\xBB\xBF"))
	r := &csvReader{b: body, line: 1}
	if !r.startRecord() {
		return nil, csvErr("No columns to parse from file")
	}
	// Count the header's fields before keeping any.
	probe := *r
	probe.scratch = nil
	ncols := 0
	for {
		_, last, msg := probe.field()
		if msg != "" {
			return nil, csvErr(msg)
		}
		ncols++
		if ncols > mlflowMaxColumns {
			return nil, frameLimits("CSV", 0, ncols, in)
		}
		if last {
			break
		}
	}
	f := &csvFrame{body: body, labs: make([]label, 0, ncols)}
	seen := make(map[string]int, ncols)
	for i := range ncols {
		fld, _, _ := r.field()
		name := string(fld)
		if name == "" {
			name = "Unnamed: " + strconv.Itoa(i)
		}
		if k, dup := seen[name]; dup {
			base := name
			for {
				k++
				name = base + "." + strconv.Itoa(k)
				if _, taken := seen[name]; !taken {
					break
				}
			}
			seen[base] = k
		}
		seen[name] = 0
		f.labs = append(f.labs, label{name: name, str: true})
	}
	f.dataStart, f.dataLine = r.pos, r.line
	for r.startRecord() {
		line := r.line
		n := 0
		for {
			_, last, msg := r.field()
			if msg != "" {
				return nil, csvErr(msg)
			}
			n++
			if last {
				break
			}
		}
		if n > ncols {
			return nil, csvErr("Error tokenizing data. C error: Expected " + strconv.Itoa(ncols) + " fields in line " +
				strconv.Itoa(line) + ", saw " + strconv.Itoa(n))
		}
		f.rows++
		if merr := frameLimits("CSV", f.rows, ncols, in); merr != nil {
			return nil, merr
		}
	}
	return f, nil
}

// build converts the requested columns in one more reading of the body.
func (f *csvFrame) build(reqs []colReq, in *inputCtx) ([]*tensor.Tensor, *mlflowErr) {
	ncols := len(f.labs)
	type target struct {
		b     *builder
		whole bool
		req   int
	}
	targets := make([][]target, ncols)
	out := make([]*tensor.Tensor, len(reqs))
	for i, rq := range reqs {
		var shape tensor.Shape
		var merr *mlflowErr
		if rq.whole {
			shape, merr = wholeShape(f.rows, ncols, rq.ti, in)
		} else {
			shape, merr = scalarShape(f.rows, rq.ti, f.labs[rq.col].name, in)
		}
		if merr != nil {
			return nil, merr
		}
		b, merr := newBuilder(rq.alias, rq.ti.DType, shape, in.budget)
		if merr != nil {
			return nil, merr
		}
		out[i] = b.t
		if rq.whole {
			for c := range targets {
				targets[c] = append(targets[c], target{b: b, whole: true, req: i})
			}
		} else {
			targets[rq.col] = append(targets[rq.col], target{b: b, req: i})
		}
	}
	set := func(row, c int, fld []byte) *mlflowErr {
		for _, tg := range targets[c] {
			i := row
			if tg.whole {
				i = row*ncols + c
			}
			if ce := tg.b.setText(i, fld); ce != nil {
				if ce.fatal != nil {
					return ce.fatal
				}
				return csvErr(ce.text + " in column " + pyRepr(f.labs[c].name) + ", row " + strconv.Itoa(row))
			}
		}
		return nil
	}
	r := &csvReader{b: f.body, pos: f.dataStart, line: f.dataLine}
	for row := 0; r.startRecord(); row++ {
		c := 0
		for {
			fld, last, _ := r.field()
			if merr := set(row, c, fld); merr != nil {
				return nil, merr
			}
			c++
			if last {
				break
			}
		}
		for ; c < ncols; c++ {
			if merr := set(row, c, nil); merr != nil {
				return nil, merr
			}
		}
	}
	return out, nil
}

// csvInputs parses a text/csv body.
func csvInputs(body []byte, sig *servable.Signature, budget *limits.Budget) (map[string]*tensor.Tensor, *mlflowErr) {
	in := &inputCtx{sig: sig, budget: budget}
	f, merr := readCSV(body, in)
	if merr != nil {
		return nil, merr
	}
	return frameInputs(f, in)
}
