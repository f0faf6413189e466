"""The layers of a dlib DNN file (`serialize(net)` of dlib/dnn), read as numpy arrays without dlib.

dlib writes a network outermost layer first and recursively: each `add_layer` writes its version, then its whole
subnetwork, then its own layer's details and some training state; `add_tag_layer` and `add_skip_layer` write a
version and their subnetwork only. Integers are dlib's packed integers (a length byte, its 0x80 bit the sign, then
little-endian bytes), floats a packed 64-bit mantissa and 16-bit exponent, strings a packed length and the bytes,
bools one ASCII '0' or '1', and tensor data little-endian float32 (dlib/serialize.h, dlib/cuda/tensor.h). Reading
the file takes those few rules and the details of the layer kinds that occur (dlib/dnn/layers.h, input.h, loss.h),
so the product loads the published file itself instead of depending on dlib.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from embeddings.errors import WeightsError

_FLOAT_SPECIALS = {32000: np.inf, 32001: -np.inf, 32002: np.nan}  # float_details' is_inf, is_ninf, is_nan


@dataclass
class DlibLayer:
    """One layer in forward order: `kind` is its version string ("con_4", "affine_", "relu_", "tag", ...)."""

    kind: str
    values: dict[str, object] = field(default_factory=dict)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = memoryview(data), 0

    def take(self, size: int) -> memoryview:
        if self.at + size > len(self.data):
            raise WeightsError(f"the dlib file ends inside a value at byte {self.at}")
        chunk = self.data[self.at : self.at + size]
        self.at += size
        return chunk

    def integer(self) -> int:
        control = self.take(1)[0]
        size = control & 0x0F
        if not 1 <= size <= 8 or control & 0x70:
            raise WeightsError(f"not a dlib integer at byte {self.at - 1} (control byte {control:#x})")
        value = int.from_bytes(self.take(size), "little")
        return -value if control & 0x80 else value

    def real(self) -> float:
        mantissa, exponent = self.integer(), self.integer()
        return _FLOAT_SPECIALS[exponent] if exponent in _FLOAT_SPECIALS else float(mantissa) * 2.0**exponent

    def string(self) -> str:
        return bytes(self.take(self.integer())).decode("latin-1")

    def boolean(self) -> bool:
        value = bytes(self.take(1))
        if value not in (b"0", b"1"):
            raise WeightsError(f"not a dlib bool at byte {self.at - 1}: {value!r}")
        return value == b"1"

    def tensor(self) -> np.ndarray:
        """A `resizable_tensor`: (num_samples, k, nr, nc) float32."""
        self.version(2, "tensor")
        shape = tuple(self.integer() for _ in range(4))
        count = int(np.prod(shape))
        return np.frombuffer(self.take(4 * count), "<f4").reshape(shape).astype(np.float32)

    def alias(self) -> tuple[int, ...]:
        """An `alias_tensor`: only its shape."""
        self.version(1, "alias_tensor")
        return tuple(self.integer() for _ in range(4))

    def version(self, expected: int, what: str) -> None:
        if (found := self.integer()) != expected:
            raise WeightsError(f"unexpected {what} version {found} at byte {self.at}")


def _details(reader: _Reader) -> DlibLayer:
    """One layer's own details (what its `serialize(details)` wrote), by its version string."""
    kind = reader.string()
    layer = DlibLayer(kind)
    values = layer.values
    if kind in ("con_4", "con_5", "con_6"):
        params = reader.tensor().ravel()
        values["num_filters"] = reader.integer()
        values["kernel"] = (reader.integer(), reader.integer())
        values["stride"] = (reader.integer(), reader.integer())
        values["padding"] = (reader.integer(), reader.integer())
        filters, biases = reader.alias(), reader.alias()
        for _ in range(4):  # learning-rate and weight-decay multipliers
            reader.real()
        if kind != "con_4":
            values["use_bias"] = reader.boolean()
        if kind == "con_6":
            reader.boolean()  # use_relu: a fused relu only ever set at inference by dlib itself
        size = int(np.prod(filters))
        values["filters"] = params[:size].reshape(filters)  # (out, in, rows, cols)
        values["biases"] = params[size : size + int(np.prod(biases))].reshape(-1)
    elif kind in ("affine_", "affine_2"):
        params = reader.tensor().ravel()
        gamma, beta = reader.alias(), reader.alias()
        values["mode"] = reader.integer()
        if kind == "affine_2":
            values["disabled"] = reader.boolean()
        size = int(np.prod(gamma))
        values["gamma"] = params[:size].reshape(-1)
        values["beta"] = params[size : size + int(np.prod(beta))].reshape(-1)
    elif kind in ("relu_", "relu_2"):
        if kind == "relu_2":
            values["disabled"] = reader.boolean()
    elif kind in ("max_pool_2", "avg_pool_2"):
        values["kernel"] = (reader.integer(), reader.integer())
        values["stride"] = (reader.integer(), reader.integer())
        values["padding"] = (reader.integer(), reader.integer())
    elif kind == "add_prev_":
        pass
    elif kind in ("fc_2", "fc_3"):
        values["num_outputs"], values["num_inputs"] = reader.integer(), reader.integer()
        params = reader.tensor().ravel()
        weights, biases = reader.alias(), reader.alias()
        values["bias_mode"] = reader.integer()
        for _ in range(4):
            reader.real()
        if kind == "fc_3":
            values["use_bias"] = reader.boolean()
        size = int(np.prod(weights))
        values["weights"] = params[:size].reshape(weights[0], weights[1])  # (inputs, outputs)
        values["biases"] = params[size : size + int(np.prod(biases))].reshape(-1)
    elif kind == "input_rgb_image_sized":
        values["mean_rgb"] = (reader.real(), reader.real(), reader.real())
        values["size"] = (reader.integer(), reader.integer())
    else:
        raise WeightsError(f"dlib layer kind {kind!r} is not supported by this reader (byte {reader.at})")
    return layer


