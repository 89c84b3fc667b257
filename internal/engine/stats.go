package engine

// Stats are the native engine's counters and the memory its caches and its
// image arena hold (all zero where the native engine does not exist). The
// caches are bounded (a few MB in all) and drop what was not used for a GC
// cycle; the arena gives empty chunks back to the OS.
type Stats struct {
	// FrameEntries and FrameBytes: frame facts cached (one per return PC
	// of a suspended chain), and their bytes.
	FrameEntries, FrameBytes int64
	// FrameDecodes counts frames decoded from the runtime's tables (cache
	// misses).
	FrameDecodes int64
	// ShapeEntries and ShapeBytes: chain shapes cached (one per recurring
	// chain of frames), and their bytes.
	ShapeEntries, ShapeBytes int64
	// ImageBlocks is the number of saved images (blocks of the arena) in
	// use; ArenaMapped the bytes the arena has mapped from the OS for
	// them.
	ImageBlocks, ArenaMapped int64
}

// nativeStats fills the native engine's part of Stats, where it exists.
var nativeStats func(*Stats)

// ReadStats returns the engine's current Stats.
func ReadStats() Stats {
	var s Stats
	if nativeStats != nil {
		nativeStats(&s)
	}
	return s
}
