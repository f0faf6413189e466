"""Which way of running the FaceNet port is fastest on CPU? `python benchmarks/facenet_inference.py [--rounds 8]`.

Times batches of 1, 8 and 32 faces (160x160) through each way of running the network: the Keras 3 model called
eagerly and through `predict_on_batch` (plain, compiled as a graph, compiled with XLA), and the same network
converted to TFLite and run with XNNPACK, in fp32 and with int8 weights (dynamic-range quantisation). Ways and batch
sizes run round-robin in one process, so a busy machine slows them alike: compare ways within one run only. The
table gives the first call (tracing, compiling), the fastest and median of the later calls in faces per second, the
CPU time per face (all threads; steadier than wall time when other jobs take the cores) and each way's cosine to
`predict_on_batch` on the same (random) input, lowest of the batch.

With `--lfw-pairs ../shared/data/lfw/pairs.txt --lfw-images ../shared/data/lfw/images` it instead runs LFW View 2
through the pipeline once (MTCNN, alignment), every way encoding the very same crops, and prints each way's accuracy
(10 folds, as `embeddings.evaluate`), its CPU time encoding and its cosine to `predict_on_batch` over all faces.

On the 2-core dev machine (other jobs running: ratios within one run), `--ways predict tflite tflite-int8`, median
faces/s at batch 1 / 8 / 32: predict_on_batch 31.4 / 56.0 / 64.1, TFLite fp32 55.3 / 67.8 / 67.3, TFLite int8
159 / 216 / 204; CPU ms per face at batch 32 29.3, 29.3 and 9.7. Each conversion takes 18-19 s (fp32 91 MB, int8
23 MB). LFW View 2 on the same crops: predict and TFLite fp32 99.38% +- 0.37, TAR 98.17% at FAR 1e-3, 299 and 287
CPU s for 7,701 faces; int8 99.37% +- 0.36, TAR 98.17%, 96 CPU s, threshold 1.0668 (1.0652), cosine to predict
0.99729 at worst (mean 0.99967). So TFLite fp32 is not worth a second runtime and int8 weights are: the product
runs them (`embeddings.encoders.facenet.build`). They move a vector less than reduced decoding does, so the model_id
and the cuts stay (README, Speed).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from embeddings.encoders.facenet import SPEC, load_keras2_weights
from embeddings.encoders.inception_resnet_v1 import inception_resnet_v1
from embeddings.encoders.tflite import TfliteModel, convert
from embeddings.weights import weights_path

WAYS = ("eager", "predict", "graph", "xla", "tflite", "tflite-int8")
THREADS = 2


def ours(path: Path, jit_compile: bool | None = None) -> keras.Model:
    model = inception_resnet_v1(SPEC.input_size, SPEC.dim)
    load_keras2_weights(model, path)
    if jit_compile is not None:
        model.compile(jit_compile=jit_compile)
    return model


def tflite(model: keras.Model, int8: bool) -> Callable[[np.ndarray], np.ndarray]:
    """The model converted as the product converts it (`embeddings.encoders.tflite`), in fp32 or with int8 weights,
    run by one LiteRT interpreter resized when the batch size changes."""
    start = time.perf_counter()
    content = convert(model, int8=int8)
    print(f"converted to TFLite {'int8' if int8 else 'fp32'} in {time.perf_counter() - start:.1f} s", end="")
    print(f" ({len(content) / 1e6:.1f} MB)")
    return TfliteModel(content, THREADS)


def make(way: str, path: Path) -> Callable[[np.ndarray], object]:
    if way == "eager":
        model = ours(path)
        return lambda x: model(x, training=False)
    if way.startswith("tflite"):
        return tflite(ours(path), int8=way == "tflite-int8")
    return ours(path, {"predict": None, "graph": False, "xla": True}[way]).predict_on_batch


def lfw(ways: dict[str, Callable[[np.ndarray], object]], images: Path, pairs_file: Path, weights_dir: Path) -> None:
    from embeddings.encoders import Encoder
    from embeddings.evaluate import embed_images, evaluate_pairs, read_pairs, tar_at_far
    from embeddings.pipeline import FacePipeline

    encoders = {way: Encoder(SPEC, lambda x, run=run: np.asarray(run(x))) for way, run in ways.items()}
    by_reference: dict[bytes, dict[str, np.ndarray]] = {}  # predict's vector of a face -> each way's vector of it
    cpu = dict.fromkeys(ways, 0.0)

    class EveryWay:
        """Stands in for the encoder: encodes each batch of crops every way, hands the pipeline predict's vectors."""

        spec = SPEC

        def embed_aligned(self, crops: list[np.ndarray]) -> np.ndarray:
            vectors = {}
            for way, encoder in encoders.items():
                start = time.process_time()
                vectors[way] = encoder.embed_aligned(crops)
                cpu[way] += time.process_time() - start
            for i, reference in enumerate(vectors["predict"]):
                by_reference[reference.tobytes()] = {way: v[i] for way, v in vectors.items()}
            return vectors["predict"]

    class Pipeline(FacePipeline):
        encoder = EveryWay()

    pairs = read_pairs(pairs_file, images)
    found = embed_images(Pipeline(weights_dir=weights_dir), sorted({p for pair in pairs for p in (pair.a, pair.b)}))
    faces = [by_reference[v.tobytes()] for v in found.values() if v is not None]
    same, folds = np.array([pair.same for pair in pairs]), np.array([pair.fold for pair in pairs])
    print(f"LFW View 2, {len(pairs)} pairs, {len(faces)} faces ({len(found) - len(faces)} not detected)")
    print(f"{'way':11} {'accuracy':>15} {'threshold':>9} {'TAR@FAR1e-3':>11}", end="")
    print(f" {'CPU s':>6} {'cosine min':>10} {'mean':>9}")
    for way in ways:

        def distance(pair, way: str = way) -> float:
            a, b = found[pair.a], found[pair.b]
            if a is None or b is None:
                return np.inf
            return float(np.linalg.norm(by_reference[a.tobytes()][way] - by_reference[b.tobytes()][way]))

        distances = np.array([distance(pair) for pair in pairs])
        accuracy, std, threshold = evaluate_pairs(distances, same, folds)
        cosines = np.array([face[way] @ face["predict"] for face in faces])
        print(
            f"{way:11} {100 * accuracy:8.2f}% ± {100 * std:.2f} {threshold:9.4f} {tar_at_far(distances, same):11.4f} "
            f"{cpu[way]:6.0f} {cosines.min():10.6f} {cosines.mean():9.6f}"
        )


