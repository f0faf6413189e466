"""Large JPEGs are detected in a reduced decode (`read_reduced`, Pillow's draft) and cropped from the coarsest decode
that holds each crop: the faces, boxes and embeddings must be the full decode's, in full-image pixels, whatever the
EXIF orientation; small JPEGs and other formats decode exactly as `read` does."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from embeddings import Face, FacePipeline, ImageError, distance, read
from embeddings.alignment import magnification
from embeddings.io import read_reduced

REAL_PHOTOS = Path(__file__).resolve().parents[3] / "shared" / "data" / "real-photos"
# 1280x959: faces 369 and 173 px wide, cropped at 1/2 and at full size (at a detection side of 512).
TWO_FACES = "Female_42_2_3_1.jpg"
ONE_FACE = "Female_40_4_1.jpg"  # 810x1080: one face 267 px wide, cropped at 1/2
# Transposes that store an upright image so that EXIF orientation N turns it upright again.
STORED = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def jpeg(upright: Image.Image, orientation: int = 1, quality: int = 95) -> bytes:
    """`upright` stored as a camera would store it for `orientation`, tagged so that readers turn it back."""
    stored = upright.transpose(STORED[orientation]) if orientation in STORED else upright
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    stored.save(buffer, "JPEG", quality=quality, exif=exif.tobytes())
    return buffer.getvalue()


def centroid(pixels: np.ndarray) -> np.ndarray:
    """x, y of the brightness-weighted centre of a bright blob on black."""
    grey = pixels[:, :, 0].astype(np.float64)
    grey[grey < 20] = 0  # JPEG ringing far from the blob
    ys, xs = np.mgrid[0 : grey.shape[0], 0 : grey.shape[1]]
    return np.array([(grey * xs).sum(), (grey * ys).sum()]) / grey.sum()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_points_of_a_reduced_decode_map_to_full_pixels_in_every_exif_orientation(orientation: int):
    # Odd sides: the last 8x8 block is partial, and orientations that reverse an axis put it first, 7 px off at 1/8.
    width, height, centre = 1601, 1203, np.array([1237.3, 301.6])
    ys, xs = np.mgrid[0:height, 0:width]
    blob = (255 * np.exp(-((xs - centre[0]) ** 2 + (ys - centre[1]) ** 2) / 200)).astype(np.uint8)
    data = jpeg(Image.fromarray(blob).convert("RGB"), orientation)

    decoded = read_reduced(data, min_side=200)

    assert (decoded.reduction, decoded.size, decoded.pixels.shape) == (8, (1601, 1203), (151, 201, 3))
    assert np.abs(decoded.to_full(centroid(decoded.pixels)) - centre).max() < 0.5
    assert np.abs(decoded.to_full(centroid(decoded.at(2)), 2) - centre).max() < 0.5
    assert np.allclose(decoded.from_full(decoded.to_full(centre, 4), 4), centre)
    assert np.array_equal(decoded.at(1), read(data))  # the full decode is `read`'s, upright


def test_the_reduction_is_the_coarsest_that_keeps_min_side_pixels():
    data = jpeg(Image.new("RGB", (4032, 3024), "grey"))

    assert [read_reduced(data, min_side=side).reduction for side in (2017, 2016, 1008, 1007, 504, 100)] == [
        1,
        2,
        4,
        4,
        8,
        8,
    ]
    assert read_reduced(data, min_side=1024).pixels.shape == (1512, 2016, 3)  # a 12 MP phone photo, detected at 1024
    # A decode made for a smaller side is decoded again finer for a larger one (another pipeline's detector).
    assert read_reduced(data, min_side=200).at_least(1024).pixels.shape == (1512, 2016, 3)


def test_a_jpeg_under_twice_min_side_a_png_and_an_array_decode_exactly_as_read(lfw_dir: Path):
    path = next((lfw_dir / "images" / "George_W_Bush").glob("*.jpg"))  # 250x250
    png = io.BytesIO()
    Image.new("RGB", (2600, 2100), "teal").save(png, "PNG")

    for source in (path, png.getvalue(), read(path)):
        decoded = read_reduced(source, min_side=1024)
        assert decoded.reduction == 1
        assert np.array_equal(decoded.pixels, read(source))
    with pytest.raises(ValueError, match="reduction 1 only"):
        read_reduced(png.getvalue(), min_side=1024).at(2)  # Pillow's draft is for JPEGs only


def test_limits_and_corrupt_files_fail_a_reduced_decode_as_they_fail_read():
    data = jpeg(Image.new("RGB", (4000, 3000), "grey"))

    with pytest.raises(ImageError, match="pixels, above the"):
        read_reduced(data, min_side=500, max_pixels=11_999_999)
    with pytest.raises(ImageError, match="byte limit"):
        read_reduced(data, min_side=500, max_bytes=len(data) - 1)
    with pytest.raises(ImageError, match="truncated"):
        read_reduced(data[: len(data) // 2], min_side=500)


@pytest.fixture(scope="module")
def half_pipeline(weights_dir: Path) -> FacePipeline:
    """Detection at 512 px, so the real photos (up to 1280 px) are detected in a 1/2 decode with their own camera
    detail, no upscaling; the networks are the session's (cached per process). MTCNN, whose jitter between
    resamplings the tolerances below were measured on: decoding is what is tested here, with any detector (the
    default's path through a worker: tests/facesearch/photos/test_services.py)."""
    return FacePipeline(weights_dir=weights_dir, detector="mtcnn", max_side=512)


def assert_same_faces(found: list[Face], expected: list[Face], min_score: float = 0.95) -> None:
    """Each face scoring `min_score` or more (borderline ones may come and go between any two resamplings) of either
    list is one of the other's: box and landmarks within 2.5% of the face's width (about 1.5 px as detected, MTCNN's own
    jitter between resamplings), embedding within 0.25 against facenet's same-person threshold of 1.065 (over the 144
    faces of real-photos decoded at 1/2 for detection at 512: median 0.03-0.07, max 0.43)."""
    assert any(face.score >= min_score for face in expected)
    for ours, theirs in ((found, expected), (expected, found)):
        for face in (face for face in ours if face.score >= min_score):
            twin = min(theirs, key=lambda other: np.abs(np.subtract(other.box, face.box)).max())
            tolerance = 0.025 * (face.box[2] - face.box[0])
            assert np.abs(np.subtract(twin.box, face.box)).max() <= tolerance
            assert np.abs(twin.landmarks - face.landmarks).max() <= tolerance
            assert distance(twin.embedding, face.embedding) < 0.25


def test_a_real_photos_faces_found_in_a_reduced_decode_are_the_full_decodes(half_pipeline: FacePipeline):
    path = REAL_PHOTOS / TWO_FACES
    decoded = read_reduced(path, min_side=512)
    assert decoded.reduction == 2

    reduced, full = half_pipeline.encode_batch([path, read(path)])

    # Both crop sources in play: a face crop from the 1/2 decode, and one magnified enough to need the full decode.
    enlargements = magnification(np.array([f.landmarks for f in full]), half_pipeline.spec.template)
    assert sorted({decoded.coarsest(m) for m in enlargements}) == [1, 2]
    assert_same_faces(reduced, full, min_score=0.7)  # both faces (the smaller scores about 0.8)


@pytest.mark.parametrize("orientation", [3, 6])
def test_an_exif_rotated_photo_gives_faces_in_upright_full_pixels(half_pipeline: FacePipeline, orientation: int):
    upright = Image.open(REAL_PHOTOS / ONE_FACE)
    odd = upright.crop((0, 0, upright.width - 1, upright.height - 3))  # partial last blocks, which rotations move
    data = jpeg(odd, orientation, quality=95)
    assert read_reduced(data, min_side=512).reduction == 2

    reduced, full = half_pipeline.encode_batch([data, read(data)])

    assert_same_faces(reduced, full)
    assert_same_faces(reduced, half_pipeline.encode(np.asarray(odd)))  # where the face is in the upright photo
