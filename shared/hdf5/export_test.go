package hdf5

// SetDirect turns the direct chunk read on or off and returns the number
// of direct reads done so far.
func SetDirect(on bool) int64 {
	directOn.Store(on)
	return directReads.Load()
}
