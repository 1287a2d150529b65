package restapi

import (
	"slices"
	"strconv"

	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/server/restapi/jsontensor"
	"github.com/tfserve/tfserve/tensor"
)

// How an /invocations payload becomes the serving_default signature's
// inputs. The signature stands for an MLflow tensor-based schema with
// named inputs (mlflow/models/utils.py):
//
//   - A dataframe (dataframe_split, dataframe_records, CSV) maps columns to
//     inputs by name (_enforce_tensor_schema); other columns are ignored.
//     A column of scalars becomes a [rows] tensor, or [rows, 1] when the
//     input has rank 2 with its second size 1 or unknown
//     (_reshape_and_cast_pandas_column_values: shapes (-1,) and (-1, 1));
//     a column of (nested) lists becomes [rows, ...], reshaped to the
//     input's fixed inner sizes when their element counts match (MLflow's
//     vstack + reshape).
//   - When a signature has one input and no column is named after it, the
//     whole frame is that input, as MLflow does for an unnamed tensor
//     input: a single column as above, several columns (scalars) as one
//     [rows, columns] tensor, which needs an input of rank 2 whose second
//     size is the column count or unknown (MLflow: shape (-1, columns)).
//   - Otherwise a missing input fails as _enforce_schema does: "Model is
//     missing inputs [...]".
//   - instances and inputs follow parse_tf_serving_input /
//     parse_instances_data / _cast_schema_type (mlflow/utils/
//     proto_json_utils.py): a list of objects (instances) becomes columns
//     of rows, an object maps names to values, and for a single-input
//     signature a list (or, for inputs, any value) is that input. Each value
//     becomes a tensor of its own nested shape (np.array(value, dtype)).
//
// Values are converted to the input's dtype (mlflow_convert.go).

// mlflowMaxColumns bounds the columns of a dataframe or CSV payload.
const mlflowMaxColumns = 16384

// formatKeys are SUPPORTED_FORMATS, printed in this order (Python prints a
// set in hash order).
var formatKeys = []string{"dataframe_records", "dataframe_split", "instances", "inputs"}

// requiredInputFormat is REQUIRED_INPUT_FORMAT.
var requiredInputFormat = "The input must be a JSON dictionary with exactly one of the input fields " + pySetRepr(formatKeys)

// label is a dataframe column label: a string, or another JSON scalar
// (pandas' default labels are the integers 0, 1, ...).
type label struct {
	name string // the string, or the scalar as Python prints it
	str  bool
}

func (l label) repr() string {
	if l.str {
		return pyRepr(l.name)
	}
	return l.name
}

// colReq asks a frame for one input's tensor: column col, or every column
// (whole).
type colReq struct {
	alias string
	ti    servable.TensorInfo
	col   int
	whole bool
}

// frame is a parsed dataframe payload.
type frame interface {
	numRows() int
	labels() []label
	build(reqs []colReq, in *inputCtx) ([]*tensor.Tensor, *mlflowErr)
}

// inputCtx carries what input building needs.
type inputCtx struct {
	sig    *servable.Signature
	budget *limits.Budget
}

// colName is a column's name in MLflow's messages (None for the whole
// frame's single column, as MLflow's unnamed input).
func colName(f frame, r colReq) string {
	if r.whole {
		return "None"
	}
	return f.labels()[r.col].name
}

// frameInputs maps a frame's columns to the signature's inputs.
func frameInputs(f frame, in *inputCtx) (map[string]*tensor.Tensor, *mlflowErr) {
	labels := f.labels()
	cols := make(map[string]int, len(labels))
	for i, l := range labels {
		if _, dup := cols[l.name]; l.str && !dup {
			cols[l.name] = i
		}
	}
	aliases := sortedAliases(in.sig.Inputs)
	var missing []label
	for _, a := range aliases {
		if _, ok := cols[a]; !ok {
			missing = append(missing, label{name: a, str: true})
		}
	}
	var reqs []colReq
	switch {
	case len(missing) == 0:
		if f.numRows() == 0 {
			return nil, schemaErr(in.sig, "Input DataFrame is empty.")
		}
		for _, a := range aliases {
			reqs = append(reqs, colReq{alias: a, ti: in.sig.Inputs[a], col: cols[a]})
		}
	case len(aliases) == 1:
		if f.numRows() == 0 || len(labels) == 0 {
			return nil, schemaErr(in.sig, "Input DataFrame is empty.")
		}
		r := colReq{alias: aliases[0], ti: in.sig.Inputs[aliases[0]], whole: len(labels) > 1}
		reqs = append(reqs, r)
	default:
		msg := "Model is missing inputs " + pyListRepr(missing) + "."
		var extra []label
		for _, l := range labels {
			if _, ok := in.sig.Inputs[l.name]; !ok || !l.str {
				extra = append(extra, l)
			}
		}
		if len(extra) > 0 {
			msg += " Note that there were extra inputs: " + pyListRepr(extra)
		}
		return nil, schemaErr(in.sig, msg)
	}
	ts, merr := f.build(reqs, in)
	if merr != nil {
		return nil, merr
	}
	out := make(map[string]*tensor.Tensor, len(reqs))
	for i, r := range reqs {
		out[r.alias] = ts[i]
	}
	return out, nil
}

