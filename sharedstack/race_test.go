//go:build race && go1.26 && !go1.28 && !wasm

package sharedstack

func init() { raceBuild = true }
