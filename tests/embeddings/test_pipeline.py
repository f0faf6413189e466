"""The whole pipeline on real LFW faces with the real encoder: same people close, batching exact, verification."""

from __future__ import annotations

import dataclasses
import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from embeddings import (
    Detection,
    FacePipeline,
    NoFaceError,
    WeightsError,
    distance,
    nearest_to_centre,
    read,
    same_person,
)
from embeddings.encoders import load_encoder
from embeddings.pipeline import most_prominent

PEOPLE = {
    "George_W_Bush": (10, 20),
    "Serena_Williams": (3, 12),
    "Colin_Powell": (1, 7),
    "Gloria_Macapagal_Arroyo": (1, 25),
}


def photo(lfw_dir: Path, name: str, number: int) -> Path:
    return lfw_dir / "images" / name / f"{name}_{number:04d}.jpg"


def central_embedding(pipeline: FacePipeline, path: Path) -> np.ndarray:
    image = read(path)
    return nearest_to_centre(pipeline.encode(image), image.shape).embedding


@pytest.mark.slow
def test_photos_of_one_person_are_closer_than_photos_of_two(pipeline: FacePipeline, lfw_dir: Path):
    embeddings = {
        (name, n): central_embedding(pipeline, photo(lfw_dir, name, n)) for name, ns in PEOPLE.items() for n in ns
    }
    same, different = [], []
    for (a, va), (b, vb) in itertools.combinations(embeddings.items(), 2):
        (same if a[0] == b[0] else different).append(distance(va, vb))
    assert max(same) < min(different), (sorted(same), sorted(different))


@pytest.mark.slow
def test_encode_batch_gives_what_encode_gives_image_by_image(pipeline: FacePipeline, lfw_dir: Path):
    images = [read(photo(lfw_dir, name, ns[0])) for name, ns in PEOPLE.items()]
    images.append(read(photo(lfw_dir, "Gerhard_Schroeder", 97)))  # tied detector scores: see test_detection
    images.append(np.full((200, 300, 3), 255, np.uint8))  # no face
    images.append(np.concatenate([images[0], images[1]], axis=1))  # two faces, another size
    batched = pipeline.encode_batch(images)
    assert all(batched[:-2]) and [len(faces) for faces in batched[-2:]] == [0, 2]  # else the loop compares nothing
    for image, faces in zip(images, batched, strict=True):
        alone = pipeline.encode(image)
        assert len(faces) == len(alone)
        for a, b in zip(faces, alone, strict=True):
            # The same faces, not the same last digits: YuNet's and O-Net's convolutions round differently in a batch
            # of another size (measured: embeddings within 0.0015 a component, far below any decision's margin).
            np.testing.assert_allclose(a.embedding, b.embedding, atol=0.005)
            np.testing.assert_allclose(a.box, b.box, atol=0.5)


@pytest.mark.slow
def test_a_face_carries_everything_the_database_stores(pipeline: FacePipeline, lfw_dir: Path):
    (face,) = [f for f in pipeline.encode(photo(lfw_dir, "Colin_Powell", 1)) if f.quality.box_size > 50]
    spec = pipeline.spec
    assert face.model_id == spec.model_id
    assert face.embedding.shape == (spec.dim,) and face.embedding.dtype == np.float32
    assert np.linalg.norm(face.embedding) == pytest.approx(1, abs=1e-5)
    assert face.crop.shape == (spec.input_size, spec.input_size, 3) and face.crop.dtype == np.uint8
    assert face.quality.sharpness > 0 and abs(face.quality.yaw) < 30 and abs(face.quality.roll) < 20


@pytest.mark.slow
def test_max_faces_encodes_only_the_largest_faces(pipeline: FacePipeline, lfw_dir: Path, monkeypatch):
    """A crowd photo must not cost an encoding per face: the cap applies before alignment and encoding."""
    crowd = np.concatenate([read(photo(lfw_dir, name, ns[0])) for name, ns in PEOPLE.items()], axis=1)
    every = pipeline.encode(crowd)
    encoded: list[int] = []
    embed = pipeline._embed
    # `_embed` takes one array of crops per alignment (one for a single encoder)
    monkeypatch.setattr(pipeline, "_embed", lambda crops: encoded.append(len(crops[0])) or embed(crops))
    largest = pipeline.encode(crowd, max_faces=2)
    assert len(every) > 2 and len(largest) == 2 and encoded == [2]
    for capped, reference in zip(largest, every[:2], strict=True):
        np.testing.assert_allclose(capped.box, reference.box, atol=1e-3)
        np.testing.assert_allclose(capped.embedding, reference.embedding, atol=1e-5)


def test_max_faces_below_one_is_refused(pipeline: FacePipeline):
    with pytest.raises(ValueError, match="max_faces"):
        pipeline.encode(np.zeros((100, 100, 3), np.uint8), max_faces=0)


@pytest.mark.slow
def test_encode_batch_takes_paths_bytes_and_arrays_alike(pipeline: FacePipeline, lfw_dir: Path):
    path = photo(lfw_dir, "Serena_Williams", 3)
    by_path, by_bytes, by_array = pipeline.encode_batch([path, path.read_bytes(), read(path)])
    assert by_path  # two empty lists would compare equal
    for faces in (by_bytes, by_array):
        np.testing.assert_allclose([f.embedding for f in faces], [f.embedding for f in by_path], atol=1e-6)


