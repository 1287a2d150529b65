package hdf5

import (
	"fmt"
	"sort"
)

type objKind int

const (
	kindOther objKind = iota
	kindGroup
	kindDataset
)

// object is a parsed object header: a group's links or a dataset's
// description, and the attributes of either.
type object struct {
	addr  uint64
	kind  objKind
	links []link // sorted by name
	attrs []*Attribute

	space   dataspace
	dtype   DType
	layout  layout
	filters []filter
	fill    []byte
}

// object returns the parsed object header at addr, parsing it once.
func (f *File) object(addr uint64) (*object, error) {
	f.mu.Lock()
	if o := f.objs[addr]; o != nil {
		f.mu.Unlock()
		return o, nil
	}
	if err := f.failing[addr]; err != nil {
		f.mu.Unlock()
		return nil, err
	}
	f.mu.Unlock()
	o, err := f.parseObject(addr)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		f.failing[addr] = err
		return nil, err
	}
	if prev := f.objs[addr]; prev != nil {
		return prev, nil
	}
	f.objs[addr] = o
	return o, nil
}

func (f *File) parseObject(addr uint64) (*object, error) {
	what := fmt.Sprintf("object at 0x%x", addr)
	msgs, err := f.readHeader(addr)
	if err != nil {
		return nil, err
	}
	o := &object{addr: addr}
	var (
		haveSpace, haveType, haveLayout bool
		symTab                          *message
		linkInfo, attrInfo              *message
	)
	for i := range msgs {
		m := &msgs[i]
		if m.typ > maxKnownMsgType && m.flags&msgFlagFailIfUnknown != 0 {
			return nil, unsupportedErr("%s: unknown message type %d marked must-understand", what, m.typ)
		}
		shared := m.flags&msgFlagShared != 0
		switch m.typ {
		case msgDataspace:
			if shared {
				return nil, unsupportedErr("%s: shared dataspace", what)
			}
			if o.space, err = f.parseDataspace(m.data, what); err != nil {
				return nil, err
			}
			haveSpace = true
		case msgDatatype:
			if shared {
				return nil, unsupportedErr("%s: shared (committed) datatype", what)
			}
			if o.dtype, err = f.parseDatatype(m.data, what); err != nil {
				return nil, err
			}
			haveType = true
		case msgLayout:
			if o.layout, err = f.parseLayout(m.data, what); err != nil {
				return nil, err
			}
			haveLayout = true
		case msgFilters:
			if shared {
				return nil, unsupportedErr("%s: shared filter pipeline", what)
			}
			if o.filters, err = f.parseFilters(m.data, what); err != nil {
				return nil, err
			}
		case msgFill, msgFillOld:
			if shared {
				continue
			}
			if o.fill, err = f.parseFill(*m, what); err != nil {
				return nil, err
			}
		case msgExternal:
			return nil, unsupportedErr("%s: external data files", what)
		case msgLink:
			l, err := f.parseLink(m.data, what)
			if err != nil {
				return nil, err
			}
			o.links = append(o.links, l)
		case msgLinkInfo:
			linkInfo = m
		case msgSymbolTable:
			symTab = m
		case msgAttribute:
			if shared {
				return nil, unsupportedErr("%s: shared attribute", what)
			}
			a, err := f.parseAttribute(m.data, what)
			if err != nil {
				return nil, err
			}
			o.attrs = append(o.attrs, a)
		case msgAttrInfo:
			attrInfo = m
		}
	}
	switch {
	case haveLayout:
		if !haveSpace || !haveType {
			return nil, formatErr("%s: dataset without dataspace or datatype", what)
		}
		o.kind = kindDataset
		if err := o.checkDataset(what); err != nil {
			return nil, err
		}
	case symTab != nil || linkInfo != nil || len(o.links) > 0:
		o.kind = kindGroup
	default:
		// A group that is empty and new-style has a link info message, so
		// anything else is a committed datatype or an object we do not read.
		for _, m := range msgs {
			if m.typ == msgGroupInfo {
				o.kind = kindGroup
			}
		}
	}
	if o.kind == kindGroup {
		if symTab != nil {
			d := f.dec(symTab.data, what+": symbol table message")
			btree, heap := d.addr(), d.addr()
			if d.err != nil {
				return nil, d.err
			}
			links, err := f.symbolTableLinks(btree, heap, what)
			if err != nil {
				return nil, err
			}
			o.links = append(o.links, links...)
		}
		if linkInfo != nil {
			hi, err := f.parseHeapIndex(*linkInfo, what+": link info")
			if err != nil {
				return nil, err
			}
			if hi.heap != undef {
				links, err := f.denseLinks(hi, what)
				if err != nil {
					return nil, err
				}
				o.links = append(o.links, links...)
			}
		}
		sort.Slice(o.links, func(i, j int) bool { return o.links[i].name < o.links[j].name })
		for i := 1; i < len(o.links); i++ {
			if o.links[i].name == o.links[i-1].name {
				return nil, formatErr("%s: link %q appears twice", what, o.links[i].name)
			}
		}
	}
	if attrInfo != nil {
		hi, err := f.parseHeapIndex(*attrInfo, what+": attribute info")
		if err != nil {
			return nil, err
		}
		if hi.heap != undef {
			attrs, err := f.denseAttrs(hi, what)
			if err != nil {
				return nil, err
			}
			o.attrs = append(o.attrs, attrs...)
		}
	}
	sort.Slice(o.attrs, func(i, j int) bool { return o.attrs[i].name < o.attrs[j].name })
	for i := 1; i < len(o.attrs); i++ {
		if o.attrs[i].name == o.attrs[i-1].name {
			return nil, formatErr("%s: attribute %q appears twice", what, o.attrs[i].name)
		}
	}
	return o, nil
}

// checkDataset validates the pieces of a dataset against each other.
func (o *object) checkDataset(what string) error {
	l := &o.layout
	if o.space.null {
		return nil
	}
	if l.class == layoutChunked {
		if len(l.chunk) != len(o.space.dims) {
			return formatErr("%s: %d-dimensional chunks for a rank-%d dataset", what, len(l.chunk), len(o.space.dims))
		}
		if l.elemSize != uint64(o.dtype.Size) {
			return formatErr("%s: chunk element size %d for %d-byte elements", what, l.elemSize, o.dtype.Size)
		}
		if _, ok := product(append(append([]uint64{}, l.chunk...), l.elemSize)); !ok {
			return formatErr("%s: chunk of %v elements overflows", what, l.chunk)
		}
	}
	if o.fill != nil && len(o.fill) != o.dtype.Size {
		// A fill value of another size cannot be used; fall back to zeros
		// as for an undefined one.
		o.fill = nil
	}
	return nil
}

func (o *object) lookup(name string) (link, bool) {
	i := sort.Search(len(o.links), func(i int) bool { return o.links[i].name >= name })
	if i < len(o.links) && o.links[i].name == name {
		return o.links[i], true
	}
	return link{}, false
}
