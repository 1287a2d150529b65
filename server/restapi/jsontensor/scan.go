package jsontensor

import "math/bits"

// This file holds stage 1 of the fast predict decoder (fastpath.go), after
// simdjson's two-stage design: a pass over the body, 64 bytes at a time,
// that finds the structural characters of the JSON text without parsing
// it. Classification (which bytes are quotes, backslashes, the operators
// []{},: and whitespace) runs in AVX2 assembly where the CPU has it
// (scan_amd64.s) and in Go otherwise (classifyBlocksGo, which the tests
// also run on every input the assembly sees). Combining the four masks of a
// block into its structurals (escapes, strings, scalar starts) is plain Go
// on 64-bit words, shared by both.
//
// A structural is an operator outside strings, the opening quote of a
// string, or the first byte of a scalar token (a run of bytes that are
// neither operators nor whitespace, outside strings). So the body
// `{"a": [1.5, -2]}` has the structurals { " : [ 1 , - ] }, and a stage 2
// that walks them sees every token once without looking at the bytes in
// between.

// s1Block is the number of bytes classified at a time.
const s1Block = 64

// s1ChunkBlocks is how many blocks the scanner classifies per call of the
// classifier: 1 KiB of body, 1.3 KiB of masks on the stack (small, as a
// scanner is made for every list, one-row requests included).
const s1ChunkBlocks = 16

// Masks of a block: bit i describes byte i of the block.
const (
	s1Quote = iota
	s1Backslash
	s1Op
	s1Space
	s1LBracket
	s1RBracket
	s1Masks
)

const (
	s1Even = 0x5555555555555555
	s1Odd  = ^uint64(s1Even)
)

// classifyBlocksGo is the portable classifier: for each 64-byte block of src
// (len(src) is a multiple of 64) it writes the quote, backslash, operator,
// whitespace, '[' and ']' masks to out[s1Masks*b:s1Masks*(b+1)].
func classifyBlocksGo(src []byte, out []uint64) {
	for b := 0; b+s1Block <= len(src); b += s1Block {
		var q, bs, op, ws, lb, rb uint64
		blk := src[b : b+s1Block]
		for i, c := range blk {
			bit := uint64(1) << uint(i)
			switch c {
			case '"':
				q |= bit
			case '\\':
				bs |= bit
			case '[':
				lb |= bit
				op |= bit
			case ']':
				rb |= bit
				op |= bit
			case '{', '}', ',', ':':
				op |= bit
			case ' ', '\t', '\n', '\r':
				ws |= bit
			}
		}
		o := out[s1Masks*(b/s1Block):][:s1Masks]
		o[s1Quote], o[s1Backslash], o[s1Op], o[s1Space], o[s1LBracket], o[s1RBracket] = q, bs, op, ws, lb, rb
	}
}

// s1State carries what one block's structurals depend on from the blocks
// before it.
type s1State struct {
	// escaped is 1 when the first byte of the next block is escaped (the
	// block ended in an odd run of backslashes).
	escaped uint64
	// inString is all ones when the next block starts inside a string.
	inString uint64
	// scalar is 1 when the last byte of the block was a scalar byte other
	// than a quote, so a scalar byte at the start of the next block
	// continues its token.
	scalar uint64
}

// prefixXor returns the running XOR of x's bits from bit 0 up: bit i of the
// result is the parity of bits 0..i of x.
func prefixXor(x uint64) uint64 {
	x ^= x << 1
	x ^= x << 2
	x ^= x << 4
	x ^= x << 8
	x ^= x << 16
	x ^= x << 32
	return x
}

// escapedBytes returns the bytes of a block escaped by a backslash: those
// right after an odd run of backslashes (counting a run continued from the
// previous block through st.escaped). It updates st.escaped.
func (st *s1State) escapedBytes(bs uint64) uint64 {
	in := st.escaped
	if bs|in == 0 {
		// No backslash, none before: what follows gives 0 too.
		return 0
	}
	// A backslash escaped from the previous block does not escape.
	bs &^= in
	starts := bs &^ (bs << 1)
	// Adding a run's lowest bit to the run clears it and sets the bit after
	// it; the run is odd when its start and end have different parities.
	afterEven := (bs + starts&s1Even) &^ bs
	sumOdd, carry := bits.Add64(bs, starts&s1Odd, 0)
	afterOdd := sumOdd &^ bs
	// A run from an odd bit to bit 63 is odd and escapes the next block's
	// first byte; one from an even bit is even (its carry is dropped).
	st.escaped = carry
	return afterEven&s1Odd | afterOdd&s1Even | in
}

