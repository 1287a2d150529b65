//go:build !amd64 || purego

package jsontensor

// hasS1Asm is false: there is no assembly classifier for this build.
const hasS1Asm = false

// classifyBlocksAsm is never called when hasS1Asm is false.
func classifyBlocksAsm(src []byte, out []uint64) { classifyBlocksGo(src, out) }
