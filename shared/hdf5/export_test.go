package hdf5

// SetDirect turns the direct chunk read on or off and returns the number
// of direct reads done so far.
func SetDirect(on bool) int64 {
	directOn.Store(on)
	return directReads.Load()
}

// SetParallelRows sets the size from which a direct read splits between
// two goroutines and returns a function that restores it.
func SetParallelRows(n uint64) func() {
	old := parallelRows
	parallelRows = n
	return func() { parallelRows = old }
}
