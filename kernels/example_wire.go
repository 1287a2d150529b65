package kernels

import (
	"encoding/binary"
	"math"

	"github.com/tfserve/tfserve/tensor"
	"google.golang.org/protobuf/encoding/protowire"
)

// Feature kinds, numbered as the fields of tensorflow.Feature.
const (
	kindNone  = 0
	kindBytes = 1
	kindFloat = 2
	kindInt64 = 3
)

// exampleFeature is one decoded tensorflow.Feature.
type exampleFeature struct {
	kind   int
	bytes  []string
	floats []float32
	ints   []int64
}

func (f *exampleFeature) count() int {
	switch f.kind {
	case kindBytes:
		return len(f.bytes)
	case kindFloat:
		return len(f.floats)
	case kindInt64:
		return len(f.ints)
	}
	return 0
}

func kindOf(dt tensor.DType) int {
	switch dt {
	case tensor.String:
		return kindBytes
	case tensor.Float32:
		return kindFloat
	case tensor.Int64:
		return kindInt64
	}
	return kindNone
}

func kindName(k int) string {
	switch k {
	case kindBytes:
		return "string"
	case kindFloat:
		return "float"
	case kindInt64:
		return "int64"
	}
	return "none"
}

// errBadExample is returned for bytes that are not a serialized Example.
var errBadExample = Errorf("Could not parse example input")

// decodeExample parses a serialized tf.Example, keeping only the features
// whose names are in want (name -> slots); found[slot] receives each.
// Protobuf merge semantics apply: repeated Features messages merge, a map
// key seen twice keeps its last value, and list fields of the same kind
// concatenate.
func decodeExample(b []byte, want map[string][]int, found []exampleFeature, seen []bool) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errBadExample
		}
		b = b[n:]
		if num == 1 && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return errBadExample
			}
			b = b[n:]
			if err := decodeFeatures(v, want, found, seen); err != nil {
				return err
			}
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return errBadExample
		}
		b = b[n:]
	}
	return nil
}

func decodeFeatures(b []byte, want map[string][]int, found []exampleFeature, seen []bool) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errBadExample
		}
		b = b[n:]
		if num != 1 || typ != protowire.BytesType {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return errBadExample
			}
			b = b[n:]
			continue
		}
		entry, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return errBadExample
		}
		b = b[n:]
		// Map entry: key = 1, value = 2.
		var key, val []byte
		hasVal := false
		for len(entry) > 0 {
			en, et, m := protowire.ConsumeTag(entry)
			if m < 0 {
				return errBadExample
			}
			entry = entry[m:]
			if (en == 1 || en == 2) && et == protowire.BytesType {
				v, m := protowire.ConsumeBytes(entry)
				if m < 0 {
					return errBadExample
				}
				entry = entry[m:]
				if en == 1 {
					key = v
				} else {
					val = v
					hasVal = true
				}
				continue
			}
			m = protowire.ConsumeFieldValue(en, et, entry)
			if m < 0 {
				return errBadExample
			}
			entry = entry[m:]
		}
		slots, ok := want[string(key)]
		if !ok {
			// Still validate the value so malformed input is reported.
			if hasVal {
				var f exampleFeature
				if err := decodeFeature(val, &f); err != nil {
					return err
				}
			}
			continue
		}
		var f exampleFeature
		if err := decodeFeature(val, &f); err != nil {
			return err
		}
		for _, slot := range slots {
			found[slot] = f
			seen[slot] = true
		}
	}
	return nil
}

func decodeFeature(b []byte, f *exampleFeature) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errBadExample
		}
		b = b[n:]
		if num < 1 || num > 3 || typ != protowire.BytesType {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return errBadExample
			}
			b = b[n:]
			continue
		}
		list, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return errBadExample
		}
		b = b[n:]
		kind := int(num)
		if f.kind != kind {
			*f = exampleFeature{kind: kind}
		}
		if err := decodeList(list, f); err != nil {
			return err
		}
	}
	return nil
}

// decodeList appends the values of a BytesList/FloatList/Int64List.
func decodeList(b []byte, f *exampleFeature) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errBadExample
		}
		b = b[n:]
		if num != 1 {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return errBadExample
			}
			b = b[n:]
			continue
		}
		switch {
		case f.kind == kindBytes && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return errBadExample
			}
			f.bytes = append(f.bytes, string(v))
			b = b[n:]
		case f.kind == kindFloat && typ == protowire.Fixed32Type:
			v, n := protowire.ConsumeFixed32(b)
			if n < 0 {
				return errBadExample
			}
			f.floats = append(f.floats, math.Float32frombits(v))
			b = b[n:]
		case f.kind == kindFloat && typ == protowire.BytesType: // packed
			v, n := protowire.ConsumeBytes(b)
			if n < 0 || len(v)%4 != 0 {
				return errBadExample
			}
			for i := 0; i < len(v); i += 4 {
				f.floats = append(f.floats, math.Float32frombits(binary.LittleEndian.Uint32(v[i:])))
			}
			b = b[n:]
		case f.kind == kindInt64 && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return errBadExample
			}
			f.ints = append(f.ints, int64(v))
			b = b[n:]
		case f.kind == kindInt64 && typ == protowire.BytesType: // packed
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return errBadExample
			}
			for len(v) > 0 {
				x, m := protowire.ConsumeVarint(v)
				if m < 0 {
					return errBadExample
				}
				f.ints = append(f.ints, int64(x))
				v = v[m:]
			}
			b = b[n:]
		default:
			return errBadExample
		}
	}
	return nil
}
