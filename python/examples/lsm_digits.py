"""The LSM digits experiment driven from Python, with a scikit-learn readout.

The 1797 built-in 8x8 digits (``astroglia.digits()``) are encoded as NALSM's
Bernoulli rate code (each image L1-normalised, divided by the set's largest
normalised pixel, one Bernoulli draw per pixel and 1-ms step), played for 250 ms
into the 1000-neuron liquid of models/digits_liquid.toml from a reset state, 8
images at a time (a batch of 8 instances over one liquid); the liquid's features
are each neuron's spike count, and a scikit-learn LogisticRegression learns the
labels from 80 % of the images and is scored on the other 20 %.

    python python/examples/lsm_digits.py [--limit N]

Needs scikit-learn (``bash scripts/setup-python.sh`` installs it).
"""

from __future__ import annotations

import argparse
import pathlib
import time

import numpy as np

import astroglia

ROOT = pathlib.Path(__file__).resolve().parents[2]
LIQUID = ROOT / "models" / "digits_liquid.toml"


def nalsm_probabilities(images: np.ndarray) -> np.ndarray:
    """NALSM's rate code: per-step spike probability of every pixel."""
    sums = images.sum(axis=1, keepdims=True)
    normalised = np.divide(images, sums, out=np.zeros_like(images), where=sums > 0)
    return np.clip(normalised / normalised.max(), 0.0, 1.0)


def liquid_features(
    images: np.ndarray, sample_ms: float = 250.0, batch: int = 8, seed: int = 1, backend: str = "cpu"
) -> np.ndarray:
    """Spike counts of every liquid neuron (exc then inh) per image: float32[n, 1000]."""
    net = astroglia.Network.from_file(LIQUID)
    sim = astroglia.Simulator(net, seed=seed, batch=batch, backend=backend)
    sizes = {p: sim.population_size(p) for p in ("exc", "inh")}
    n_steps = int(round(sample_ms / net.dt_ms))
    probs = nalsm_probabilities(images)
    rng = np.random.default_rng(seed)
    features = np.zeros((len(images), sum(sizes.values())), dtype=np.float32)
    for start in range(0, len(images), batch):
        sim.reset()
        chunk = range(start, min(start + batch, len(images)))
        for b, i in enumerate(chunk):
            spikes = rng.random((n_steps, probs.shape[1])) < probs[i]
            steps, ids = np.nonzero(spikes)
            sim.set_spike_source("input", steps * net.dt_ms, ids, instance=b)
        for b in range(len(chunk), batch):  # a last, partial batch: silent instances
            sim.set_spike_source("input", [], [], instance=b)
        sim.run(sample_ms)
        for b, i in enumerate(chunk):
            recorded = sim.drain_spikes(instance=b)
            features[i] = np.concatenate(
                [np.bincount(recorded[p][1], minlength=n) for p, n in sizes.items()]
            )
    return features


def run(limit: int | None = None, backend: str = "cpu") -> dict:
    """Features, readout and accuracies; returns the results as a dict."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    images, labels = astroglia.digits()
    if limit:
        images, labels = images[:limit], labels[:limit]
    t0 = time.perf_counter()
    x = liquid_features(images, backend=backend)
    liquid_s = time.perf_counter() - t0

    def score(features: np.ndarray) -> float:
        x_train, x_test, y_train, y_test = train_test_split(
            features, labels, test_size=0.2, stratify=labels, random_state=0
        )
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=0.1))
        model.fit(x_train, y_train)
        return float(model.score(x_test, y_test))

    return {
        "images": len(images),
        "liquid_s": liquid_s,
        "mean_rate_hz": float(x.mean() / 0.25),
        "test_accuracy": score(x),
        "input_baseline_test_accuracy": score(images),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="use only the first N images")
    parser.add_argument("--backend", default="cpu", choices=["cpu", "gpu"])
    args = parser.parse_args()
    r = run(args.limit, args.backend)
    print(
        f"{r['images']} images, liquid {r['liquid_s']:.1f} s ({r['mean_rate_hz']:.1f} Hz); "
        f"test accuracy {r['test_accuracy']:.3f} (logistic regression on the pixels: "
        f"{r['input_baseline_test_accuracy']:.3f})"
    )
