#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "shim.h"

void bw_quiet(void) {
	// The library is built thread-safe on Debian: the automatic error
	// printing is a per-thread setting, so this runs on every lock.
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

// The bounded deflate filter. libhdf5 1.10's own deflate decoder doubles
// its output buffer until the stream ends, whatever the chunk's size: a
// chunk of a few KB declared as 8 KB can inflate to gigabytes before
// libhdf5 looks at the result. This one replaces it (same filter id) and
// inflates into at most bw_chunk_cap bytes, the size the reader expects
// (set per dataset while holding the package mutex); a stream that
// would produce more fails the read and sets bw_chunk_over.
static size_t bw_chunk_cap = (size_t)64 << 20;
static int bw_chunk_over;

void bw_set_chunk_cap(size_t cap) {
	bw_chunk_cap = cap;
	bw_chunk_over = 0;
}

int bw_chunk_overflowed(void) {
	return bw_chunk_over;
}

static size_t bw_deflate(unsigned flags, size_t cd_nelmts, const unsigned cd_values[], size_t nbytes,
                         size_t *buf_size, void **buf) {
	if (flags & H5Z_FLAG_REVERSE) {
		size_t cap = bw_chunk_cap;
		if (cap == 0 || nbytes > UINT_MAX) {
			return 0;
		}
		unsigned char *out = H5allocate_memory(cap, 0);
		if (out == NULL) {
			return 0;
		}
		z_stream z;
		memset(&z, 0, sizeof(z));
		z.next_in = (Bytef *)*buf;
		z.avail_in = (uInt)nbytes;
		z.next_out = out;
		z.avail_out = (uInt)(cap > UINT_MAX ? UINT_MAX : cap);
		if (inflateInit(&z) != Z_OK) {
			H5free_memory(out);
			return 0;
		}
		int st = inflate(&z, Z_FINISH);
		if ((st == Z_BUF_ERROR || st == Z_OK) && z.avail_out == 0) {
			// Output full before the stream's end: any further byte
			// means the chunk is larger than declared.
			unsigned char probe[1];
			z.next_out = probe;
			z.avail_out = 1;
			st = inflate(&z, Z_FINISH);
			if (z.avail_out == 0) {
				bw_chunk_over = 1;
				st = Z_DATA_ERROR;
			}
		}
		size_t n = z.total_out;
		inflateEnd(&z);
		if (st != Z_STREAM_END) {
			H5free_memory(out);
			H5Epush2(H5E_DEFAULT, __FILE__, "bw_deflate", __LINE__, H5E_ERR_CLS, H5E_PLINE, H5E_CANTFILTER,
			         bw_chunk_over ? "chunk inflates beyond its declared size" : "inflate() failed");
			return 0;
		}
		H5free_memory(*buf);
		*buf = out;
		*buf_size = cap;
		return n;
	}
	int level = cd_nelmts > 0 ? (int)cd_values[0] : Z_DEFAULT_COMPRESSION;
	if (level > 9) {
		level = 9;
	}
	uLongf bound = compressBound((uLong)nbytes);
	unsigned char *out = H5allocate_memory(bound, 0);
	if (out == NULL) {
		return 0;
	}
	if (compress2(out, &bound, (const Bytef *)*buf, (uLong)nbytes, level) != Z_OK) {
		H5free_memory(out);
		return 0;
	}
	H5free_memory(*buf);
	*buf = out;
	*buf_size = compressBound((uLong)nbytes);
	return bound;
}

// H5Zregister refuses to replace a predefined filter; the library's own
// H5Z_register (exported by Debian's libhdf5 1.10, the one deps.sh
// installs) replaces the table entry of an id already registered.
extern herr_t H5Z_register(const H5Z_class2_t *cls);

static const H5Z_class2_t bw_deflate_class = {
	H5Z_CLASS_T_VERS, H5Z_FILTER_DEFLATE, 1, 1, "deflate (bounded)", NULL, NULL, bw_deflate,
};

int bw_init(void) {
	if (H5open() < 0) {
		return -1;
	}
	bw_quiet();
	// Never load filter plugins named by a file (HDF5_PLUGIN_PATH).
	H5PLset_loading_state(0);
	if (H5Z_register(&bw_deflate_class) < 0) {
		return -1;
	}
	return 0;
}

// bw_filters_ok reports whether every filter of a dataset's pipeline is one
// whose output the reader bounds: deflate (replaced above), shuffle and
// fletcher32 (which keep the size). Others (szip, n-bit, scale-offset)
// size their output from values stored in the file.
int bw_filters_ok(hid_t dcpl, int *bad) {
	int n = H5Pget_nfilters(dcpl);
	if (n < 0) {
		return -1;
	}
	for (int i = 0; i < n; i++) {
		unsigned fl;
		size_t nelm = 0;
		unsigned conf;
		H5Z_filter_t id = H5Pget_filter2(dcpl, (unsigned)i, &fl, &nelm, NULL, 0, NULL, &conf);
		if (id < 0) {
			return -1;
		}
		if (id != H5Z_FILTER_DEFLATE && id != H5Z_FILTER_SHUFFLE && id != H5Z_FILTER_FLETCHER32) {
			*bad = (int)id;
			return 0;
		}
	}
	return 1;
}

// bw_deflate_only reports a filter pipeline the Go chunk reader decodes
// itself (chunkread.go): 0 no filter, 1 deflate alone, 2 anything else,
// -1 on error.
int bw_deflate_only(hid_t dcpl) {
	int n = H5Pget_nfilters(dcpl);
	if (n < 0) {
		return -1;
	}
	if (n == 0) {
		return 0;
	}
	if (n > 1) {
		return 2;
	}
	unsigned fl;
	size_t nelm = 0;
	unsigned conf;
	H5Z_filter_t id = H5Pget_filter2(dcpl, 0, &fl, &nelm, NULL, 0, NULL, &conf);
	if (id < 0) {
		return -1;
	}
	return id == H5Z_FILTER_DEFLATE ? 1 : 2;
}

// bw_le64 reports whether a type is stored exactly as the reader's memory
// type for it, so that its bytes can be taken as they are: BW_U64 for a
// little-endian u64, BW_I64 for an i64, BW_F64 for an IEEE little-endian
// double, 0 otherwise.
int bw_le64(hid_t t) {
	if (H5Tequal(t, H5T_STD_U64LE) > 0) {
		return BW_U64;
	}
	if (H5Tequal(t, H5T_STD_I64LE) > 0) {
		return BW_I64;
	}
	if (H5Tequal(t, H5T_IEEE_F64LE) > 0) {
		return BW_F64;
	}
	return 0;
}

// bw_write_raw_chunk stores bytes as the (already filtered) chunk at
// offset, for the tests' bombs.
herr_t bw_write_raw_chunk(hid_t ds, const hsize_t *offset, size_t n, const void *buf) {
	return H5Dwrite_chunk(ds, H5P_DEFAULT, 0, offset, n, buf);
}

typedef struct {
	char *buf;
	size_t cap, len;
} bw_ebuf;

static void eb_put(bw_ebuf *b, const char *s) {
	if (s == NULL) {
		return;
	}
	size_t n = strlen(s);
	if (b->len + n > b->cap) {
		n = b->cap - b->len;
	}
	memcpy(b->buf + b->len, s, n);
	b->len += n;
}

static herr_t eb_walk(unsigned n, const H5E_error2_t *e, void *data) {
	bw_ebuf *b = (bw_ebuf *)data;
	(void)n;
	if (b->len + 3 >= b->cap) {
		return 0;
	}
	eb_put(b, e->func_name);
	eb_put(b, "\x1e");
	eb_put(b, e->desc);
	eb_put(b, "\x1f");
	return 0;
}

size_t bw_errstack(char *buf, size_t cap) {
	bw_ebuf b = {buf, cap, 0};
	H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, eb_walk, &b);
	H5Eclear2(H5E_DEFAULT);
	return b.len;
}