// scalarShape is the shape of a column of scalars for input ti.
func scalarShape(rows int, ti servable.TensorInfo, name string, in *inputCtx) (tensor.Shape, *mlflowErr) {
	if ti.UnknownRank {
		return tensor.Shape{rows}, nil
	}
	switch len(ti.Dims) {
	case 1:
		return tensor.Shape{rows}, nil
	case 2:
		if d := ti.Dims[1].Size; d == 1 || d < 0 {
			return tensor.Shape{rows, 1}, nil
		}
	}
	return nil, schemaErr(in.sig, "The input pandas dataframe column '"+name+"' contains scalar values, which requires "+
		"the shape to be (-1,) or (-1, 1), but got tensor spec shape of "+specShape(ti)+".")
}

// wholeShape is the shape of a whole frame of several scalar columns.
func wholeShape(rows, ncols int, ti servable.TensorInfo, in *inputCtx) (tensor.Shape, *mlflowErr) {
	if !ti.UnknownRank && (len(ti.Dims) != 2 || (ti.Dims[1].Size >= 0 && ti.Dims[1].Size != int64(ncols))) {
		return nil, schemaErr(in.sig, "This model contains a model signature with an unnamed input. Since the "+
			"input data is a pandas DataFrame containing multiple columns, the input shape must be of the structure "+
			"(-1, number_of_dataframe_columns). Instead, the input DataFrame passed had "+strconv.Itoa(ncols)+
			" columns and an input shape of "+specShape(ti)+" with all values within the DataFrame of scalar type. "+
			"Please adjust the passed in DataFrame to match the expected structure")
	}
	return tensor.Shape{rows, ncols}, nil
}

// notScalarsErr is MLflow's error for dataframe values that are neither
// scalars nor lists of scalars.
func notScalarsErr(in *inputCtx) *mlflowErr {
	return schemaErr(in.sig, "Because the model signature requires tensor spec input, the input pandas dataframe "+
		"values should be either scalar value, python list containing scalar values or numpy array containing "+
		"scalar values, other types are not supported.")
}

// reshapeErr is MLflow's error for list cells that do not fit the input.
func reshapeErr(in *inputCtx, name string, ti servable.TensorInfo) *mlflowErr {
	return schemaErr(in.sig, "The value in the Input DataFrame column '"+name+"' could not be converted to the "+
		"expected shape of: '"+specShape(ti)+"'. Ensure that each of the input list elements are of uniform length "+
		"and that the data can be coerced to the tensor type '"+numpyName(ti.DType)+"'")
}

// frameConvErr is MlflowFailedTypeConversion.
func frameConvErr(name string, dt tensor.DType, ce *convErr) *mlflowErr {
	if ce.fatal != nil {
		return ce.fatal
	}
	return badInput("Data is not compatible with model signature. Failed to convert column " + name + " to type '" +
		numpyName(dt) + "'. Error: '" + ce.pyType + "(" + pyRepr(ce.text) + ")'")
}

// valueConvErr is convert_data_type's MlflowInvalidInputException.
func valueConvErr(ce *convErr) *mlflowErr {
	if ce.fatal != nil {
		return ce.fatal
	}
	return badInput(ce.text)
}

// frameLimits checks a frame's size before its cells are indexed.
func frameLimits(format string, rows, cols int, in *inputCtx) *mlflowErr {
	if cols > mlflowMaxColumns {
		return badInput("The " + format + " input has " + strconv.Itoa(cols) + " columns, over the limit of " +
			strconv.Itoa(mlflowMaxColumns) + " columns.")
	}
	cells := int64(rows) * int64(cols)
	if max := in.budget.Limits().MaxElements; cells > max {
		return badInput("The " + format + " input has " + strconv.FormatInt(cells, 10) + " cells (" + strconv.Itoa(rows) +
			" rows of " + strconv.Itoa(cols) + " columns), over the limit of " + strconv.FormatInt(max, 10) +
			" (--request_max_elements).")
	}
	return nil
}

