#!/usr/bin/env python3
"""Time Lava's bit-accurate CPU simulation of a large astroglia-lava-1 network.

The network is built with ``LIF`` processes and ``Sparse`` connections (scipy
CSR weights; ``Dense`` would need the full matrix), run with
``Loihi2SimCfg(select_tag="fixed_pt")`` (``PyLifModelBitAcc``,
``PySparseModelBitAcc``), and every LIF process's spikes are recorded. When the
description has a ``recorded`` section (``astroglia loihi export --record``),
Lava's spikes are compared with it.

Usage::

    scripts/lava/.venv/bin/python scripts/lava/bench.py FILE.json [--no-record]

Prints the build, run and total wall times and the steps per second of the run.
Reading Lava's spike monitor back is slow (about 3.5 s per 10^5 neurons and
step here); ``--no-record`` runs without it and reads the final ``v`` instead.
Exit status 1 when the spikes differ from the recorded ones.
"""

import json
import sys
import time

import numpy as np


def main(path, record=True):
    from scipy.sparse import csr_matrix
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.lif.models import PyLifModelBitAcc
    from lava.proc.lif.process import LIF
    from lava.proc.monitor.process import Monitor
    from lava.proc.sparse.models import PySparseModelBitAcc
    from lava.proc.sparse.process import Sparse
    from lava.utils.weightutils import SignMode

    t0 = time.perf_counter()
    with open(path) as fh:
        desc = json.load(fh)
    assert desc["format"] == "astroglia-lava-1", desc["format"]
    steps = desc["steps"]

    def per_neuron(p, key, default=0):
        x = p.get(key, default)
        return np.array(x, dtype=np.int32) if isinstance(x, list) else int(x)

    procs = {}
    for p in desc["processes"]:
        if p["type"] != "LIF":
            sys.exit(f"bench.py takes LIF processes only, not {p['type']}")
        procs[p["name"]] = LIF(
            shape=(p["size"],), du=p.get("du", 0), dv=p.get("dv", 0), vth=p.get("vth", 10),
            bias_mant=per_neuron(p, "bias_mant"), bias_exp=per_neuron(p, "bias_exp"),
            u=per_neuron(p, "u"), v=per_neuron(p, "v"), name=p["name"])
    sizes = {p["name"]: p["size"] for p in desc["processes"]}
    modes = {"mixed": SignMode.MIXED, "excitatory": SignMode.EXCITATORY,
             "inhibitory": SignMode.INHIBITORY}
    synapses = 0
    for c in desc["connections"]:
        w = csr_matrix((np.array(c["weight"], dtype=np.int32),
                        (np.array(c["post"]), np.array(c["pre"]))),
                       shape=(sizes[c["to"]], sizes[c["from"]]))
        synapses += w.nnz
        kw = dict(weights=w, weight_exp=c.get("weight_exp", 0),
                  num_weight_bits=c.get("num_weight_bits", 8))
        if c.get("sign_mode"):
            kw["sign_mode"] = modes[c["sign_mode"]]
        conn = Sparse(**kw)
        procs[c["from"]].s_out.connect(conn.s_in)
        conn.a_out.connect(procs[c["to"]].a_in)
    monitors = {}
    for name, lif in procs.items() if record else []:
        m = Monitor()
        m.probe(lif.s_out, steps)
        monitors[name] = m
    first = next(iter(procs.values()))
    cfg = Loihi2SimCfg(select_tag="fixed_pt")
    t1 = time.perf_counter()
    first.run(condition=RunSteps(num_steps=1), run_cfg=cfg)
    t2 = time.perf_counter()
    first.run(condition=RunSteps(num_steps=steps - 1), run_cfg=cfg)
    t3 = time.perf_counter()
    if not record:
        for lif in procs.values():
            lif.v.get()
        t4 = time.perf_counter()
        first.stop()
        print(f"{path}: {sum(sizes.values())} LIF neurons, {synapses} synapses, {steps} steps")
        print(f"  Lava {PyLifModelBitAcc.__name__} + {PySparseModelBitAcc.__name__}: "
              f"load and build {t1 - t0:.1f} s, compile and first step {t2 - t1:.1f} s, "
              f"{steps - 1} steps in {t3 - t2:.2f} s = {(steps - 1) / (t3 - t2):.2f} steps/s "
              f"(reading v {t4 - t3:.2f} s)")
        return 0
    got = {}
    for name, m in monitors.items():
        data = m.get_data()[name]["s_out"]
        got[name] = np.asarray(data).reshape(steps, -1)
    t4 = time.perf_counter()
    first.stop()
    t5 = time.perf_counter()
    print(f"  (reading the spike monitors {t4 - t3:.1f} s, stopping {t5 - t4:.1f} s)")
    total = sum(int(g.astype(bool).sum()) for g in got.values())
    n = sum(sizes.values())
    print(f"{path}: {n} LIF neurons, {synapses} synapses, {steps} steps, {total} spikes")
    print(f"  Lava {PyLifModelBitAcc.__name__} + {PySparseModelBitAcc.__name__}: "
          f"load and build {t1 - t0:.1f} s, compile and first step {t2 - t1:.1f} s, "
          f"{steps - 1} steps in {t3 - t2:.1f} s = {(steps - 1) / (t3 - t2):.2f} steps/s")
    rec = desc.get("recorded")
    if rec:
        same = True
        for name, r in rec.items():
            mine = np.zeros((steps, sizes[name]), dtype=bool)
            for s, i in r["spikes"]:
                mine[s, i] = True
            same &= bool((mine == got[name].astype(bool)).all())
        print(f"  spikes {'identical to' if same else 'DIFFER from'} astroglia's recorded ones")
        return 0 if same else 1
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    record = "--no-record" not in args
    args = [a for a in args if a != "--no-record"]
    if len(args) != 1:
        sys.exit(__doc__)
    sys.exit(main(args[0], record))
