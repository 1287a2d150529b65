//go:build amd64 && !purego

package bf16

import "golang.org/x/sys/cpu"

//go:generate go run asm_gen.go

// hasAsm reports whether the AVX-512 BF16 kernels can run on this CPU (x/sys/cpu
// also checks that the OS saves the AVX-512 state). It is set once at
// package initialisation and never changed.
var hasAsm = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512BF16
