"""Result types: frozen dataclasses, so a result cannot be changed after the fact and pickles between processes.

Types holding numpy arrays (`Detection`, `Face`) compare and hash by identity (`eq=False`): an array has no value
hash, and value equality would raise on its ambiguous truth value. `Quality` and `Verification` hold only numbers
and compare and hash by value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Box = tuple[float, float, float, float]
"""(x1, y1, x2, y2) in pixels of the image as read (after EXIF orientation)."""


@dataclass(frozen=True, eq=False)
class Detection:
    """One detected face: where it is, its 5 landmarks and the detector's confidence."""

    box: Box
    landmarks: np.ndarray  # (5, 2) float32 x/y: left eye, right eye, nose, mouth left, mouth right (image sides)
    score: float


@dataclass(frozen=True)
class Quality:
    """Cheap quality measures, so callers can drop faces too small, blurred or turned away to be trusted."""

    box_size: float  # min(width, height) of the box, pixels
    sharpness: float  # variance of the Laplacian of the aligned grey crop: low means blurred
    yaw: float  # degrees, estimated from landmarks; 0 is frontal
    pitch: float
    roll: float  # in-plane rotation of the eye line


@dataclass(frozen=True, eq=False)
class Face:
    """A detected (or drawn), aligned and encoded face."""

    box: Box
    landmarks: np.ndarray
    score: float
    quality: Quality
    crop: np.ndarray  # aligned RGB uint8 crop at the encoder's input size
    embedding: np.ndarray  # float32, L2-normalised, shape (dim,)
    model_id: str  # versioned encoder id: vectors of different model_ids are never compared
    # "detector": found by detection; for a box drawn by a person (`FacePipeline.encode_box`), "onet": O-Net placed
    # the landmarks in it, "box": O-Net saw no face there and they were placed by the box's geometry
    landmarks_source: str = "detector"


@dataclass(frozen=True)
class Verification:
    """The answer to "are these the same person?" at the encoder's calibrated threshold."""

    distance: float
    threshold: float
    same: bool
