//go:build !(linux && (amd64 || arm64) && go1.26 && !go1.28)

package engine

// Without rt's goroutine mirror, strict mode judges by the frames
// runtime.Callers reports (see strict.go).

func strictG() string { return "" }

func strictFrames() string { return strictFramesByCallers() }

func strictMirror() bool { return false }