// pyTypeOf is Python's type of a JSON value, as "<class 'list'>".
func pyTypeOf(t *jsontensor.Tree, n jsontensor.Node) string {
	name := "NoneType"
	switch t.Kind(n) {
	case jsontensor.KindTrue, jsontensor.KindFalse:
		name = "bool"
	case jsontensor.KindObject:
		name = "dict"
	case jsontensor.KindArray:
		name = "list"
	case jsontensor.KindString:
		name = "str"
	case jsontensor.KindNumber:
		name = "float"
		if t.IsInteger(n) {
			name = "int"
		}
	}
	return "<class '" + name + "'>"
}

// scalarLabel is a non-string column label as Python prints it.
func scalarLabel(t *jsontensor.Tree, n jsontensor.Node) (label, bool) {
	switch t.Kind(n) {
	case jsontensor.KindString:
		return label{name: string(t.Str(n)), str: true}, true
	case jsontensor.KindNull:
		return label{name: "None"}, true
	case jsontensor.KindTrue:
		return label{name: "True"}, true
	case jsontensor.KindFalse:
		return label{name: "False"}, true
	case jsontensor.KindNumber:
		if v, ok := t.Int64(n); ok {
			return label{name: strconv.FormatInt(v, 10)}, true
		}
		if v, ok := t.Uint64(n); ok {
			return label{name: strconv.FormatUint(v, 10)}, true
		}
		return label{name: string(pyAppendFloat(nil, t.Float64(n)))}, true
	}
	return label{}, false
}

func isContainer(t *jsontensor.Tree, n jsontensor.Node) bool {
	k := t.Kind(n)
	return k == jsontensor.KindArray || k == jsontensor.KindObject
}

// jsonInputs parses an application/json body: _decode_json_input,
// infer_and_parse_data, then the format's parser.
func jsonInputs(body []byte, sig *servable.Signature, budget *limits.Budget) (map[string]*tensor.Tensor, *mlflowErr) {
	in := &inputCtx{sig: sig, budget: budget}
	t, err := jsontensor.ParseTree(body, budget.Limits().MaxJSONDepth)
	if err != nil {
		return nil, badInput("Ensure that input is a valid JSON formatted string. Error: '" + err.Error() + "'")
	}
	root := t.Root()
	switch t.Kind(root) {
	case jsontensor.KindObject:
	case jsontensor.KindArray:
		return nil, badInput(requiredInputFormat + ". Received a list.")
	default:
		return nil, badInput(requiredInputFormat + ". Received unexpected input type '" + pyTypeOf(t, root) + ".")
	}
	var present []label
	for k := range t.Members(root) {
		name := string(t.Str(k))
		if slices.Contains(formatKeys, name) && !slices.Contains(present, label{name: name, str: true}) {
			present = append(present, label{name: name, str: true})
		}
	}
	if len(present) != 1 {
		return nil, badRequest(requiredInputFormat + ". Received dictionary with input fields: " + pyListRepr(present) +
			". " + scoringProtocolChangeInfo)
	}
	format := present[0].name
	v := t.Member(root, format)
	switch format {
	case "dataframe_split":
		f, merr := splitFrame(t, v, in)
		if merr != nil {
			return nil, merr
		}
		return frameInputs(f, in)
	case "dataframe_records":
		f, merr := recordsFrame(t, v, in)
		if merr != nil {
			return nil, merr
		}
		return frameInputs(f, in)
	case "instances":
		return instancesInputs(t, v, in)
	}
	return inputsInputs(t, v, in)
}

// cellRef is one dataframe cell: its row and JSON value.
type cellRef struct{ row, node int32 }

// jsonFrame is a dataframe from JSON: per column, its cells by row (a
// records frame may lack some).
type jsonFrame struct {
	t      *jsontensor.Tree
	rows   int
	labs   []label
	refs   [][]cellRef
	format string
}

func (f *jsonFrame) numRows() int    { return f.rows }
func (f *jsonFrame) labels() []label { return f.labs }

// cells returns column c's value per row (-1 where missing).
func (f *jsonFrame) cells(c int) []jsontensor.Node {
	out := make([]jsontensor.Node, f.rows)
	for i := range out {
		out[i] = -1
	}
	for _, r := range f.refs[c] {
		out[r.row] = jsontensor.Node(r.node)
	}
	return out
}

