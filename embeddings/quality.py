"""Cheap quality measures of detected faces: size, sharpness and a rough head pose from the 5 landmarks, and the
quality gate (`Gate`) that tells a detection worth showing from one that is most likely not a face.

They let callers drop faces too small, blurred or turned away to be trusted; none of them needs another network.
The pose is a rough estimate (a few degrees near frontal, worse beyond ~45 degrees), not a head-pose model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from embeddings.types import Quality

# Frontal faces have the nose tip 0.495 of the way from the eye line to the mouth line: insightface's ArcFace
# 112x112 template (eyes y=51.6, nose y=71.7, mouth y=92.3), an average of MTCNN-style landmarks of frontal faces.
FRONTAL_NOSE_HEIGHT = 0.495
# The nose tip stands 0.4 eye-to-mouth heights in front of the eye and mouth corners: 130/320 in the generic 3-D
# face of OpenCV head-pose tutorials (nose tip z=0; eye corners y=170, z=-135; mouth corners y=-150, z=-125).
NOSE_DEPTH = 0.4
LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R BT.601 grey


@dataclass(frozen=True)
class Gate:
    """The quality gate of one detector, whose scores it reads: a detection scoring under `min_score` is hidden
    whatever its size, one at or above `sure_score` passes whatever its size (a crowd's small faces stay), and one
    between must be at least `min_unsure_size` of the photo's shorter side. Each detector has its own
    (`Detector.gate`): their scores are not on one scale (YuNet's clear faces score about 0.93, MTCNN's 0.99+).

    Faces failing it are kept but hidden: a detector's false detections (patterns, ornaments) are unsure and small,
    and a person's verdict overrides the gate either way.
    """

    min_score: float
    sure_score: float
    min_unsure_size: float

    def passes(self, *, score: float, box_size: float, image_size: tuple[int, int]) -> bool:
        """Whether a detection is shown as a face. `box_size` is `Quality.box_size` (pixels), `image_size` the
        photo's (width, height)."""
        if score < self.min_score:
            return False
        return score >= self.sure_score or box_size >= self.min_unsure_size * min(image_size)


# MTCNN's gate. Chosen by `python benchmarks/quality_gate.py --detector mtcnn` on the 253 detections MTCNN finds in
# ../shared/data/real-photos, labelled by hand in tests/data/real_photos_face_labels.csv (210 faces, 39 false
# detections: ornaments, lace, patterns, hands, a wheel; 4 drawn faces left out): it hides 38 of the 39 false
# detections (97%) and 2 of the 210 faces (0.95%, two ghostly faces of a double exposure). No false detection scored
# 0.98 or more, while 201 of the 210 faces scored 0.99 or more; the uncertain false ones are small in their photo (at
# most 4% of its shorter side) where the uncertain faces are not (6.8% and more): below 0.90 77% of the false ones and
# 2 faces. At the same loss of faces sharpness alone hides 38% of the false detections and the pose 3% at most (the
# benchmark's table), so the gate does not use them. LFW's central faces all pass (the benchmark checks the first 500
# people). RetinaFace has no gate measured on its own scores yet and uses this one.
MTCNN_GATE = Gate(min_score=0.90, sure_score=0.99, min_unsure_size=0.05)

# YuNet's gate (yunet and yunet-onet, whose scores are YuNet's). `python benchmarks/quality_gate.py --detector
# yunet-onet`: YuNet (score cut 0.6) finds 220 boxes in real-photos, 214 faces, 4 drawn faces and only 2 false
# detections (two blurred patches, 4.0% and 4.4% of their photo's shorter side, scores 0.62 and 0.69). Its unsure
# faces are not small (the 12 faces scoring under 0.87 are 6.5% of the shorter side or more), so no score alone hides
# what the detector kept (`min_score` is its own cut) and the size rule is MTCNN's: it hides both false detections
# and none of the 214 faces. `sure_score` is as low as that allows because a crowd's small real faces score low:
# of the faces YuNet finds in synthetic 2048x1536 crowds (`benchmarks/crowd.py`), 0.7 hides 1.1 points of its 57.8%
# recall and OpenCV's default cut 0.9 would hide 12.5.
YUNET_GATE = Gate(min_score=0.6, sure_score=0.7, min_unsure_size=0.05)


def measure(boxes: np.ndarray, landmarks: np.ndarray, crops: np.ndarray) -> list[Quality]:
    """Quality of N faces from their boxes (N, 4) x1 y1 x2 y2, landmarks (N, 5, 2) and aligned crops (N, S, S, 3)."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    sizes = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    yaw, pitch, roll = pose(landmarks)
    return [
        Quality(box_size=float(b), sharpness=float(s), yaw=float(y), pitch=float(p), roll=float(r))
        for b, s, y, p, r in zip(sizes, sharpness(crops), yaw, pitch, roll, strict=True)
    ]


def sharpness(crops: np.ndarray) -> np.ndarray:
    """Variance of the 4-neighbour Laplacian of each grey crop (N,): low means blurred; compare at one crop size."""
    grey = np.asarray(crops, np.float32) @ LUMA
    laplacian = (
        grey[:, :-2, 1:-1] + grey[:, 2:, 1:-1] + grey[:, 1:-1, :-2] + grey[:, 1:-1, 2:] - 4 * grey[:, 1:-1, 1:-1]
    )
    return laplacian.var(axis=(1, 2))


def pose(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rough (yaw, pitch, roll) in degrees of N faces from their (N, 5, 2) landmarks; all 0 for a frontal face.

    roll: angle of the eye line, positive when it slopes down to the image's right. With the roll undone,
    yaw: the nose tip's sideways offset from the eye-mouth midline, positive when the nose points to the image's right;
    pitch: the nose tip's height between eye line and mouth line, positive when looking up.
    """
    points = np.asarray(landmarks, np.float64).reshape(-1, 5, 2)
    left_eye, right_eye, nose, mouth_left, mouth_right = (points[:, i] for i in range(5))
    eyes = (left_eye + right_eye) / 2
    eye_line = right_eye - left_eye
    roll = np.arctan2(eye_line[:, 1], eye_line[:, 0])
    cos, sin = np.cos(roll), np.sin(roll)

    def upright(p: np.ndarray) -> np.ndarray:  # rotate by -roll about the eyes' midpoint
        d = p - eyes
        return np.stack([cos * d[:, 0] + sin * d[:, 1], -sin * d[:, 0] + cos * d[:, 1]], axis=1)

    mouth, tip = upright((mouth_left + mouth_right) / 2), upright(nose)
    height = np.maximum(mouth[:, 1], 1e-6)  # eye line to mouth line, as seen
    t = tip[:, 1] / height
    pitch = np.arctan((FRONTAL_NOSE_HEIGHT - t) / NOSE_DEPTH)
    offset = tip[:, 0] - t * mouth[:, 0]  # from the midline through the eyes' and mouth's midpoints
    yaw = np.arcsin(np.clip(offset * np.cos(pitch) / (NOSE_DEPTH * height), -1, 1))
    return np.degrees(yaw), np.degrees(pitch), np.degrees(roll)
