package kernels

import (
	"fmt"
	"os"

	"github.com/tfserve/tfserve/tensor"
)

func readFile(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("ReadFile", in, 1); err != nil {
		return nil, err
	}
	s, err := stringInput("ReadFile", in[0], "filename")
	if err != nil || len(s) != 1 {
		return nil, Errorf("ReadFile: filename must be a string scalar")
	}
	b, err := os.ReadFile(s[0])
	if err != nil {
		return nil, Errorf("ReadFile: %v", err)
	}
	out := ctx.New(tensor.String, tensor.Shape{})
	out.Strings()[0] = string(b)
	return []*tensor.Tensor{out}, nil
}

func shardedFilename(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("ShardedFilename", in, 3); err != nil {
		return nil, err
	}
	b, err := stringInput("ShardedFilename", in[0], "basename")
	if err != nil || len(b) != 1 {
		return nil, Errorf("ShardedFilename: basename must be a string scalar")
	}
	shard, err := scalarInt("ShardedFilename", "shard", in[1])
	if err != nil {
		return nil, err
	}
	num, err := scalarInt("ShardedFilename", "num_shards", in[2])
	if err != nil {
		return nil, err
	}
	out := ctx.New(tensor.String, tensor.Shape{})
	out.Strings()[0] = fmt.Sprintf("%s-%05d-of-%05d", b[0], shard, num)
	return []*tensor.Tensor{out}, nil
}