// splitFrame is dataframe_from_parsed_json(orient="split") and
// pd.DataFrame(index=, columns=, data=). pandas pads ragged rows; they are
// refused here.
func splitFrame(t *jsontensor.Tree, v jsontensor.Node, in *inputCtx) (*jsonFrame, *mlflowErr) {
	if t.Kind(v) != jsontensor.KindObject {
		tm := "list"
		if t.Kind(v) != jsontensor.KindArray {
			tm = "type " + pyTypeOf(t, v)
		}
		return nil, badInput("Dataframe split format must be a dictionary. Got " + tm + ".")
	}
	var keys []string
	seen := map[string]bool{}
	for k := range t.Members(v) {
		if name := string(t.Str(k)); !seen[name] {
			seen[name] = true
			keys = append(keys, name)
		}
	}
	slices.Sort(keys)
	valid := slices.Contains(keys, "data")
	for _, k := range keys {
		if k != "data" && k != "columns" && k != "index" {
			valid = false
		}
	}
	if !valid {
		if len(keys) > maxNamesShown {
			keys = append(keys[:maxNamesShown], "...")
		}
		return nil, badInput("Dataframe split format must have 'data' field and optionally 'columns' and 'index' fields. Got " +
			pySetRepr(keys) + ".'")
	}
	invalid := func(msg string) *mlflowErr {
		return badInput("Provided dataframe_split field is not a valid dataframe representation in 'split' format. Error: '" +
			msg + "'")
	}
	f := &jsonFrame{t: t, format: "dataframe_split"}
	hasColumns := false
	if c := t.Member(v, "columns"); c >= 0 && t.Kind(c) != jsontensor.KindNull {
		if t.Kind(c) != jsontensor.KindArray {
			return nil, invalid("columns must be a list of column labels, not " + pyTypeOf(t, c))
		}
		if t.Len(c) > mlflowMaxColumns {
			return nil, frameLimits(f.format, 0, t.Len(c), in)
		}
		hasColumns = true
		for e := range t.Elems(c) {
			l, ok := scalarLabel(t, e)
			if !ok {
				return nil, invalid("a column label must be a string or a number, not " + pyTypeOf(t, e))
			}
			f.labs = append(f.labs, l)
		}
	}
	data := t.Member(v, "data")
	ncols := len(f.labs)
	switch t.Kind(data) {
	case jsontensor.KindNull:
	case jsontensor.KindArray:
		f.rows = t.Len(data)
		if f.rows == 0 {
			break
		}
		first := data + 1
		rowsAreLists := t.Kind(first) == jsontensor.KindArray
		if !hasColumns {
			ncols = 1
			if rowsAreLists {
				ncols = t.Len(first)
			}
		}
		if merr := frameLimits(f.format, f.rows, ncols, in); merr != nil {
			return nil, merr
		}
		// Cells are appended as they are read (not preallocated), so
		// memory follows the body even when the rows are short.
		f.refs = make([][]cellRef, ncols)
		r := 0
		for row := range t.Elems(data) {
			isList := t.Kind(row) == jsontensor.KindArray
			if isList != rowsAreLists || t.Kind(row) == jsontensor.KindObject {
				return nil, invalid("data must be a list of rows (lists) or of values, not a mix")
			}
			if !isList {
				if ncols != 1 {
					return nil, invalid(strconv.Itoa(ncols) + " columns passed, passed data had 1 columns")
				}
				f.refs[0] = append(f.refs[0], cellRef{int32(r), int32(row)})
				r++
				continue
			}
			if t.Len(row) != ncols {
				if hasColumns {
					return nil, invalid(strconv.Itoa(ncols) + " columns passed, passed data had " + strconv.Itoa(t.Len(row)) + " columns")
				}
				return nil, invalid("row " + strconv.Itoa(r) + " has " + strconv.Itoa(t.Len(row)) + " values, row 0 has " + strconv.Itoa(ncols))
			}
			c := 0
			for cell := range t.Elems(row) {
				f.refs[c] = append(f.refs[c], cellRef{int32(r), int32(cell)})
				c++
			}
			r++
		}
	default:
		return nil, invalid("DataFrame constructor not properly called!")
	}
	if f.refs == nil {
		f.refs = make([][]cellRef, ncols)
	}
	if !hasColumns {
		for c := range ncols {
			f.labs = append(f.labs, label{name: strconv.Itoa(c)})
		}
	}
	if idx := t.Member(v, "index"); idx >= 0 && t.Kind(idx) != jsontensor.KindNull {
		if t.Kind(idx) != jsontensor.KindArray || t.Len(idx) != f.rows {
			n := 1
			if t.Kind(idx) == jsontensor.KindArray {
				n = t.Len(idx)
			}
			return nil, invalid("Shape of passed values is (" + strconv.Itoa(f.rows) + ", " + strconv.Itoa(ncols) +
				"), indices imply (" + strconv.Itoa(n) + ", " + strconv.Itoa(ncols) + ")")
		}
	}
	return f, nil
}

