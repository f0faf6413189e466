"""The SFace port: the same vectors as the published ONNX graph under onnxruntime, on real aligned LFW faces."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embeddings import read
from embeddings.alignment import align_batch
from embeddings.encoders.sface import SPEC, to_bgr
from embeddings.pipeline import nearest_to_centre
from embeddings.weights import weights_path
from tests.embeddings.lfw_people import PARITY_PEOPLE as PEOPLE


@pytest.fixture(scope="module")
def sface_weights(weights_dir: Path) -> Path:
    """The ONNX file, checked; skipped (not failed) where `make weights` has not fetched it, failed where corrupt."""
    if not (weights_dir / SPEC.weights_file).exists():
        pytest.skip(f"no sface weights in {weights_dir}: python -m embeddings.weights fetch --encoder sface")
    return weights_path(SPEC, weights_dir)


@pytest.fixture(scope="module")
def aligned_faces(detector, lfw_dir: Path) -> np.ndarray:
    """(2 x 24, 112, 112, 3) float32 RGB crops on SFace's template, as the pipeline makes them: first photos, then
    second photos, in PEOPLE order."""
    paths = [lfw_dir / "images" / p / f"{p}_000{i}.jpg" for i in (1, 2) for p in PEOPLE]
    images = [read(path) for path in paths]
    found = detector.detect_batch(images)
    faces = [nearest_to_centre(faces, image.shape) for faces, image in zip(found, images, strict=True)]
    assert all(faces), "MTCNN missed a face of the test set"
    landmarks = [face.landmarks[None] for face in faces]
    return align_batch(images, landmarks, SPEC.template, SPEC.input_size, np.float32)


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
    vectors = sface_encoder.embed(aligned_faces)
    gallery, probes = vectors[: len(PEOPLE)], vectors[len(PEOPLE) :]
    distances = np.linalg.norm(probes[:, None] - gallery[None], axis=2)

    assert list(distances.argmin(axis=1)) == list(range(len(PEOPLE)))
    same, different = np.diag(distances), distances[~np.eye(len(PEOPLE), dtype=bool)]
    assert same.max() < np.median(different)
