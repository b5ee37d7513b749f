"""COBA-style network of N neurons with 80 synapses per neuron (p = 80/N), the
network of astroglia's `examples/scaling`, in Brian2's C++ standalone mode.

    python coba_scaling.py N [MS] [THREADS]

Prints the simulated rate and the loop's seconds per biological second (from
`last_run_info`, which excludes code generation, compilation and set-up).
Parameters: Brette et al. (2007) benchmark 1 as in Brian2's COBA example and
astroglia's `models/coba.toml` (C 200 pF, gL 10 nS, EL -60 mV, Vth -50 mV,
Vreset -60 mV, 5 ms refractory, tau_e 5 ms, tau_i 10 ms, Ee 0 mV, Ei -80 mV,
we 6 nS, wi 67 nS, dt 0.1 ms, 80 % excitatory).
"""
import sys
from brian2 import (
    NeuronGroup, Synapses, SpikeMonitor, defaultclock, device, mV, ms, nS, pF,
    prefs, run, seed, set_device,
)

n = int(sys.argv[1])
duration = float(sys.argv[2]) if len(sys.argv) > 2 else 200.0
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 0
set_device("cpp_standalone", directory=f"/tmp/brian2_coba_{n}", build_on_run=True)
prefs.devices.cpp_standalone.openmp_threads = threads
seed(1)
defaultclock.dt = 0.1 * ms

eqs = """
dv/dt = (gl*(El - v) + ge*(Ee - v) + gi*(Ei - v)) / C : volt (unless refractory)
dge/dt = -ge / taue : siemens
dgi/dt = -gi / taui : siemens
"""
C, gl, El = 200 * pF, 10 * nS, -60 * mV
Ee, Ei, taue, taui = 0 * mV, -80 * mV, 5 * ms, 10 * ms
P = NeuronGroup(n, eqs, threshold="v > -50*mV", reset="v = -60*mV",
                refractory=5 * ms, method="euler",
                namespace=dict(C=C, gl=gl, El=El, Ee=Ee, Ei=Ei, taue=taue, taui=taui))
P.v = "-65*mV + 5*mV*randn()"
P.ge = "(40 + 15*randn())*nS"
P.gi = "(200 + 120*randn())*nS"
ne = int(0.8 * n)
p = 80.0 / n
Ce = Synapses(P[:ne], P, on_pre="ge += 6*nS")
Ci = Synapses(P[ne:], P, on_pre="gi += 67*nS")
Ce.connect(p=p)
Ci.connect(p=p)
spikes = SpikeMonitor(P, record=False)
run(duration * ms)
rate = spikes.num_spikes / n / (duration / 1000.0)
print(f"neurons {n} synapses {len(Ce) + len(Ci)} rate_Hz {rate:.2f} "
      f"s_per_bio_s {device._last_run_time / (duration / 1000.0):.3f}")
