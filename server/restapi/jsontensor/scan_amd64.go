//go:build amd64 && !purego

package jsontensor

import "golang.org/x/sys/cpu"

// hasS1Asm reports whether the AVX2 stage-1 classifier can run on this CPU.
// It is set once at package initialisation and never changed.
var hasS1Asm = cpu.X86.HasAVX2

// classifyBlocksAsm is classifyBlocksGo in AVX2 (scan_amd64.s).
func classifyBlocksAsm(src []byte, out []uint64) {
	n := len(src) / s1Block
	if n == 0 {
		return
	}
	_ = out[s1Masks*n-1]
	classifyAVX2(&src[0], n, &out[0])
}

// classifyAVX2 writes the s1Masks masks of n 64-byte blocks at src to
// out[s1Masks*b:s1Masks*(b+1)].
//
//go:noescape
func classifyAVX2(src *byte, n int, out *uint64)
