#!/usr/bin/env python3
"""Generate astroglia's Loihi reference data (tests/data/loihi/*.json).

Defines small deterministic networks (seeded numpy RNG), runs each through
Intel Lava's bit-accurate models (PyLifModelBitAcc + PyDenseModelBitAcc, via
scripts/lava/lava_json.py) and writes one "astroglia-lava-1" JSON file per
network, with every LIF process's spikes, u and v at every step.

    bash scripts/lava/setup.sh
    scripts/lava/.venv/bin/python scripts/lava/reference.py [--out DIR] [NAME ...]

Without NAMEs all networks are generated.  Data generated with lava-nc 0.10.0
(Intel Corporation, BSD-3-Clause, https://github.com/lava-nc/lava).
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lava_json  # noqa: E402

GENERATOR = ("scripts/lava/reference.py, lava-nc 0.10.0, PyLifModelBitAcc + "
             "PyDenseModelBitAcc (Loihi2SimCfg select_tag fixed_pt)")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_OUT = os.path.join(REPO, "tests", "data", "loihi")

NETWORKS = {}


def network(fn):
    NETWORKS[fn.__name__] = fn
    return fn


def desc(name, description, steps, processes, connections=()):
    return {
        "format": lava_json.FORMAT,
        "name": name,
        "description": description,
        "generator": GENERATOR,
        "steps": steps,
        "processes": list(processes),
        "connections": list(connections),
    }


def lif(name, size, du, dv, vth, bias_mant=0, bias_exp=0, u=0, v=0):
    def conv(x):
        return [int(y) for y in x] if isinstance(x, (list, np.ndarray)) else int(x)
    return {"name": name, "type": "LIF", "size": int(size), "du": int(du),
            "dv": int(dv), "vth": int(vth), "bias_mant": conv(bias_mant),
            "bias_exp": conv(bias_exp), "u": conv(u), "v": conv(v)}


def ring(name, size, spikes):
    spikes = sorted({(int(s), int(i)) for s, i in spikes})
    return {"name": name, "type": "RingBuffer", "size": int(size),
            "spikes": [[s, i] for s, i in spikes]}


def dense(name, src, dst, pre, post, weight, weight_exp=0, num_weight_bits=8,
          sign_mode=None):
    return {"name": name, "from": src, "to": dst,
            "pre": [int(x) for x in pre], "post": [int(x) for x in post],
            "weight": [int(x) for x in weight], "weight_exp": int(weight_exp),
            "num_weight_bits": int(num_weight_bits), "sign_mode": sign_mode}


def random_coo(rng, n_pre, n_post, density, low, high):
    """Random connections (each (pre, post) at most once), weights in [low, high]."""
    mask = rng.random((n_pre, n_post)) < density
    pre, post = np.nonzero(mask)
    w = rng.integers(low, high + 1, size=len(pre))
    return pre, post, w


def poisson(rng, size, steps, p):
    s, i = np.nonzero(rng.random((steps, size)) < p)
    return list(zip(s, i))


# ---------------------------------------------------------------------------
# (a) bias-driven neurons
# ---------------------------------------------------------------------------

@network
def bias_decays():
    """du/dv/vth sweep: 8 independent LIF processes (du, dv, vth are per process)."""
    rng = np.random.default_rng(1001)
    # (du, dv, vth): du, dv over 0..4095 incl. 0, 1, 4095 and odd values;
    # vth over the 17-bit range.
    combos = [(0, 0, 10), (1, 1, 100), (4095, 4095, 1), (7, 4095, 1000),
              (4095, 1, 50), (273, 1365, 131071), (2047, 3001, 5000),
              (4094, 0, 65535)]
    procs = []
    for k, (du, dv, vth) in enumerate(combos):
        n = 5
        evth = vth << 6
        # per-step bias that just balances the voltage leak at threshold
        # (dv=0: reach threshold in ~60 steps)
        balance = max(evth * max(dv, 70) / 4096, 1)
        ratio = rng.choice([0.5, 0.9, 1.2, 2.0, 5.0, -0.3], size=n)
        eff = ratio * balance
        bias_exp = rng.integers(0, 8, size=n)
        for i in range(n):  # largest exponent that keeps the mantissa precise
            while bias_exp[i] > 0 and abs(eff[i]) / (1 << int(bias_exp[i])) < 64:
                bias_exp[i] -= 1
        bias_mant = np.clip(np.round(eff / (1 << bias_exp)), -4096, 4095).astype(int)
        # neuron 0: extreme positive bias, neuron 1: extreme negative bias
        bias_mant[0], bias_exp[0] = (4095, 7) if k % 2 == 0 else (1, 0)
        bias_mant[1], bias_exp[1] = (-4096, 7) if k % 3 == 0 else (-1, 0)
        # initial u exercises the u decay (there is no synaptic input here);
        # one value per process (astroglia takes no per-neuron initial state
        # from this format): large for some processes, near threshold for others
        if k % 3 == 1:
            u = int(rng.integers(2 ** 21, 2 ** 22))
        else:
            u = int(round(rng.uniform(-0.2, 1.5) * evth))
        v = int(round(rng.uniform(-1.0, 1.0) * evth))
        procs.append(lif(f"p{k}_du{du}_dv{dv}", n, du, dv, vth,
                         bias_mant, bias_exp, u, v))
    return desc("bias_decays",
                "8 unconnected LIF processes sweeping du, dv (0..4095) and vth "
                "(1..131071), nonzero initial u and v, per-neuron bias_mant/bias_exp",
                200, procs)


@network
def bias_exp_sweep():
    """bias_mant x bias_exp: one LIF process, 40 neurons, per-neuron arrays."""
    rng = np.random.default_rng(1002)
    mants = [0, 1, -1, 4095, -4096, 3, -3, 1023, -1023, 2047,
             -2048, 77, -77, 511, 4001, -4001, 9, -9, 255, -255]
    n = 40
    bias_mant = np.array(mants + list(rng.integers(-4096, 4096, size=n - len(mants))))
    bias_exp = np.array([i % 8 for i in range(n)])
    bias_exp[:8] = [0, 7, 7, 7, 7, 0, 1, 2]
    return desc("bias_exp_sweep",
                "40 bias-driven LIF neurons: bias_mant over -4096..4095 (incl. 0, "
                "+-1, extremes) times bias_exp 0..7; du=1, dv=137, vth=3000",
                150, [lif("a", n, du=1, dv=137, vth=3000,
                          bias_mant=bias_mant, bias_exp=bias_exp)])


# ---------------------------------------------------------------------------
# (b) feed-forward through Dense
# ---------------------------------------------------------------------------

@network
def ff_weights():
    """Bias-driven LIF source -> Dense (exc/inh/mixed, weight_exp -3..5) -> 5 LIF targets."""
    rng = np.random.default_rng(2001)
    n_src, n_t = 10, 6
    # sources: different biases -> regular spiking at different rates
    src = lif("src", n_src, du=0, dv=0, vth=200,
              bias_mant=rng.integers(300, 4096, size=n_src), bias_exp=3)
    configs = [
        # name, (low, high), weight_exp, num_weight_bits, du, dv, vth
        ("exc", (0, 255), 0, 8, 410, 205, 2000),
        ("inh", (-255, 0), 0, 8, 1000, 300, 100),
        ("mixed", (-256, 255), 2, 8, 1000, 100, 1500),
        ("mixed_m3", (-256, 255), -3, 8, 0, 50, 60),
        ("exc_e5_b6", (0, 255), 5, 6, 2500, 700, 20000),
    ]
    procs, conns = [src], []
    for name, (lo, hi), we, nwb, du, dv, vth in configs:
        bias = rng.integers(1000, 4000, size=n_t) if name == "inh" else 0
        procs.append(lif(name, n_t, du, dv, vth, bias_mant=bias, bias_exp=4))
        pre, post, w = random_coo(rng, n_src, n_t, 0.6, lo, hi)
        conns.append(dense(f"src->{name}", "src", name, pre, post, w, we, nwb))
    return desc("ff_weights",
                "bias-driven LIF source (10) -> Dense -> five LIF targets (6 each): "
                "excitatory 0..255, inhibitory -255..0 (weight_exp 0), mixed "
                "-256..255 (weight_exp 2 and -3), excitatory weight_exp 5 with "
                "num_weight_bits 6",
                250, procs, conns)


@network
def ff_ringbuffer_bits():
    """RingBuffer source -> Dense with num_weight_bits 1..7 and explicit sign modes."""
    rng = np.random.default_rng(2002)
    n_in, n_t, steps = 12, 4, 200
    procs = [ring("in", n_in, poisson(rng, n_in, steps, 0.15))]
    conns = []
    configs = [
        # name, weight range, weight_exp, num_weight_bits, sign_mode
        ("exc_b7", (0, 255), 0, 7, None),
        ("exc_b3", (0, 255), 1, 3, "excitatory"),
        ("inh_b5", (-255, 0), 0, 5, None),
        ("inh_b1", (-255, 0), 3, 1, "inhibitory"),
        ("mix_b6", (-256, 255), -1, 6, None),
        ("mix_b4", (-256, 255), 2, 4, "mixed"),
        ("mix_b2", (-256, 255), 0, 2, "mixed"),
    ]
    for name, (lo, hi), we, nwb, sm in configs:
        inh = name.startswith("inh")
        lo_b, hi_b = (2500, 4095) if inh else (-100, 300)
        procs.append(lif(name, n_t, du=800, dv=400, vth=600,
                         bias_mant=rng.integers(lo_b, hi_b, size=n_t),
                         bias_exp=3 if inh else 2))
        pre, post, w = random_coo(rng, n_in, n_t, 0.7, lo, hi)
        conns.append(dense(f"in->{name}", "in", name, pre, post, w, we, nwb, sm))
    return desc("ff_ringbuffer_bits",
                "RingBuffer (12, random spikes) -> Dense -> seven LIF targets (4 each) "
                "with num_weight_bits 1..7, excitatory/inhibitory/mixed, explicit "
                "and inferred sign_mode, weight_exp -1..3",
                steps, procs, conns)


@network
def weight_probe():
    """Each input spikes alone at its own step; targets have du=4095 so u(s+1) = w_eff << 6."""
    n_in = 16
    steps = n_in + 2
    procs = [ring("in", n_in, [(k, k) for k in range(n_in)])]
    conns = []
    cases = [
        # name, weights (one per input, in spike order), weight_exp, nwb, sign_mode
        ("exc_clip", [0, 1, 2, 3, 127, 128, 254, 255, 256, 300, 1000, 5, 7, 9, 11, 13], 0, 8, None),
        ("inh_clip", [0, -1, -2, -3, -127, -128, -254, -255, -256, -300, -1000, -5, -7, -9, -11, -13], 0, 8, None),
        ("mixed", [-300, -256, -255, -254, -3, -2, -1, 0, 1, 2, 3, 254, 255, 256, 300, -129], 0, 8, None),
        ("mixed_explicit_pos", [1, 2, 3, 4, 5, 6, 7, 8, 100, 101, 254, 255, 300, 0, 9, 11], 0, 8, "mixed"),
        ("exc_explicit_neg", [-5, 5, -255, 255, 300, -300, 1, -1, 0, 7, 8, 9, 10, 11, 12, 13], 0, 8, "excitatory"),
        ("inh_explicit_pos", [-5, 5, -255, 255, 300, -300, 1, -1, 0, -7, -8, -9, -10, -11, -12, -13], 0, 8, "inhibitory"),
        ("exc_b6", [1, 3, 4, 5, 7, 8, 255, 254, 252, 251, 100, 101, 102, 103, 2, 0], 0, 6, None),
        ("mixed_b6", [-255, -9, -8, -7, -3, -1, 1, 3, 7, 8, 9, 255, -256, 15, 16, 17], 0, 6, None),
        ("inh_b6", [-255, -9, -8, -7, -3, -1, -4, -5, -252, -251, -100, -101, -102, -103, -2, 0], 0, 6, None),
        ("exc_em2", [1, 2, 3, 4, 5, 6, 7, 8, 9, 255, 254, 253, 252, 0, 10, 11], -2, 8, None),
        ("inh_em2", [-1, -2, -3, -4, -5, -6, -7, -8, -9, -255, -254, -253, -252, 0, -10, -11], -2, 8, None),
        ("mixed_e5", [1, -1, 2, -2, 7, -7, 255, -256, 100, -100, 3, -3, 0, 64, -64, 5], 5, 8, None),
    ]
    for name, ws, we, nwb, sm in cases:
        assert len(ws) == n_in
        procs.append(lif(name, 1, du=4095, dv=4095, vth=131071))
        conns.append(dense(f"in->{name}", "in", name, range(n_in), [0] * n_in, ws, we, nwb, sm))
    return desc("weight_probe",
                "input k spikes alone at step k; each single-neuron target (du=4095, "
                "dv=4095) has u at step k+1 equal to (effective weight of input k, "
                "after Lava's clip/truncate and weight_exp) << 6: clipping, sign "
                "modes, num_weight_bits, weight_exp",
                steps, procs, conns)


@network
def delay_probe():
    """Arrival step of spikes from RingBuffer and LIF sources."""
    procs = [
        ring("in", 2, [(0, 0), (3, 0), (4, 1), (9, 0), (9, 1)]),
        # src: v starts at -7, bias 1 / 2, vth 0 (effective 0): first spikes
        # at step 7 (neuron 0) and step 3 (neuron 1)
        lif("src", 2, du=0, dv=0, vth=0, bias_mant=[1, 2], v=-7),
        lif("t_in", 2, du=4095, dv=4095, vth=131071),
        lif("t_src", 2, du=4095, dv=4095, vth=131071),
    ]
    conns = [
        dense("in->t_in", "in", "t_in", [0, 1], [0, 1], [10, 20]),
        dense("src->t_src", "src", "t_src", [0, 1], [0, 1], [10, 20]),
    ]
    return desc("delay_probe",
                "a spike at step s (RingBuffer or LIF source) reaches the target's "
                "u at step s+1 (targets du=4095: u = input << 6 exactly)",
                14, procs, conns)


# ---------------------------------------------------------------------------
# (c) saturation
# ---------------------------------------------------------------------------

@network
def saturation():
    """v clip at +-(2^23-1), vth=131071, u wrap beyond 2^23."""
    rng = np.random.default_rng(3001)
    n = 8
    # big bias pushes v to the clip; vth=131071 -> effective 8388544 < 8388607
    vclip = lif("vclip", n, du=0, dv=0, vth=131071,
                bias_mant=[4095, 4095, 4095, 3000, -4096, -4096, -2000, -1],
                bias_exp=[7, 6, 5, 7, 7, 6, 7, 0])
    # starting at the negative clip / near the positive one
    vneg = lif("vneg_start", 4, du=0, dv=0, vth=131071,
               bias_mant=[-1, 4095, -4096, 100], bias_exp=[0, 7, 7, 3], v=-8388607)
    vpos = lif("vpos_start", 4, du=0, dv=0, vth=131071,
               bias_mant=[4095, 3000, -4096, 1], bias_exp=[7, 0, 7, 0], v=8000000)
    vclip_decay = lif("vclip_decay", 4, du=0, dv=1, vth=131071,
                      bias_mant=[4095, -4096, 4095, -4096], bias_exp=[7, 7, 6, 6])
    # u wrap: excitatory input up to 255 << 8 per input (65280, << 6 = 4177920)
    # on du=0 neurons accumulates past 2^23 and wraps (by 2^24, as Lava does).
    # Four coincident inputs stay below 2^18, so one wrap always lands back
    # in (-2^23, 2^23] (the out-of-range single wrap is in overflow_edges).
    n_in = 4
    spikes = [(s, 0) for s in range(0, 120, 3)] + [(s, 1) for s in range(1, 120, 7)] \
        + [(s, 2) for s in range(5, 120, 11)] + poisson(rng, 1, 120, 0.2)
    spikes += [(s, 3) for s in range(2, 120, 5)]
    inp = ring("in", n_in, spikes)
    uwrap = lif("uwrap", n, du=0, dv=4095, vth=131071,
                bias_mant=rng.integers(-4096, 4096, size=n), bias_exp=7)
    uwrap_neg = lif("uwrap_neg", n, du=5, dv=2000, vth=131071)
    pre, post, w = [], [], []
    for j in range(n):
        for i in range(n_in):
            pre.append(i)
            post.append(j)
            w.append(int(rng.integers(150, 256)) if (i + j) % 3 else 255)
    conns = [
        dense("in->uwrap", "in", "uwrap", pre, post, w, weight_exp=8),
        dense("in->uwrap_neg", "in", "uwrap_neg", pre, post, [-x for x in w],
              weight_exp=8),
    ]
    return desc("saturation",
                "v clipped at +-(2^23-1) by large bias (vth=131071, effective "
                "8388544); u pushed past +-2^23 by Dense input (weight 150..255, "
                "weight_exp 8, excitatory and inhibitory) and wrapped by 2^24",
                120, [vclip, vneg, vpos, vclip_decay, inp, uwrap, uwrap_neg], conns)


@network
def overflow_edges():
    """Pathological edges of Lava's arithmetic (single wrap, int32 shift overflow)."""
    # input k spikes at step 2k; each target neuron j gets input from one input.
    cases = [
        # (weight, weight_exp): contribution = weight << weight_exp
        (128, 10),    # 2^17: u = 2^23 exactly -> not wrapped (u = 8388608)
        (-128, 10),   # -2^17: u = -2^23 -> wrapped to +2^23
        (255, 10),    # 261120 << 6 = 16711680 -> wrapped once -> -65536
        (5, 17),      # 5 * 2^23 -> wrapped once only -> 25165824 (outside 24 bits)
        (-5, 17),     # -> -25165824
        (255, 20),    # a_in << 6 overflows int32
        (255, 24),    # the Dense sum overflows the int32 channel
        (1, 25),      # 2^25 << 6 = 2^31 -> int32 wraps to -2^31
    ]
    n = len(cases)
    procs = [ring("in", n, [(2 * k, k) for k in range(n)] + [(2 * k + 1, k) for k in range(n)])]
    conns = []
    for k, (w, we) in enumerate(cases):
        name = f"t{k}"
        # du=4095: u = this step's input << 6 alone
        procs.append(lif(name, 1, du=4095, dv=4095, vth=131071))
        conns.append(dense(f"in->{name}", "in", name, [k], [0], [w], weight_exp=we))
    # twin targets with du=0 (u accumulates, decays by 4095/4096)
    for k, (w, we) in enumerate(cases):
        name = f"t{k}_du0"
        procs.append(lif(name, 1, du=0, dv=0, vth=131071))
        conns.append(dense(f"in->{name}", "in", name, [k], [0], [w], weight_exp=we))
    return desc("overflow_edges",
                "input k spikes at steps 2k and 2k+1 through one weight << "
                "weight_exp: u == 2^23 (kept), u == -2^23 (-> +2^23), single wrap "
                "leaving 24 bits, int32 overflow of a_in << 6 and of the Dense "
                "output; targets du=4095 and du=0",
                2 * n + 4, procs, conns)


