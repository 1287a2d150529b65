package bundle

import (
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tfserve/tfserve/loader/bundle/sstable"
	"github.com/tfserve/tfserve/tensor"
)

// Header is the decoded BundleHeaderProto stored under the empty key.
type Header struct {
	NumShards int
	// BigEndian is set when the writer declared big-endian data; such
	// bundles are rejected by Open.
	BigEndian    bool
	Producer     int32
	MinConsumer  int32
	BadConsumers []int32
}

// Entry describes one tensor stored in the bundle (a BundleEntryProto).
type Entry struct {
	DType  tensor.DType
	Shape  tensor.Shape
	Shard  int
	Offset int64
	Size   int64
	// CRC32C is the unmasked CRC32C of the stored bytes.
	CRC32C uint32
	// Slices counts the TensorSliceProtos of a partitioned variable. Such
	// entries are listed but cannot be read.
	Slices int
}

// Versions of the tensor_bundle format this reader understands
// (tensorflow/core/util/tensor_bundle: kTensorBundleVersion and friends).
const (
	formatVersion     = 1
	formatMinProducer = 0
)

// maxDims bounds the rank accepted from a shape; TensorFlow itself allows 254.
const maxDims = 254

// decodeHeader parses a BundleHeaderProto:
// num_shards=1 int32, endianness=2 enum, version=3 VersionDef.
func decodeHeader(b []byte) (Header, error) {
	var h Header
	err := walk(b, func(num protowire.Number, typ protowire.Type, v uint64, sub []byte) error {
		switch {
		case num == 1 && typ == protowire.VarintType:
			h.NumShards = int(int32(v))
		case num == 2 && typ == protowire.VarintType:
			h.BigEndian = int32(v) == 1
			if e := int32(v); e != 0 && e != 1 {
				return fmt.Errorf("unknown endianness %d: %w", e, ErrCorrupt)
			}
		case num == 3 && typ == protowire.BytesType:
			return walk(sub, func(num protowire.Number, typ protowire.Type, v uint64, packed []byte) error {
				switch {
				case num == 1 && typ == protowire.VarintType:
					h.Producer = int32(v)
				case num == 2 && typ == protowire.VarintType:
					h.MinConsumer = int32(v)
				case num == 3 && typ == protowire.VarintType:
					h.BadConsumers = append(h.BadConsumers, int32(v))
				case num == 3 && typ == protowire.BytesType:
					for len(packed) > 0 {
						x, n := protowire.ConsumeVarint(packed)
						if n < 0 {
							return fmt.Errorf("version.bad_consumers: %w", protowire.ParseError(n))
						}
						h.BadConsumers = append(h.BadConsumers, int32(x))
						packed = packed[n:]
					}
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return Header{}, fmt.Errorf("header: %w", err)
	}
	return h, nil
}

// check validates the header the way TensorFlow's BundleReader does.
func (h Header) check() error {
	if h.NumShards <= 0 {
		return fmt.Errorf("header: num_shards %d: %w", h.NumShards, ErrCorrupt)
	}
	if h.BigEndian {
		return fmt.Errorf("header: big-endian bundles: %w", ErrUnsupported)
	}
	if h.Producer < formatMinProducer {
		return fmt.Errorf("header: producer version %d is older than %d: %w", h.Producer, formatMinProducer, ErrUnsupported)
	}
	if h.MinConsumer > formatVersion {
		return fmt.Errorf("header: needs a reader of format version %d, this one is %d: %w", h.MinConsumer, formatVersion, ErrUnsupported)
	}
	for _, c := range h.BadConsumers {
		if c == formatVersion {
			return fmt.Errorf("header: format version %d is listed as a bad consumer: %w", c, ErrUnsupported)
		}
	}
	return nil
}

// DecodeEntry parses a BundleEntryProto: dtype=1, shape=2
// (TensorShapeProto), shard_id=3, offset=4, size=5, crc32c=6 (fixed32,
// masked), slices=7. It checks that the shape is known, non-negative and
// has a representable element count, and that offset and size are
// non-negative; it does not check the size against the dtype.
func DecodeEntry(b []byte) (Entry, error) {
	var e Entry
	shape := tensor.Shape{}
	var crcSet bool
	err := walk(b, func(num protowire.Number, typ protowire.Type, v uint64, sub []byte) error {
		switch {
		case num == 1 && typ == protowire.VarintType:
			e.DType = tensor.DType(int32(v))
		case num == 2 && typ == protowire.BytesType:
			// Repeated occurrences of a message field merge; for a shape
			// that means the dimensions concatenate.
			s, err := decodeShape(sub)
			if err != nil {
				return err
			}
			if len(shape)+len(s) > maxDims {
				return fmt.Errorf("shape has more than %d dimensions: %w", maxDims, ErrCorrupt)
			}
			shape = append(shape, s...)
			if _, ok := numElements(shape); !ok {
				return fmt.Errorf("shape %v has too many elements: %w", shape, ErrCorrupt)
			}
		case num == 3 && typ == protowire.VarintType:
			e.Shard = int(int32(v))
		case num == 4 && typ == protowire.VarintType:
			e.Offset = int64(v)
		case num == 5 && typ == protowire.VarintType:
			e.Size = int64(v)
		case num == 6 && typ == protowire.Fixed32Type:
			e.CRC32C = sstable.UnmaskCRC(uint32(v))
			crcSet = true
		case num == 7 && typ == protowire.BytesType:
			e.Slices++
		}
		return nil
	})
	if err != nil {
		return Entry{}, err
	}
	if !crcSet {
		// proto3 omits zero values; a masked CRC of 0 is a legal value.
		e.CRC32C = sstable.UnmaskCRC(0)
	}
	e.Shape = shape
	switch {
	case !knownDTypeRange(e.DType):
		return Entry{}, fmt.Errorf("dtype %d is not a TensorFlow DataType: %w", int32(e.DType), ErrCorrupt)
	case e.Shard < 0:
		return Entry{}, fmt.Errorf("negative shard_id %d: %w", e.Shard, ErrCorrupt)
	case e.Offset < 0:
		return Entry{}, fmt.Errorf("negative offset %d: %w", e.Offset, ErrCorrupt)
	case e.Size < 0:
		return Entry{}, fmt.Errorf("negative size %d: %w", e.Size, ErrCorrupt)
	case e.Offset > math.MaxInt64-e.Size:
		return Entry{}, fmt.Errorf("offset %d + size %d overflows: %w", e.Offset, e.Size, ErrCorrupt)
	}
	return e, nil
}

// knownDTypeRange reports whether dt lies in the range of TensorFlow's
// DataType enum (base types below 100, reference types 101-199). Values
// outside it are corrupt, and tensor.DType.String recurses once per 100
// above 100, so they must never be formatted.
func knownDTypeRange(dt tensor.DType) bool {
	return dt >= 0 && dt < 200 && dt != 100
}

// decodeShape parses a TensorShapeProto: dim=2 {size=1, name=2},
// unknown_rank=3.
func decodeShape(b []byte) (tensor.Shape, error) {
	shape := tensor.Shape{}
	var unknown bool
	err := walk(b, func(num protowire.Number, typ protowire.Type, v uint64, sub []byte) error {
		switch {
		case num == 2 && typ == protowire.BytesType:
			if len(shape) >= maxDims {
				return fmt.Errorf("shape has more than %d dimensions: %w", maxDims, ErrCorrupt)
			}
			var size int64
			err := walk(sub, func(num protowire.Number, typ protowire.Type, v uint64, _ []byte) error {
				if num == 1 && typ == protowire.VarintType {
					size = int64(v)
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("shape dim %d: %w", len(shape), err)
			}
			if size < 0 {
				return fmt.Errorf("shape dim %d is %d: %w", len(shape), size, ErrCorrupt)
			}
			if size > 1<<53 {
				return fmt.Errorf("shape dim %d is %d, too large: %w", len(shape), size, ErrCorrupt)
			}
			shape = append(shape, int(size))
		case num == 3 && typ == protowire.VarintType:
			unknown = v != 0
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if unknown {
		return nil, fmt.Errorf("shape has unknown rank: %w", ErrCorrupt)
	}
	if _, ok := numElements(shape); !ok {
		return nil, fmt.Errorf("shape %v has too many elements: %w", shape, ErrCorrupt)
	}
	return shape, nil
}

// numElements multiplies the dimensions, reporting false on overflow past
// 2^53 (far beyond any tensor a file can hold).
func numElements(s tensor.Shape) (int64, bool) {
	n := int64(1)
	for _, d := range s {
		if d == 0 {
			return 0, true
		}
	}
	for _, d := range s {
		if int64(d) > (1<<53)/n {
			return 0, false
		}
		n *= int64(d)
	}
	return n, true
}

// walk calls fn for every field of a protobuf message. For varint and
// fixed fields v holds the value; for length-delimited fields sub holds the
// bytes. Groups and malformed input produce errors.
func walk(b []byte, fn func(num protowire.Number, typ protowire.Type, v uint64, sub []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("proto tag: %v: %w", protowire.ParseError(n), ErrCorrupt)
		}
		b = b[n:]
		var v uint64
		var sub []byte
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var x uint32
			x, n = protowire.ConsumeFixed32(b)
			v = uint64(x)
		case protowire.Fixed64Type:
			v, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			sub, n = protowire.ConsumeBytes(b)
		default:
			return fmt.Errorf("proto field %d: unsupported wire type %d: %w", num, typ, ErrCorrupt)
		}
		if n < 0 {
			return fmt.Errorf("proto field %d: %v: %w", num, protowire.ParseError(n), ErrCorrupt)
		}
		b = b[n:]
		if err := fn(num, typ, v, sub); err != nil {
			return err
		}
	}
	return nil
}

// Sentinel errors, for errors.Is.
var (
	// ErrCorrupt marks malformed bundle or table bytes.
	ErrCorrupt = sstable.ErrCorrupt
	// ErrChecksum marks a CRC32C mismatch in a table block or tensor data.
	ErrChecksum = sstable.ErrChecksum
	// ErrUnsupported marks valid bundles this reader cannot read
	// (partitioned variables, big-endian files, variant tensors).
	ErrUnsupported = errors.New("unsupported")
)
