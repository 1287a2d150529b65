package hostile

import (
	"bytes"
	"context"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/tfserve/tfserve/loader/bundle/sstable"
	"github.com/tfserve/tfserve/loader/modelwriter"
	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/tensor"
)

const dtFloat = tfpb.DataType_DT_FLOAT

func typeAttr(dt tfpb.DataType) *tfpb.AttrValue {
	return &tfpb.AttrValue{Value: &tfpb.AttrValue_Type{Type: dt}}
}

func typeListAttr(dts ...tfpb.DataType) *tfpb.AttrValue {
	return &tfpb.AttrValue{Value: &tfpb.AttrValue_List{List: &tfpb.AttrValue_ListValue{Type: dts}}}
}

func funcAttr(name string) *tfpb.AttrValue {
	return &tfpb.AttrValue{Value: &tfpb.AttrValue_Func{Func: &tfpb.NameAttrList{Name: name}}}
}

func tensorAttr(tp *tfpb.TensorProto) *tfpb.AttrValue {
	return &tfpb.AttrValue{Value: &tfpb.AttrValue_Tensor{Tensor: tp}}
}

func call(name, fn, input string) *tfpb.NodeDef {
	return &tfpb.NodeDef{Name: name, Op: "PartitionedCall", Input: []string{input}, Attr: map[string]*tfpb.AttrValue{
		"f": funcAttr(fn), "Tin": typeListAttr(dtFloat), "Tout": typeListAttr(dtFloat),
	}}
}

func floatFn(name string, nodes []*tfpb.NodeDef, ret string) *tfpb.FunctionDef {
	return &tfpb.FunctionDef{
		Signature: &tfpb.OpDef{Name: name,
			InputArg:  []*tfpb.OpDef_ArgDef{{Name: "x", Type: dtFloat}},
			OutputArg: []*tfpb.OpDef_ArgDef{{Name: "y", Type: dtFloat}}},
		NodeDef: nodes,
		Ret:     map[string]string{"y": ret},
	}
}

// writeSavedModel writes a TF1-style SavedModel whose serving_default
// signature maps x:0 (float, any shape) to out:0.
func writeSavedModel(dir string, nodes []*tfpb.NodeDef, lib *tfpb.FunctionDefLibrary, out string) (int, error) {
	nodes = append([]*tfpb.NodeDef{{Name: "x", Op: "Placeholder", Attr: map[string]*tfpb.AttrValue{"dtype": typeAttr(dtFloat)}}}, nodes...)
	info := func(n string) *tfpb.TensorInfo {
		return &tfpb.TensorInfo{Encoding: &tfpb.TensorInfo_Name{Name: n}, Dtype: dtFloat}
	}
	sm := &tfpb.SavedModel{SavedModelSchemaVersion: 1, MetaGraphs: []*tfpb.MetaGraphDef{{
		MetaInfoDef: &tfpb.MetaGraphDef_MetaInfoDef{Tags: []string{"serve"}},
		GraphDef:    &tfpb.GraphDef{Node: nodes, Library: lib, Versions: &tfpb.VersionDef{Producer: 1}},
		SignatureDef: map[string]*tfpb.SignatureDef{"serving_default": {
			Inputs: map[string]*tfpb.TensorInfo{"x": info("x:0")}, Outputs: map[string]*tfpb.TensorInfo{"y": info(out)},
			MethodName: servable.MethodPredict,
		}},
	}}}
	b, err := proto.Marshal(sm)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	return len(b), os.WriteFile(filepath.Join(dir, "saved_model.pb"), b, 0o644)
}

// FunctionBomb writes a SavedModel of levels functions, each calling the
// one below twice: 2^levels nodes once inlined, in a few KB.
func FunctionBomb(dir string, levels int) (int, error) {
	lib := &tfpb.FunctionDefLibrary{}
	lib.Function = append(lib.Function, floatFn("f0", []*tfpb.NodeDef{{Name: "id", Op: "Identity", Input: []string{"x"},
		Attr: map[string]*tfpb.AttrValue{"T": typeAttr(dtFloat)}}}, "id:output:0"))
	for i := 1; i <= levels; i++ {
		below := "f" + strconv.Itoa(i-1)
		lib.Function = append(lib.Function, floatFn("f"+strconv.Itoa(i),
			[]*tfpb.NodeDef{call("a", below, "x"), call("b", below, "a:output:0")}, "b:output:0"))
	}
	return writeSavedModel(dir, []*tfpb.NodeDef{call("top", "f"+strconv.Itoa(levels), "x")}, lib, "top:0")
}

// SelfRecursion writes a SavedModel whose function calls itself.
func SelfRecursion(dir string) (int, error) {
	lib := &tfpb.FunctionDefLibrary{Function: []*tfpb.FunctionDef{floatFn("loop", []*tfpb.NodeDef{call("again", "loop", "x")}, "again:output:0")}}
	return writeSavedModel(dir, []*tfpb.NodeDef{call("top", "loop", "x")}, lib, "top:0")
}

