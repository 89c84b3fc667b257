//go:build race

package sharedstack

func init() { raceBuild = true }
