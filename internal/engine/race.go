//go:build race

package engine

// Under the race detector tsan keeps a shadow call stack that copied frames
// would put out of step, so only the portable engine is offered.
func init() { nativeUnavailable = "race detector" }