// PaddedConsts writes a SavedModel adding to x the sums of n float
// constants of elems elements each, every one stored as a single value
// (TensorFlow pads a short TensorProto with its last value).
func PaddedConsts(dir string, n int, elems int64) (int, error) {
	var nodes []*tfpb.NodeDef
	prev := "x"
	axes := &tfpb.NodeDef{Name: "axes", Op: "Const", Attr: map[string]*tfpb.AttrValue{
		"dtype": typeAttr(tfpb.DataType_DT_INT32),
		"value": tensorAttr(&tfpb.TensorProto{Dtype: tfpb.DataType_DT_INT32, TensorShape: shape(1), IntVal: []int32{0}}),
	}}
	nodes = append(nodes, axes)
	for i := 0; i < n; i++ {
		c := "big" + strconv.Itoa(i)
		nodes = append(nodes,
			&tfpb.NodeDef{Name: c, Op: "Const", Attr: map[string]*tfpb.AttrValue{
				"dtype": typeAttr(dtFloat),
				"value": tensorAttr(&tfpb.TensorProto{Dtype: dtFloat, TensorShape: shape(elems), FloatVal: []float32{1}}),
			}},
			&tfpb.NodeDef{Name: c + "_sum", Op: "Sum", Input: []string{c, "axes"}, Attr: map[string]*tfpb.AttrValue{
				"T": typeAttr(dtFloat), "Tidx": typeAttr(tfpb.DataType_DT_INT32),
			}},
			&tfpb.NodeDef{Name: c + "_add", Op: "AddV2", Input: []string{prev, c + "_sum"}, Attr: map[string]*tfpb.AttrValue{"T": typeAttr(dtFloat)}},
		)
		prev = c + "_add"
	}
	return writeSavedModel(dir, nodes, nil, prev+":0")
}

// Garbage writes n random bytes as saved_model.pb.
func Garbage(dir string, n int, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, 11))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "saved_model.pb"), b, 0o644)
}

// Truncated writes the SavedModel at src with its saved_model.pb cut in half
// (variables copied unchanged).
func Truncated(dir, src string) error {
	pb, err := os.ReadFile(filepath.Join(src, "saved_model.pb"))
	if err != nil {
		return err
	}
	if err := copyTree(src, dir); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "saved_model.pb"), pb[:len(pb)/2], 0o644)
}

func copyTree(src, dst string) error {
	return filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	})
}

// HugeCheckpointIndex writes a model with a 4-float variable whose
// checkpoint index claims the tensor has shape [2^38] (1 TiB) while the data
// file holds 16 bytes.
func HugeCheckpointIndex(dir string) error {
	b := modelwriter.New()
	b.Variable("w", tensor.FromSlice(tensor.Shape{4}, []float32{1, 2, 3, 4}))
	x := b.Placeholder("x", tensor.Float32, tensor.Shape{-1})
	axes := b.Const("axes", tensor.FromSlice(tensor.Shape{1}, []int32{0}))
	s := b.Op("s", "Sum", []string{"w/read", axes}, map[string]any{"T": tensor.Float32, "Tidx": tensor.Int32})
	y := b.Op("y", "AddV2", []string{x, s}, map[string]any{"T": tensor.Float32})
	spec := modelwriter.TensorSpec{Name: "x:0", DType: tensor.Float32, Shape: tensor.Shape{-1}}
	b.Signature("serving_default", servable.MethodPredict, map[string]modelwriter.TensorSpec{"x": spec},
		map[string]modelwriter.TensorSpec{"y": {Name: y + ":0", DType: tensor.Float32, Shape: tensor.Shape{-1}}})
	if err := b.Write(dir); err != nil {
		return err
	}
	data, err := os.ReadFile(filepath.Join(dir, "variables", "variables.data-00000-of-00001"))
	if err != nil {
		return err
	}
	idx, err := bundleIndex("w", 1<<38, data)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "variables", "variables.index"), idx, 0o644)
}

