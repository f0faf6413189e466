"""The fusion encoder: one detection, one crop per member on its own template, the weighted members' vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embeddings import FacePipeline, read
from embeddings import weights as weights_module
from embeddings.encoders import alignments, get_spec
from embeddings.pipeline import nearest_to_centre

SPEC = get_spec("fusion")


def test_a_fusion_aligns_on_each_members_template_and_fetches_their_weights(tmp_path, monkeypatch):
    fetched = []
    monkeypatch.setattr(weights_module, "fetch", lambda name, *args, **kwargs: fetched.append(name))

    assert weights_module.main(["fetch", "--encoder", "fusion", "--encoder", "sface", "--dir", str(tmp_path)]) == 0

    members = [name for name, _ in SPEC.members]
    assert [spec.name for spec in alignments(SPEC)] == members
    assert fetched == members  # each member once, nothing for the fusion itself
    assert SPEC.dim == sum(get_spec(name).dim for name in members)
    first = alignments(SPEC)[0]  # its crop is the one a face keeps
    assert (SPEC.input_size, SPEC.template.tolist()) == (first.input_size, first.template.tolist())


@pytest.fixture(scope="module")
def photos(lfw_dir: Path) -> list[np.ndarray]:
    """Two photos of one man and one of another."""
    names = [
        "Colin_Powell/Colin_Powell_0001.jpg",
        "Colin_Powell/Colin_Powell_0002.jpg",
        "Tony_Blair/Tony_Blair_0001.jpg",
    ]
    return [read(lfw_dir / "images" / name) for name in names]


@pytest.fixture(scope="module")
def fused_pipeline(weights_dir: Path) -> FacePipeline:
    for spec in alignments(SPEC):
        if not (weights_dir / spec.weights_file).exists():
            pytest.skip(f"no {spec.name} weights in {weights_dir}: python -m embeddings.weights fetch")
    return FacePipeline("fusion", weights_dir=weights_dir)


def central_faces(pipeline: FacePipeline, photos: list[np.ndarray]) -> list:
    found = pipeline.encode_batch(photos)
    return [nearest_to_centre(faces, photo.shape) for faces, photo in zip(found, photos, strict=True)]


@pytest.mark.slow  # loads three networks
def test_fused_vectors_are_the_weighted_members_vectors_of_their_own_crops(fused_pipeline, weights_dir, photos):
    faces = central_faces(fused_pipeline, photos)
    members = []
    for name, weight in SPEC.members:
        alone = central_faces(FacePipeline(name, weights_dir=weights_dir), photos)
        members.append(weight * np.stack([face.embedding for face in alone]))
    expected = np.concatenate(members, axis=1)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)

    fused = np.stack([face.embedding for face in faces])
    assert fused.shape == (3, SPEC.dim) and np.allclose(np.linalg.norm(fused, axis=1), 1, atol=1e-5)
    assert np.abs(fused - expected).max() < 1e-4
    assert faces[0].model_id == SPEC.model_id and faces[0].crop.shape == (SPEC.input_size, SPEC.input_size, 3)


@pytest.mark.slow
def test_fusion_tells_the_same_man_from_another(fused_pipeline, photos):
    faces = central_faces(fused_pipeline, photos)

    assert fused_pipeline.verify(faces[0], faces[1]).same
    assert not fused_pipeline.verify(faces[0], faces[2]).same
