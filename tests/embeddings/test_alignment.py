"""Similarity transforms (batched Umeyama) and the warp that puts landmarks onto an encoder's template."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embeddings import read
from embeddings.alignment import align, align_batch, similarity_transform
from embeddings.pipeline import nearest_to_centre

# A 160 px test template: insightface's ArcFace 112 px landmark positions, centred in a 160 px crop so the whole
# head is in view and MTCNN can find the face again in the crop.
TEMPLATE_160 = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]], np.float32
) + np.float32(24)


def similarity(scale: float, angle: float, shift: tuple[float, float]) -> np.ndarray:
    c, s = scale * np.cos(angle), scale * np.sin(angle)
    return np.array([[c, -s, shift[0]], [s, c, shift[1]]])


def apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


def umeyama_svd(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Umeyama (1991) as published (SVD of the covariance, reflection excluded), one point set at a time."""
    src_mean, dst_mean = src.mean(0), dst.mean(0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    u, d, vt = np.linalg.svd(dst_c.T @ src_c / len(src))
    sign = np.diag([1.0, np.sign(np.linalg.det(u) * np.linalg.det(vt))])
    rotation = u @ sign @ vt
    scale = np.trace(np.diag(d) @ sign) / src_c.var(0).sum()
    return np.hstack([scale * rotation, (dst_mean - scale * rotation @ src_mean)[:, None]])


def test_similarity_transform_recovers_known_transforms_in_a_batch():
    rng = np.random.default_rng(0)
    truths = np.stack(
        [similarity(rng.uniform(0.2, 3), rng.uniform(-np.pi, np.pi), rng.uniform(-100, 100, 2)) for _ in range(50)]
    )
    src = rng.uniform(0, 250, (50, 5, 2))
    dst = np.stack([apply(m, p) for m, p in zip(truths, src, strict=True)])
    np.testing.assert_allclose(similarity_transform(src, dst), truths, atol=1e-9)


def test_similarity_transform_is_umeyamas_least_squares_fit():
    rng = np.random.default_rng(1)
    src = rng.uniform(0, 250, (20, 5, 2))
    dst = rng.uniform(0, 160, (20, 5, 2))  # unrelated points: only the least-squares fit can agree
    expected = np.stack([umeyama_svd(s, d) for s, d in zip(src, dst, strict=True)])
    np.testing.assert_allclose(similarity_transform(src, dst), expected, atol=1e-9)


def test_similarity_transform_never_reflects():
    src = np.random.default_rng(2).uniform(0, 100, (1, 5, 2))
    mirrored = src * [-1, 1]
    assert np.linalg.det(similarity_transform(src, mirrored)[0, :, :2]) > 0


def coordinate_ramp() -> np.ndarray:
    """An image whose red value is the pixel's x and green its y, so a crop shows where each pixel was sampled."""
    y, x = np.mgrid[0:256, 0:256]
    return np.stack([x, y, np.zeros_like(x)], axis=2).astype(np.uint8)


def test_align_samples_each_crop_pixel_where_the_transform_maps_it():
    crop_to_image = similarity(1.7, np.radians(25), (120.0, 20.0))
    template = np.array([[20, 24], [44, 24], [32, 36], [22, 48], [42, 48]], np.float64)
    landmarks = apply(crop_to_image, template)[None]
    crop = align(coordinate_ramp(), landmarks, template, 64)[0].astype(float)

    v, u = np.mgrid[0:64, 0:64]
    sampled_at = apply(crop_to_image, np.stack([u.ravel(), v.ravel()], axis=1)).reshape(64, 64, 2)
    inside = np.all((sampled_at >= 1) & (sampled_at <= 254), axis=2)
    assert inside.mean() > 0.5
    assert np.abs(crop[..., :2][inside] - sampled_at[inside]).max() <= 1
    for x, y in template.astype(int):  # in particular the landmarks land on the template
        np.testing.assert_allclose(crop[y, x, :2], apply(crop_to_image, np.array([[x, y]]))[0], atol=1)


def test_align_batch_keeps_image_then_face_order():
    ramp = coordinate_ramp()
    images = [ramp, ramp[::-1].copy(), ramp[:, ::-1].copy()]
    template = np.array([[20, 24], [44, 24], [32, 36], [22, 48], [42, 48]], np.float64)
    landmarks = [
        np.stack([apply(similarity(1.5, 0.1, (60, 70)), template), apply(similarity(2, -0.3, (10, 90)), template)]),
        np.zeros((0, 5, 2)),
        apply(similarity(1, 0.5, (100, 20)), template)[None],
    ]
    crops = align_batch(images, landmarks, template, 64)
    assert crops.shape == (3, 64, 64, 3)
    expected = np.concatenate(
        [align(image, points, template, 64) for image, points in zip(images, landmarks, strict=True)]
    )
    np.testing.assert_array_equal(crops, expected)


def test_align_with_no_faces_is_an_empty_batch():
    assert align(coordinate_ramp(), np.zeros((0, 5, 2)), TEMPLATE_160, 160).shape == (0, 160, 160, 3)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["Angelina_Jolie/Angelina_Jolie_0002", "George_W_Bush/George_W_Bush_0010"])
def test_aligned_face_has_its_landmarks_on_the_template(lfw_dir: Path, detector, name: str):
    image = read(lfw_dir / "images" / f"{name}.jpg")
    face = nearest_to_centre(detector.detect(image), image.shape)
    crop = align(image, face.landmarks[None], TEMPLATE_160, 160)[0]
    again = nearest_to_centre(detector.detect(crop), crop.shape)
    # A similarity cannot fit 5 points exactly (a turned head's nose is off-centre): the landmarks must land where
    # the fitted transform sends them, and on average near the template.
    moved = apply(similarity_transform(face.landmarks[None], TEMPLATE_160[None])[0], face.landmarks)
    assert np.linalg.norm(again.landmarks - moved, axis=1).max() < 3
    assert np.linalg.norm(again.landmarks - TEMPLATE_160, axis=1).mean() < 3