// bundleIndex encodes a one-entry tensor-bundle index (BundleHeaderProto
// under the empty key, BundleEntryProto under key) declaring a float tensor
// of dim elements stored in data at offset 0.
func bundleIndex(key string, dim int64, data []byte) ([]byte, error) {
	var hdr []byte
	hdr = protowire.AppendTag(hdr, 1, protowire.VarintType) // num_shards
	hdr = protowire.AppendVarint(hdr, 1)
	ver := protowire.AppendTag(nil, 1, protowire.VarintType) // producer
	ver = protowire.AppendVarint(ver, 1)
	hdr = protowire.AppendTag(hdr, 3, protowire.BytesType)
	hdr = protowire.AppendBytes(hdr, ver)

	var d []byte
	d = protowire.AppendTag(d, 1, protowire.VarintType)
	d = protowire.AppendVarint(d, uint64(dim))
	var shp []byte
	shp = protowire.AppendTag(shp, 2, protowire.BytesType)
	shp = protowire.AppendBytes(shp, d)
	var e []byte
	e = protowire.AppendTag(e, 1, protowire.VarintType) // dtype
	e = protowire.AppendVarint(e, uint64(dtFloat))
	e = protowire.AppendTag(e, 2, protowire.BytesType) // shape
	e = protowire.AppendBytes(e, shp)
	e = protowire.AppendTag(e, 5, protowire.VarintType) // size
	e = protowire.AppendVarint(e, uint64(len(data)))
	e = protowire.AppendTag(e, 6, protowire.Fixed32Type) // crc32c (masked)
	e = protowire.AppendFixed32(e, sstable.MaskCRC(crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli))))

	var out bytes.Buffer
	w := sstable.NewWriter(&out, sstable.Options{})
	if err := w.Add(nil, hdr); err != nil {
		return nil, err
	}
	if err := w.Add([]byte(key), e); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// dropVersion writes a version directory beside the victim's versions
// (under a non-numeric name, then renamed, so the poller never sees half a
// model), waits for its load to fail, removes it and returns its status
// message. A version that loads is an error: every dropped model is hostile.
func dropVersion(ctx context.Context, t *Target, write func(dir string) error) (string, error) {
	v := t.nextVersion()
	tmp := filepath.Join(t.VictimBase, fmt.Sprintf(".incoming-%d", v))
	final := filepath.Join(t.VictimBase, strconv.FormatInt(v, 10))
	if err := write(tmp); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("write hostile model: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", err
	}
	defer os.RemoveAll(final)
	ms := servingpb.NewModelServiceClient(t.GRPC)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		st, err := ms.GetModelStatus(ctx, &servingpb.GetModelStatusRequest{ModelSpec: &servingpb.ModelSpec{Name: t.Victim}})
		if err != nil {
			return "", fmt.Errorf("GetModelStatus %s: %w", t.Victim, err)
		}
		for _, vs := range st.GetModelVersionStatus() {
			if vs.GetVersion() != v {
				continue
			}
			if vs.GetStatus().GetErrorCode() != 0 {
				return vs.GetStatus().GetErrorMessage(), nil
			}
			if vs.GetState() == servingpb.ModelVersionStatus_AVAILABLE {
				return "", fmt.Errorf("hostile version %d loaded and is AVAILABLE", v)
			}
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return "", fmt.Errorf("version %d neither failed nor loaded in 60s", v)
}

// modelCase drops a hostile version and expects its load to fail with a
// message naming one of flags (any message when none), while the victim's
// good version keeps serving.
func modelCase(name string, write func(t *Target, dir string) error, flags ...string) Case {
	return Case{Name: name, Slow: true, Run: func(ctx context.Context, t *Target) error {
		msg, err := dropVersion(ctx, t, func(dir string) error { return write(t, dir) })
		if err != nil {
			return err
		}
		t.logf("load failed: %s", truncS(msg, 300))
		if err := namesOne(msg, flags); err != nil {
			return fmt.Errorf("load failed, but: %w", err)
		}
		return t.VictimNormal(ctx)
	}}
}

func modelCases() []Case {
	return []Case{
		modelCase("model/function_bomb_2^40", func(_ *Target, dir string) error {
			n, err := FunctionBomb(dir, 40)
			if err == nil && n > 8<<10 {
				err = fmt.Errorf("test bug: saved_model.pb is %d bytes", n)
			}
			return err
		}, "model_max_nodes"),
		modelCase("model/self_recursive_function", func(_ *Target, dir string) error {
			_, err := SelfRecursion(dir)
			return err
		}),
		modelCase("model/padded_const_32GiB", func(_ *Target, dir string) error {
			n, err := PaddedConsts(dir, 1, 8<<30)
			if err == nil && n > 2<<10 {
				err = fmt.Errorf("test bug: saved_model.pb is %d bytes", n)
			}
			return err
		}, "model_max_const_bytes"),
		modelCase("model/padded_consts_over_budget", func(_ *Target, dir string) error {
			// 5 × 32 MiB, over the e2e server's --model_max_const_bytes=64 MiB.
			_, err := PaddedConsts(dir, 5, 8<<20)
			return err
		}, "model_max_const_bytes"),
		modelCase("model/garbage_pb", func(_ *Target, dir string) error { return Garbage(dir, 3<<10, 7) }),
		modelCase("model/truncated_pb", func(t *Target, dir string) error { return Truncated(dir, t.VictimSource) }),
		modelCase("model/checkpoint_index_1TiB", func(_ *Target, dir string) error { return HugeCheckpointIndex(dir) }),
	}
}
