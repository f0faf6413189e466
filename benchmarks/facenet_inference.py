"""Which way of running the FaceNet port is fastest on CPU? `python benchmarks/facenet_inference.py [--rounds 8]`.

Times one batch of 32 faces (160x160) through each way of calling the Keras 3 model. The ways run round-robin in
one process, so a busy machine slows them alike; the table gives the first call (tracing, compiling) and the fastest
and median of the later calls, in seconds per batch and faces per second.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import keras
import numpy as np

from embeddings.encoders.facenet import SPEC, load_keras2_weights
from embeddings.encoders.inception_resnet_v1 import inception_resnet_v1
from embeddings.weights import weights_path

BATCH = 32


def ours(path: Path, jit_compile: bool | None) -> keras.Model:
    model = inception_resnet_v1(SPEC.input_size, SPEC.dim)
    load_keras2_weights(model, path)
    if jit_compile is not None:
        model.compile(jit_compile=jit_compile)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights-dir", type=Path, default=Path("var/models"))
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    path = weights_path(SPEC, args.weights_dir)
    x = np.random.default_rng(0).standard_normal((BATCH, SPEC.input_size, SPEC.input_size, 3)).astype(np.float32)

    eager, plain, graph, xla = ours(path, None), ours(path, None), ours(path, False), ours(path, True)
    ways = {
        "keras 3: model(x, training=False)": lambda: eager(x, training=False),
        "keras 3: predict_on_batch, not compiled": lambda: plain.predict_on_batch(x),
        "keras 3: predict_on_batch, compile(jit_compile=False)": lambda: graph.predict_on_batch(x),
        "keras 3: predict_on_batch, compile(jit_compile=True)": lambda: xla.predict_on_batch(x),
    }
    first, times = {}, {name: [] for name in ways}
    for name, run in ways.items():
        start = time.perf_counter()
        np.asarray(run())
        first[name] = time.perf_counter() - start
    for _ in range(args.rounds):
        for name, run in ways.items():
            start = time.perf_counter()
            np.asarray(run())
            times[name].append(time.perf_counter() - start)

    print(f"backend {keras.backend.backend()}, batch {BATCH}, {args.rounds} rounds")
    print(f"{'way':54} {'first s':>7} {'fastest s':>9} {'median s':>8} {'faces/s':>7}")
    for name in ways:
        fastest, median = min(times[name]), statistics.median(times[name])
        print(f"{name:54} {first[name]:7.2f} {fastest:9.3f} {median:8.3f} {BATCH / fastest:7.1f}")


if __name__ == "__main__":
    main()
