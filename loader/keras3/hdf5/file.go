package hdf5

import (
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"
)

// Errors every failure wraps, so callers can tell a damaged or hostile file
// (ErrFormat), a valid file using HDF5 features outside the supported subset
// (ErrUnsupported), a file that needs more than Options allow (ErrBudget),
// a name that is not there (ErrNotFound) and values asked for as a type
// they do not convert to (ErrType) apart with errors.Is.
var (
	ErrFormat      = errors.New("hdf5: malformed file")
	ErrUnsupported = errors.New("hdf5: unsupported feature")
	ErrBudget      = errors.New("hdf5: resource limit exceeded")
	ErrNotFound    = errors.New("hdf5: not found")
	ErrType        = errors.New("hdf5: wrong value type")
)

// formatErr and friends build errors that wrap a sentinel and carry context.
func formatErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrFormat, fmt.Sprintf(format, args...))
}

func unsupportedErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnsupported, fmt.Sprintf(format, args...))
}

func typeErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrType, fmt.Sprintf(format, args...))
}

func budgetErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBudget, fmt.Sprintf(format, args...))
}

// Defaults for the zero fields of Options.
const (
	DefaultMaxBytes         = 4 << 30
	DefaultMaxMetadataBytes = 256 << 20
	DefaultMaxObjects       = 1 << 22
	DefaultMaxDepth         = 64
)

// Options bounds what a File may spend on its input. Every size and count
// read from the file is checked against the file size and these limits
// before anything is allocated for it. Zero fields take the defaults.
type Options struct {
	// MaxBytes caps what one read of a dataset or attribute value may
	// allocate: the result, the decoded chunk buffer, the stored
	// (compressed) chunks and the conversion. Default DefaultMaxBytes.
	MaxBytes int64
	// MaxMetadataBytes caps the metadata bytes (object headers, B-tree
	// nodes, heaps) the File reads over its whole life. Parsed objects are
	// cached, so a file is charged once for each. Default
	// DefaultMaxMetadataBytes.
	MaxMetadataBytes int64
	// MaxObjects caps the metadata items parsed over the File's life (object
	// headers, header messages, links, attributes, B-tree nodes, heap
	// blocks), and the chunk records one read may visit. Default
	// DefaultMaxObjects.
	MaxObjects int64
	// MaxDepth caps the group nesting that Walk and path lookups follow.
	// Default DefaultMaxDepth.
	MaxDepth int
}