hid_t bw_fopen(const char *path) {
	hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
	if (fapl < 0) {
		return -1;
	}
	// STRONG: closing the file closes every object still open in it.
	if (H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0) {
		H5Pclose(fapl);
		return -1;
	}
	hid_t f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
	if (f < 0) {
		// Keep H5Fopen's error stack across H5Pclose (every API call
		// clears the stack on entry).
		hid_t estack = H5Eget_current_stack();
		H5Pclose(fapl);
		if (estack >= 0) {
			H5Eset_current_stack(estack);
		}
		return -1;
	}
	H5Pclose(fapl);
	return f;
}

hid_t bw_native(int which) {
	switch (which) {
	case BW_U64:
		return H5T_NATIVE_UINT64;
	case BW_I64:
		return H5T_NATIVE_INT64;
	case BW_F64:
		return H5T_NATIVE_DOUBLE;
	case BW_I32:
		return H5T_NATIVE_INT32;
	case BW_CS1:
		return H5T_C_S1;
	}
	return -1;
}

static herr_t links_cb(hid_t g, const char *name, const H5L_info_t *info, void *data) {
	bw_links *l = (bw_links *)data;
	(void)g;
	if (l->n >= l->max) {
		l->truncated = 1;
		return 1; // stop
	}
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 16;
		char **nn = realloc(l->names, nc * sizeof(char *));
		if (nn == NULL) return -1;
		l->names = nn;
		int *nt = realloc(l->types, nc * sizeof(int));
		if (nt == NULL) return -1;
		l->types = nt;
		haddr_t *na = realloc(l->addrs, nc * sizeof(haddr_t));
		if (na == NULL) return -1;
		l->addrs = na;
		l->cap = nc;
	}
	char *s = strdup(name);
	if (s == NULL) return -1;
	l->names[l->n] = s;
	l->types[l->n] = (int)info->type;
	l->addrs[l->n] = info->type == H5L_TYPE_HARD ? info->u.address : HADDR_UNDEF;
	l->n++;
	return 0;
}

