//go:build amd64 && !purego

#include "textflag.h"

// wsTable maps a byte's low nibble to the whitespace byte with that nibble
// (' ' 0x20, '\t' 0x09, '\n' 0x0A, '\r' 0x0D) and other nibbles to 0x00,
// which no byte with such a nibble equals; VPSHUFB gives 0 for bytes
// >= 0x80, which are not 0. Repeated in both 128-bit lanes.
DATA wsTable<>+0x00(SB)/8, $0x0000000000000020
DATA wsTable<>+0x08(SB)/8, $0x00000D00000A0900
DATA wsTable<>+0x10(SB)/8, $0x0000000000000020
DATA wsTable<>+0x18(SB)/8, $0x00000D00000A0900
GLOBL wsTable<>(SB), RODATA|NOPTR, $32

// func classifyAVX2(src *byte, n int, out *uint64)
// out gets six masks per block: quote, backslash, operator, whitespace,
// '[' and ']'.
TEXT ·classifyAVX2(SB), NOSPLIT, $0-24
	MOVQ src+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ out+16(FP), DI

	MOVQ $0x22, AX // '"'
	MOVQ AX, X0
	VPBROADCASTB X0, Y0
	MOVQ $0x5C, AX // '\\'
	MOVQ AX, X1
	VPBROADCASTB X1, Y1
	MOVQ $0x2C, AX // ','
	MOVQ AX, X2
	VPBROADCASTB X2, Y2
	MOVQ $0x3A, AX // ':'
	MOVQ AX, X3
	VPBROADCASTB X3, Y3
	MOVQ $0x7B, AX // '{'
	MOVQ AX, X4
	VPBROADCASTB X4, Y4
	MOVQ $0x5B, AX // '['
	MOVQ AX, X5
	VPBROADCASTB X5, Y5
	MOVQ $0x5D, AX // ']'
	MOVQ AX, X6
	VPBROADCASTB X6, Y6
	MOVQ $0x7D, AX // '}'
	MOVQ AX, X14
	VPBROADCASTB X14, Y14
	VMOVDQU wsTable<>(SB), Y7

loop:
	VMOVDQU 0(SI), Y8
	VMOVDQU 32(SI), Y9

	// quotes
	VPCMPEQB Y0, Y8, Y10
	VPCMPEQB Y0, Y9, Y11
	VPMOVMSKB Y10, AX
	VPMOVMSKB Y11, BX
	SHLQ $32, BX
	ORQ BX, AX
	MOVQ AX, 0(DI)

	// backslashes
	VPCMPEQB Y1, Y8, Y10
	VPCMPEQB Y1, Y9, Y11
	VPMOVMSKB Y10, AX
	VPMOVMSKB Y11, BX
	SHLQ $32, BX
	ORQ BX, AX
	MOVQ AX, 8(DI)

	// operators: [ ] { } , : (the brackets also on their own)
	VPCMPEQB Y5, Y8, Y10
	VPCMPEQB Y5, Y9, Y11
	VPMOVMSKB Y10, AX
	VPMOVMSKB Y11, BX
	SHLQ $32, BX
	ORQ BX, AX
	MOVQ AX, 32(DI)
	VPCMPEQB Y6, Y8, Y12
	VPCMPEQB Y6, Y9, Y13
	VPMOVMSKB Y12, AX
	VPMOVMSKB Y13, BX
	SHLQ $32, BX
	ORQ BX, AX
	MOVQ AX, 40(DI)
	VPOR Y12, Y10, Y10
	VPOR Y13, Y11, Y11
	VPCMPEQB Y2, Y8, Y12
	VPOR Y12, Y10, Y10
	VPCMPEQB Y3, Y8, Y12
	VPOR Y12, Y10, Y10
	VPCMPEQB Y4, Y8, Y12
	VPOR Y12, Y10, Y10
	VPCMPEQB Y14, Y8, Y12
	VPOR Y12, Y10, Y10
	VPCMPEQB Y2, Y9, Y12
	VPOR Y12, Y11, Y11
	VPCMPEQB Y3, Y9, Y12
	VPOR Y12, Y11, Y11
	VPCMPEQB Y4, Y9, Y12
	VPOR Y12, Y11, Y11
	VPCMPEQB Y14, Y9, Y12
	VPOR Y12, Y11, Y11
	VPMOVMSKB Y10, AX
	VPMOVMSKB Y11, BX
	SHLQ $32, BX
	ORQ BX, AX
	MOVQ AX, 16(DI)

	// whitespace
	VPSHUFB Y8, Y7, Y10
	VPCMPEQB Y8, Y10, Y10
	VPSHUFB Y9, Y7, Y11
	VPCMPEQB Y9, Y11, Y11
	VPMOVMSKB Y10, AX
	VPMOVMSKB Y11, BX
	SHLQ $32, BX
	ORQ BX, AX
	MOVQ AX, 24(DI)

	ADDQ $64, SI
	ADDQ $48, DI
	DECQ CX
	JNZ  loop

	VZEROUPPER
	RET
