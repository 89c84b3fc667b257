//go:build linux && arm64 && go1.26 && !go1.28 && !race

package rt

// PCQuantum is the unit of the pc deltas in pc-value tables
// (internal/goarch: 4 on arm64, where every instruction is 4 bytes).
const PCQuantum = 4
