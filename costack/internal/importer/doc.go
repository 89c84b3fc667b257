// Package importer holds tests of package costack as seen from a package
// that imports it and nothing of the engine, as users' packages do: the Go
// compiler inlines differently there than in costack's own tests, whose
// package imports the engine (internal/engine).
package importer
