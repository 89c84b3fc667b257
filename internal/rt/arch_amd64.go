//go:build linux && amd64 && go1.26 && !go1.28 && !race

package rt

// PCQuantum is the unit of the pc deltas in pc-value tables
// (internal/goarch: 1 on x86).
const PCQuantum = 1