// structurals combines one block's masks into its structural bits and
// advances st to the next block. It also returns the mask of the bytes
// inside strings (after an opening quote, up to and including the closing
// one).
func (st *s1State) structurals(q, bs, op, ws uint64) (structural, tail uint64) {
	q &^= st.escapedBytes(bs)
	// inString: from an opening quote (included) to its closing quote
	// (excluded). Blocks of numbers have no quote.
	inString := st.inString
	if q != 0 {
		inString ^= prefixXor(q)
	}
	st.inString = uint64(int64(inString) >> 63)
	scalar := ^(op | ws)
	nonQuote := scalar &^ q
	follows := nonQuote<<1 | st.scalar
	st.scalar = nonQuote >> 63
	// A string's bytes after its opening quote, closing quote included.
	tail = inString ^ q
	return (op | scalar&^follows) &^ tail, tail
}

// s1Scanner yields the structural positions of a body in order, classifying
// it a chunk at a time.
type s1Scanner struct {
	body   []byte
	pureGo bool
	st     s1State
	raw    [s1Masks * s1ChunkBlocks]uint64
	masks  [s1ChunkBlocks]uint64 // structurals
	lb, rb [s1ChunkBlocks]uint64 // '[' and ']' outside strings
	ops    [s1ChunkBlocks]uint64 // operators outside strings
	base   int                   // body offset of masks[0]
	n      int                   // valid blocks in masks
	blk    int                   // block of cur
	cur    uint64
	next   int // body offset of the next chunk
	pad    [s1Block]byte
}

func newS1Scanner(body []byte, pureGo bool) s1Scanner {
	return s1Scanner{body: body, pureGo: pureGo, blk: -1}
}

// fill classifies the next chunk; it reports false at the end of the body.
func (s *s1Scanner) fill() bool {
	if s.next >= len(s.body) {
		return false
	}
	rest := s.body[s.next:]
	full := min(len(rest)/s1Block, s1ChunkBlocks)
	if full > 0 {
		s.classify(rest[:full*s1Block], s.raw[:s1Masks*full])
		s.n = full
	} else {
		// The last partial block, padded with spaces.
		k := copy(s.pad[:], rest)
		for i := k; i < s1Block; i++ {
			s.pad[i] = ' '
		}
		s.classify(s.pad[:], s.raw[:s1Masks])
		s.n = 1
	}
	for b := range s.n {
		r := s.raw[s1Masks*b : s1Masks*b+s1Masks]
		var tail uint64
		s.masks[b], tail = s.st.structurals(r[s1Quote], r[s1Backslash], r[s1Op], r[s1Space])
		s.lb[b], s.rb[b], s.ops[b] = r[s1LBracket]&^tail, r[s1RBracket]&^tail, r[s1Op]&^tail
	}
	s.base = s.next
	s.next += s.n * s1Block
	s.blk = 0
	s.cur = s.masks[0]
	return true
}

func (s *s1Scanner) classify(src []byte, out []uint64) {
	if hasS1Asm && !s.pureGo {
		classifyBlocksAsm(src, out)
		return
	}
	classifyBlocksGo(src, out)
}

// nextPos returns the offset of the next structural, or -1 after the last.
// Positions past len(body) (from padding) are never returned, since padding
// is whitespace.
func (s *s1Scanner) nextPos() int {
	for s.cur == 0 {
		s.blk++
		if s.blk >= s.n {
			if !s.fill() {
				return -1
			}
			continue
		}
		s.cur = s.masks[s.blk]
	}
	i := bits.TrailingZeros64(s.cur)
	s.cur &= s.cur - 1
	return s.base + s.blk*s1Block + i
}

// inString reports whether the body ended inside a string (meaningful once
// nextPos has returned -1).
func (s *s1Scanner) inString() bool { return s.st.inString != 0 }

// listBound finds the end of the list that opens at body[0] ('[' outside
// any string, as at a value's start in valid JSON): it returns the offset of
// the matching ']' and the number of scalar tokens in between, an upper
// bound on the list's numbers (equal to it when the list holds only
// numbers). It returns -1 when the list does not close. Only the brackets are
// matched; what lies between them is for the caller to check.
func listBound(body []byte, pureGo bool) (end int, scalars int64) {
	s := newS1Scanner(body, pureGo)
	depth := 0
	for s.fill() {
		for b := range s.n {
			brackets := s.lb[b] | s.rb[b]
			starts := s.masks[b] &^ s.ops[b]
			for brackets != 0 {
				bit := brackets & -brackets
				brackets ^= bit
				if s.lb[b]&bit != 0 {
					depth++
					continue
				}
				if depth--; depth == 0 {
					scalars += int64(bits.OnesCount64(starts & (bit - 1)))
					return s.base + b*s1Block + bits.TrailingZeros64(bit), scalars
				}
			}
			scalars += int64(bits.OnesCount64(starts))
		}
	}
	return -1, 0
}
