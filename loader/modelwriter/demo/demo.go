// Package demo writes the small models that `make run` serves and that unit
// tests load: TF Serving-style half_plus_two and half_plus_three (with
// predict, classify and regress signatures) and a two-input, two-output
// integer model.
package demo

import (
	"fmt"
	"path/filepath"

	"github.com/tfserve/tfserve/loader/modelwriter"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/tensor"
)

// Model is one demo model: its name, version and writer.
type Model struct {
	Name    string
	Version int
	Write   func(dir string) error
}

// Models lists the demo models.
func Models() []Model {
	return []Model{
		{"half_plus_two", 123, func(dir string) error { return HalfPlus(dir, 0.5, 2) }},
		{"half_plus_three", 123, func(dir string) error { return HalfPlus(dir, 0.5, 3) }},
		{"add_mul_int64", 1, AddMulInt64},
	}
}

// WriteAll writes every demo model under root/<name>/<version>.
func WriteAll(root string) error {
	for _, m := range Models() {
		dir := filepath.Join(root, m.Name, fmt.Sprintf("%08d", m.Version))
		if err := m.Write(dir); err != nil {
			return fmt.Errorf("write %s: %w", m.Name, err)
		}
	}
	return nil
}

// HalfPlus writes y = a*x + b with variables a and b, in the layout of TF
// Serving's half_plus_two: signatures serving_default (x → y),
// classify_x_to_y and regress_x_to_y (tf.Example input with float feature
// "x").
func HalfPlus(dir string, a, b float32) error {
	m := modelwriter.New()
	va := m.Variable("a", tensor.Scalar(a))
	vb := m.Variable("b", tensor.Scalar(b))
	x := m.Placeholder("x", tensor.Float32, tensor.Shape{-1, 1})
	ax := m.Op("Mul", "Mul", []string{va, x}, map[string]any{"T": tensor.Float32})
	m.Op("y", "AddV2", []string{ax, vb}, map[string]any{"T": tensor.Float32})

	// tf.Example path: ParseExample(serialized, names, dense_keys..., dense_defaults...).
	ser := m.Placeholder("tf_example", tensor.String, tensor.Shape{-1})
	names := m.Const("ParseExample/names", tensor.FromSlice(tensor.Shape{0}, []string{}))
	key := m.Const("ParseExample/key_x", tensor.Scalar("x"))
	def := m.Const("ParseExample/default_x", tensor.FromSlice(tensor.Shape{0}, []float32{}))
	m.Op("ParseExample", "ParseExample", []string{ser, names, key, def}, map[string]any{
		"Nsparse": 0, "Ndense": 1, "sparse_types": []tensor.DType{}, "Tdense": []tensor.DType{tensor.Float32},
		"dense_shapes": []tensor.Shape{{1}},
	})
	ax2 := m.Op("Mul_1", "Mul", []string{va, "ParseExample:0"}, map[string]any{"T": tensor.Float32})
	m.Op("y_from_example", "AddV2", []string{ax2, vb}, map[string]any{"T": tensor.Float32})

	xs := modelwriter.TensorSpec{Name: "x:0", DType: tensor.Float32, Shape: tensor.Shape{-1, 1}}
	ys := modelwriter.TensorSpec{Name: "y:0", DType: tensor.Float32, Shape: tensor.Shape{-1, 1}}
	ex := modelwriter.TensorSpec{Name: "tf_example:0", DType: tensor.String, Shape: tensor.Shape{-1}}
	ye := modelwriter.TensorSpec{Name: "y_from_example:0", DType: tensor.Float32, Shape: tensor.Shape{-1, 1}}
	m.Signature(servable.DefaultSignature, servable.MethodPredict, map[string]modelwriter.TensorSpec{"x": xs}, map[string]modelwriter.TensorSpec{"y": ys})
	m.Signature("classify_x_to_y", servable.MethodClassify, map[string]modelwriter.TensorSpec{"inputs": ex}, map[string]modelwriter.TensorSpec{"scores": ye})
	m.Signature("regress_x_to_y", servable.MethodRegress, map[string]modelwriter.TensorSpec{"inputs": ex}, map[string]modelwriter.TensorSpec{"outputs": ye})
	return m.Write(dir)
}

// AddMulInt64 writes a model with two int64 inputs a and b and two outputs,
// sum = a + b and product = a * b.
func AddMulInt64(dir string) error {
	m := modelwriter.New()
	a := m.Placeholder("a", tensor.Int64, tensor.Shape{-1})
	b := m.Placeholder("b", tensor.Int64, tensor.Shape{-1})
	m.Op("sum", "AddV2", []string{a, b}, map[string]any{"T": tensor.Int64})
	m.Op("product", "Mul", []string{a, b}, map[string]any{"T": tensor.Int64})
	spec := func(n string) modelwriter.TensorSpec {
		return modelwriter.TensorSpec{Name: n + ":0", DType: tensor.Int64, Shape: tensor.Shape{-1}}
	}
	m.Signature(servable.DefaultSignature, servable.MethodPredict,
		map[string]modelwriter.TensorSpec{"a": spec("a"), "b": spec("b")},
		map[string]modelwriter.TensorSpec{"sum": spec("sum"), "product": spec("product")})
	return m.Write(dir)
}
