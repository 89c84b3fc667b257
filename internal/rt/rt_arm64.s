//go:build linux && arm64 && go1.26 && !go1.28

#include "textflag.h"

// func GetG() *G
// On arm64 g lives in R28 (the assembler's "g") in every ABI.
TEXT ·GetG(SB), NOSPLIT, $0-8
	MOVD g, R0
	MOVD R0, ret+0(FP)
	RET