// recordsFrame is dataframe_from_parsed_json(orient="records") and
// pd.DataFrame(data=records): columns in order of first appearance, cells
// a record lacks are missing (NaN).
func recordsFrame(t *jsontensor.Tree, v jsontensor.Node, in *inputCtx) (*jsonFrame, *mlflowErr) {
	if t.Kind(v) != jsontensor.KindArray {
		tm := "dictionary"
		if t.Kind(v) != jsontensor.KindObject {
			tm = "type " + pyTypeOf(t, v)
		}
		return nil, badInput("Dataframe records format must be a list of records. Got " + tm + ".")
	}
	invalid := func(msg string) *mlflowErr {
		return badInput("Provided dataframe_records field is not a valid dataframe representation in 'records' format. " +
			"Error: '" + msg + "'")
	}
	f := &jsonFrame{t: t, format: "dataframe_records", rows: t.Len(v)}
	if f.rows == 0 {
		return f, nil
	}
	first := v + 1
	switch t.Kind(first) {
	case jsontensor.KindObject:
		index := map[string]int{}
		r := 0
		for rec := range t.Elems(v) {
			if t.Kind(rec) != jsontensor.KindObject {
				return nil, invalid("Mixing dicts with non-Series may lead to ambiguous ordering.")
			}
			for k, val := range t.Members(rec) {
				name := string(t.Str(k))
				c, ok := index[name]
				if !ok {
					if len(f.labs) >= mlflowMaxColumns {
						return nil, frameLimits(f.format, f.rows, len(f.labs)+1, in)
					}
					c = len(f.labs)
					index[name] = c
					f.labs = append(f.labs, label{name: name, str: true})
					f.refs = append(f.refs, nil)
				}
				ref := cellRef{int32(r), int32(val)}
				if n := len(f.refs[c]); n > 0 && f.refs[c][n-1].row == ref.row {
					f.refs[c][n-1] = ref // a repeated key: the last value wins
				} else {
					f.refs[c] = append(f.refs[c], ref)
				}
			}
			r++
		}
		if merr := frameLimits(f.format, f.rows, len(f.labs), in); merr != nil {
			return nil, merr
		}
		return f, nil
	}
	// A list of rows (lists) or of values: as dataframe_split without
	// columns.
	sf, merr := splitFrameOfRows(t, v, in, invalid)
	if merr != nil {
		return nil, merr
	}
	sf.format = f.format
	return sf, nil
}

// splitFrameOfRows reads a list of rows or values with default labels.
func splitFrameOfRows(t *jsontensor.Tree, data jsontensor.Node, in *inputCtx, invalid func(string) *mlflowErr) (*jsonFrame, *mlflowErr) {
	f := &jsonFrame{t: t, format: "dataframe_records", rows: t.Len(data)}
	first := data + 1
	rowsAreLists := t.Kind(first) == jsontensor.KindArray
	ncols := 1
	if rowsAreLists {
		ncols = t.Len(first)
	}
	if merr := frameLimits(f.format, f.rows, ncols, in); merr != nil {
		return nil, merr
	}
	f.refs = make([][]cellRef, ncols)
	r := 0
	for row := range t.Elems(data) {
		isList := t.Kind(row) == jsontensor.KindArray
		if isList != rowsAreLists || t.Kind(row) == jsontensor.KindObject {
			return nil, invalid("Mixing dicts with non-Series may lead to ambiguous ordering.")
		}
		if !isList {
			f.refs[0] = append(f.refs[0], cellRef{int32(r), int32(row)})
			r++
			continue
		}
		if t.Len(row) != ncols {
			return nil, invalid("row " + strconv.Itoa(r) + " has " + strconv.Itoa(t.Len(row)) + " values, row 0 has " + strconv.Itoa(ncols))
		}
		c := 0
		for cell := range t.Elems(row) {
			f.refs[c] = append(f.refs[c], cellRef{int32(r), int32(cell)})
			c++
		}
		r++
	}
	for c := range ncols {
		f.labs = append(f.labs, label{name: strconv.Itoa(c)})
	}
	return f, nil
}

