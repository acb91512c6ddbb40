package engine

import (
	"errors"
	"os"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/hdf5"
	"github.com/benchwrap/backend/shared/profile"
)

// OpenProfile applies the whole-file checks both modes share (a missing,
// empty, non-HDF5 or unreadable file is a skip of that class) and opens
// the file with the engine's reader limits. The reader's file-wide notes
// go into the result's warnings.
func (run *Run) OpenProfile(p string) (*hdf5.Reader, *profile.File, error) {
	res := run.Res
	if _, err := os.Stat(p); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, Skipf(analysis.SkipMissing, "%v", err)
		}
		return nil, nil, Skipf(analysis.SkipMissing, "cannot stat file: %v", err)
	}
	r, err := hdf5.Open(p, run.Opt.Reader)
	if err != nil {
		if fe, ok := profile.AsFileError(err); ok {
			class := analysis.SkipUnreadable
			switch fe.Class {
			case profile.FileEmpty:
				class = analysis.SkipEmpty
			case profile.FileNotHDF5:
				class = analysis.SkipNotHDF5
			}
			return nil, nil, Skipf(class, "%v", err)
		}
		return nil, nil, Skipf(analysis.SkipUnexpected, "%v", err)
	}
	// A decompression bomb is refused on what it declares, before any
	// of it is read.
	if bytes, rows := r.Declared(); bytes > uint64(run.Opt.MaxBytes) || rows > uint64(run.Opt.MaxRows) {
		r.Close()
		return nil, nil, Skipf(analysis.SkipTooLarge, "its datasets declare %d bytes of data once decompressed and up to %d rows (limits %d bytes, %d rows)",
			bytes, rows, run.Opt.MaxBytes, run.Opt.MaxRows)
	}
	f := r.File()
	res.Details.Warnings = append(res.Details.Warnings, f.Notes...)
	if f.Root == nil {
		r.Close()
		return nil, nil, Skipf(analysis.SkipUnreadable, "no root group")
	}
	return r, f, nil
}

// InflateSkip is the skip of a file whose dataset ds stopped loading
// with err because a chunk inflates beyond its declared size (a bomb that
// lies about its size), nil for any other error.
func InflateSkip(ds *profile.Dataset, err error) error {
	if !errors.Is(err, hdf5.ErrChunkInflates) {
		return nil
	}
	return Skipf(analysis.SkipTooLarge, "%s: %v", ds.Path(), err)
}

// DatasetErrorStatus names a dataset failure as the original's status
// does ("error: <exception class>"): a failed HDF5 read was an OSError in
// h5py; the reader's own refusals keep their class name.
func DatasetErrorStatus(e *profile.DatasetError) string {
	if e == nil || e.Class == profile.DatasetUnreadable {
		return "error: OSError"
	}
	return "error: " + string(e.Class)
}
