package sstable

import (
	"fmt"

	"github.com/golang/snappy"
)

// snappyDecode decompresses a snappy block, refusing streams whose declared
// length is larger than any valid snappy stream of this size could produce,
// so that a corrupt header cannot make us allocate gigabytes.
func snappyDecode(src []byte) ([]byte, error) {
	n, err := snappy.DecodedLen(src)
	if err != nil {
		return nil, fmt.Errorf("snappy header: %v: %w", err, ErrCorrupt)
	}
	if uint64(n) > uint64(len(src))*maxSnappyExpansion+64 {
		return nil, fmt.Errorf("snappy block of %d bytes claims %d decoded bytes: %w", len(src), n, ErrCorrupt)
	}
	out, err := snappy.Decode(make([]byte, n), src)
	if err != nil {
		return nil, fmt.Errorf("snappy: %v: %w", err, ErrCorrupt)
	}
	return out, nil
}

func snappyEncode(src []byte) []byte { return snappy.Encode(nil, src) }
