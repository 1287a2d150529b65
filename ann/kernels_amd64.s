//go:build amd64 && !purego

#include "textflag.h"

// func dotFMAAsm(a, b *float32, n int) float32
// n must be a multiple of 8; the Go wrapper adds the tail.
TEXT ·dotFMAAsm(SB), NOSPLIT, $0-28
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

dot_loop32:
	CMPQ CX, $32
	JL   dot_loop8
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  dot_loop32

dot_loop8:
	CMPQ CX, $8
	JL   dot_reduce
	VMOVUPS (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  dot_loop8

dot_reduce:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dot4FMAAsm(x, rows *float32, stride, n int, out *[4]float32)
// n must be a multiple of 8; the Go wrapper adds the tail.
TEXT ·dot4FMAAsm(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ rows+8(FP), R8
	MOVQ stride+16(FP), AX
	SHLQ $2, AX
	LEAQ (R8)(AX*1), R9
	LEAQ (R9)(AX*1), R10
	LEAQ (R10)(AX*1), R11
	MOVQ n+24(FP), CX
	MOVQ out+32(FP), DI
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

d4_loop16:
	CMPQ CX, $16
	JL   d4_loop8
	VMOVUPS (SI), Y8
	VMOVUPS 32(SI), Y9
	VFMADD231PS (R8), Y8, Y0
	VFMADD231PS 32(R8), Y9, Y4
	VFMADD231PS (R9), Y8, Y1
	VFMADD231PS 32(R9), Y9, Y5
	VFMADD231PS (R10), Y8, Y2
	VFMADD231PS 32(R10), Y9, Y6
	VFMADD231PS (R11), Y8, Y3
	VFMADD231PS 32(R11), Y9, Y7
	ADDQ $64, SI
	ADDQ $64, R8
	ADDQ $64, R9
	ADDQ $64, R10
	ADDQ $64, R11
	SUBQ $16, CX
	JMP  d4_loop16

d4_loop8:
	CMPQ CX, $8
	JL   d4_reduce
	VMOVUPS (SI), Y8
	VFMADD231PS (R8), Y8, Y0
	VFMADD231PS (R9), Y8, Y1
	VFMADD231PS (R10), Y8, Y2
	VFMADD231PS (R11), Y8, Y3
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R11
	SUBQ $8, CX
	JMP  d4_loop8

d4_reduce:
	VADDPS Y4, Y0, Y0
	VADDPS Y5, Y1, Y1
	VADDPS Y6, Y2, Y2
	VADDPS Y7, Y3, Y3
	VHADDPS Y1, Y0, Y0
	VHADDPS Y3, Y2, Y2
	VHADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVUPS X0, (DI)
	VZEROUPPER
	RET

// func lut16AVX2Asm(codes *byte, stride int, lut *byte, npairs int, out *uint32, ngroups int)
//
// For each group of 32 datapoints, codes holds npairs chunks of 32 bytes: 16
// bytes for block 2p and 16 for block 2p+1 (one 128-bit lane each). Byte j of
// a block holds two 4-bit codes; see packGroup for the datapoint order. The
// LUT holds, per pair, 16 uint8 entries for block 2p then 16 for block 2p+1.
// Sums are kept in 16-bit words per lane: the low word accumulates
// even + 256*odd bytes, a second accumulator the odd bytes alone, and
// even = acc - odd<<8 (mod 2^16). With npairs <= 256 no lane sum exceeds
// 255*256, so the words never overflow; the two lanes are added in 32 bits.
TEXT ·lut16AVX2Asm(SB), NOSPLIT, $0-48
	MOVQ codes+0(FP), SI
	MOVQ stride+8(FP), R8
	MOVQ lut+16(FP), DX
	MOVQ npairs+24(FP), CX
	MOVQ out+32(FP), DI
	MOVQ ngroups+40(FP), R9
	MOVQ $0x0f0f0f0f0f0f0f0f, AX
	MOVQ AX, X15
	VPBROADCASTQ X15, Y15

lut_group:
	TESTQ R9, R9
	JZ    lut_done
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	MOVQ  SI, R10
	MOVQ  DX, R11
	MOVQ  CX, R12

lut_pair:
	VMOVDQU (R10), Y4
	VMOVDQU (R11), Y5
	VPSRLW  $4, Y4, Y6
	VPAND   Y15, Y4, Y4
	VPAND   Y15, Y6, Y6
	VPSHUFB Y4, Y5, Y7
	VPSHUFB Y6, Y5, Y8
	VPADDW  Y7, Y0, Y0
	VPSRLW  $8, Y7, Y7
	VPADDW  Y7, Y1, Y1
	VPADDW  Y8, Y2, Y2
	VPSRLW  $8, Y8, Y8
	VPADDW  Y8, Y3, Y3
	ADDQ    $32, R10
	ADDQ    $32, R11
	DECQ    R12
	JNZ     lut_pair

	// even = acc - odd<<8
	VPSLLW $8, Y1, Y9
	VPSUBW Y9, Y0, Y0
	VPSLLW $8, Y3, Y9
	VPSUBW Y9, Y2, Y2

	// out[0:8] += lane0(Y0)+lane1(Y0), out[8:16] from Y1, [16:24] Y2, [24:32] Y3
	VEXTRACTI128 $1, Y0, X9
	VPMOVZXWD    X0, Y10
	VPMOVZXWD    X9, Y11
	VPADDD       Y11, Y10, Y10
	VPADDD       (DI), Y10, Y10
	VMOVDQU      Y10, (DI)

	VEXTRACTI128 $1, Y1, X9
	VPMOVZXWD    X1, Y10
	VPMOVZXWD    X9, Y11
	VPADDD       Y11, Y10, Y10
	VPADDD       32(DI), Y10, Y10
	VMOVDQU      Y10, 32(DI)

	VEXTRACTI128 $1, Y2, X9
	VPMOVZXWD    X2, Y10
	VPMOVZXWD    X9, Y11
	VPADDD       Y11, Y10, Y10
	VPADDD       64(DI), Y10, Y10
	VMOVDQU      Y10, 64(DI)

	VEXTRACTI128 $1, Y3, X9
	VPMOVZXWD    X3, Y10
	VPMOVZXWD    X9, Y11
	VPADDD       Y11, Y10, Y10
	VPADDD       96(DI), Y10, Y10
	VMOVDQU      Y10, 96(DI)

	ADDQ $128, DI
	ADDQ R8, SI
	DECQ R9
	JMP  lut_group

lut_done:
	VZEROUPPER
	RET

// func lutFloatAsm(q, cbT *float32, nb, dpb int, f, lo, hi *float32)
// For each block b: f[16b:16b+16] = Σ_j q[b*dpb+j] * cbT[(b*dpb+j)*16 : +16],
// lo[b] = min and hi[b] = max of those 16 values.
TEXT ·lutFloatAsm(SB), NOSPLIT, $0-56
	MOVQ q+0(FP), SI
	MOVQ cbT+8(FP), DX
	MOVQ nb+16(FP), CX
	MOVQ dpb+24(FP), R8
	MOVQ f+32(FP), DI
	MOVQ lo+40(FP), R10
	MOVQ hi+48(FP), R11

lf_block:
	TESTQ CX, CX
	JZ    lf_done
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	MOVQ   R8, R9

lf_dim:
	VBROADCASTSS (SI), Y2
	VFMADD231PS  (DX), Y2, Y0
	VFMADD231PS  32(DX), Y2, Y1
	ADDQ         $4, SI
	ADDQ         $64, DX
	DECQ         R9
	JNZ          lf_dim

	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ    $64, DI

	VMINPS       Y1, Y0, Y3
	VEXTRACTF128 $1, Y3, X4
	VMINPS       X4, X3, X3
	VPERMILPS    $0x4e, X3, X4
	VMINPS       X4, X3, X3
	VPERMILPS    $0xb1, X3, X4
	VMINSS       X4, X3, X3
	MOVSS        X3, (R10)
	ADDQ         $4, R10

	VMAXPS       Y1, Y0, Y3
	VEXTRACTF128 $1, Y3, X4
	VMAXPS       X4, X3, X3
	VPERMILPS    $0x4e, X3, X4
	VMAXPS       X4, X3, X3
	VPERMILPS    $0xb1, X3, X4
	VMAXSS       X4, X3, X3
	MOVSS        X3, (R11)
	ADDQ         $4, R11

	DECQ CX
	JMP  lf_block

lf_done:
	VZEROUPPER
	RET

// func lutQuantAsm(f, lo *float32, nb int, inv float32, out *byte)
// out[16b+c] = uint8(roundeven((f[16b+c] - lo[b]) * inv)), saturated.
TEXT ·lutQuantAsm(SB), NOSPLIT, $0-40
	MOVQ         f+0(FP), SI
	MOVQ         lo+8(FP), R10
	MOVQ         nb+16(FP), CX
	VBROADCASTSS inv+24(FP), Y5
	MOVQ         out+32(FP), DI

lq_block:
	TESTQ CX, CX
	JZ    lq_done
	VBROADCASTSS (R10), Y4
	VMOVUPS      (SI), Y0
	VMOVUPS      32(SI), Y1
	VSUBPS       Y4, Y0, Y0
	VSUBPS       Y4, Y1, Y1
	VMULPS       Y5, Y0, Y0
	VMULPS       Y5, Y1, Y1
	VCVTPS2DQ    Y0, Y0
	VCVTPS2DQ    Y1, Y1
	VPACKSSDW    Y1, Y0, Y0
	VPERMQ       $0xd8, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKUSWB    X1, X0, X0
	VMOVDQU      X0, (DI)
	ADDQ         $64, SI
	ADDQ         $4, R10
	ADDQ         $16, DI
	DECQ         CX
	JMP          lq_block

lq_done:
	VZEROUPPER
	RET

// func dotInt8Asm(q *float32, v *int8, n int) float32
// n must be a multiple of 16; the Go wrapper adds the tail.
TEXT ·dotInt8Asm(SB), NOSPLIT, $0-28
	MOVQ   q+0(FP), SI
	MOVQ   v+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1

di8_loop:
	CMPQ        CX, $16
	JL          di8_reduce
	VPMOVSXBD   (DI), Y2
	VPMOVSXBD   8(DI), Y3
	VCVTDQ2PS   Y2, Y2
	VCVTDQ2PS   Y3, Y3
	VFMADD231PS (SI), Y2, Y0
	VFMADD231PS 32(SI), Y3, Y1
	ADDQ        $64, SI
	ADDQ        $16, DI
	SUBQ        $16, CX
	JMP         di8_loop

di8_reduce:
	VADDPS       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VHADDPS      X0, X0, X0
	VHADDPS      X0, X0, X0
	VZEROUPPER
	MOVSS        X0, ret+24(FP)
	RET

// func prefetchAsm(p *byte, n int)
// Prefetches n bytes from p, one 64-byte line at a time.
TEXT ·prefetchAsm(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX

pf_loop:
	CMPQ       CX, $0
	JLE        pf_done
	PREFETCHT0 (SI)
	ADDQ       $64, SI
	SUBQ       $64, CX
	JMP        pf_loop

pf_done:
	RET

// func dotF16Asm(q *float32, v *uint16, n int) float32
// n must be a multiple of 8; the Go wrapper adds the tail. Needs F16C.
TEXT ·dotF16Asm(SB), NOSPLIT, $0-28
	MOVQ   q+0(FP), SI
	MOVQ   v+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

dh_loop32:
	CMPQ        CX, $32
	JL          dh_loop8
	VCVTPH2PS   (DI), Y4
	VCVTPH2PS   16(DI), Y5
	VCVTPH2PS   32(DI), Y6
	VCVTPH2PS   48(DI), Y7
	VFMADD231PS (SI), Y4, Y0
	VFMADD231PS 32(SI), Y5, Y1
	VFMADD231PS 64(SI), Y6, Y2
	VFMADD231PS 96(SI), Y7, Y3
	ADDQ        $128, SI
	ADDQ        $64, DI
	SUBQ        $32, CX
	JMP         dh_loop32

dh_loop8:
	CMPQ        CX, $8
	JL          dh_reduce
	VCVTPH2PS   (DI), Y4
	VFMADD231PS (SI), Y4, Y0
	ADDQ        $32, SI
	ADDQ        $16, DI
	SUBQ        $8, CX
	JMP         dh_loop8

dh_reduce:
	VADDPS       Y1, Y0, Y0
	VADDPS       Y3, Y2, Y2
	VADDPS       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VHADDPS      X0, X0, X0
	VHADDPS      X0, X0, X0
	VZEROUPPER
	MOVSS        X0, ret+24(FP)
	RET