// Links and attributes are listed in the index's native order and sorted by
// the caller: for dense (fractal heap) storage, an increasing-order
// iteration makes libhdf5 1.10 build a table of links sized from the
// B-tree's record count, and when the heap is corrupt it frees
// uninitialised entries of that table (a crash). Native order iterates the
// B-tree directly. (Symbol-table groups, Slurm's, are iterated directly in
// name order either way.)
// A name no real link or attribute has: looking it up makes libhdf5 decode
// every compact link or attribute message through a path that fails cleanly.
static const char bw_probe[] = "\x01\x02" "benchwrap-probe";

herr_t bw_list_links(hid_t gid, size_t max, bw_links *out) {
	memset(out, 0, sizeof(*out));
	out->max = max;
	hsize_t idx = 0;
	// Compact link storage is always iterated through a table, and
	// libhdf5 1.10 releases uninitialised entries of that table when a link
	// message fails to decode. Decode them all first, safely.
	// (Symbol-table groups, Slurm's, need no probe: their iteration walks
	// the B-tree without a table.)
	H5G_info_t info;
	if (H5Gget_info(gid, &info) < 0) {
		return -1;
	}
	if (info.storage_type == H5G_STORAGE_TYPE_COMPACT && H5Lexists(gid, bw_probe, H5P_DEFAULT) < 0) {
		return -1;
	}
	return H5Literate(gid, H5_INDEX_NAME, H5_ITER_NATIVE, &idx, links_cb, out);
}

void bw_links_free(bw_links *l) {
	for (size_t i = 0; i < l->n; i++) free(l->names[i]);
	free(l->names);
	free(l->types);
	free(l->addrs);
	memset(l, 0, sizeof(*l));
}

