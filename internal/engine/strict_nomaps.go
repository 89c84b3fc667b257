//go:build linux && (amd64 || arm64) && go1.26 && !go1.28 && race

package engine

// noMapsRefusal: rt's function records are not built under -race, so
// strict mode judges frames by name only there (strict_maps.go).
func noMapsRefusal(uintptr, string) string { return "" }
