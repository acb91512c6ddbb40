#!/usr/bin/python3
"""Writes testdata/golden/<file>.json: what h5py sees in each fixture and in
types.h5/userblock.h5 (walk order, group attributes, dataset columns, named
like the original pipeline), the reference the Go reader is tested against.
Non-numeric members are left out (the Go reader skips them with a note). Run from shared/hdf5: /usr/bin/python3 testdata/golden.py"""
import glob
import json
import os

import h5py
import numpy as np


def enc(v, kind):
    if kind == "f":
        return float(v).hex() if np.isfinite(v) else repr(float(v))
    return str(int(v))


def kind_of(dt):
    if dt.kind == "u":
        return "u"
    if dt.kind == "i":
        return "i"
    if dt.kind == "f":
        return "f"
    return None


def columns(ds):
    data = ds[()]
    out = []
    dt = ds.dtype
    if dt.names:
        rows = data.reshape(-1) if ds.shape != () else [data]
        for name in dt.names:
            k = kind_of(dt.fields[name][0])
            if k is None or dt.fields[name][0].shape != ():
                continue
            vals = [enc(r[name], k) for r in rows]
            out.append({"name": name, "kind": k, "size": dt.fields[name][0].itemsize, "values": vals})
        return out
    k = kind_of(dt)
    if k is None:
        return None
    if ds.shape == ():
        return [{"name": "value", "kind": k, "size": dt.itemsize, "values": [enc(data, k)]}]
    arr = np.asarray(data)
    if arr.ndim == 1:
        return [{"name": "value", "kind": k, "size": dt.itemsize, "values": [enc(x, k) for x in arr]}]
    rows, ncols = arr.shape[0], int(np.prod(arr.shape[1:]))
    flat = arr.reshape(rows, ncols)
    return [{"name": "col_%d" % j, "kind": k, "size": dt.itemsize, "values": [enc(x, k) for x in flat[:, j]]}
            for j in range(ncols)]


def attrs(obj):
    out = {}
    for name in sorted(obj.attrs.keys(), key=lambda s: s.encode()):
        v = np.asarray(obj.attrs[name]).reshape(-1)
        if v.dtype.kind == "S":
            out[name] = ["s", [x.decode("latin-1") for x in v]]
        elif v.dtype.kind in "OU":
            out[name] = ["s", [x.decode() if isinstance(x, bytes) else str(x) for x in v]]
        elif v.dtype.kind in "iu":
            out[name] = [v.dtype.kind, [int(x) for x in v]]
        elif v.dtype.kind == "f":
            out[name] = ["f", [float(x) for x in v]]
    return out


def walk(group, order, groups, datasets):
    for name, child in group.items():
        path = child.name
        order.append(path)
        if isinstance(child, h5py.Dataset):
            entry = {"shape": list(child.shape), "scalar": child.shape == ()}
            try:
                cols = columns(child)
                if cols is None or (child.dtype.names and not cols):
                    entry["unsupported"] = True
                else:
                    entry["columns"] = cols
            except Exception as exc:  # corrupt chunk
                entry["error"] = str(exc)
            datasets[path] = entry
        else:
            groups[path] = {"attrs": attrs(child)}
            walk(child, order, groups, datasets)


# hostile.h5 is not here: h5py follows its soft/external links and cannot
# allocate its huge datasets; the Go tests check it directly.
for path in sorted(glob.glob("testdata/fixtures/*.h5")) + ["testdata/types.h5", "testdata/userblock.h5", "testdata/latest.h5", "testdata/tiny.h5"]:
    out = {}
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        out["open_error"] = str(exc)
    else:
        order, groups, datasets = [], {"/": {"attrs": attrs(f)}}, {}
        walk(f, order, groups, datasets)
        out.update(order=order, groups=groups, datasets=datasets)
    dst = os.path.join("testdata/golden", os.path.basename(path) + ".json")
    with open(dst, "w") as fh:
        json.dump(out, fh, sort_keys=True)
