"""The face pipeline: read -> detect -> align -> encode, batched; and the one distance and the one same-person rule
every comparison uses (`distance`, `same_person`). `FacePipeline` is the library's entry point.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar, overload

import numpy as np

from embeddings.alignment import align_batch, magnification
from embeddings.detection import (
    DEFAULT_DETECTOR,
    DEFAULT_MAX_SIDE,
    DEFAULT_THRESHOLDS,
    Detector,
    MtcnnDetector,
    box_landmarks,
    make_detector,
)
from embeddings.encoders import Encoder, EncoderSpec, FusedEncoder, alignments, get_spec, load_encoder
from embeddings.errors import NoFaceError
from embeddings.io import Decoded, Source, read, read_reduced
from embeddings.quality import measure
from embeddings.types import Box, Detection, Face, Verification
from embeddings.weights import DEFAULT_DIR as DEFAULT_WEIGHTS_DIR

Found = TypeVar("Found", Detection, Face)


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance between two L2-normalised embeddings: 0 identical, 2 opposite; pgvector's `<->`."""
    return float(np.linalg.norm(np.asarray(a, np.float32) - np.asarray(b, np.float32)))


@overload
def same_person(distance: float, threshold: float) -> bool: ...
@overload
def same_person(distance: np.ndarray, threshold: float) -> np.ndarray: ...
def same_person(distance, threshold):
    """The one decision rule: strictly closer than `threshold` is the same person; exactly at it is not.

    `embeddings.evaluate` calibrates every threshold on LFW counting accuracy by this rule, so verify, identify and
    every distance cut must decide by it too. Elementwise on an array of distances.
    """
    return distance < threshold


def most_prominent(faces: Sequence[Found], image_shape: tuple[int, ...]) -> Found | None:
    """The face with the largest box, ties going to the one nearest the image centre; None if there are none."""
    return min(faces, key=lambda f: (-_area(f.box), _off_centre(f.box, image_shape)), default=None)


def nearest_to_centre(faces: Sequence[Found], image_shape: tuple[int, ...]) -> Found | None:
    """The face whose box centre is nearest the image centre (LFW's subject), None if there are none."""
    return min(faces, key=lambda f: _off_centre(f.box, image_shape), default=None)


def _area(box: tuple[float, float, float, float]) -> float:
    return (box[2] - box[0]) * (box[3] - box[1])


def _off_centre(box: tuple[float, float, float, float], image_shape: tuple[int, ...]) -> float:
    height, width = image_shape[:2]
    return float(np.hypot((box[0] + box[2]) / 2 - (width - 1) / 2, (box[1] + box[3]) / 2 - (height - 1) / 2))


