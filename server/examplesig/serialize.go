package examplesig

import (
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/servable/status"
)

// StringHeader is what a decoded DT_STRING element costs beyond its bytes
// (the size a budget charges per string, as tensorproto does).
const StringHeader = 16

// MergedBytes is the decoded size of n serialized examples whose own bytes
// total exampleBytes, each prefixed with a context of contextBytes (as
// InputToSerializedExampleTensor and the REST API's "context" merge them):
// n × (context + StringHeader) + exampleBytes. It saturates at the largest
// int64 instead of overflowing, so the sum can be charged to a budget before
// anything is merged.
func MergedBytes(n, contextBytes, exampleBytes int64) int64 {
	const maxInt64 = 1<<63 - 1
	if n < 0 || contextBytes < 0 || exampleBytes < 0 {
		return maxInt64
	}
	per := contextBytes + StringHeader
	if per < 0 || (n > 0 && per > (maxInt64-exampleBytes)/n) {
		return maxInt64
	}
	return n*per + exampleBytes
}

// Take is charged before the serialized examples are built: the number of
// examples and their merged bytes (MergedBytes). limits.Budget.Take fits.
type Take func(elements, bytes int64) error

// Serialize is input_util.cc's InputToSerializedExampleTensor: one
// serialized tf.Example per example of in; with a context, the context's
// bytes come first in each, so that parsing merges it into every example.
// The merged size is computed and charged to take (when not nil) before
// any merged string is built. An input without examples is
// "Input is empty.".
func Serialize(in *servingpb.Input, take Take) ([]string, error) {
	var (
		examples []*tfpb.Example
		context  *tfpb.Example
	)
	switch k := in.GetKind().(type) {
	case *servingpb.Input_ExampleList:
		examples = k.ExampleList.GetExamples()
	case *servingpb.Input_ExampleListWithContext:
		examples = k.ExampleListWithContext.GetExamples()
		context = k.ExampleListWithContext.GetContext()
	}
	if len(examples) == 0 {
		return nil, status.New(status.InvalidArgument, "Input is empty.")
	}
	opts := proto.MarshalOptions{Deterministic: true}
	var ctxSize, exSize int64
	if context != nil {
		ctxSize = int64(opts.Size(context))
	}
	for _, e := range examples {
		exSize += int64(opts.Size(e))
	}
	if take != nil {
		if err := take(int64(len(examples)), MergedBytes(int64(len(examples)), ctxSize, exSize)); err != nil {
			return nil, err
		}
	}
	var ctxBytes, scratch []byte
	if context != nil {
		b, err := opts.Marshal(context)
		if err != nil {
			return nil, status.New(status.InvalidArgument, "serialize context: "+err.Error())
		}
		ctxBytes = b
	}
	out := make([]string, len(examples))
	for i, e := range examples {
		b, err := opts.MarshalAppend(scratch[:0], e)
		if err != nil {
			return nil, status.New(status.InvalidArgument, "serialize example: "+err.Error())
		}
		scratch = b
		var sb strings.Builder
		sb.Grow(len(ctxBytes) + len(b))
		sb.Write(ctxBytes)
		sb.Write(b)
		out[i] = sb.String()
	}
	return out, nil
}
