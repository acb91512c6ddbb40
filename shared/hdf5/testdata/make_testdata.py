#!/usr/bin/python3
"""Writes the h5py-made test files of the hdf5 package (an outside producer's
view of the format). Run from shared/hdf5: /usr/bin/python3 testdata/make_testdata.py

types.h5   compound members of every numeric kind, big-endian and aligned
           layouts, non-numeric members, NaN/Inf, float16, string datasets
hostile.h5 huge declared dimensions, soft/external links, a hard-link cycle,
           a named datatype, vlen string attributes, 3-D and empty datasets
userblock.h5 a small Slurm-like file behind a 512-byte user block
"""
import numpy as np
import h5py

be = np.dtype([("ElapsedTime", ">u8"), ("EpochTime", ">u8"), ("NodePower", ">u4"),
               ("Temp", ">f4"), ("Delta", ">i2"), ("Ratio", ">f8")])
mixed_aligned = np.dtype({"names": ["a_u8", "b_i32", "c_f32", "d_u16", "e_f64", "f_i8"],
                          "formats": ["u1", "<i4", "<f4", "<u2", "<f8", "i1"],
                          "offsets": [0, 4, 8, 12, 16, 24], "itemsize": 32})
odd = np.dtype([("ElapsedTime", "<u8"), ("Label", "S8"), ("Vec", "<f8", (3,)),
                ("Inner", [("x", "<u4"), ("y", "<f4")]), ("Flag", "?"), ("Half", "<f2"),
                ("Power", "<u8")])

with h5py.File("testdata/types.h5", "w") as f:
    g = f.create_group("node01")
    g.attrs["Node Name"] = np.array([b"node01"], dtype="S6")
    g.attrs["CPUs per Task"] = np.array([4], dtype="<i4")
    g.attrs["Scale"] = np.array([0.5], dtype="<f8")
    g.attrs["Big"] = np.array([2**63 + 5], dtype="<u8")
    g.attrs["Note"] = "variable length"          # vlen str attribute
    g.attrs["Pair"] = np.array([1, -2], dtype=">i2")
    g.attrs["Blob"] = np.void(b"\x01\x02")         # opaque: skipped

    d = np.zeros(25, dtype=be)
    d["ElapsedTime"] = np.arange(25)
    d["EpochTime"] = 1_700_000_000 + np.arange(25)
    d["NodePower"] = 4_000_000_000 - np.arange(25)
    d["Temp"] = np.linspace(-40, 80, 25)
    d["Temp"][3] = np.nan
    d["Temp"][4] = np.inf
    d["Temp"][5] = -np.inf
    d["Delta"] = np.arange(25) * -1000
    d["Ratio"] = np.linspace(0, 1, 25)
    d["Ratio"][7] = np.nan
    g.create_dataset("BigEndian", data=d, chunks=(10,), maxshape=(None,), compression="gzip", compression_opts=0)

    m = np.zeros(12, dtype=mixed_aligned)
    m["a_u8"] = np.arange(12) * 20
    m["b_i32"] = -(2**31) + np.arange(12)
    m["c_f32"] = np.arange(12) / 3
    m["d_u16"] = 65535 - np.arange(12)
    m["e_f64"] = 1e300 * np.arange(12)
    m["f_i8"] = -128 + np.arange(12)
    g.create_dataset("Aligned", data=m)

    o = np.zeros(6, dtype=odd)
    o["ElapsedTime"] = np.arange(6)
    o["Label"] = [b"a", b"bb", b"ccc", b"d", b"e", b"f"]
    o["Vec"] = np.arange(18).reshape(6, 3)
    o["Inner"]["x"] = 7
    o["Flag"] = [True, False] * 3
    o["Half"] = [0.5, 1.5, np.inf, -2, 65504, np.nan]
    o["Power"] = [100, 200, 300, 400, 500, 600]
    g.create_dataset("Odd", data=o)

    g.create_dataset("strings", data=np.array([b"x", b"yy"], dtype="S2"))
    g.create_dataset("only_strings", data=np.zeros(3, dtype=[("s", "S4"), ("t", "S2")]))
    g.create_dataset("u64_extremes", data=np.array([0, 1, 2**63, 2**64 - 1], dtype="<u8"))
    g.create_dataset("i64_extremes", data=np.array([-(2**63), -1, 0, 2**63 - 1], dtype=">i8"))
    g.create_dataset("f32_special", data=np.array([np.nan, np.inf, -np.inf, -0.0, 1e-45], dtype="<f4"))
    g.create_dataset("cube", data=np.arange(24, dtype="<u2").reshape(2, 3, 4))
    g.create_dataset("empty_2d", shape=(0, 3), dtype="<f8")
    g.create_dataset("no_cols", shape=(4, 0), dtype="<i2")
    g.create_dataset("scalar_u8", data=np.uint8(200))
    g.create_dataset("scalar_compound", data=np.array((5, 2.5), dtype=[("a", "<u4"), ("b", "<f8")]))

