#!/usr/bin/env python3
"""Run astroglia's LSM samples in Lava and compare the liquid's spikes.

Each FILE is a description written by ``examples/loihi_lava_features.rs``: one
sample of the Loihi liquid with its input spikes and, under ``recorded``, the
spikes astroglia's experiment pipeline produced for it. This runs the network
in Lava's bit-accurate model (``lava_json.run_description``, spikes only) and
reports, per sample, whether every spike and so every feature (spike count per
neuron) is the same.

Usage::

    scripts/lava/.venv/bin/python scripts/lava/compare_features.py DIR/lava/sample_*.json \
        [--counts tests/data/loihi/lsm/digits_loihi_features.json]

``--counts`` writes Lava's spike counts per neuron of every sample (the
features), which tests/it/loihi_lsm.rs compares with astroglia without Python.
Exit status 1 when any sample differs.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lava_json  # noqa: E402


def counts(spikes, size):
    c = [0] * size
    for _, i in spikes:
        c[i] += 1
    return c


def main(files, counts_out=None):
    bad = 0
    written = []
    for f in files:
        with open(f) as fh:
            desc = json.load(fh)
        mine = desc.pop("recorded")
        theirs, wall, run_wall = lava_json.run_description(desc, record_uv=False)
        sizes = {p["name"]: p["size"] for p in desc["processes"]}
        same_spikes = True
        same_counts = True
        total = 0
        for name, rec in mine.items():
            a = [tuple(s) for s in rec["spikes"]]
            b = [tuple(s) for s in theirs["recorded"][name]["spikes"]]
            same_spikes &= a == b
            same_counts &= counts(a, sizes[name]) == counts(b, sizes[name])
            total += len(b)
        written.append({
            "file": os.path.basename(f),
            # examples/loihi_lava_features.rs names sample K's file sample_K.json.
            "sample": int(os.path.basename(f)[len("sample_"):-len(".json")]),
            "description": desc.get("description", ""),
            "steps": desc["steps"],
            "counts": {name: counts(theirs["recorded"][name]["spikes"], sizes[name])
                       for name in mine},
        })
        ok = same_spikes and same_counts
        bad += not ok
        print(
            f"{os.path.basename(f)}: {total} Lava spikes; spikes "
            f"{'identical' if same_spikes else 'DIFFER'}, features (counts per neuron) "
            f"{'identical' if same_counts else 'DIFFER'}; Lava {desc['steps']} steps in "
            f"{run_wall:.1f} s ({desc['steps'] / run_wall:.1f} steps/s, {wall:.1f} s with compile)"
        )
    if counts_out:
        with open(counts_out, "w") as fh:
            json.dump({
                "generator": "scripts/lava/compare_features.py, lava-nc 0.10.0, "
                             "PyLifModelBitAcc + PyDenseModelBitAcc (Loihi2SimCfg select_tag fixed_pt)",
                "experiment": "models/digits_loihi_lsm.toml",
                "samples": written,
            }, fh)
            fh.write("\n")
    return 1 if bad else 0


if __name__ == "__main__":
    args = sys.argv[1:]
    out = None
    if "--counts" in args:
        k = args.index("--counts")
        out = args[k + 1]
        del args[k:k + 2]
    if not args:
        sys.exit(__doc__)
    sys.exit(main(args, out))
