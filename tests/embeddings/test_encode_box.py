"""Faces drawn by hand (`FacePipeline.encode_box`) on real LFW faces: O-Net's landmarks land where detection's do, and
the drawn face encodes as the detected one; a box O-Net sees no face in falls back to the box's geometry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from embeddings import FacePipeline, distance, nearest_to_centre, read
from embeddings.detection import box_landmarks

pytestmark = pytest.mark.slow

STEMS = ("George_W_Bush_0010", "Serena_Williams_0003", "Colin_Powell_0001", "Gloria_Macapagal_Arroyo_0001")


def lfw(lfw_dir: Path, stem: str) -> np.ndarray:
    return read(lfw_dir / "images" / stem[:-5] / f"{stem}.jpg")


def grown(box: tuple[float, ...], factor: float) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = box
    cx, cy, hw, hh = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) * factor / 2, (y2 - y1) * factor / 2
    return cx - hw, cy - hh, cx + hw, cy + hh


@pytest.mark.parametrize("stem", STEMS)
@pytest.mark.parametrize("looser", [1.0, 1.3])
def test_a_box_drawn_around_a_detected_face_gets_its_landmarks_and_its_embedding(
    pipeline: FacePipeline, lfw_dir: Path, stem: str, looser: float
):
    image = lfw(lfw_dir, stem)
    detected = nearest_to_centre(pipeline.encode(image), image.shape)
    box = grown(detected.box, looser)  # people draw loosely: a box 30% larger must do as well

    drawn = pipeline.encode_box(image, box)

    assert drawn.landmarks_source == "onet" and drawn.score >= pipeline.landmarker.thresholds[2]
    assert drawn.box == pytest.approx(box)  # the face keeps the box as drawn, not O-Net's refinement
    errors = np.linalg.norm(drawn.landmarks - detected.landmarks, axis=1)
    assert errors.mean() < 3 and errors.max() < 6, errors  # pixels, on faces ~100 px wide
    assert distance(drawn.embedding, detected.embedding) < pipeline.threshold
    assert detected.landmarks_source == "detector"


def test_landmarks_are_in_pixels_of_the_image_also_when_it_is_shrunk_for_detection(
    pipeline: FacePipeline, lfw_dir: Path
):
    small = lfw(lfw_dir, "Colin_Powell_0001")
    detected = nearest_to_centre(pipeline.encode(small), small.shape)
    large = np.asarray(Image.fromarray(small).resize((1500, 1500), Image.Resampling.BICUBIC))  # detected at 1024
    scale = 1500 / 250

    drawn = pipeline.encode_box(large, [(v + 0.5) * scale - 0.5 for v in detected.box])

    expected = (detected.landmarks + 0.5) * scale - 0.5
    assert drawn.landmarks_source == "onet"
    errors = np.linalg.norm(drawn.landmarks - expected, axis=1) / scale  # in pixels of the small image
    assert errors.mean() < 3 and errors.max() < 6, errors
    assert distance(drawn.embedding, detected.embedding) < pipeline.threshold


def test_a_box_without_a_face_gets_the_box_geometry_and_score_zero(pipeline: FacePipeline, lfw_dir: Path):
    image = lfw(lfw_dir, "Colin_Powell_0001")
    box = (0.0, 170.0, 80.0, 250.0)  # the bottom-left corner: suit and background

    drawn = pipeline.encode_box(image, box)

    assert drawn.landmarks_source == "box" and drawn.score == 0
    np.testing.assert_allclose(drawn.landmarks, box_landmarks(box))
    assert drawn.embedding.shape == (pipeline.spec.dim,) and np.linalg.norm(drawn.embedding) == pytest.approx(1)


def test_the_box_geometry_alone_still_encodes_a_frontal_face_as_itself(pipeline: FacePipeline, lfw_dir: Path):
    image = lfw(lfw_dir, "Colin_Powell_0001")
    detected = nearest_to_centre(pipeline.encode(image), image.shape)
    pipeline_without_onet = FacePipeline(weights_dir=pipeline.weights_dir, detection_thresholds=(0.6, 0.7, 1.01))

    drawn = pipeline_without_onet.encode_box(image, detected.box)

    assert drawn.landmarks_source == "box" and drawn.score == 0
    assert distance(drawn.embedding, detected.embedding) < pipeline.threshold


@pytest.mark.parametrize(
    "box", [(10, 10, 10, 60), (60, 10, 10, 60), (-1, 0, 100, 100), (0, 0, 251, 100), (0, 0, 100, float("nan"))]
)
def test_a_box_that_is_not_inside_the_image_is_refused(pipeline: FacePipeline, lfw_dir: Path, box):
    with pytest.raises(ValueError, match="not a box inside the 250x250 image"):
        pipeline.encode_box(lfw(lfw_dir, "Colin_Powell_0001"), box)