def unit(x) -> np.ndarray:
    x = np.asarray(x)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights-dir", type=Path, default=Path("var/models"))
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--ways", nargs="+", choices=WAYS, default=list(WAYS))
    parser.add_argument("--lfw-pairs", type=Path, help="pairs.txt: compare the ways' accuracy on LFW instead")
    parser.add_argument("--lfw-images", type=Path, help="folder of <Name>/<Name>_NNNN.jpg, with --lfw-pairs")
    args = parser.parse_args()
    tf.config.threading.set_intra_op_parallelism_threads(THREADS)  # both runtimes on the same cores
    path = weights_path(SPEC, args.weights_dir)
    rng = np.random.default_rng(0)
    inputs = {n: rng.standard_normal((n, SPEC.input_size, SPEC.input_size, 3)).astype(np.float32) for n in args.batches}
    ways = {way: make(way, path) for way in dict.fromkeys(["predict", *args.ways])}
    if args.lfw_pairs:
        lfw(ways, args.lfw_images, args.lfw_pairs, args.weights_dir)
        return

    first, cosine, wall, cpu = {}, {}, {}, {}
    for n, x in inputs.items():
        outputs = {}
        for way, run in ways.items():
            start = time.perf_counter()
            outputs[way] = unit(run(x))
            first[way, n] = time.perf_counter() - start
        for way in ways:
            cosine[way, n] = float((outputs[way] * outputs["predict"]).sum(axis=1).min())
    for _ in range(args.rounds):
        for n, x in inputs.items():
            for way, run in ways.items():
                start, start_cpu = time.perf_counter(), time.process_time()
                np.asarray(run(x))
                wall.setdefault((way, n), []).append(time.perf_counter() - start)
                cpu.setdefault((way, n), []).append(time.process_time() - start_cpu)

    print(f"backend {keras.backend.backend()}, {THREADS} threads, {args.rounds} rounds")
    print(f"{'way':11} {'batch':>5} {'first s':>7} {'faces/s best':>12} {'median':>6}", end="")
    print(f" {'CPU ms/face':>11} {'cosine':>9}")
    for n in inputs:
        for way in ways:
            fastest, median = n / min(wall[way, n]), n / statistics.median(wall[way, n])
            per_face = 1000 * statistics.median(cpu[way, n]) / n
            print(
                f"{way:11} {n:5} {first[way, n]:7.2f} {fastest:12.1f} {median:6.1f} {per_face:11.1f} "
                f"{cosine[way, n]:9.6f}"
            )


if __name__ == "__main__":
    main()
