"""The initializers (weights) of an ONNX model file, read as numpy arrays without the `onnx` package.

An ONNX file is one protobuf message; the weights are the graph's `initializer` tensors. Reading them takes a
few lines of protobuf wire format, so the product verifies and loads the published file itself instead of
depending on `onnx` (and its protobuf pin) or converting it to another format at fetch time.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from embeddings.errors import WeightsError

# Field numbers from onnx.proto (ONNX IR 3 onward): ModelProto.graph, GraphProto.initializer, TensorProto fields.
_MODEL_GRAPH, _GRAPH_INITIALIZER = 7, 5
_TENSOR_DIMS, _TENSOR_DATA_TYPE, _TENSOR_FLOAT_DATA, _TENSOR_NAME, _TENSOR_RAW_DATA = 1, 2, 4, 8, 9
_FLOAT = 1  # TensorProto.DataType.FLOAT


def _varint(data: memoryview, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at += 1
        if byte < 0x80:
            return value, at
        shift += 7


def _fields(data: memoryview):
    """(field number, wire type, value) of each field of one message; length-delimited values as memoryviews."""
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(data, at)
        elif wire == 2:
            size, at = _varint(data, at)
            value, at = data[at : at + size], at + size
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value, at = data[at : at + size], at + size
        else:
            raise WeightsError(f"unsupported protobuf wire type {wire}")
        yield number, wire, value


def _tensor(message: memoryview) -> tuple[str, np.ndarray]:
    name, dims, data_type, chunks = "", [], _FLOAT, []
    for number, wire, value in _fields(message):
        if number == _TENSOR_NAME:
            name = bytes(value).decode()
        elif number == _TENSOR_DIMS:
            if wire == 2:  # packed
                at = 0
                while at < len(value):
                    dim, at = _varint(value, at)
                    dims.append(dim)
            else:
                dims.append(value)
        elif number == _TENSOR_DATA_TYPE:
            data_type = value
        elif number in (_TENSOR_FLOAT_DATA, _TENSOR_RAW_DATA):
            chunks.append(np.frombuffer(value, "<f4"))  # little-endian float32, packed or one value per field
    if data_type != _FLOAT or not chunks:
        raise WeightsError(f"ONNX initializer {name!r} is not float32 data (type {data_type})")
    return name, np.concatenate(chunks).reshape(dims)


def onnx_initializers(path: Path) -> dict[str, np.ndarray]:
    """Every float32 initializer of the ONNX model at `path`, by name."""
    data = memoryview(Path(path).read_bytes())
    try:
        graph = next(value for number, _, value in _fields(data) if number == _MODEL_GRAPH)
        return dict(_tensor(value) for number, _, value in _fields(graph) if number == _GRAPH_INITIALIZER)
    except (StopIteration, IndexError, ValueError) as error:
        raise WeightsError(f"{path} is not a readable ONNX model ({error or 'no graph'})") from None


def assign_weights(
    model, values: dict[str, list[np.ndarray]], *, missing: Sequence[str] = (), unused: Sequence[str] = ()
) -> None:
    """Set each named layer's weights to `values` (Keras order and layout), all or none: raises WeightsError, assigning
    nothing, when a port found weights of the model `missing` from the file, initializers of the file it left
    `unused`, or arrays whose shapes do not fit their layer."""
    misshapen = []
    for name, arrays in values.items():
        shapes = [tuple(w.shape) for w in model.get_layer(name).weights]
        if [a.shape for a in arrays] != shapes:
            misshapen.append(f"{name} {[a.shape for a in arrays]} != {shapes}")
    if missing or unused or misshapen:
        raise WeightsError(
            f"the ONNX weights do not fit the network: {len(missing)} weights of the model not in the file "
            f"{list(missing)[:3]}, {len(unused)} initializers unused {list(unused)[:3]}, {len(misshapen)} of another "
            f"shape {misshapen[:3]}"
        )
    for name, arrays in values.items():
        model.get_layer(name).set_weights(arrays)