static herr_t attrs_cb(hid_t loc, const char *name, const H5A_info_t *info, void *data) {
	bw_names *l = (bw_names *)data;
	(void)loc;
	(void)info;
	if (l->n >= l->max) {
		l->truncated = 1;
		return 1;
	}
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 8;
		char **nn = realloc(l->names, nc * sizeof(char *));
		if (nn == NULL) return -1;
		l->names = nn;
		l->cap = nc;
	}
	char *s = strdup(name);
	if (s == NULL) return -1;
	l->names[l->n++] = s;
	return 0;
}

herr_t bw_list_attrs(hid_t oid, size_t max, bw_names *out) {
	memset(out, 0, sizeof(*out));
	out->max = max;
	hsize_t idx = 0;
	// Same for compact attributes (every object header of a Slurm file):
	// the table is grown by doubling and, when an attribute message fails to
	// decode, the unfilled slots are "closed" (a crash). H5Aexists decodes
	// every message without a table and fails cleanly.
	if (H5Aexists(oid, bw_probe) < 0) {
		return -1;
	}
	return H5Aiterate2(oid, H5_INDEX_NAME, H5_ITER_NATIVE, &idx, attrs_cb, out);
}

void bw_names_free(bw_names *l) {
	for (size_t i = 0; i < l->n; i++) free(l->names[i]);
	free(l->names);
	memset(l, 0, sizeof(*l));
}

static hid_t vlen_str_type(int cset) {
	hid_t t = H5Tcopy(H5T_C_S1);
	if (t < 0) return -1;
	if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, (H5T_cset_t)cset) < 0) {
		H5Tclose(t);
		return -1;
	}
	return t;
}

char **bw_read_vlen_strings(hid_t aid, hid_t space, size_t n, int cset) {
	(void)space;
	char **buf = calloc(n ? n : 1, sizeof(char *));
	if (buf == NULL) return NULL;
	hid_t t = vlen_str_type(cset);
	if (t < 0) {
		free(buf);
		return NULL;
	}
	if (H5Aread(aid, t, buf) < 0) {
		hid_t estack = H5Eget_current_stack();
		H5Tclose(t);
		free(buf);
		if (estack >= 0) H5Eset_current_stack(estack);
		return NULL;
	}
	H5Tclose(t);
	return buf;
}

void bw_reclaim_vlen_strings(char **buf, hid_t space, size_t n, int cset) {
	hid_t t = vlen_str_type(cset);
	if (t >= 0) {
		H5Dvlen_reclaim(t, space, H5P_DEFAULT, buf);
		H5Tclose(t);
	} else {
		for (size_t i = 0; i < n; i++) free(buf[i]);
	}
	free(buf);
}

hid_t bw_create_dataset(hid_t loc, const char *name, hid_t type, hid_t space, hid_t dcpl) {
	return H5Dcreate2(loc, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
}

herr_t bw_write_rows(hid_t ds, hid_t type, int rank, const hsize_t *start, const hsize_t *count, hsize_t nelem, const void *buf) {
	if (rank == 0) {
		return H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
	}
	hid_t fs = H5Dget_space(ds);
	if (fs < 0) return -1;
	if (H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0) {
		H5Sclose(fs);
		return -1;
	}
	hid_t ms = H5Screate_simple(1, &nelem, NULL);
	if (ms < 0) {
		H5Sclose(fs);
		return -1;
	}
	herr_t rc = H5Dwrite(ds, type, ms, fs, H5P_DEFAULT, buf);
	if (rc < 0) {
		hid_t estack = H5Eget_current_stack();
		H5Sclose(ms);
		H5Sclose(fs);
		if (estack >= 0) H5Eset_current_stack(estack);
		return rc;
	}
	H5Sclose(ms);
	H5Sclose(fs);
	return rc;
}
