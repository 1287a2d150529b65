package hdf5

import "fmt"

const signature = "\x89HDF\r\n\x1a\n"

// maxSuperblockSearch bounds where the superblock may start: HDF5 looks at
// offset 0 and at every power of two from 512 on.
const maxSuperblockSearch = 1 << 30

// readSuperblock finds and parses the superblock (versions 0 to 3).
func (f *File) readSuperblock() error {
	at := uint64(0)
	for {
		if at+8 > f.size {
			return formatErr("no HDF5 signature found (file of %d bytes)", f.size)
		}
		sig, err := f.readRaw(at, 8, "superblock signature")
		if err != nil {
			return err
		}
		if string(sig) == signature {
			break
		}
		if at == 0 {
			at = 512
		} else {
			at *= 2
		}
		if at > maxSuperblockSearch {
			return formatErr("no HDF5 signature found")
		}
	}
	// The largest superblock (version 1 with 8-byte fields) is 8+16+4+4*8+40
	// bytes; read what the file has up to that, then parse.
	const maxLen = 8 + 16 + 4 + 4*8 + 40 + 64
	n := min(uint64(maxLen), f.size-at)
	if err := f.chargeMeta(n, "superblock"); err != nil {
		return err
	}
	b, err := f.readRaw(at, n, "superblock")
	if err != nil {
		return err
	}
	d := &decoder{b: b, what: fmt.Sprintf("superblock at 0x%x", at)}
	d.skip(8)
	f.sbVersion = int(d.u8())
	if d.err != nil {
		return d.err
	}
	switch f.sbVersion {
	case 0, 1:
		d.skip(3) // free-space, root symbol table entry, reserved
		d.skip(1) // shared header message format version
		f.offSize = int(d.u8())
		f.lenSize = int(d.u8())
		d.skip(1)
		d.skip(2 + 2) // group leaf and internal node K
		d.skip(4)     // file consistency flags
		if f.sbVersion == 1 {
			d.skip(4) // indexed storage internal node K, reserved
		}
		if err := f.checkSizes(d); err != nil {
			return err
		}
		d.offSize, d.lenSize = f.offSize, f.lenSize
		f.base = d.addr()
		d.addr() // free-space info
		eof := d.addr()
		d.addr() // driver info block
		// Root group symbol table entry.
		d.addr() // link name offset
		f.rootAddr = d.addr()
		d.skip(4 + 4 + 16) // cache type, reserved, scratch pad
		if d.err != nil {
			return d.err
		}
		_ = eof
	case 2, 3:
		f.offSize = int(d.u8())
		f.lenSize = int(d.u8())
		d.skip(1) // file consistency flags
		if err := f.checkSizes(d); err != nil {
			return err
		}
		d.offSize, d.lenSize = f.offSize, f.lenSize
		f.base = d.addr()
		d.addr() // superblock extension
		d.addr() // end of file
		f.rootAddr = d.addr()
		end := d.off
		d.skip(4)
		if d.err != nil {
			return d.err
		}
		if err := checkSum(b[:end+4], d.what); err != nil {
			return err
		}
	default:
		return unsupportedErr("superblock version %d", f.sbVersion)
	}
	// As the HDF5 library does, a superblock found somewhere else than its
	// recorded base address (a file with a user block, or one appended to
	// another) takes its own position as the base.
	f.base = at
	if f.rootAddr == undef {
		return formatErr("superblock: undefined root group address")
	}
	return nil
}

func (f *File) checkSizes(d *decoder) error {
	if d.err != nil {
		return d.err
	}
	for _, s := range []int{f.offSize, f.lenSize} {
		switch s {
		case 2, 4, 8:
		default:
			return unsupportedErr("%s: %d-byte offsets or lengths (2, 4 and 8 are supported)", d.what, s)
		}
	}
	return nil
}