// build makes each requested tensor from the frame's cells.
func (f *jsonFrame) build(reqs []colReq, in *inputCtx) ([]*tensor.Tensor, *mlflowErr) {
	out := make([]*tensor.Tensor, len(reqs))
	for i, r := range reqs {
		var merr *mlflowErr
		if r.whole {
			out[i], merr = f.wholeTensor(r, in)
		} else {
			out[i], merr = f.columnTensor(f.cells(r.col), colName(f, r), r, in)
		}
		if merr != nil {
			return nil, merr
		}
	}
	return out, nil
}

// wholeTensor is every column of scalars as one [rows, columns] tensor.
func (f *jsonFrame) wholeTensor(r colReq, in *inputCtx) (*tensor.Tensor, *mlflowErr) {
	ncols := len(f.labs)
	shape, merr := wholeShape(f.rows, ncols, r.ti, in)
	if merr != nil {
		return nil, merr
	}
	for c := range ncols {
		for _, ref := range f.refs[c] {
			if isContainer(f.t, jsontensor.Node(ref.node)) {
				return nil, notScalarsErr(in)
			}
		}
	}
	b, merr := newBuilder(r.alias, r.ti.DType, shape, in.budget)
	if merr != nil {
		return nil, merr
	}
	for c := range ncols {
		for row, n := range f.cells(c) {
			if ce := b.setNode(row*ncols+c, f.t, n); ce != nil {
				return nil, frameConvErr(f.labs[c].name, r.ti.DType, ce)
			}
		}
	}
	return b.t, nil
}

// columnTensor is one column (cells by row) as input r.
func (f *jsonFrame) columnTensor(cells []jsontensor.Node, name string, r colReq, in *inputCtx) (*tensor.Tensor, *mlflowErr) {
	t := f.t
	first := cells[0]
	if first < 0 || !isContainer(t, first) {
		shape, merr := scalarShape(len(cells), r.ti, name, in)
		if merr != nil {
			return nil, merr
		}
		for _, n := range cells {
			if n >= 0 && isContainer(t, n) {
				return nil, reshapeErr(in, name, r.ti)
			}
		}
		b, merr := newBuilder(r.alias, r.ti.DType, shape, in.budget)
		if merr != nil {
			return nil, merr
		}
		for i, n := range cells {
			if ce := b.setNode(i, t, n); ce != nil {
				return nil, frameConvErr(name, r.ti.DType, ce)
			}
		}
		return b.t, nil
	}
	if t.Kind(first) == jsontensor.KindObject {
		return nil, notScalarsErr(in)
	}
	// Lists: every cell a rectangular nested list of the same shape.
	dims, ok := nestedShape(t, first)
	if !ok {
		return nil, reshapeErr(in, name, r.ti)
	}
	for _, n := range cells[1:] {
		if n < 0 || !sameShape(t, n, dims) {
			return nil, reshapeErr(in, name, r.ti)
		}
	}
	shape := append(tensor.Shape{len(cells)}, dims...)
	if !r.ti.UnknownRank && len(r.ti.Dims) >= 1 {
		inner, fixed := 1, true
		for _, d := range r.ti.Dims[1:] {
			if d.Size < 0 {
				fixed = false
				break
			}
			inner *= int(d.Size)
		}
		if fixed {
			if inner != tensor.Shape(dims).NumElements() {
				return nil, reshapeErr(in, name, r.ti)
			}
			shape = tensor.Shape{len(cells)}
			for _, d := range r.ti.Dims[1:] {
				shape = append(shape, int(d.Size))
			}
		}
	}
	b, merr := newBuilder(r.alias, r.ti.DType, shape, in.budget)
	if merr != nil {
		return nil, merr
	}
	i := 0
	for _, n := range cells {
		for m := n; m < t.End(n); m++ {
			if t.Kind(m) == jsontensor.KindArray {
				continue
			}
			if ce := b.setNode(i, t, m); ce != nil {
				return nil, frameConvErr(name, r.ti.DType, ce)
			}
			i++
		}
	}
	return b.t, nil
}

// nestedShape returns the shape of a rectangular nested list (nil for a
// scalar); false for ragged lists and objects.
func nestedShape(t *jsontensor.Tree, n jsontensor.Node) ([]int, bool) {
	var dims []int
	for m := n; t.Kind(m) == jsontensor.KindArray; m++ {
		dims = append(dims, t.Len(m))
		if t.Len(m) == 0 {
			break
		}
	}
	return dims, sameShape(t, n, dims)
}

