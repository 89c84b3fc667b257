//go:build race && go1.26 && !go1.28 && !wasm

package engine

func init() { raceBuild = true }
