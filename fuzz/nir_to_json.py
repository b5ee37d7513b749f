#!/usr/bin/env python3
"""Writes the serde JSON form of astroglia::nir::Nir for .nir files (seeds of the
`nir_json` fuzz target). Usage: nir_to_json.py OUT_DIR FILE.nir... (needs h5py, numpy)."""
import json, os, sys
import h5py, numpy as np


def value(ds):
    v = ds[()]
    if isinstance(v, (bytes, str)) or ds.dtype.kind in "OSU":
        return {"dtype": "str", "value": v.decode() if isinstance(v, bytes) else str(v)}
    a = np.asarray(v)
    kind = {"f": "f64" if a.dtype.itemsize == 8 else "f32", "i": "i64", "u": "i64"}[a.dtype.kind]
    data = [float(x) if kind != "i64" else int(x) for x in a.reshape(-1)]
    data = [x if not (isinstance(x, float) and not np.isfinite(x)) else 0.0 for x in data]
    return {"dtype": kind, "shape": list(a.shape), "data": data}


def text(x):
    return x.decode() if isinstance(x, bytes) else str(x)


def graph(g):
    nodes = {}
    for name, n in g["nodes"].items():
        node = {"type": text(n["type"][()])}
        if node["type"] == "NIRGraph":
            node["graph"] = graph(n)
        else:
            node["params"] = {k: value(d) for k, d in n.items()
                              if k != "type" and isinstance(d, h5py.Dataset)}
        nodes[name] = node
    e = g["edges"]
    if isinstance(e, h5py.Group):
        edges = [[text(s), text(d)] for s, d in zip(e["src"][()], e["dst"][()])]
    else:
        edges = [[text(s), text(d)] for s, d in e[()]]
    return {"nodes": nodes, "edges": edges}


out = sys.argv[1]
for path in sys.argv[2:]:
    try:
        with h5py.File(path, "r") as f:
            nir = {"version": text(f["version"][()]), "graph": graph(f["node"])}
    except Exception as ex:  # noqa: BLE001 - a seed generator: skip what it cannot read
        print(f"skip {path}: {ex}", file=sys.stderr)
        continue
    name = os.path.splitext(os.path.basename(path))[0] + ".json"
    with open(os.path.join(out, name), "w") as w:
        json.dump(nir, w, separators=(",", ":"))
