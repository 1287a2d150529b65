package hdf5

import (
	"fmt"
)

// Header message types used here.
const (
	msgNil          = 0x00
	msgDataspace    = 0x01
	msgLinkInfo     = 0x02
	msgDatatype     = 0x03
	msgFillOld      = 0x04
	msgFill         = 0x05
	msgLink         = 0x06
	msgExternal     = 0x07
	msgLayout       = 0x08
	msgGroupInfo    = 0x0a
	msgFilters      = 0x0b
	msgAttribute    = 0x0c
	msgContinuation = 0x10
	msgSymbolTable  = 0x11
	msgAttrInfo     = 0x15
	maxKnownMsgType = 0x18
)

// Message flags.
const (
	msgFlagShared        = 0x02
	msgFlagFailIfUnknown = 0x80
)

type message struct {
	typ   uint16
	flags uint8
	data  []byte
}

// maxHeaderChunks bounds the continuation blocks of one object header.
const maxHeaderChunks = 4096

// readHeader reads the messages of the object header at addr, following
// continuation blocks (each visited once) without recursion.
func (f *File) readHeader(addr uint64) ([]message, error) {
	what := fmt.Sprintf("object header at 0x%x", addr)
	if err := f.chargeObjects(1, what); err != nil {
		return nil, err
	}
	pre, err := f.readUpTo(addr, 64, what)
	if err != nil {
		return nil, err
	}
	if len(pre) >= 4 && string(pre[:4]) == "OHDR" {
		return f.readHeaderV2(addr, pre, what)
	}
	return f.readHeaderV1(addr, pre, what)
}

type chunkRef struct{ addr, size uint64 }

func (f *File) readHeaderV1(addr uint64, pre []byte, what string) ([]message, error) {
	d := f.dec(pre, what)
	version := d.u8()
	d.skip(1)
	d.u16() // number of messages
	d.u32() // reference count
	size := uint64(d.u32())
	if d.err != nil {
		return nil, d.err
	}
	if version != 1 {
		return nil, formatErr("%s: version %d (want 1, or an OHDR signature)", what, version)
	}
	var msgs []message
	queue := []chunkRef{{addr + 16, size}}
	if addr+16 < addr {
		return nil, formatErr("%s: address overflows", what)
	}
	seen := map[uint64]bool{}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		if seen[c.addr] {
			return nil, formatErr("%s: continuation block 0x%x appears twice", what, c.addr)
		}
		seen[c.addr] = true
		if len(seen) > maxHeaderChunks {
			return nil, budgetErr("%s: more than %d continuation blocks", what, maxHeaderChunks)
		}
		cwhat := fmt.Sprintf("%s, block at 0x%x", what, c.addr)
		b, err := f.readMeta(c.addr, c.size, cwhat)
		if err != nil {
			return nil, err
		}
		d := f.dec(b, cwhat)
		for d.remaining() >= 8 {
			typ := d.u16()
			msize := int(d.u16())
			flags := d.u8()
			d.skip(3)
			data := d.bytes(msize)
			if d.err != nil {
				return nil, d.err
			}
			if err := f.chargeObjects(1, cwhat); err != nil {
				return nil, err
			}
			m := message{typ: typ, flags: flags, data: data}
			if typ == msgContinuation {
				ref, err := f.continuation(m, cwhat)
				if err != nil {
					return nil, err
				}
				queue = append(queue, ref)
				continue
			}
			msgs = append(msgs, m)
		}
	}
	return msgs, nil
}

func (f *File) continuation(m message, what string) (chunkRef, error) {
	d := f.dec(m.data, what+": continuation message")
	ref := chunkRef{addr: d.addr(), size: d.length()}
	if d.err != nil {
		return ref, d.err
	}
	if ref.addr == undef {
		return ref, formatErr("%s: continuation to an undefined address", what)
	}
	return ref, nil
}

func (f *File) readHeaderV2(addr uint64, pre []byte, what string) ([]message, error) {
	d := f.dec(pre, what)
	d.skip(4)
	version := d.u8()
	flags := d.u8()
	if d.err != nil {
		return nil, d.err
	}
	if version != 2 {
		return nil, unsupportedErr("%s: OHDR version %d", what, version)
	}
	if flags&0x20 != 0 {
		d.skip(16) // access, modification, change, birth times
	}
	if flags&0x10 != 0 {
		d.skip(4) // attribute phase change values
	}
	size0 := d.uvar(1 << (flags & 3))
	if d.err != nil {
		return nil, d.err
	}
	prefix := uint64(d.off)
	total := prefix + size0 + 4
	if total < size0 {
		return nil, formatErr("%s: chunk size overflows", what)
	}
	b, err := f.readMeta(addr, total, what)
	if err != nil {
		return nil, err
	}
	if err := checkSum(b, what); err != nil {
		return nil, err
	}
	withOrder := flags&0x04 != 0
	var msgs []message
	var queue []chunkRef
	parse := func(body []byte, cwhat string) error {
		d := f.dec(body, cwhat)
		hdr := 4
		if withOrder {
			hdr = 6
		}
		for d.remaining() >= hdr {
			typ := uint16(d.u8())
			msize := int(d.u16())
			mflags := d.u8()
			if withOrder {
				d.u16()
			}
			data := d.bytes(msize)
			if d.err != nil {
				return d.err
			}
			if err := f.chargeObjects(1, cwhat); err != nil {
				return err
			}
			m := message{typ: typ, flags: mflags, data: data}
			if typ == msgContinuation {
				ref, err := f.continuation(m, cwhat)
				if err != nil {
					return err
				}
				queue = append(queue, ref)
				continue
			}
			msgs = append(msgs, m)
		}
		return nil
	}
	if err := parse(b[prefix:prefix+size0], what); err != nil {
		return nil, err
	}
	seen := map[uint64]bool{addr: true}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		if seen[c.addr] {
			return nil, formatErr("%s: continuation block 0x%x appears twice", what, c.addr)
		}
		seen[c.addr] = true
		if len(seen) > maxHeaderChunks {
			return nil, budgetErr("%s: more than %d continuation blocks", what, maxHeaderChunks)
		}
		cwhat := fmt.Sprintf("%s, continuation block at 0x%x", what, c.addr)
		if c.size < 8 {
			return nil, formatErr("%s: %d bytes is too short", cwhat, c.size)
		}
		cb, err := f.readMeta(c.addr, c.size, cwhat)
		if err != nil {
			return nil, err
		}
		if string(cb[:4]) != "OCHK" {
			return nil, formatErr("%s: signature %q, want \"OCHK\"", cwhat, cb[:4])
		}
		if err := checkSum(cb, cwhat); err != nil {
			return nil, err
		}
		if err := parse(cb[4:len(cb)-4], cwhat); err != nil {
			return nil, err
		}
	}
	return msgs, nil
}
