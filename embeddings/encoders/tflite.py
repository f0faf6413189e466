"""A Keras network run through TensorFlow Lite's CPU runtime (LiteRT, with XNNPACK) with int8 weights.

Why: FaceNet's Inception-ResNet-v1 costs about 30 ms of CPU a face under Keras; converted with int8 weights
(dynamic-range quantisation: weights stored as int8, activations quantised on the fly) it costs a third of that, and
LFW View 2 through the pipeline stays within 0.01 point (`benchmarks/facenet_inference.py`). The same network in fp32
gains nothing over Keras at batch 8 and 32, so only the int8 build is used. The flatbuffer is a derived file:
converted from the checked weights at first load and cached beside them, under a name keyed by everything it
depends on, so later processes load 23 MB instead of building the Keras network.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)


def convert(model, *, int8: bool = True) -> bytes:
    """The TFLite flatbuffer of a Keras 3 model's inference graph, its batch dimension left free: with int8 weights
    (the product's), or fp32 (what benchmarks/facenet_inference.py compares them with)."""
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as saved:
        model.export(saved, format="tf_saved_model", verbose=False)  # the converter's supported road from Keras 3
        converter = tf.lite.TFLiteConverter.from_saved_model(saved)
        if int8:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]  # int8 weights, float activations
        return converter.convert()


def cache_key(parts: Iterable[str | bytes]) -> str:
    """16 hex digits naming a converted file: a sha256 of what it was made from (weights checksum, network source,
    TensorFlow version), so any change of those converts afresh instead of loading a stale network."""
    import tensorflow as tf

    digest = hashlib.sha256()
    for part in (*parts, tf.__version__):
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def cached_conversion(path: Path, build: Callable[[], object]) -> bytes:
    """The flatbuffer at `path`, or `convert(build())` (int8) written there for the next process.

    Written to a temporary file and renamed, so a process starting meanwhile reads the whole file or none; two
    processes converting at once both write a complete file and the last rename wins. A read-only directory only
    costs the conversion (about 20 s) at each start."""
    if path.is_file():
        return path.read_bytes()
    content = convert(build())
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(content)
            os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide it from a web process running as another user
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as error:
        logger.warning("cannot cache the converted network at %s (%s): converting again at each start", path, error)
    return content


class TfliteModel:
    """Callable float32 (N, ...) -> float32 (N, ...) on a TFLite flatbuffer with one free batch dimension.

    One interpreter, resized when the batch size changes (XNNPACK keeps its packed weights across a resize, so that
    costs under a millisecond, where each extra interpreter would hold its own packed weights). An interpreter is not
    thread-safe, and the web process encodes from several threads, so calls take a lock."""

    def __init__(self, content: bytes, threads: int) -> None:
        from ai_edge_litert.interpreter import Interpreter  # TensorFlow's own tf.lite.Interpreter is deprecated for it

        self._interpreter = Interpreter(model_content=content, num_threads=threads)
        (self._input,) = self._interpreter.get_input_details()
        (self._output,) = self._interpreter.get_output_details()
        self._shape: tuple[int, ...] | None = None
        self._lock = threading.Lock()

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, np.float32)
        with self._lock:
            if x.shape != self._shape:
                self._interpreter.resize_tensor_input(self._input["index"], x.shape)
                self._interpreter.allocate_tensors()
                self._shape = x.shape
            self._interpreter.set_tensor(self._input["index"], x)
            self._interpreter.invoke()
            return self._interpreter.get_tensor(self._output["index"])  # a copy: the next call cannot change it


def default_threads() -> int:
    """TensorFlow's intra-op thread count where set (FACESEARCH_TF_THREADS), else the cores this process may use:
    TFLite's own default is a single thread."""
    import tensorflow as tf

    return tf.config.threading.get_intra_op_parallelism_threads() or len(os.sched_getaffinity(0))