with h5py.File("testdata/hostile.h5", "w") as f:
    g = f.create_group("node01")
    g.create_dataset("Energy", data=np.zeros(3, dtype=[("ElapsedTime", "<u8"), ("EpochTime", "<u8"), ("NodePower", "<u8")]))
    g.create_dataset("huge_rows", shape=(2**60,), maxshape=(None,), chunks=(10,), dtype="<u8")
    g.create_dataset("huge_compound", shape=(2**62,), maxshape=(None,), chunks=(10,),
                     dtype=[("ElapsedTime", "<u8"), ("NodePower", "<u8")])
    g.create_dataset("huge_cols", shape=(1, 2**40), maxshape=(None, None), chunks=(1, 16), dtype="<u1")
    g.create_dataset("wide_overflow", shape=(2**33, 2**33, 2**33), chunks=(1, 1, 16), dtype="<u1")
    g.create_dataset("big_chunk", shape=(100,), chunks=(2**28,), maxshape=(None,), dtype="<u8")
    g.create_dataset("rows_1000", data=np.arange(1000, dtype="<u4"), chunks=(100,))
    g.create_dataset("external_raw", shape=(10,), dtype="<u8", external=[("missing_raw.bin", 0, 80)])
    layout = h5py.VirtualLayout(shape=(4,), dtype="<u8")
    layout[:] = h5py.VirtualSource("missing_source.h5", "/data", shape=(4,))
    g.create_virtual_dataset("virtual", layout, fillvalue=0)
    g["soft"] = h5py.SoftLink("/node01/Energy")
    g["dangling"] = h5py.SoftLink("/nowhere")
    g["external"] = h5py.ExternalLink("/etc/passwd", "/x")
    g["loop"] = g                                  # hard link cycle
    f["node01_again"] = g                          # same group under a second name
    f["named_type"] = np.dtype("<u8")              # committed datatype
    f.attrs["Number of Steps"] = np.array([1], dtype="<i4")

with h5py.File("testdata/userblock.h5", "w", userblock_size=512) as f:
    g = f.create_group("c0001")
    g.attrs["Node Name"] = np.array([b"c0001"], dtype="S5")
    d = np.zeros(4, dtype=[("ElapsedTime", "<u8"), ("EpochTime", "<u8"), ("NodePower", "<u8")])
    d["ElapsedTime"] = [0, 0, 2, 3]
    d["NodePower"] = [100, 104, 108, 112]
    g.create_dataset("Energy", data=d, chunks=(10,), maxshape=(None,), compression="gzip", compression_opts=0)
with open("testdata/userblock.h5", "r+b") as fh:
    fh.write(b"#!userblock test\n")

# Small files (also the fuzzer's seeds: small inputs keep its minimisation
# cheap). latest.h5 uses the newest format: superblock v3, compact and dense
# (fractal heap + v2 B-tree) link storage, v2 object headers.
rec = np.dtype([("ElapsedTime", "<u8"), ("EpochTime", "<u8"), ("NodePower", "<u8")])
with h5py.File("testdata/latest.h5", "w", libver="latest") as f:
    g = f.create_group("n1")
    g.attrs["Node Name"] = np.array([b"n1"], dtype="S2")
    e = np.zeros(3, dtype=rec)
    e["ElapsedTime"] = [0, 0, 2]
    e["NodePower"] = [200, 204, 208]
    g.create_dataset("Energy", data=e, chunks=(10,), maxshape=(None,), compression="gzip", compression_opts=0)
    t = g.create_group("Tasks")
    for i in [3, 0, 12, 1, 20, 2, 11, 10, 9, 4, 5, 6, 7, 8, 100]:  # > 8 links: dense storage
        t.create_dataset(str(i), data=np.arange(2, dtype="<u4") + i)
with h5py.File("testdata/tiny.h5", "w") as f:
    g = f.create_group("n1")
    g.attrs["CPUs per Task"] = np.array([1], dtype="<i4")
    e = np.zeros(2, dtype=rec)
    e["NodePower"] = [100, 104]
    g.create_dataset("Energy", data=e, chunks=(10,), maxshape=(None,), compression="gzip", compression_opts=0)
    g.create_dataset("v", data=np.array([1.5, -2.0]))
