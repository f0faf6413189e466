"""The SFace port: the same vectors as the published ONNX graph under onnxruntime, on real aligned LFW faces."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embeddings.encoders.sface import SPEC, to_bgr
from embeddings.weights import weights_path
from tests.embeddings.lfw_people import aligned_on, assert_second_photos_nearest_their_first, parity_images


@pytest.fixture(scope="module")
def sface_weights(weights_dir: Path) -> Path:
    """The ONNX file, checked; skipped (not failed) where `make weights` has not fetched it, failed where corrupt."""
    if not (weights_dir / SPEC.weights_file).exists():
        pytest.skip(f"no sface weights in {weights_dir}: python -m embeddings.weights fetch --encoder sface")
    return weights_path(SPEC, weights_dir)


@pytest.fixture(scope="module")
def aligned_faces(detector, lfw_dir: Path) -> np.ndarray:
    """(2 x 24, 112, 112, 3) float32 RGB crops on SFace's template, as the pipeline makes them."""
    return aligned_on(SPEC, detector, parity_images(lfw_dir))


@pytest.fixture(scope="module")
def sface_encoder(sface_weights: Path):
    from embeddings.encoders import load_encoder

    return load_encoder("sface", sface_weights.parent)


@pytest.mark.slow
def test_port_matches_onnxruntime_on_real_aligned_faces(sface_encoder, sface_weights, aligned_faces):
    onnxruntime = pytest.importorskip("onnxruntime")
    session = onnxruntime.InferenceSession(str(sface_weights), providers=["CPUExecutionProvider"])
    channels_first = to_bgr(aligned_faces).transpose(0, 3, 1, 2)  # the graph's NCHW input, batch of one
    reference = np.concatenate([session.run(["fc1"], {"data": face[None]})[0] for face in channels_first])
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)

    ours = sface_encoder.embed(aligned_faces)

    assert ours.shape == (48, 128) and ours.dtype == np.float32
    cosines = (ours * reference).sum(axis=1)
    assert cosines.min() >= 0.9999, f"lowest cosine {cosines.min():.6f}"


@pytest.mark.slow
def test_each_persons_second_photo_is_nearest_to_their_first(sface_encoder, aligned_faces):
    assert_second_photos_nearest_their_first(sface_encoder.embed(aligned_faces))
