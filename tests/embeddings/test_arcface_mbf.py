"""arcface-mbf: fetched and loaded only once its non-commercial licence is accepted; then the same vectors as the
published ONNX graph under onnxruntime, and real faces told apart at its threshold.

The tests that load the weights accept the licence themselves: a test is research use."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embeddings import weights
from embeddings.encoders import get_spec, load_encoder
from embeddings.encoders.arcface_mbf import LICENCE_VARIABLE, SPEC, build
from embeddings.errors import WeightsError
from tests.embeddings.lfw_people import (
    PARITY_PEOPLE,
    aligned_on,
    assert_second_photos_nearest_their_first,
    parity_images,
)

REFUSAL = rf"non-commercial research.*{LICENCE_VARIABLE}=yes"


@pytest.fixture
def licence_not_accepted(monkeypatch, tmp_path):
    """No acceptance in the environment, and a pip that fails the test if anything gets as far as downloading."""
    monkeypatch.delenv(LICENCE_VARIABLE, raising=False)

    def download(*args, **kwargs):
        raise AssertionError("the weights were downloaded without the licence being accepted")

    monkeypatch.setattr(weights, "_download", download)


@pytest.mark.parametrize("value", [None, "", "no", "1"])
def test_fetch_refuses_until_the_licence_is_accepted(licence_not_accepted, monkeypatch, tmp_path, value):
    if value is not None:
        monkeypatch.setenv(LICENCE_VARIABLE, value)

    with pytest.raises(WeightsError, match=REFUSAL):
        weights.fetch("arcface-mbf", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_loading_refuses_until_the_licence_is_accepted_even_with_the_file_there(licence_not_accepted, tmp_path):
    (tmp_path / SPEC.weights_file).write_bytes(b"whatever is there is not read")

    with pytest.raises(WeightsError, match=REFUSAL):
        build(tmp_path)
    with pytest.raises(WeightsError, match=REFUSAL):
        load_encoder("arcface-mbf", tmp_path)


def test_the_fetch_command_refuses_it_by_name_and_skips_it_by_default(licence_not_accepted, monkeypatch, tmp_path):
    fetched = []
    monkeypatch.setattr(weights, "fetch", lambda name, dest_dir, index_url=None: fetched.append(name))

    assert weights.main(["fetch", "--encoder", "arcface-mbf", "--dir", str(tmp_path)]) == 1
    assert fetched == []

    assert weights.main(["fetch", "--dir", str(tmp_path)]) == 0
    assert "arcface-mbf" not in fetched and {"facenet", "sface", "dlib-resnet"} <= set(fetched)


def test_spec_is_a_512_d_library_encoder_on_insightfaces_template():
    spec = get_spec("arcface-mbf")
    assert (spec.dim, spec.input_size, spec.licence_variable) == (512, 112, LICENCE_VARIABLE)
    assert spec.template[0].tolist() == pytest.approx([38.2946, 51.6963])


@pytest.fixture(scope="module")
def arcface_weights(weights_dir: Path) -> Path:
    """The ONNX file, checked, with the licence accepted for this module; skipped where it was not fetched."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(LICENCE_VARIABLE, "yes")
        if not (weights_dir / SPEC.weights_file).exists():
            pytest.skip(
                f"no arcface-mbf weights in {weights_dir}: "
                f"{LICENCE_VARIABLE}=yes python -m embeddings.weights fetch --encoder arcface-mbf"
            )
        yield weights.weights_path(SPEC, weights_dir)


@pytest.fixture(scope="module")
def arcface_encoder(arcface_weights: Path):
    return load_encoder("arcface-mbf", arcface_weights.parent)


@pytest.fixture(scope="module")
def aligned_faces(detector, lfw_dir: Path) -> np.ndarray:
    """(2 x 24, 112, 112, 3) float32 RGB crops on arcface_dst, as the pipeline makes them."""
    return aligned_on(SPEC, detector, parity_images(lfw_dir))


@pytest.mark.slow
def test_port_matches_onnxruntime_on_real_aligned_faces(arcface_encoder, arcface_weights, aligned_faces):
    onnxruntime = pytest.importorskip("onnxruntime")
    session = onnxruntime.InferenceSession(str(arcface_weights), providers=["CPUExecutionProvider"])
    # InsightFace's own input: RGB, (x - 127.5) / 127.5, NCHW, a batch of one as the graph declares.
    channels_first = ((aligned_faces - 127.5) / 127.5).transpose(0, 3, 1, 2).astype(np.float32)
    reference = np.concatenate([session.run(None, {"input.1": face[None]})[0] for face in channels_first])
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)

    ours = arcface_encoder.embed(aligned_faces)

    assert ours.shape == (48, 512) and ours.dtype == np.float32
    cosines = (ours * reference).sum(axis=1)
    assert cosines.min() >= 0.9999, f"lowest cosine {cosines.min():.6f}"


@pytest.mark.slow
def test_same_people_within_its_threshold_and_different_people_beyond(arcface_encoder, aligned_faces):
    vectors = arcface_encoder.embed(aligned_faces)
    assert_second_photos_nearest_their_first(vectors)
    people = len(PARITY_PEOPLE)
    distances = np.linalg.norm(vectors[people:, None] - vectors[None, :people], axis=2)
    same, different = np.diag(distances), distances[~np.eye(people, dtype=bool)]
    assert same.max() < SPEC.threshold, f"a same-person pair at {same.max():.3f}"
    # The threshold lets about 0.15% of strangers' pairs through (its far_curve): under 1 of these 552, allow 2.
    assert (different < SPEC.threshold).sum() <= 2, f"different-person pairs at {np.sort(different)[:3]}"
