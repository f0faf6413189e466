"""Quality measures: box size, sharpness, and the rough head pose read from 5 landmarks."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

from embeddings.quality import NOSE_DEPTH, measure, pose, sharpness

FRONTAL = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]]
)  # insightface's ArcFace template: a frontal face


def head(yaw: float = 0, pitch: float = 0) -> np.ndarray:
    """The frontal landmarks turned in 3-D and seen orthographically: eyes and mouth on a plane, the nose before it."""
    centre = FRONTAL.mean(0)
    height = FRONTAL[3:, 1].mean() - FRONTAL[:2, 1].mean()
    depth = np.array([0, 0, NOSE_DEPTH * height, 0, 0])  # towards the camera
    points = np.column_stack([FRONTAL - centre, depth])
    a, b = np.radians(yaw), np.radians(pitch)
    turn = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])  # nose towards +x
    nod = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])  # nose towards -y (up)
    return (points @ (nod @ turn).T)[:, :2] + centre


def test_frontal_face_has_no_pose():
    yaw, pitch, roll = pose(FRONTAL[None])
    assert abs(yaw[0]) < 1 and abs(pitch[0]) < 1 and abs(roll[0]) < 1


@pytest.mark.parametrize("degrees", [-40, -15, 15, 40])
def test_roll_is_the_eye_line_angle_and_leaves_yaw_and_pitch_alone(degrees: float):
    a = np.radians(degrees)
    rotation = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    yaw, pitch, roll = pose(((FRONTAL - 56) @ rotation.T + 56)[None])
    assert roll[0] == pytest.approx(degrees + pose(FRONTAL[None])[2][0], abs=1e-6)
    assert abs(yaw[0]) < 1 and abs(pitch[0]) < 1


@pytest.mark.parametrize("degrees", [-45, -20, 20, 45])
def test_yaw_of_a_turned_head(degrees: float):
    yaw, pitch, _ = pose(head(yaw=degrees)[None])
    assert yaw[0] == pytest.approx(degrees, abs=1.5)
    assert abs(pitch[0]) < 1.5


@pytest.mark.parametrize("degrees", [-30, -10, 10, 30])
def test_pitch_of_a_nodding_head(degrees: float):
    yaw, pitch, _ = pose(head(pitch=degrees)[None])
    assert pitch[0] == pytest.approx(degrees, abs=1.5)
    assert abs(yaw[0]) < 1.5


def test_sharpness_drops_with_blur_and_is_zero_for_a_flat_crop():
    noise = np.random.default_rng(0).integers(0, 256, (160, 160, 3), dtype=np.uint8)
    blurred = np.asarray(Image.fromarray(noise).filter(ImageFilter.GaussianBlur(2)))
    flat = np.full((160, 160, 3), 128, np.uint8)
    sharp, soft, none = sharpness(np.stack([noise, blurred, flat]))
    assert sharp > 10 * soft > 0
    assert none == 0


def test_measure_gives_one_quality_per_face_with_box_size_the_shorter_side():
    boxes = np.array([[10, 20, 110, 140], [0, 0, 50, 40]], np.float64)
    crops = np.zeros((2, 160, 160, 3), np.uint8)
    qualities = measure(boxes, np.stack([FRONTAL, head(yaw=30)]), crops)
    assert [q.box_size for q in qualities] == [100, 40]
    assert qualities[1].yaw == pytest.approx(30, abs=1.5)
    assert measure(np.zeros((0, 4)), np.zeros((0, 5, 2)), np.zeros((0, 160, 160, 3), np.uint8)) == []