func (o Options) withDefaults() Options {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxMetadataBytes <= 0 {
		o.MaxMetadataBytes = DefaultMaxMetadataBytes
	}
	if o.MaxObjects <= 0 {
		o.MaxObjects = DefaultMaxObjects
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	return o
}

// undef is the HDF5 "undefined address" (all bits set), whatever the width
// of addresses in the file.
const undef = math.MaxUint64

// File is an open HDF5 file. Its methods are safe for concurrent use.
type File struct {
	r    io.ReaderAt
	size uint64
	opts Options

	sbVersion int
	offSize   int // bytes in an address
	lenSize   int // bytes in a length
	base      uint64
	rootAddr  uint64

	metaBytes atomic.Int64
	objects   atomic.Int64

	mu      sync.Mutex
	objs    map[uint64]*object      // parsed object headers by address
	gheaps  map[uint64]*globalHeap  // global heap collections by address
	fheaps  map[uint64]*fractalHeap // fractal heap headers by address
	lheaps  map[uint64][]byte       // local heap data segments by header address
	failing map[uint64]error        // objects that failed to parse
	root    *Group
}

// Open reads the superblock and the root group of the HDF5 file in r, which
// holds size bytes, with default Options.
func Open(r io.ReaderAt, size int64) (*File, error) {
	return OpenOptions(r, size, Options{})
}

// OpenOptions is Open with explicit limits.
func OpenOptions(r io.ReaderAt, size int64, opts Options) (*File, error) {
	if size < 0 {
		return nil, formatErr("negative file size %d", size)
	}
	f := &File{
		r:       r,
		size:    uint64(size),
		opts:    opts.withDefaults(),
		objs:    map[uint64]*object{},
		gheaps:  map[uint64]*globalHeap{},
		fheaps:  map[uint64]*fractalHeap{},
		lheaps:  map[uint64][]byte{},
		failing: map[uint64]error{},
	}
	if err := f.readSuperblock(); err != nil {
		return nil, err
	}
	obj, err := f.object(f.rootAddr)
	if err != nil {
		return nil, fmt.Errorf("root group: %w", err)
	}
	if obj.kind != kindGroup {
		return nil, formatErr("root object at 0x%x is not a group", f.rootAddr)
	}
	f.root = &Group{f: f, path: "", obj: obj}
	return f, nil
}

// Root returns the root group.
func (f *File) Root() *Group { return f.root }

// SuperblockVersion reports the version of the file's superblock (0 to 3).
func (f *File) SuperblockVersion() int { return f.sbVersion }

// chargeMeta counts n metadata bytes against MaxMetadataBytes.
func (f *File) chargeMeta(n uint64, what string) error {
	if n > uint64(f.opts.MaxMetadataBytes) || n > math.MaxInt {
		return budgetErr("%s: %d bytes of metadata exceed MaxMetadataBytes %d", what, n, f.opts.MaxMetadataBytes)
	}
	if total := f.metaBytes.Add(int64(n)); total > f.opts.MaxMetadataBytes {
		return budgetErr("%s: metadata read so far (%d bytes) exceeds MaxMetadataBytes %d", what, total, f.opts.MaxMetadataBytes)
	}
	return nil
}

// chargeObjects counts n metadata items against MaxObjects.
func (f *File) chargeObjects(n uint64, what string) error {
	if n > uint64(f.opts.MaxObjects) {
		return budgetErr("%s: %d items exceed MaxObjects %d", what, n, f.opts.MaxObjects)
	}
	if total := f.objects.Add(int64(n)); total > f.opts.MaxObjects {
		return budgetErr("%s: items parsed so far (%d) exceed MaxObjects %d", what, total, f.opts.MaxObjects)
	}
	return nil
}

// abs turns a file address (relative to the base address) into an offset
// in r, checking that n bytes from there lie inside the file.
func (f *File) abs(addr, n uint64, what string) (int64, error) {
	if addr == undef {
		return 0, formatErr("%s: undefined address", what)
	}
	off := f.base + addr
	if off < addr {
		return 0, formatErr("%s: address 0x%x overflows", what, addr)
	}
	end := off + n
	if end < off || end > f.size {
		return 0, formatErr("%s: %d bytes at 0x%x run past the end of the file (%d bytes)", what, n, addr, f.size)
	}
	return int64(off), nil
}

// readRaw reads n bytes at addr without charging any budget; callers charge
// first.
func (f *File) readRaw(addr, n uint64, what string) ([]byte, error) {
	off, err := f.abs(addr, n, what)
	if err != nil {
		return nil, err
	}
	b := make([]byte, n)
	m, err := f.r.ReadAt(b, off)
	if m == len(b) {
		return b, nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return nil, fmt.Errorf("%s: reading %d bytes at 0x%x: %w", what, n, addr, err)
}

// readMeta reads n bytes of metadata at addr, charged to MaxMetadataBytes.
func (f *File) readMeta(addr, n uint64, what string) ([]byte, error) {
	if _, err := f.abs(addr, n, what); err != nil {
		return nil, err
	}
	if err := f.chargeMeta(n, what); err != nil {
		return nil, err
	}
	return f.readRaw(addr, n, what)
}

// readUpTo reads at most n metadata bytes at addr, fewer where the file
// ends first (for prefixes whose length is known only after parsing them).
func (f *File) readUpTo(addr, n uint64, what string) ([]byte, error) {
	if addr == undef {
		return nil, formatErr("%s: undefined address", what)
	}
	off := f.base + addr
	if off < addr || off >= f.size {
		return nil, formatErr("%s: address 0x%x is past the end of the file (%d bytes)", what, addr, f.size)
	}
	if rest := f.size - off; n > rest {
		n = rest
	}
	return f.readMeta(addr, n, what)
}

// readBudget bounds the allocations of one value read.
type readBudget struct {
	f       *File
	what    string
	used    uint64
	objects uint64
}

func (f *File) newReadBudget(what string) *readBudget { return &readBudget{f: f, what: what} }

func (rb *readBudget) charge(n uint64) error {
	limit := min(uint64(rb.f.opts.MaxBytes), math.MaxInt)
	if n > limit || rb.used+n > limit {
		return budgetErr("%s: reading needs more than MaxBytes %d bytes", rb.what, limit)
	}
	rb.used += n
	return nil
}

func (rb *readBudget) chargeObjects(n uint64) error {
	limit := uint64(rb.f.opts.MaxObjects)
	if n > limit || rb.objects+n > limit {
		return budgetErr("%s: more than MaxObjects %d chunk records", rb.what, limit)
	}
	rb.objects += n
	return nil
}

// read reads n bytes of data at addr, charged to this read's budget.
func (rb *readBudget) read(addr, n uint64, what string) ([]byte, error) {
	if _, err := rb.f.abs(addr, n, what); err != nil {
		return nil, err
	}
	if err := rb.charge(n); err != nil {
		return nil, err
	}
	return rb.f.readRaw(addr, n, what)
}

// alloc allocates n bytes charged to this read's budget.
func (rb *readBudget) alloc(n uint64) ([]byte, error) {
	if err := rb.charge(n); err != nil {
		return nil, err
	}
	return make([]byte, n), nil
}

// decoder reads little-endian fields from a buffer. Reading past the end
// sets a sticky error and yields zeros, so parsers check err once at the
// end (and before acting on a value read).
type decoder struct {
	b       []byte
	off     int
	err     error
	what    string
	offSize int
	lenSize int
}

func (f *File) dec(b []byte, what string) *decoder {
	return &decoder{b: b, what: what, offSize: f.offSize, lenSize: f.lenSize}
}

func (d *decoder) fail(need int) {
	if d.err == nil {
		d.err = formatErr("%s: truncated (need %d bytes at byte %d of %d)", d.what, need, d.off, len(d.b))
	}
	d.off = len(d.b)
}

func (d *decoder) remaining() int { return len(d.b) - d.off }

func (d *decoder) bytes(n int) []byte {
	if n < 0 || n > d.remaining() {
		d.fail(n)
		return nil
	}
	b := d.b[d.off : d.off+n]
	d.off += n
	return b
}

func (d *decoder) skip(n int) { d.bytes(n) }

func (d *decoder) u8() uint8 {
	b := d.bytes(1)
	if b == nil {
		return 0
	}
	return b[0]
}

func (d *decoder) u16() uint16 { return uint16(d.uvar(2)) }
func (d *decoder) u32() uint32 { return uint32(d.uvar(4)) }
func (d *decoder) u64() uint64 { return d.uvar(8) }

// uvar reads an n-byte little-endian unsigned integer (n ≤ 8).
func (d *decoder) uvar(n int) uint64 {
	if n > 8 {
		d.err = formatErr("%s: %d-byte integer field", d.what, n)
		d.off = len(d.b)
		return 0
	}
	b := d.bytes(n)
	return leUint(b)
}

func leUint(b []byte) uint64 {
	var v uint64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

// addr reads a file address; all-ones becomes undef.
func (d *decoder) addr() uint64 {
	v := d.uvar(d.offSize)
	if d.offSize < 8 && v == 1<<(8*uint(d.offSize))-1 {
		return undef
	}
	return v
}

// length reads a "size of lengths" field.
func (d *decoder) length() uint64 { return d.uvar(d.lenSize) }

// signature checks a 4-byte signature.
func (d *decoder) signature(sig string) {
	b := d.bytes(4)
	if d.err == nil && string(b) != sig {
		d.err = formatErr("%s: signature %q, want %q", d.what, b, sig)
	}
}