class FacePipeline:
    """Detects, aligns and encodes faces with one encoder; networks load on first use, once per process.

    `weights_dir` is where `make weights` put the weights of the encoder and detector (relative paths are from the
    working directory).
    `batch_size` is both the number of images detected per call and the number of faces encoded per call.
    `detector` is "mtcnn" or "retinaface" (`embeddings.detection.DETECTORS`); `max_side` None keeps its own default.
    `detection_thresholds` are MTCNN's, which also places the landmarks in boxes people draw (`encode_box`) whatever
    the detector.
    """

    def __init__(
        self,
        encoder: str = "facenet",
        *,
        detector: str = DEFAULT_DETECTOR,
        weights_dir: str | Path = DEFAULT_WEIGHTS_DIR,
        min_face_size: int = 20,
        detection_thresholds: tuple[float, float, float] = DEFAULT_THRESHOLDS,
        max_side: int | None = None,
        batch_size: int = 32,
    ) -> None:
        self.encoder_name = encoder
        self.spec: EncoderSpec = get_spec(encoder)
        # What each face is aligned on: the encoder's own template, or one per member of a fusion.
        self.alignments: tuple[EncoderSpec, ...] = alignments(self.spec)
        self.weights_dir = Path(weights_dir)
        self.batch_size = batch_size
        self.detector: Detector = make_detector(
            detector,
            weights_dir=self.weights_dir,
            min_face_size=min_face_size,
            max_side=max_side,
            batch_size=batch_size,
            mtcnn_thresholds=detection_thresholds,
        )
        self.landmarker: MtcnnDetector = (  # O-Net, for drawn boxes
            self.detector
            if isinstance(self.detector, MtcnnDetector)
            else MtcnnDetector(min_face_size, detection_thresholds, max_side or DEFAULT_MAX_SIDE, batch_size)
        )

    @property
    def threshold(self) -> float:
        """The same-person distance calibrated for this encoder (see `same_person`)."""
        return self.spec.threshold

    @property
    def encoder(self) -> Encoder | FusedEncoder:
        return load_encoder(self.encoder_name, self.weights_dir)

    def warm_up(self) -> None:
        """Load both networks and run them, so the first real request does not pay for it.

        The encoder runs on two batch sizes: Keras traces its predict step for the first batch shape and, at the first
        other one, once more for any batch size. Warmed with one size only, the first batch of another size stalled
        1.7 s on 2 cores (cProfile of benchmarks/ingest_profile.py: a worker's first real batch, a search's first
        photo of two faces)."""
        size = self.spec.input_size
        self.detector.detect(np.zeros((size, size, 3), np.uint8))
        for faces in (1, 2):
            self.encoder.embed_aligned(
                [np.zeros((faces, s.input_size, s.input_size, 3), np.uint8) for s in self.alignments]
            )

    def detect(self, image: Source | Decoded) -> list[Detection]:
        return self._detect([self._read(image)])[0]

    def encode(self, image: Source | Decoded, *, max_faces: int | None = None) -> list[Face]:
        """Every face found in the image (or the `max_faces` largest), largest first."""
        return self.encode_batch([image], max_faces=max_faces)[0]

    def encode_batch(self, images: Sequence[Source | Decoded], *, max_faces: int | None = None) -> list[list[Face]]:
        """Faces of each image: images are read and detected `batch_size` at a time, then all faces encoded together.

        A large JPEG is detected in a reduced decode and each face cropped from the coarsest decode that holds its crop
        (`_read`, `_crops`); boxes and landmarks are in pixels of the full image all the same.
        Only the aligned crops are kept between chunks, so a long list of paths does not hold every photo in memory.
        `max_faces` keeps the largest faces of each image before they are aligned and encoded, so a crowd costs no
        more encoding than that many faces (detection's cost is bounded by `max_side`).
        """
        if max_faces is not None and max_faces < 1:
            raise ValueError(f"max_faces must be at least 1 (or None for every face), got {max_faces}")
        found: list[list[Detection]] = []
        crops: list[list[np.ndarray]] = [[] for _ in self.alignments]
        for start in range(0, len(images), self.batch_size):
            decoded = [self._read(image) for image in images[start : start + self.batch_size]]
            detections = [faces[:max_faces] for faces in self._detect(decoded)]
            landmarks = [np.array([d.landmarks for d in faces]).reshape(-1, 5, 2) for faces in detections]
            for chunks, crop in zip(crops, self._crops(decoded, landmarks), strict=True):
                chunks.append(crop)
            found.extend(detections)
        every_crop = [
            np.concatenate(chunks) if chunks else np.zeros((0, s.input_size, s.input_size, 3), np.float32)
            for chunks, s in zip(crops, self.alignments, strict=True)
        ]
        faces = self._faces([d for faces in found for d in faces], every_crop, "detector")
        result, start = [], 0
        for detections in found:
            result.append(faces[start : start + len(detections)])
            start += len(detections)
        return result

    def encode_box(self, image: Source, box: Box) -> Face:
        """The face inside `box` (x1, y1, x2, y2 in pixels of the image as read), drawn by a person around a face the
        detector missed, aligned and encoded like a detected one; the face keeps `box` as drawn.

        Its landmarks are O-Net's on the box when O-Net calls it a face (probability at least the detector's last
        threshold) and they lie in the box (`landmarks_source` "onet", `score` that probability), else the box's
        geometry (`box_landmarks`; "box", `score` 0): a face too turned or blurred for O-Net is still encoded, less
        precisely aligned.
        """
        pixels = read(image)
        x1, y1, x2, y2 = (float(v) for v in box)
        height, width = pixels.shape[:2]
        if not (0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height):
            raise ValueError(f"box {box} is not a box inside the {width}x{height} image")
        found = self.landmarker.landmark(pixels, (x1, y1, x2, y2))
        inside = np.all((found.landmarks >= [x1, y1]) & (found.landmarks <= [x2, y2]))  # not a neighbour's face
        if found.score >= self.landmarker.thresholds[2] and inside:
            drawn, source = Detection((x1, y1, x2, y2), found.landmarks, found.score), "onet"
        else:
            drawn, source = Detection((x1, y1, x2, y2), box_landmarks((x1, y1, x2, y2)), 0.0), "box"
        return self._faces([drawn], self._align([pixels], [drawn.landmarks[None]]), source)[0]

    def _read(self, image: Source | Decoded) -> Decoded:
        """The image decoded as small as detection allows: a 12 MP JPEG at half its size for a `max_side` of 1024,
        36 ms instead of 155 ms, then 34 ms instead of 142 ms to shrink (real-photos upscaled to 12 MP, busy CPUs)."""
        if isinstance(image, Decoded):
            return image.at_least(self.detector.max_side)
        return read_reduced(image, min_side=self.detector.max_side)

    def _detect(self, decoded: Sequence[Decoded]) -> list[list[Detection]]:
        """The detector's faces of each image, found in its reduced decode, in pixels of the full image."""
        found = self.detector.detect_batch([image.pixels for image in decoded])
        return [
            faces if image.reduction == 1 else [self._to_full(image, face) for face in faces]
            for image, faces in zip(decoded, found, strict=True)
        ]

    @staticmethod
    def _to_full(image: Decoded, face: Detection) -> Detection:
        box = image.to_full(np.reshape(face.box, (2, 2))).ravel()
        return Detection(tuple(float(v) for v in box), image.to_full(face.landmarks).astype(np.float32), face.score)

    def _crops(self, decoded: Sequence[Decoded], landmarks: Sequence[np.ndarray]) -> list[np.ndarray]:
        """`_align` of every face (landmarks in full-image pixels), each from the coarsest decode of its image with a
        pixel for every crop pixel (`Decoded.coarsest`): a crop loses no resolution that the full image has."""
        sources, points, order, first = [], [], [], 0
        for image, marks in zip(decoded, landmarks, strict=True):
            enlargements = np.max([magnification(marks, s.template) for s in self.alignments], axis=0)
            reductions = np.array([image.coarsest(m) for m in enlargements], int)
            for reduction in np.unique(reductions):
                chosen = np.flatnonzero(reductions == reduction)
                sources.append(image.at(reduction))
                points.append(image.from_full(marks[chosen], reduction))
                order.extend(first + chosen)
            first += len(marks)
        inverse = np.argsort(np.array(order, int))  # crops back in face order
        return [crops[inverse] for crops in self._align(sources, points)]

    def _align(self, pixels: Sequence[np.ndarray], landmarks: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The faces' crops on each of `alignments`, unrounded: rounding to uint8 would turn float noise in batched
        detection into whole grey levels."""
        return [align_batch(pixels, landmarks, s.template, s.input_size, np.float32) for s in self.alignments]

    def _faces(self, detections: list[Detection], crops: list[np.ndarray], landmarks_source: str) -> list[Face]:
        """Encoded faces of aligned float crops (one array per alignment), one per detection, in order; the first
        alignment's crop is the one kept and measured."""
        vectors, kept = self._embed(crops), crops[0]
        qualities = measure(np.array([d.box for d in detections]), np.array([d.landmarks for d in detections]), kept)
        return [
            Face(
                d.box, d.landmarks, d.score, q, np.rint(crop).astype(np.uint8), vector, self.spec.model_id,
                landmarks_source,
            )
            for d, q, crop, vector in zip(detections, qualities, kept, vectors, strict=True)
        ]  # fmt: skip

    def _embed(self, crops: list[np.ndarray]) -> np.ndarray:
        if not len(crops[0]):
            return np.zeros((0, self.spec.dim), np.float32)
        batches = range(0, len(crops[0]), self.batch_size)
        return np.concatenate(
            [self.encoder.embed_aligned([c[i : i + self.batch_size] for c in crops]) for i in batches]
        )

    def encode_most_prominent(self, image: Source) -> Face:
        """The largest face of the image (see `most_prominent`); raises NoFaceError if there is none."""
        decoded = self._read(image)
        width, height = decoded.size
        face = most_prominent(self.encode(decoded), (height, width))
        if face is None:
            raise NoFaceError(f"no face found in the {width}x{height} image")
        return face

    def verify(self, a: Face | np.ndarray | Source, b: Face | np.ndarray | Source) -> Verification:
        """Same person or not, at this encoder's threshold. Each side is a Face, an embedding or an image source.

        An image stands for its most prominent face (NoFaceError if it has none); an embedding is L2-normalised first.
        """
        d = distance(self._embedding_of(a), self._embedding_of(b))
        return Verification(distance=d, threshold=self.threshold, same=same_person(d, self.threshold))

    def _embedding_of(self, x: Face | np.ndarray | Source) -> np.ndarray:
        if isinstance(x, Face):
            if x.model_id != self.spec.model_id:
                raise ValueError(f"a {x.model_id} face cannot be compared with {self.spec.model_id} embeddings")
            return x.embedding
        if isinstance(x, np.ndarray) and x.ndim == 1:
            if x.shape != (self.spec.dim,):
                raise ValueError(f"expected a {self.spec.dim}-D {self.spec.name} embedding, got shape {x.shape}")
            return x / max(float(np.linalg.norm(x)), 1e-12)
        return self.encode_most_prominent(x).embedding
