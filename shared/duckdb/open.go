package duckdb

import (
	"errors"
	"os"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/hdf5"
	"github.com/benchwrap/backend/shared/profile"
)

// openProfile applies the whole-file checks both modes share (a missing,
// empty, non-HDF5 or unreadable file is a skip of that class) and opens
// the file with the engine's reader limits. The reader's file-wide notes
// go into the result's warnings.
func (e *Engine) openProfile(p string, res *analysis.Result) (*hdf5.Reader, *profile.File, error) {
	if _, err := os.Stat(p); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, skipf(analysis.SkipMissing, "%v", err)
		}
		return nil, nil, skipf(analysis.SkipMissing, "cannot stat file: %v", err)
	}
	r, err := hdf5.Open(p, e.opt.Reader)
	if err != nil {
		if fe, ok := profile.AsFileError(err); ok {
			class := analysis.SkipUnreadable
			switch fe.Class {
			case profile.FileEmpty:
				class = analysis.SkipEmpty
			case profile.FileNotHDF5:
				class = analysis.SkipNotHDF5
			}
			return nil, nil, skipf(class, "%v", err)
		}
		return nil, nil, skipf(analysis.SkipUnexpected, "%v", err)
	}
	// A decompression bomb is refused on what it declares, before any
	// of it is read.
	if bytes, rows := r.Declared(); bytes > uint64(e.opt.MaxBytes) || rows > uint64(e.opt.MaxRows) {
		r.Close()
		return nil, nil, skipf(analysis.SkipTooLarge, "its datasets declare %d bytes of data once decompressed and up to %d rows (limits %d bytes, %d rows)",
			bytes, rows, e.opt.MaxBytes, e.opt.MaxRows)
	}
	f := r.File()
	res.Details.Warnings = append(res.Details.Warnings, f.Notes...)
	if f.Root == nil {
		r.Close()
		return nil, nil, skipf(analysis.SkipUnreadable, "no root group")
	}
	return r, f, nil
}
