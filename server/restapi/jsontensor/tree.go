package jsontensor

import (
	"math"

	"github.com/tfserve/tfserve/servable/status"
)

// Tree is a read-only view of a parsed JSON document for callers outside
// this package that need JSON other than TF Serving's request shapes (the
// MLflow scoring protocol in package restapi). It uses the same bounded,
// non-recursive parser as the predict requests (at most MaxJSONDepth deep,
// the node array sized by a pre-pass), but any value may be the root and,
// as Python's json.loads, nothing but whitespace may follow it.
//
// Nodes are numbered in pre-order: an array's elements follow it, and an
// object's members follow it as key (a string node) then value.
type Tree struct{ d *document }

// Node is the index of one value of a Tree.
type Node int

// Kind is the JSON type of a node.
type Kind uint8

// Node kinds.
const (
	KindNull Kind = iota
	KindFalse
	KindTrue
	KindObject
	KindArray
	KindString
	KindNumber
)

// ParseTree parses body. Errors are INVALID_ARGUMENT "JSON Parse error:
// <rapidjson's text> at offset: N", or the --request_max_json_depth limit.
func ParseTree(body []byte, maxDepth int) (*Tree, error) {
	if len(body) > math.MaxUint32 {
		return nil, status.New(status.InvalidArgument, "JSON Parse error: request body too large")
	}
	doc, errc, errOff := parseDocument(body, maxDepth, true)
	if errc != errNone {
		return nil, parseError(errc, errOff, maxDepth)
	}
	return &Tree{d: doc}, nil
}

// Root is the top-level value.
func (t *Tree) Root() Node { return 0 }

// Kind returns n's JSON type.
func (t *Tree) Kind(n Node) Kind { return Kind(t.d.nodes[n].kind) }

// Len is an array's element count, an object's member count or a string's
// byte length (0 for other kinds).
func (t *Tree) Len(n Node) int {
	switch t.d.nodes[n].kind {
	case kArray, kObject, kString:
		return int(t.d.nodes[n].n)
	}
	return 0
}

// Next returns the node after n's subtree: the next element of n's array,
// or the next key of n's object when n is a member value.
func (t *Tree) Next(n Node) Node { return Node(t.d.next(int(n))) }

// End returns the node after n's subtree (Next), so that n's descendants
// are the nodes n+1 .. End(n)-1.
func (t *Tree) End(n Node) Node { return t.Next(n) }

// Str returns a string node's bytes (decoded escapes; not validated as
// UTF-8). It must not be modified.
func (t *Tree) Str(n Node) []byte { return t.d.str(int(n)) }

// IsInteger reports whether a number was written without a fraction or an
// exponent and fits an int64 or a uint64 (Python's int; larger integers
// are doubles, as rapidjson parses them).
func (t *Tree) IsInteger(n Node) bool {
	f := t.d.nodes[n].flags
	return t.d.nodes[n].kind == kNumber && f&fDouble == 0 && f&(fInt64|fUint64) != 0
}

// Int64 returns an integer node's value when it fits an int64.
func (t *Tree) Int64(n Node) (int64, bool) {
	nd := &t.d.nodes[n]
	if nd.kind != kNumber || nd.flags&fInt64 == 0 || nd.flags&fDouble != 0 {
		return 0, false
	}
	return int64(nd.v), true
}

// Uint64 returns an integer node's value when it is not negative and fits a
// uint64.
func (t *Tree) Uint64(n Node) (uint64, bool) {
	nd := &t.d.nodes[n]
	if nd.kind != kNumber || nd.flags&fUint64 == 0 || nd.flags&fDouble != 0 {
		return 0, false
	}
	return nd.v, true
}

// Float64 returns a number node's value as a double.
func (t *Tree) Float64(n Node) float64 { return t.d.getDouble(int(n)) }

// Member returns the value of object obj's last member named name (as
// Python's json.loads keeps the last of duplicate keys), or -1.
func (t *Tree) Member(obj Node, name string) Node {
	found := Node(-1)
	for k, v := range t.Members(obj) {
		if string(t.Str(k)) == name {
			found = v
		}
	}
	return found
}

// Members iterates over object obj's members as (key node, value node).
func (t *Tree) Members(obj Node) func(yield func(key, val Node) bool) {
	return func(yield func(key, val Node) bool) {
		k := obj + 1
		for range t.d.nodes[obj].n {
			v := k + 1
			if !yield(k, v) {
				return
			}
			k = t.Next(v)
		}
	}
}

// Elems iterates over array arr's elements.
func (t *Tree) Elems(arr Node) func(yield func(Node) bool) {
	return func(yield func(Node) bool) {
		e := arr + 1
		for range t.d.nodes[arr].n {
			if !yield(e) {
				return
			}
			e = t.Next(e)
		}
	}
}

// Nodes is the number of nodes in the tree (a bound on any count derived
// from it).
func (t *Tree) Nodes() int { return len(t.d.nodes) }