@pytest.mark.slow
def test_verify_tells_same_person_from_different_people(pipeline: FacePipeline, lfw_dir: Path):
    bush_a, bush_b = (photo(lfw_dir, "George_W_Bush", n) for n in PEOPLE["George_W_Bush"])
    arroyo = photo(lfw_dir, "Gloria_Macapagal_Arroyo", 1)  # 1.42 from bush_a; bush_b is 0.72 from it
    same = pipeline.verify(bush_a, bush_b)
    assert same.same and same.distance < same.threshold == pipeline.threshold
    different = pipeline.verify(bush_a, arroyo)
    assert not different.same and different.distance >= pipeline.threshold


@pytest.mark.slow
def test_verify_takes_faces_embeddings_and_images_alike(pipeline: FacePipeline, lfw_dir: Path):
    path_a, path_b = photo(lfw_dir, "Colin_Powell", 1), photo(lfw_dir, "Colin_Powell", 7)
    face = pipeline.encode_most_prominent(path_a)
    by_image = pipeline.verify(path_a, path_b).distance
    assert pipeline.verify(face, path_b).distance == pytest.approx(by_image, abs=1e-6)
    assert pipeline.verify(face.embedding * 3, path_b).distance == pytest.approx(by_image, abs=1e-6)


@pytest.mark.slow
def test_verify_an_image_without_a_face_raises_no_face_error(pipeline: FacePipeline, lfw_dir: Path):
    with pytest.raises(NoFaceError):
        pipeline.verify(np.full((200, 200, 3), 128, np.uint8), photo(lfw_dir, "Colin_Powell", 1))


def test_verify_refuses_embeddings_it_cannot_compare(pipeline: FacePipeline):
    with pytest.raises(ValueError, match="128-D"):
        pipeline.verify(np.ones(512, np.float32), np.ones(128, np.float32))


@pytest.mark.slow
def test_encode_most_prominent_is_the_largest_face_and_no_face_is_an_error(pipeline: FacePipeline, lfw_dir: Path):
    image = read(photo(lfw_dir, "George_W_Bush", 10))
    faces = pipeline.encode(image)
    assert faces
    np.testing.assert_array_equal(
        pipeline.encode_most_prominent(image).embedding, most_prominent(faces, image.shape).embedding
    )
    with pytest.raises(NoFaceError):
        pipeline.encode_most_prominent(np.zeros((100, 100, 3), np.uint8))


def test_same_person_is_strictly_closer_than_the_threshold():
    """The rule LFW calibration counts accuracy by (embeddings.evaluate): a distance equal to the threshold is not."""
    assert same_person(0.99, 1.0) and not same_person(1.0, 1.0) and not same_person(1.01, 1.0)
    np.testing.assert_array_equal(same_person(np.array([0.5, 1.0, 1.5]), 1.0), [True, False, False])


def test_verify_at_exactly_the_threshold_says_different_people(tmp_path: Path):
    pipeline = FacePipeline(weights_dir=tmp_path)  # embeddings in, so no network is loaded
    a, b = np.eye(pipeline.spec.dim, dtype=np.float32)[:2]
    at = pipeline.verify(a, b).distance
    pipeline.spec = dataclasses.replace(pipeline.spec, threshold=at)
    result = pipeline.verify(a, b)
    assert (result.distance, result.threshold, result.same) == (at, at, False)
    pipeline.spec = dataclasses.replace(pipeline.spec, threshold=float(np.nextafter(at, 2.0)))
    assert pipeline.verify(a, b).same


def detection(box: tuple[float, float, float, float]) -> Detection:
    return Detection(box=box, landmarks=np.zeros((5, 2), np.float32), score=0.99)


def test_most_prominent_is_the_largest_face_then_the_most_central():
    small_central, large_corner = detection((90, 90, 110, 110)), detection((0, 0, 50, 50))
    assert most_prominent([small_central, large_corner], (200, 200, 3)) is large_corner
    left, centre = detection((0, 80, 40, 120)), detection((80, 80, 120, 120))
    assert most_prominent([left, centre], (200, 200, 3)) is centre
    assert most_prominent([], (200, 200, 3)) is None


def test_nearest_to_centre_ignores_size():
    small_central, large_corner = detection((90, 90, 110, 110)), detection((0, 0, 50, 50))
    assert nearest_to_centre([large_corner, small_central], (200, 200, 3)) is small_central
    assert nearest_to_centre([], (200, 200, 3)) is None


def test_distance_is_euclidean():
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    assert distance(a, b) == pytest.approx(np.sqrt(2))
    assert distance(a, a) == 0


def test_spec_and_threshold_need_no_weights(tmp_path: Path):
    pipeline = FacePipeline(weights_dir=tmp_path)
    assert pipeline.spec.name == "facenet" and pipeline.spec.dim == 128
    assert pipeline.threshold == pipeline.spec.threshold


def test_missing_weights_raise_weights_error(tmp_path: Path):
    with pytest.raises(WeightsError, match="make weights"):
        load_encoder("facenet", tmp_path)


def test_importing_embeddings_does_not_import_tensorflow():
    code = (
        "import sys, embeddings; embeddings.FacePipeline(); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras', 'mtcnn', 'h5py'}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
