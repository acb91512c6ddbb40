package hdf5

// Default limits. MaxRows is normally set from ANALYZE_MAX_ROWS.
const (
	DefaultMaxRows       = 50_000_000
	DefaultMaxBytes      = 4 << 30 // 4 GiB of loaded column data per Reader
	DefaultMaxColumns    = 4096
	DefaultMaxChunkBytes = 64 << 20
	DefaultMaxObjects    = 100_000
	DefaultMaxDepth      = 64
	DefaultMaxAttrs      = 256
	DefaultMaxAttrBytes  = 64 << 10

	// maxElemBytes bounds the file element size of a dataset (a compound
	// record); HDF5 allocates conversion buffers of at least one element.
	maxElemBytes = 1 << 20
	// maxAttrElems bounds the number of elements of one attribute.
	maxAttrElems = 4096
)

// Options bounds what a Reader reads. Zero fields take the defaults.
type Options struct {
	// MaxRows is the largest number of rows a dataset may declare
	// (Shape[0]; 1 for a scalar). Larger datasets are refused before any
	// allocation with a DatasetTooLarge error.
	MaxRows int64
	// MaxBytes bounds the column data (8 bytes per value) held at once by
	// one Reader: a load that would exceed it is refused. Reader.Release
	// returns a dataset's bytes to the budget.
	MaxBytes int64
	// MaxColumns bounds the columns of one dataset (compound members or
	// the product of the trailing dimensions of an N-D dataset).
	MaxColumns int
	// MaxChunkBytes bounds one chunk of a chunked dataset (HDF5 allocates a
	// whole chunk to read any part of it).
	MaxChunkBytes int64
	// MaxObjects bounds the links walked in the whole file, MaxDepth the
	// group nesting.
	MaxObjects int
	MaxDepth   int
	// MaxAttrs bounds the attributes read per group, MaxAttrBytes the size
	// of one fixed-size attribute.
	MaxAttrs     int
	MaxAttrBytes int
	// VarLenStrings enables reading variable-length string attributes
	// (h5py's default for str). Off by default: libhdf5 1.10.8's global
	// heap reader can crash the process on corrupt files, and Slurm only
	// writes fixed-length strings.
	VarLenStrings bool
	// Isolate walks the file's metadata in a child process first, so a
	// file that crashes libhdf5 is reported unreadable instead of killing
	// this process (see isolate.go). For untrusted uploads.
	Isolate bool
}

func (o Options) withDefaults() Options {
	orDefault(&o.MaxRows, DefaultMaxRows)
	o.MaxRows = min(o.MaxRows, 1<<56)
	orDefault(&o.MaxBytes, DefaultMaxBytes)
	o.MaxBytes = min(o.MaxBytes, 1<<60)
	orDefault(&o.MaxColumns, DefaultMaxColumns)
	orDefault(&o.MaxChunkBytes, DefaultMaxChunkBytes)
	orDefault(&o.MaxObjects, DefaultMaxObjects)
	orDefault(&o.MaxDepth, DefaultMaxDepth)
	orDefault(&o.MaxAttrs, DefaultMaxAttrs)
	orDefault(&o.MaxAttrBytes, DefaultMaxAttrBytes)
	return o
}

// orDefault replaces a limit left at zero (or set negative) by its default.
func orDefault[T int | int64](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}
