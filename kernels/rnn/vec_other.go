//go:build !amd64 || purego

package rnn

// hasAsm is false: this build has no assembly loops, and the asm* functions
// below are never called.
const hasAsm = false

func sigmoidAVX(dst, a *float32, n int)                     { panic("rnn: no assembly") }
func tanhAVX(dst, a *float32, n int)                        { panic("rnn: no assembly") }
func hardSigmoidAVX(dst, a *float32, n int, s1, s2 float32) { panic("rnn: no assembly") }
func reluAVX(dst, a *float32, n int)                        { panic("rnn: no assembly") }
func addAVX(dst, a, b *float32, n int)                      { panic("rnn: no assembly") }
func mulAVX(dst, a, b *float32, n int)                      { panic("rnn: no assembly") }
func add3AVX(dst, a, b, c *float32, n int)                  { panic("rnn: no assembly") }
func gruCandAVX(dst, x, bx, r, h, bh *float32, n int)       { panic("rnn: no assembly") }
func gruMixAVX(dst, z, c, h *float32, n int)                { panic("rnn: no assembly") }
func lstmCellAVX(dst, c, ig, fg, gg *float32, n int)        { panic("rnn: no assembly") }
func lstmStepAVX(h, c, pre, xw, bx *float32, u int)         { panic("rnn: no assembly") }