// sameShape reports whether n is a nested list of shape dims (a scalar
// for no dims), without recursion.
func sameShape(t *jsontensor.Tree, n jsontensor.Node, dims []int) bool {
	left := make([]int, 0, len(dims)) // elements left in each open list
	i := n
	for {
		d := len(left)
		k := t.Kind(i)
		if d < len(dims) {
			if k != jsontensor.KindArray || t.Len(i) != dims[d] {
				return false
			}
			if dims[d] > 0 {
				left = append(left, dims[d])
				i++
				continue
			}
			i = t.Next(i)
		} else {
			if k == jsontensor.KindArray || k == jsontensor.KindObject {
				return false
			}
			i++
		}
		for len(left) > 0 {
			left[len(left)-1]--
			if left[len(left)-1] > 0 {
				break
			}
			left = left[:len(left)-1]
		}
		if len(left) == 0 {
			return true
		}
	}
}

// valueColumn is one input's data in instances or inputs: a single value
// (np.array(value)) or, for instances rows, a list of per-row values.
type valueColumn struct {
	name  string
	value jsontensor.Node   // when rows is nil
	rows  []jsontensor.Node // per-row values
}

// length is the column's length for parse_instances_data's check (-1:
// not a list).
func (c *valueColumn) length(t *jsontensor.Tree) int {
	if c.rows != nil {
		return len(c.rows)
	}
	if t.Kind(c.value) == jsontensor.KindArray {
		return t.Len(c.value)
	}
	return -1
}

// tensorOf is np.array(value, dtype) for a column.
func (c *valueColumn) tensorOf(t *jsontensor.Tree, alias string, ti servable.TensorInfo, in *inputCtx) (*tensor.Tensor, *mlflowErr) {
	ragged := func() *mlflowErr {
		return badInput("setting an array element with a sequence. The requested array has an inhomogeneous shape " +
			"(input " + pyRepr(c.name) + ")")
	}
	vals := c.rows
	var shape tensor.Shape
	if vals == nil {
		dims, ok := nestedShape(t, c.value)
		if !ok {
			return nil, ragged()
		}
		vals = []jsontensor.Node{c.value}
		shape = dims
	} else {
		var dims []int
		if len(vals) > 0 {
			var ok bool
			if dims, ok = nestedShape(t, vals[0]); !ok {
				return nil, ragged()
			}
		}
		for _, v := range vals[1:] {
			if !sameShape(t, v, dims) {
				return nil, ragged()
			}
		}
		shape = append(tensor.Shape{len(vals)}, dims...)
	}
	b, merr := newBuilder(alias, ti.DType, shape, in.budget)
	if merr != nil {
		return nil, merr
	}
	i := 0
	for _, v := range vals {
		for m := v; m < t.End(v); m++ {
			if t.Kind(m) == jsontensor.KindArray {
				continue
			}
			if ce := b.setNode(i, t, m); ce != nil {
				return nil, valueConvErr(ce)
			}
			i++
		}
	}
	return b.t, nil
}

// objectColumns reads an object of name → value.
func objectColumns(t *jsontensor.Tree, obj jsontensor.Node) []*valueColumn {
	var cols []*valueColumn
	index := map[string]int{}
	for k, v := range t.Members(obj) {
		name := string(t.Str(k))
		if i, ok := index[name]; ok {
			cols[i].value = v // the last of repeated keys wins
			continue
		}
		index[name] = len(cols)
		cols = append(cols, &valueColumn{name: name, value: v})
	}
	return cols
}

// namedInputs maps columns to inputs by name; a missing input fails as
// _enforce_schema does.
func namedInputs(t *jsontensor.Tree, cols []*valueColumn, in *inputCtx) (map[string]*tensor.Tensor, *mlflowErr) {
	byName := make(map[string]*valueColumn, len(cols))
	for _, c := range cols {
		byName[c.name] = c
	}
	aliases := sortedAliases(in.sig.Inputs)
	var missing, extra []label
	for _, a := range aliases {
		if byName[a] == nil {
			missing = append(missing, label{name: a, str: true})
		}
	}
	if len(missing) > 0 {
		msg := "Model is missing inputs " + pyListRepr(missing) + "."
		for _, c := range cols {
			if _, ok := in.sig.Inputs[c.name]; !ok {
				extra = append(extra, label{name: c.name, str: true})
			}
		}
		if len(extra) > 0 {
			msg += " Note that there were extra inputs: " + pyListRepr(extra)
		}
		return nil, schemaErr(in.sig, msg)
	}
	out := make(map[string]*tensor.Tensor, len(aliases))
	for _, a := range aliases {
		ts, merr := byName[a].tensorOf(t, a, in.sig.Inputs[a], in)
		if merr != nil {
			return nil, merr
		}
		out[a] = ts
	}
	return out, nil
}

