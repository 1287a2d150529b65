//go:build amd64 && !purego

package rnn

import "golang.org/x/sys/cpu"

//go:generate go run vec_gen.go

// hasAsm reports whether the AVX2/FMA element-wise loops can run on this CPU.
// It is set once at package initialisation and never changed.
var hasAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func sigmoidAVX(dst, a *float32, n int)

//go:noescape
func tanhAVX(dst, a *float32, n int)

//go:noescape
func hardSigmoidAVX(dst, a *float32, n int, s1, s2 float32)

//go:noescape
func reluAVX(dst, a *float32, n int)

//go:noescape
func addAVX(dst, a, b *float32, n int)

//go:noescape
func mulAVX(dst, a, b *float32, n int)

//go:noescape
func add3AVX(dst, a, b, c *float32, n int)

//go:noescape
func gruCandAVX(dst, x, bx, r, h, bh *float32, n int)

//go:noescape
func gruMixAVX(dst, z, c, h *float32, n int)

//go:noescape
func lstmCellAVX(dst, c, ig, fg, gg *float32, n int)

//go:noescape
func lstmStepAVX(h, c, pre, xw, bx *float32, u int)
