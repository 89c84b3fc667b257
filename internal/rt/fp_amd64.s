//go:build linux && amd64 && go1.26 && !go1.28

#include "textflag.h"

// func CallerFP() uintptr
// The frame pointer of CallerFP's caller: this function has no frame, so
// BP is still the caller's.
TEXT ·CallerFP(SB), NOSPLIT, $0-8
	MOVQ BP, ret+0(FP)
	RET