// checkLengths is parse_instances_data's check that the (list) columns of
// the signature's inputs have one length.
func checkLengths(t *jsontensor.Tree, cols []*valueColumn, in *inputCtx) *mlflowErr {
	want := -1
	for _, c := range cols {
		if _, ok := in.sig.Inputs[c.name]; !ok {
			continue
		}
		n := c.length(t)
		if n < 0 {
			continue
		}
		if want >= 0 && n != want {
			return badInput("The length of values for each input/column name are not the same")
		}
		want = n
	}
	return nil
}

// singleValue is a value that is not an object of named inputs: the input
// of a single-input signature; for several inputs none is named.
func singleValue(t *jsontensor.Tree, v jsontensor.Node, in *inputCtx) (map[string]*tensor.Tensor, *mlflowErr) {
	aliases := sortedAliases(in.sig.Inputs)
	listOfObjects := false
	if t.Kind(v) == jsontensor.KindArray {
		for e := range t.Elems(v) {
			if t.Kind(e) == jsontensor.KindObject {
				listOfObjects = true
				break
			}
		}
	}
	if len(aliases) != 1 || listOfObjects {
		missing := make([]label, len(aliases))
		for i, a := range aliases {
			missing[i] = label{name: a, str: true}
		}
		return nil, schemaErr(in.sig, "Model is missing inputs "+pyListRepr(missing)+".")
	}
	c := &valueColumn{name: aliases[0], value: v}
	ts, merr := c.tensorOf(t, aliases[0], in.sig.Inputs[aliases[0]], in)
	if merr != nil {
		return nil, merr
	}
	return map[string]*tensor.Tensor{aliases[0]: ts}, nil
}

// instancesInputs is parse_instances_data.
func instancesInputs(t *jsontensor.Tree, v jsontensor.Node, in *inputCtx) (map[string]*tensor.Tensor, *mlflowErr) {
	switch {
	case t.Kind(v) == jsontensor.KindArray && t.Len(v) > 0 && t.Kind(v+1) == jsontensor.KindObject:
		var cols []*valueColumn
		index := map[string]int{}
		r := 0
		for item := range t.Elems(v) {
			if t.Kind(item) != jsontensor.KindObject {
				return nil, badInput("Ensure that the input is a valid JSON-formatted string.\nError: AttributeError(\"'" +
					pyTypeName(t, item) + "' object has no attribute 'items'\")")
			}
			for k, val := range t.Members(item) {
				name := string(t.Str(k))
				i, ok := index[name]
				if !ok {
					if len(cols) >= mlflowMaxColumns {
						return nil, badInput("The instances input has more than " + strconv.Itoa(mlflowMaxColumns) +
							" names, over the limit of " + strconv.Itoa(mlflowMaxColumns) + " columns.")
					}
					i = len(cols)
					index[name] = i
					cols = append(cols, &valueColumn{name: name, rows: []jsontensor.Node{}})
				}
				cols[i].rows = append(cols[i].rows, val)
			}
			r++
		}
		if merr := checkLengths(t, cols, in); merr != nil {
			return nil, merr
		}
		return namedInputs(t, cols, in)
	case t.Kind(v) == jsontensor.KindObject:
		cols := objectColumns(t, v)
		if merr := checkLengths(t, cols, in); merr != nil {
			return nil, merr
		}
		return namedInputs(t, cols, in)
	}
	return singleValue(t, v, in)
}

// inputsInputs is parse_tf_serving_input's "inputs" branch
// (_cast_schema_type).
func inputsInputs(t *jsontensor.Tree, v jsontensor.Node, in *inputCtx) (map[string]*tensor.Tensor, *mlflowErr) {
	if t.Kind(v) == jsontensor.KindObject {
		return namedInputs(t, objectColumns(t, v), in)
	}
	return singleValue(t, v, in)
}

// pyTypeName is Python's type name of a JSON value ("list").
func pyTypeName(t *jsontensor.Tree, n jsontensor.Node) string {
	s := pyTypeOf(t, n)
	return s[len("<class '") : len(s)-2]
}
