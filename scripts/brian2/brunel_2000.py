"""The reference run behind README "Brunel (2000)": Brian2's
examples/frompapers/Brunel_2000.py, panel C (g = 5, nu_ext/nu_thr = 2),
1 s, in C++ standalone mode, recording every spike.

Needs Brian2 2.9.0 and a C++ compiler (python3 -m venv V && V/bin/pip install
brian2==2.9.0 numpy==2.3.5); prints rates, mean CV ISI and the standalone loop time
(results/last_run_info.txt) as JSON. Timed with `taskset -c 1`.

usage: brunel_2000.py MODE SEED OUTDIR [DELAY_MS (default 1.5)]
  MODE example:  as the example (connect p = 0.1, PoissonInput)
  MODE indegree: as the example with fixed in-degree C_E / C_I (astroglia's model)
  MODE gated:    indegree with explicit not_refractory guards on every input; gives
                 the spikes of indegree, as Brian2 already guards updates of a
                 variable marked (unless refractory)
"""
import sys, json, time
import numpy as np
from brian2 import *

mode, seed, outdir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
set_device("cpp_standalone", directory=outdir)
prefs.devices.cpp_standalone.openmp_threads = 0
np.random.seed(seed)
from brian2 import seed as bseed
bseed(seed)

N_E = 10000
N_I = 2500
N = N_E + N_I
epsilon = 0.1
C_E = int(epsilon * N_E)
C_I = int(epsilon * N_I)
C_ext = C_E
tau = 20 * ms
theta = 20 * mV
V_r = 10 * mV
tau_rp = 2 * ms
J = 0.1 * mV
D = (float(sys.argv[4]) if len(sys.argv) > 4 else 1.5) * ms
g = 5.0
nu_thr = theta / (J * C_E * tau)
nu_ext = 2 * nu_thr
defaultclock.dt = 0.1 * ms

neurons = NeuronGroup(N, "dv/dt = -v/tau : volt (unless refractory)",
                      threshold="v > theta", reset="v = V_r",
                      refractory=tau_rp, method="exact")
exc = neurons[:N_E]
inh = neurons[N_E:]
gate = "*int(not_refractory_post)" if mode == "gated" else ""
es = Synapses(exc, neurons, on_pre="v_post += J" + gate, delay=D)
is_ = Synapses(inh, neurons, on_pre="v_post += -g*J" + gate, delay=D)
if mode in ("gated", "indegree"):
    rng = np.random.default_rng(seed)
    def indegree(n_pre, k):
        pre = np.concatenate([rng.choice(n_pre, k, replace=False) for _ in range(N)])
        post = np.repeat(np.arange(N), k)
        # Created in presynaptic order, as connect(p=...) does: a spike's
        # synapses then lie together in memory.
        order = np.lexsort((post, pre))
        return pre[order], post[order]
    i, j = indegree(N_E, C_E)
    es.connect(i=i, j=j)
    i, j = indegree(N_I, C_I)
    is_.connect(i=i, j=j)
if mode == "indegree":
    ext_input = PoissonInput(neurons, "v", C_ext, nu_ext, weight=J)
elif mode == "gated":
    ext_binomial = BinomialFunction(C_ext, float(nu_ext * defaultclock.dt), name="ext_binomial")
    neurons.run_regularly("v += J*ext_binomial()*int(not_refractory)", when="synapses")
else:
    es.connect(p=epsilon)
    is_.connect(p=epsilon)
    ext_input = PoissonInput(neurons, "v", C_ext, nu_ext, weight=J)
sm = SpikeMonitor(neurons)
t0 = time.time()
run(1 * second)
wall = time.time() - t0
# Loop time of the standalone binary: results/last_run_info.txt
with open(f"{outdir}/results/last_run_info.txt") as f:
    run_time = float(f.read().split()[0])
i_ = np.asarray(sm.i)
t_ = np.asarray(sm.t / second)
def stats(lo, hi):
    m = (i_ >= lo) & (i_ < hi)
    rate = m.sum() / (hi - lo) / 1.0
    order = np.lexsort((t_[m], i_[m]))
    ii, tt = i_[m][order], t_[m][order]
    same = ii[1:] == ii[:-1]
    isi = np.diff(tt)[same]
    cvs = []
    bounds = np.flatnonzero(np.concatenate([~same, [True]]))
    s = 0
    for e in bounds:
        seg = tt[s:e + 1]
        if len(seg) >= 3:
            d = np.diff(seg)
            cvs.append(d.std() / d.mean())
        s = e + 1
    return rate, float(np.mean(cvs)) if cvs else float("nan")
re_, ce = stats(0, N_E)
ri, ci = stats(N_E, N)
print(json.dumps({"mode": mode, "seed": seed, "delay_ms": float(D / ms), "exc_rate_hz": re_, "exc_cv": ce,
                  "inh_rate_hz": ri, "inh_cv": ci, "run_time_s": run_time,
                  "python_run_call_s": wall}))
