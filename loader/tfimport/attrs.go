package tfimport

import (
	"fmt"
	"strings"

	"github.com/tfserve/tfserve/kernels"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/tensor"
	"github.com/tfserve/tfserve/tensor/tensorproto"
)

// decodeAttrs converts a node's AttrValue map. defs (may be nil) supplies
// the declared attribute types, used to type empty lists, and the default
// values that TF strips from saved graphs. Every tensor is charged to take
// (when non-nil) before it is allocated.
func decodeAttrs(m map[string]*tfpb.AttrValue, defs []*tfpb.OpDef_AttrDef, take tensorproto.Take) (kernels.Attrs, error) {
	out := make(kernels.Attrs, len(m)+len(defs))
	types := map[string]string{}
	for _, d := range defs {
		types[d.Name] = d.Type
		if _, ok := m[d.Name]; !ok && d.DefaultValue != nil {
			v, err := decodeAttr(d.DefaultValue, d.Type, take)
			if err != nil {
				return nil, fmt.Errorf("default of attr %s: %w", d.Name, err)
			}
			out[d.Name] = v
		}
	}
	for k, v := range m {
		d, err := decodeAttr(v, types[k], take)
		if err != nil {
			return nil, fmt.Errorf("attr %s: %w", k, err)
		}
		out[k] = d
	}
	return out, nil
}

func decodeAttr(v *tfpb.AttrValue, typ string, take tensorproto.Take) (any, error) {
	switch x := v.Value.(type) {
	case *tfpb.AttrValue_S:
		return string(x.S), nil
	case *tfpb.AttrValue_I:
		return x.I, nil
	case *tfpb.AttrValue_F:
		return x.F, nil
	case *tfpb.AttrValue_B:
		return x.B, nil
	case *tfpb.AttrValue_Type:
		return tensor.DType(x.Type), nil
	case *tfpb.AttrValue_Shape:
		return tensorproto.Shape(x.Shape), nil
	case *tfpb.AttrValue_Tensor:
		t, err := tensorproto.DecodeLimited(x.Tensor, take)
		if err != nil {
			return nil, err
		}
		return t, nil
	case *tfpb.AttrValue_Func:
		return decodeFunc(x.Func, take)
	case *tfpb.AttrValue_Placeholder:
		return nil, fmt.Errorf("unresolved attr placeholder %q", x.Placeholder)
	case *tfpb.AttrValue_List:
		return decodeList(x.List, typ, take)
	case nil:
		return nil, nil
	}
	return nil, fmt.Errorf("unknown attr value %T", v.Value)
}

func decodeFunc(f *tfpb.NameAttrList, take tensorproto.Take) (kernels.FuncRef, error) {
	if f == nil {
		return kernels.FuncRef{}, fmt.Errorf("empty function attr")
	}
	attrs, err := decodeAttrs(f.Attr, nil, take)
	if err != nil {
		return kernels.FuncRef{}, err
	}
	return kernels.FuncRef{Name: f.Name, Attrs: attrs}, nil
}

func decodeList(l *tfpb.AttrValue_ListValue, typ string, take tensorproto.Take) (any, error) {
	switch {
	case len(l.S) > 0:
		out := make([]string, len(l.S))
		for i, s := range l.S {
			out[i] = string(s)
		}
		return out, nil
	case len(l.I) > 0:
		return append([]int64(nil), l.I...), nil
	case len(l.F) > 0:
		return append([]float32(nil), l.F...), nil
	case len(l.B) > 0:
		return append([]bool(nil), l.B...), nil
	case len(l.Type) > 0:
		out := make([]tensor.DType, len(l.Type))
		for i, t := range l.Type {
			out[i] = tensor.DType(t)
		}
		return out, nil
	case len(l.Shape) > 0:
		out := make([]tensor.Shape, len(l.Shape))
		for i, s := range l.Shape {
			out[i] = tensorproto.Shape(s)
		}
		return out, nil
	case len(l.Tensor) > 0:
		out := make([]*tensor.Tensor, len(l.Tensor))
		for i, tp := range l.Tensor {
			t, err := tensorproto.DecodeLimited(tp, take)
			if err != nil {
				return nil, err
			}
			out[i] = t
		}
		return out, nil
	case len(l.Func) > 0:
		out := make([]kernels.FuncRef, len(l.Func))
		for i, f := range l.Func {
			r, err := decodeFunc(f, take)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	// An empty list: type it from the declaration when we know it.
	switch strings.TrimPrefix(typ, "list(") {
	case "string)":
		return []string{}, nil
	case "int)":
		return []int64{}, nil
	case "float)":
		return []float32{}, nil
	case "bool)":
		return []bool{}, nil
	case "type)":
		return []tensor.DType{}, nil
	case "shape)":
		return []tensor.Shape{}, nil
	case "tensor)":
		return []*tensor.Tensor{}, nil
	case "func)":
		return []kernels.FuncRef{}, nil
	}
	return []int64{}, nil
}
