package kernels

import (
	"sync"
	"testing"

	"github.com/tfserve/tfserve/tensor"
)

func TestVariables(t *testing.T) {
	v := NewVariable(nil)
	v.Name = "w"
	h := VariableTensor(v)
	mustFail(t, "ReadVariableOp", Attrs{"dtype": tensor.Float32}, "resource variable w", h)
	wantTensor(t, mustRun(t, "VarIsInitializedOp", nil, h)[0], bools(sh(), false))
	init := f32(sh(2), 1, 2)
	if out := mustRun(t, "AssignVariableOp", nil, h, init); len(out) != 0 {
		t.Fatal("AssignVariableOp has no outputs")
	}
	init.F32()[0] = 100 // the variable holds its own copy
	r1 := mustRun(t, "ReadVariableOp", Attrs{"dtype": tensor.Float32}, h)[0]
	wantTensor(t, r1, f32(sh(2), 1, 2))
	mustRun(t, "AssignAddVariableOp", nil, h, f32(sh(2), 10, 10))
	wantTensor(t, mustRun(t, "ReadVariableOp", nil, h)[0], f32(sh(2), 11, 12))
	wantTensor(t, r1, f32(sh(2), 1, 2)) // earlier reads are unaffected
	mustRun(t, "AssignSubVariableOp", nil, h, f32(sh(2), 1, 2))
	wantTensor(t, mustRun(t, "ReadVariableOp", nil, h)[0], f32(sh(2), 10, 10))
	mustFail(t, "ReadVariableOp", Attrs{"dtype": tensor.Int32}, "wrong dtype", h)
	mustFail(t, "AssignAddVariableOp", nil, "shapes must be equal", h, f32(sh(1), 1))
	// TF1 ref ops return the new value.
	wantTensor(t, mustRun(t, "AssignAdd", nil, h, f32(sh(2), 1, 1))[0], f32(sh(2), 11, 11))
	wantTensor(t, mustRun(t, "AssignSub", nil, h, f32(sh(2), 1, 2))[0], f32(sh(2), 10, 9))
	wantTensor(t, mustRun(t, "Assign", nil, h, f32(sh(2), 0, 1))[0], f32(sh(2), 0, 1))
	mustFail(t, "Assign", nil, "wrong shape", h, f32(sh(3), 0, 1, 2))
	// ResourceGather.
	tv := NewVariable(iota32(sh(3, 2)))
	wantTensor(t, mustRun(t, "ResourceGather", nil, VariableTensor(tv), vec32(2, 0))[0], f32(sh(2, 2), 4, 5, 0, 1))
	mustFail(t, "ReadVariableOp", nil, "does not hold a variable", HashTableTensor(NewHashTable(tensor.String, tensor.Int64)))
	// Concurrent adds are atomic.
	c := NewVariable(i64(sh(), 0))
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				if _, err := runOp(t, "AssignAddVariableOp", nil, VariableTensor(c), i64(sh(), 1)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if got := c.Read().I64()[0]; got != 800 {
		t.Fatalf("counter = %d, want 800", got)
	}
}