def _training_state(reader: _Reader, innermost: bool) -> None:
    """What an `add_layer` writes after its details: three flags and gradient/output buffers, then (over the input
    layer only) the sample expansion factor. None of it is needed for inference."""
    for _ in range(3):
        reader.boolean()
    for _ in range(3):
        reader.tensor()
    if innermost:
        reader.integer()


def read_dlib_network(path: Path) -> tuple[DlibLayer, list[DlibLayer]]:
    """The loss layer and every other layer of a dlib network file in forward order, the input layer first.

    Tag and skip layers appear as `DlibLayer("tag_or_skip")` (the file does not say which, the network type does).
    Raises WeightsError if the file is not a dlib network this reader understands, or has bytes left over.
    """
    reader = _Reader(Path(path).read_bytes())
    try:
        reader.version(1, "add_loss_layer")
        loss = DlibLayer(reader.string())
        if loss.kind != "loss_metric_2":
            raise WeightsError(f"dlib loss {loss.kind!r} is not supported by this reader")
        loss.values["margin"], loss.values["distance_threshold"] = reader.real(), reader.real()
        wrappers = []  # outermost first: 2 for add_layer over a layer, 1 for tag/skip, 3 for add_layer over the input
        while True:
            version = reader.integer()
            if version not in (1, 2, 3):
                raise WeightsError(f"unexpected layer version {version} at byte {reader.at}")
            wrappers.append(version)
            if version == 3:
                break
        layers = [_details(reader)]  # the input layer
        layers.append(_details(reader))
        _training_state(reader, innermost=True)
        for version in reversed(wrappers[:-1]):
            if version == 1:
                layers.append(DlibLayer("tag_or_skip"))
            else:
                layers.append(_details(reader))
                _training_state(reader, innermost=False)
    except (IndexError, ValueError) as error:
        raise WeightsError(f"{path} is not a readable dlib network ({error})") from None
    if reader.at != len(reader.data):
        raise WeightsError(f"{path}: {len(reader.data) - reader.at} bytes left after the network")
    return loss, layers