# ---------------------------------------------------------------------------
# (d) recurrent, (e) converging
# ---------------------------------------------------------------------------

@network
def recurrent():
    """RingBuffer -> R, R -> R (mixed sign), constant nonzero initial u and v."""
    rng = np.random.default_rng(4001)
    n_in, n = 10, 30
    steps = 300
    inp = ring("in", n_in, poisson(rng, n_in, steps, 0.1))
    r = lif("r", n, du=300, dv=200, vth=2000, bias_mant=rng.integers(-80, 40, size=n),
            bias_exp=3, u=5000, v=-3000)
    pre, post, w = random_coo(rng, n_in, n, 0.3, 0, 255)
    rpre, rpost, rw = random_coo(rng, n, n, 0.3, -256, 255)
    conns = [dense("in->r", "in", "r", pre, post, w, weight_exp=-2),
             dense("r->r", "r", "r", rpre, rpost, rw, weight_exp=0)]
    return desc("recurrent",
                "RingBuffer (10, random) -> LIF r (30) excitatory (weight_exp -2), "
                "plus r -> r mixed-sign recurrent Dense (30% density, weight_exp 0); "
                "initial u=5000, v=-3000",
                steps, [inp, r], conns)


@network
def converging():
    """Two (and three) Dense connections converging onto one LIF population."""
    rng = np.random.default_rng(5001)
    n_in, n_src, n = 8, 8, 12
    steps = 200
    inp = ring("in", n_in, poisson(rng, n_in, steps, 0.2))
    src = lif("src", n_src, du=0, dv=0, vth=500,
              bias_mant=rng.integers(200, 2000, size=n_src), bias_exp=2)
    t = lif("t", n, du=150, dv=90, vth=900, bias_mant=rng.integers(-20, 60, size=n),
            bias_exp=4)
    # t2 gets two Dense from the same source, negative weight_exp: each is
    # floored separately before the InPort sums them
    t2 = lif("t2", 6, du=4095, dv=300, vth=2000,
             bias_mant=rng.integers(300, 600, size=6), bias_exp=5)
    pre, post, w = random_coo(rng, n_in, n, 0.5, -256, 255)
    spre, spost, sw = random_coo(rng, n_src, n, 0.5, -255, 0)
    conns = [
        dense("in->t", "in", "t", pre, post, w, weight_exp=1),
        dense("src->t", "src", "t", spre, spost, sw, weight_exp=-2),
    ]
    a_pre, a_post, a_w = random_coo(rng, n_in, 6, 0.6, -255, 0)
    b_pre, b_post, b_w = random_coo(rng, n_in, 6, 0.6, -255, 0)
    c_pre, c_post, c_w = random_coo(rng, n_src, 6, 0.6, 0, 255)
    conns += [
        dense("in->t2 a", "in", "t2", a_pre, a_post, a_w, weight_exp=-3),
        dense("in->t2 b", "in", "t2", b_pre, b_post, b_w, weight_exp=-1),
        # astroglia floors at most two negative-exponent connections onto one
        # LIF on their own (one per ring); a third is refused, so this one is >= 0.
        dense("src->t2", "src", "t2", c_pre, c_post, c_w, weight_exp=1),
    ]
    return desc("converging",
                "two Dense (RingBuffer mixed weight_exp 1, LIF inhibitory "
                "weight_exp -2) onto t; two Dense with negative weight_exp "
                "from the same RingBuffer and one with weight_exp 1 onto t2 (du=4095)",
                steps, [inp, src, t, t2], conns)


# ---------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", help=f"networks (default: all): {', '.join(NETWORKS)}")
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    names = args.names or list(NETWORKS)
    for n in names:
        if n not in NETWORKS:
            ap.error(f"unknown network {n!r}")
    os.makedirs(args.out, exist_ok=True)
    for n in names:
        d = NETWORKS[n]()
        t0 = time.perf_counter()
        out, wall, run_wall = lava_json.run_description(d)
        text = lava_json.dumps(out)
        path = os.path.join(args.out, f"{n}.json")
        with open(path, "w") as f:
            f.write(text)
        spikes = {k: len(v["spikes"]) for k, v in out["recorded"].items()}
        print(f"{n}: {d['steps']} steps, Lava wall {wall:.2f} s (run calls "
              f"{run_wall:.2f} s, {d['steps'] / run_wall:.0f} steps/s), "
              f"{len(text) / 1024:.0f} KiB, spikes {spikes}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
