package hdf5

import (
	"fmt"
	"strings"
)

// Group is a group of the file, reached by the path it was opened at.
type Group struct {
	f    *File
	path string
	obj  *object
}

// Path returns the group's path from the root ("" for the root itself,
// "layers/gru" below it).
func (g *Group) Path() string { return g.path }

// Members returns the names of the group's links in byte-wise order (hard
// links to groups and datasets, and soft or external links, which this
// package lists but does not follow).
func (g *Group) Members() []string {
	names := make([]string, len(g.obj.links))
	for i, l := range g.obj.links {
		names[i] = l.name
	}
	return names
}

// Attrs returns the group's attributes in byte-wise name order.
func (g *Group) Attrs() []*Attribute { return g.obj.attrs }

// Attr returns the attribute called name.
func (g *Group) Attr(name string) (*Attribute, error) {
	return findAttr(g.obj.attrs, name, g.describe())
}

func (g *Group) describe() string {
	if g.path == "" {
		return "group /"
	}
	return fmt.Sprintf("group %q", g.path)
}

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// resolve follows the '/'-separated path below g, one hard link at a time.
func (g *Group) resolve(path string) (*object, string, error) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) > g.f.opts.MaxDepth {
		return nil, "", budgetErr("path %q is deeper than MaxDepth %d", path, g.f.opts.MaxDepth)
	}
	cur, curPath := g.obj, g.path
	for _, name := range parts {
		if name == "" || name == "." {
			return nil, "", fmt.Errorf("%w: path %q has an empty or \".\" component", ErrNotFound, path)
		}
		if cur.kind != kindGroup {
			return nil, "", fmt.Errorf("%w: %q is not a group", ErrNotFound, curPath)
		}
		l, ok := cur.lookup(name)
		next := join(curPath, name)
		if !ok {
			return nil, "", fmt.Errorf("%w: %q", ErrNotFound, next)
		}
		if l.kind != linkHard {
			return nil, "", unsupportedErr("%q is a soft or external link", next)
		}
		obj, err := g.f.object(l.addr)
		if err != nil {
			return nil, "", fmt.Errorf("%q: %w", next, err)
		}
		cur, curPath = obj, next
	}
	return cur, curPath, nil
}

// Group opens the group at path, one name or several joined by '/'.
func (g *Group) Group(path string) (*Group, error) {
	obj, p, err := g.resolve(path)
	if err != nil {
		return nil, err
	}
	if obj.kind != kindGroup {
		return nil, fmt.Errorf("%w: %q is not a group", ErrNotFound, p)
	}
	return &Group{f: g.f, path: p, obj: obj}, nil
}

// Dataset opens the dataset at path, one name or several joined by '/'.
func (g *Group) Dataset(path string) (*Dataset, error) {
	obj, p, err := g.resolve(path)
	if err != nil {
		return nil, err
	}
	if obj.kind != kindDataset {
		return nil, fmt.Errorf("%w: %q is not a dataset", ErrNotFound, p)
	}
	return &Dataset{f: g.f, path: p, obj: obj}, nil
}

// Dataset opens the dataset at path below the root.
func (f *File) Dataset(path string) (*Dataset, error) { return f.root.Dataset(path) }

// Group opens the group at path below the root.
func (f *File) Group(path string) (*Group, error) { return f.root.Group(path) }

