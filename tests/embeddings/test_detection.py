"""MTCNN detection on real LFW faces: the subject is found, landmarks make sense, shrinking and batching are exact."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from embeddings import read
from embeddings.detection import MtcnnDetector
from embeddings.pipeline import nearest_to_centre

pytestmark = pytest.mark.slow

PEOPLE = [
    "Angelina_Jolie/Angelina_Jolie_0002",
    "George_W_Bush/George_W_Bush_0010",
    "Serena_Williams/Serena_Williams_0003",
    "Nelson_Mandela/Nelson_Mandela_0001",
    "Jackie_Chan/Jackie_Chan_0005",
]


def lfw(lfw_dir: Path, name: str) -> np.ndarray:
    return read(lfw_dir / "images" / f"{name}.jpg")


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - width * height
    return width * height / union


@pytest.mark.parametrize("name", PEOPLE)
def test_finds_the_central_face_with_its_landmarks_inside_the_box(lfw_dir: Path, detector: MtcnnDetector, name: str):
    image = lfw(lfw_dir, name)
    face = nearest_to_centre(detector.detect(image), image.shape)
    x1, y1, x2, y2 = face.box
    assert x1 < 125 < x2 and y1 < 125 < y2  # LFW images are centred on their subject
    assert face.score > 0.95
    assert face.landmarks.shape == (5, 2) and face.landmarks.dtype == np.float32
    assert np.all((face.landmarks >= [x1, y1]) & (face.landmarks <= [x2, y2]))
    left_eye, right_eye, nose, mouth_left, mouth_right = face.landmarks
    assert left_eye[0] < right_eye[0] and mouth_left[0] < mouth_right[0]  # image left first
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])


def test_faces_are_sorted_by_area_largest_first(lfw_dir: Path, detector: MtcnnDetector):
    canvas = Image.new("RGB", (700, 300), (128, 128, 128))
    canvas.paste(Image.fromarray(lfw(lfw_dir, PEOPLE[0])).resize((150, 150)), (0, 75))
    canvas.paste(Image.fromarray(lfw(lfw_dir, PEOPLE[1])), (200, 25))
    canvas.paste(Image.fromarray(lfw(lfw_dir, PEOPLE[2])).resize((200, 200)), (480, 50))
    faces = detector.detect(np.asarray(canvas))
    areas = [(f.box[2] - f.box[0]) * (f.box[3] - f.box[1]) for f in faces]
    assert len(faces) >= 3
    assert areas == sorted(areas, reverse=True)
    assert [f.box[0] // 100 for f in faces[:3]] == [2, 5, 0]  # largest is the full-size paste, smallest the 150 px


def test_large_image_is_detected_shrunk_with_results_in_original_pixels(lfw_dir: Path, detector: MtcnnDetector):
    image = lfw(lfw_dir, PEOPLE[1])
    big = np.asarray(Image.fromarray(image).resize((1250, 1250), Image.Resampling.BICUBIC))
    small_face = nearest_to_centre(detector.detect(image), image.shape)
    big_face = nearest_to_centre(MtcnnDetector(max_side=1024).detect(big), big.shape)
    scaled_box = (np.array(small_face.box) + 0.5) * 5 - 0.5
    scaled_landmarks = (small_face.landmarks + 0.5) * 5 - 0.5
    side = scaled_box[2] - scaled_box[0]
    np.testing.assert_allclose(big_face.box, scaled_box, atol=0.05 * side)
    np.testing.assert_allclose(big_face.landmarks, scaled_landmarks, atol=0.03 * side)


def test_a_batch_finds_the_same_faces_as_one_at_a_time(lfw_dir: Path, detector: MtcnnDetector):
    # Bill Belichick's and Gerhard Schroeder's faces have boxes with tied scores, which once made NMS keep another box
    # depending on the rest of the batch.
    tied = ["Bill_Belichick/Bill_Belichick_0002", "Gerhard_Schroeder/Gerhard_Schroeder_0097"]
    images = [lfw(lfw_dir, name) for name in PEOPLE + tied]
    images[1] = np.asarray(Image.fromarray(images[1]).resize((400, 300)))  # sizes mix in a batch
    images[3] = np.ascontiguousarray(images[3][20:220, 10:240])
    batched = MtcnnDetector(batch_size=2).detect_batch(images)
    for image, faces in zip(images, batched, strict=True):
        alone = detector.detect(image)
        assert len(faces) == len(alone) > 0
        for a, b in zip(faces, alone, strict=True):
            np.testing.assert_allclose(a.box, b.box, atol=1e-3)
            np.testing.assert_allclose(a.landmarks, b.landmarks, atol=1e-3)


@pytest.mark.parametrize("shape", [(5, 5, 3), (1, 1, 3), (12, 12, 3), (11, 300, 3)])
def test_tiny_images_have_no_faces(detector: MtcnnDetector, shape: tuple[int, ...]):
    assert detector.detect(np.full(shape, 128, np.uint8)) == []


@pytest.mark.parametrize("value", [0, 255])
def test_blank_image_has_no_faces(detector: MtcnnDetector, value: int):
    assert detector.detect(np.full((300, 400, 3), value, np.uint8)) == []


def test_batch_of_nothing_is_nothing(detector: MtcnnDetector):
    assert detector.detect_batch([]) == []


@pytest.mark.parametrize(
    "convert",
    [
        lambda im: ("PNG", im.convert("L")),
        lambda im: ("JPEG", im.convert("CMYK")),
        lambda im: ("PNG", Image.fromarray(np.asarray(im.convert("L")).astype(np.uint16) * 257)),
    ],
    ids=["grey", "cmyk", "16-bit"],
)
def test_faces_are_found_whatever_the_colour_mode(lfw_dir: Path, detector: MtcnnDetector, convert):
    image = lfw(lfw_dir, PEOPLE[0])
    format, converted = convert(Image.fromarray(image))
    buffer = io.BytesIO()
    converted.save(buffer, format=format)
    pixels = read(buffer.getvalue())
    face = nearest_to_centre(detector.detect(pixels), pixels.shape)
    reference = nearest_to_centre(detector.detect(image), image.shape)
    assert iou(face.box, reference.box) > 0.8


def test_faces_smaller_than_min_face_size_are_not_found(lfw_dir: Path):
    image = lfw(lfw_dir, PEOPLE[0])  # its face is about 100 px
    assert MtcnnDetector(min_face_size=60).detect(image)
    assert MtcnnDetector(min_face_size=240).detect(image) == []


def test_detector_wants_rgb_uint8(detector: MtcnnDetector):
    with pytest.raises(ValueError, match="RGB uint8"):
        detector.detect(np.zeros((50, 50), np.uint8))
