// C helpers for the benchwrap HDF5 reader. Every function here is called
// with the package mutex held.
#ifndef BW_SHIM_H
#define BW_SHIM_H

#include <stddef.h>
#include <stdint.h>
#include "hdf5.h"

int bw_init(void);

// Bounded deflate (see shim.c): the largest output of one chunk, and
// whether the last read met a chunk that inflates beyond it.
void bw_set_chunk_cap(size_t cap);
int bw_chunk_overflowed(void);
int bw_filters_ok(hid_t dcpl, int *bad);
int bw_deflate_only(hid_t dcpl);
int bw_le64(hid_t t);
herr_t bw_write_raw_chunk(hid_t ds, const hsize_t *offset, size_t n, const void *buf);
void bw_quiet(void);

// bw_errstack copies the current thread's HDF5 error stack into buf as
// records "func\x1edesc\x1f" (outermost first), clears the stack and
// returns the number of bytes written.
size_t bw_errstack(char *buf, size_t cap);

hid_t bw_fopen(const char *path);

hid_t bw_native(int which);
enum { BW_U64 = 1, BW_I64 = 2, BW_F64 = 3, BW_I32 = 4, BW_CS1 = 5 };

// Links of a group, in the name index's native order (see shim.c).
typedef struct {
	char **names;
	int *types;       // H5L_type_t
	haddr_t *addrs;   // hard links only
	size_t n, cap, max;
	int truncated;
} bw_links;
herr_t bw_list_links(hid_t gid, size_t max, bw_links *out);
void bw_links_free(bw_links *l);

// Attribute names of an object, in the name index's native order.
typedef struct {
	char **names;
	size_t n, cap, max;
	int truncated;
} bw_names;
herr_t bw_list_attrs(hid_t oid, size_t max, bw_names *out);
void bw_names_free(bw_names *l);

// Reading a variable-length string attribute into Go needs a C array of
// pointers; bw_read_vlen_strings returns one, to be passed back to
// bw_reclaim_vlen_strings.
char **bw_read_vlen_strings(hid_t aid, hid_t space, size_t n, int cset);
void bw_reclaim_vlen_strings(char **buf, hid_t space, size_t n, int cset);



// Writer helpers (the dataset handle stays in C so that no gonum Dataset,
// whose copied datatype is never closed, is created).
hid_t bw_create_dataset(hid_t loc, const char *name, hid_t type, hid_t space, hid_t dcpl);
herr_t bw_write_rows(hid_t ds, hid_t type, int rank, const hsize_t *start, const hsize_t *count, hsize_t nelem, const void *buf);
#endif