// Walk calls fn for every dataset reachable from the root through hard
// links, depth first with each group's members in byte-wise name order, so
// paths come in lexical order of their components. Each group is entered
// once (a group linked from several places is walked at its first path,
// which also stops cycles), while a dataset linked from several groups is
// reported at each of its paths; soft and external links are skipped. The
// walk uses an explicit stack, never deeper than Options.MaxDepth. An error from
// fn stops the walk and is returned.
func (f *File) Walk(fn func(path string, d *Dataset) error) error {
	type item struct {
		path  string
		addr  uint64
		depth int
	}
	visited := map[uint64]bool{f.rootAddr: true}
	var stack []item
	push := func(o *object, dir string, depth int) error {
		if depth > f.opts.MaxDepth {
			return budgetErr("group %q is deeper than MaxDepth %d", dir, f.opts.MaxDepth)
		}
		for i := len(o.links) - 1; i >= 0; i-- {
			l := o.links[i]
			if l.kind != linkHard {
				continue
			}
			stack = append(stack, item{join(dir, l.name), l.addr, depth})
		}
		return nil
	}
	if err := push(f.root.obj, "", 1); err != nil {
		return err
	}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		obj, err := f.object(it.addr)
		if err != nil {
			return fmt.Errorf("%q: %w", it.path, err)
		}
		switch obj.kind {
		case kindDataset:
			if err := fn(it.path, &Dataset{f: f, path: it.path, obj: obj}); err != nil {
				return err
			}
		case kindGroup:
			if visited[it.addr] {
				continue
			}
			visited[it.addr] = true
			if err := push(obj, it.path, it.depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// symbolTableLinks lists an old-style group: a version 1 B-tree of symbol
// table nodes whose entries name their links through a local heap.
func (f *File) symbolTableLinks(btree, heapAddr uint64, what string) ([]link, error) {
	heap, err := f.localHeap(heapAddr, what)
	if err != nil {
		return nil, err
	}
	var links []link
	seen := map[uint64]bool{}
	err = f.btree1(btree, 0, f.lenSize, what+": group B-tree", -1, func(child uint64, _ []byte) error {
		if seen[child] {
			return formatErr("%s: symbol table node 0x%x appears twice", what, child)
		}
		seen[child] = true
		l, err := f.symbolNode(child, heap, what)
		links = append(links, l...)
		return err
	})
	return links, err
}

// localHeap returns the data segment of the local heap at addr.
func (f *File) localHeap(addr uint64, what string) ([]byte, error) {
	f.mu.Lock()
	data, ok := f.lheaps[addr]
	f.mu.Unlock()
	if ok {
		return data, nil
	}
	hwhat := fmt.Sprintf("%s: local heap at 0x%x", what, addr)
	if err := f.chargeObjects(1, hwhat); err != nil {
		return nil, err
	}
	b, err := f.readMeta(addr, uint64(8+2*f.lenSize+f.offSize), hwhat)
	if err != nil {
		return nil, err
	}
	d := f.dec(b, hwhat)
	d.signature("HEAP")
	version := d.u8()
	d.skip(3)
	size := d.length()
	d.length() // free list
	dataAddr := d.addr()
	if d.err != nil {
		return nil, d.err
	}
	if version != 0 {
		return nil, formatErr("%s: version %d", hwhat, version)
	}
	data, err = f.readMeta(dataAddr, size, hwhat+" data")
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.lheaps[addr] = data
	f.mu.Unlock()
	return data, nil
}

// symbolNode reads the entries of a symbol table node (SNOD).
func (f *File) symbolNode(addr uint64, heap []byte, what string) ([]link, error) {
	nwhat := fmt.Sprintf("%s: symbol table node at 0x%x", what, addr)
	b, err := f.readMeta(addr, 8, nwhat)
	if err != nil {
		return nil, err
	}
	d := f.dec(b, nwhat)
	d.signature("SNOD")
	version := d.u8()
	d.skip(1)
	n := uint64(d.u16())
	if d.err != nil {
		return nil, d.err
	}
	if version != 1 {
		return nil, formatErr("%s: version %d", nwhat, version)
	}
	if err := f.chargeObjects(n+1, nwhat); err != nil {
		return nil, err
	}
	entrySize := uint64(2*f.offSize + 24)
	b, err = f.readMeta(addr+8, n*entrySize, nwhat)
	if err != nil {
		return nil, err
	}
	d = f.dec(b, nwhat)
	links := make([]link, 0, n)
	for i := uint64(0); i < n; i++ {
		nameOff := d.length()
		objAddr := d.addr()
		d.skip(24)
		if d.err != nil {
			return nil, d.err
		}
		if nameOff >= uint64(len(heap)) {
			return nil, formatErr("%s: name offset %d outside the %d-byte local heap", nwhat, nameOff, len(heap))
		}
		name := heap[nameOff:]
		end := 0
		for end < len(name) && name[end] != 0 {
			end++
		}
		if end == len(name) {
			return nil, formatErr("%s: name at heap offset %d is not terminated", nwhat, nameOff)
		}
		l := link{name: string(name[:end]), kind: linkHard, addr: objAddr}
		if err := checkName(l.name, nwhat); err != nil {
			return nil, err
		}
		if objAddr == undef {
			return nil, formatErr("%s: %q has an undefined address", nwhat, l.name)
		}
		links = append(links, l)
	}
	return links, nil
}

// btree1 is the shared version 1 B-tree walker. keySize is the size of one
// key; wantLevel, when not negative, is the level the root must have.
func (f *File) btree1(root uint64, nodeType uint8, keySize int, what string, wantLevel int, visit func(child uint64, key []byte) error) error {
	type node struct {
		addr  uint64
		level int
	}
	if root == undef {
		return nil
	}
	stack := []node{{root, wantLevel}}
	seen := map[uint64]bool{}
	hdr := uint64(8 + 2*f.offSize)
	for len(stack) > 0 {
		nd := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[nd.addr] {
			return formatErr("%s: node 0x%x appears twice", what, nd.addr)
		}
		seen[nd.addr] = true
		nwhat := fmt.Sprintf("%s: node at 0x%x", what, nd.addr)
		if err := f.chargeObjects(1, nwhat); err != nil {
			return err
		}
		b, err := f.readMeta(nd.addr, hdr, nwhat)
		if err != nil {
			return err
		}
		d := f.dec(b, nwhat)
		d.signature("TREE")
		typ := d.u8()
		level := int(d.u8())
		n := uint64(d.u16())
		if d.err != nil {
			return d.err
		}
		if typ != nodeType {
			return formatErr("%s: node type %d, want %d", nwhat, typ, nodeType)
		}
		if nd.level >= 0 && level != nd.level {
			return formatErr("%s: level %d, want %d", nwhat, level, nd.level)
		}
		if err := f.chargeObjects(n, nwhat); err != nil {
			return err
		}
		body := n*uint64(f.offSize) + (n+1)*uint64(keySize)
		b, err = f.readMeta(nd.addr+hdr, body, nwhat)
		if err != nil {
			return err
		}
		d = f.dec(b, nwhat)
		children := make([]uint64, n)
		keys := make([][]byte, n)
		for i := range children {
			keys[i] = d.bytes(keySize)
			children[i] = d.addr()
		}
		if d.err != nil {
			return d.err
		}
		if level == 0 {
			for i, c := range children {
				if err := visit(c, keys[i]); err != nil {
					return err
				}
			}
			continue
		}
		for i := len(children) - 1; i >= 0; i-- {
			stack = append(stack, node{children[i], level - 1})
		}
	}
	return nil
}
