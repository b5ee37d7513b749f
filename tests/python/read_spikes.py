#!/usr/bin/env python3
"""Print per-population spike counts from an astroglia spikes.h5 file.

This script is for users: a minimal, copyable example of reading astroglia's
HDF5 output with h5py (``pip install h5py``). The layout is:

    /                       attrs dt_ms, duration_ms (+ run metadata strings)
    spikes/<pop>/times_ms   float64 spike times in ms     (attr size: neurons)
    spikes/<pop>/ids        uint32  population-local neuron ids
    states/<pop>/<var>/values, times_ms, ids
    rates/<pop>/rates_hz    (attr bin_ms)

Usage:  python3 read_spikes.py spikes.h5

Output is tab-separated: a header line, then one line per population with its
size and spike count, in model order. The test suite runs it against a file it
wrote, but only where python3 and h5py are installed.
"""

import sys

import h5py


def main() -> int:
    if len(sys.argv) != 2:
        print(f"usage: {sys.argv[0]} SPIKES.h5", file=sys.stderr)
        return 2
    with h5py.File(sys.argv[1], "r") as f:
        print(f"# dt_ms={f.attrs['dt_ms']} duration_ms={f.attrs['duration_ms']}")
        print("population\tsize\tspikes")
        spikes = f.get("spikes", {})
        # astroglia tracks creation order, so this lists populations in model
        # order; h5py falls back to alphabetical order for other files.
        for name, group in spikes.items():
            print(f"{name}\t{int(group.attrs['size'])}\t{group['times_ms'].shape[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
