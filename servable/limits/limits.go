// Package limits holds the budgets that bound what one request or one model
// file can make tfserve allocate or compute. REST and gRPC check requests
// against the same Request budget; the loader checks every model against a
// Load budget. Budgets are checked before anything sized by the input is
// allocated, and a request or model over budget fails with an error that
// names the limit and the flag that sets it (see Exceeded).
//
// The defaults serve every real model and request in the fixtures; each is a
// flag of cmd/tfserve (listed in README's Security section).
package limits

import (
	"fmt"

	"github.com/tfserve/tfserve/servable/status"
)

// MaxRank is TensorFlow's limit on the number of dimensions of a tensor
// (TensorShape::MaxDimensions()).
const MaxRank = 254

// Request bounds one predict, classify or regress request, over REST and
// gRPC alike. A zero field means its default (see Defaults).
type Request struct {
	// MaxRank bounds the rank of every input tensor (--request_max_rank;
	// at most MaxRank).
	MaxRank int
	// MaxJSONDepth bounds the nesting of a REST JSON body
	// (--request_max_json_depth).
	MaxJSONDepth int
	// MaxElements bounds the elements of all input tensors of one request
	// together (--request_max_elements).
	MaxElements int64
	// MaxBytes bounds the decoded bytes of all input tensors of one request
	// together, string payloads and merged tf.Examples included
	// (--request_max_bytes).
	MaxBytes int64
	// MaxResponseBytes bounds an encoded response
	// (--response_max_bytes).
	MaxResponseBytes int64
}

// Load bounds what loading one model version may build. A zero field means
// its default (see Defaults).
type Load struct {
	// MaxNodes bounds the graph's nodes after functions are inlined
	// (--model_max_nodes).
	MaxNodes int
	// MaxConstBytes bounds the bytes of all constants of a model together
	// once decoded (a TensorProto may declare more elements than it stores)
	// (--model_max_const_bytes).
	MaxConstBytes int64
	// MaxFoldBytes bounds one tensor made by constant folding; larger
	// results stay computed at run time, as Grappler does
	// (--model_max_fold_bytes).
	MaxFoldBytes int64
}

// Defaults for the budgets.
const (
	DefaultMaxJSONDepth     = 300
	DefaultMaxElements      = 1 << 26   // 64 Mi elements
	DefaultMaxBytes         = 256 << 20 // 256 MiB
	DefaultMaxResponseBytes = 256 << 20 // 256 MiB
	DefaultMaxNodes         = 1 << 20   // 1 Mi nodes
	DefaultMaxConstBytes    = 4 << 30   // 4 GiB
	DefaultMaxFoldBytes     = 10 << 20  // Grappler's kMaxConstantSize
)

// WithDefaults returns r with every zero field set to its default.
func (r Request) WithDefaults() Request {
	if r.MaxRank <= 0 || r.MaxRank > MaxRank {
		r.MaxRank = MaxRank
	}
	if r.MaxJSONDepth <= 0 {
		r.MaxJSONDepth = DefaultMaxJSONDepth
	}
	if r.MaxElements <= 0 {
		r.MaxElements = DefaultMaxElements
	}
	if r.MaxBytes <= 0 {
		r.MaxBytes = DefaultMaxBytes
	}
	if r.MaxResponseBytes <= 0 {
		r.MaxResponseBytes = DefaultMaxResponseBytes
	}
	return r
}

// WithDefaults returns l with every zero field set to its default.
func (l Load) WithDefaults() Load {
	if l.MaxNodes <= 0 {
		l.MaxNodes = DefaultMaxNodes
	}
	if l.MaxConstBytes <= 0 {
		l.MaxConstBytes = DefaultMaxConstBytes
	}
	if l.MaxFoldBytes <= 0 {
		l.MaxFoldBytes = DefaultMaxFoldBytes
	}
	return l
}

// Exceeded returns the error for a size budget that what would exceed,
// naming the quantity, the amount asked for, the limit and its flag, e.g.
// "request input tensors' decoded bytes needs 3000000000, over the limit of
// 268435456 (--request_max_bytes)". The code is INVALID_ARGUMENT (HTTP 400):
// the same request will never fit, so it is not one to retry, unlike
// RESOURCE_EXHAUSTED, which TF Serving's REST API answers with 429 and which
// tfserve keeps for overload.
func Exceeded(what string, need, limit int64, flag string) error {
	return status.Errorf(status.InvalidArgument, "%s needs %d, over the limit of %d (--%s)", what, need, limit, flag)
}

// Invalid returns INVALID_ARGUMENT for an input that breaks a structural
// limit (rank, nesting depth), naming the limit and its flag.
func Invalid(what string, got, limit int64, flag string) error {
	return status.Errorf(status.InvalidArgument, "%s is %d, over the limit of %d (--%s)", what, got, limit, flag)
}

// Budget counts what one request has decoded so far against a Request
// budget. It is not safe for concurrent use; use one per request.
type Budget struct {
	r        Request
	elements int64
	bytes    int64
}

// NewBudget starts counting against r (zero fields take their defaults).
func NewBudget(r Request) *Budget { return &Budget{r: r.WithDefaults()} }

// Limits returns the budget's limits, defaults applied.
func (b *Budget) Limits() Request { return b.r }

// Rank checks one tensor's rank.
func (b *Budget) Rank(rank int) error {
	if rank > b.r.MaxRank {
		return Invalid("tensor rank", int64(rank), int64(b.r.MaxRank), "request_max_rank")
	}
	return nil
}

// Take charges elements and bytes for one tensor before it is allocated.
// Negative or overflowing amounts are refused.
func (b *Budget) Take(elements, bytes int64) error {
	if elements < 0 || bytes < 0 {
		return status.New(status.InvalidArgument, fmt.Sprintf("tensor size overflows (%d elements, %d bytes)", elements, bytes))
	}
	if elements > b.r.MaxElements-b.elements {
		return Exceeded("request input tensors' element count", b.elements+elements, b.r.MaxElements, "request_max_elements")
	}
	if bytes > b.r.MaxBytes-b.bytes {
		return Exceeded("request input tensors' decoded bytes", b.bytes+bytes, b.r.MaxBytes, "request_max_bytes")
	}
	b.elements += elements
	b.bytes += bytes
	return nil
}

// Elements returns the product of dims, or -1 when a dim is negative or the
// product overflows int64, so callers can check a declared shape before
// allocating.
func Elements(dims []int64) int64 {
	n := int64(1)
	for _, d := range dims {
		if d < 0 {
			return -1
		}
		if d != 0 && n > (1<<63-1)/d {
			return -1
		}
		n *= d
	}
	return n
}
