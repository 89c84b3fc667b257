//go:build linux && amd64 && go1.26 && !go1.28

#include "textflag.h"

// func GetG() *G
TEXT ·GetG(SB), NOSPLIT, $0-8
	MOVQ (TLS), AX
	MOVQ AX, ret+0(FP)
	RET
