"""How well is a face drawn by hand encoded? `python benchmarks/drawn_faces.py [--images 300]`.

Detects the central face of the first LFW image of each person of peopleDevTrain.txt, then encodes it again from a
box alone (`FacePipeline.encode_box`), as if the detector had missed it and a person had drawn the box: the
detector's own box scaled by 0.9 to 1.4 around its centre (people draw loosely). Prints, per number of O-Net passes
(`ONET_PASSES`), how often the drawn face is landmarked by O-Net, how far its landmarks land from detection's (the
worst of the 5 points, pixels: mean and 95th percentile over faces) and the distance of its embedding to the detected
face's (mean, max, share under the encoder's threshold); then the same for landmarks placed by the box's geometry
alone (the fallback). First it prints the mean landmarks as fractions of the box, `BOX_LANDMARKS`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import embeddings.detection
from embeddings import FacePipeline, distance, nearest_to_centre, read
from embeddings.detection import DEFAULT_THRESHOLDS

LFW_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "lfw"
MIRROR = [1, 0, 2, 4, 3]  # left and right eye and mouth corner swap in a mirror image


def first_images(count: int) -> list[Path]:
    lines = (LFW_DIR / "peopleDevTrain.txt").read_text().split("\n")[1:]
    names = [line.split("\t")[0] for line in lines if line.strip()][:count]
    return [LFW_DIR / "images" / name / f"{name}_0001.jpg" for name in names]


def grown(box: tuple[float, ...], factor: float, shape: tuple[int, ...]) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = box
    cx, cy, hw, hh = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) * factor / 2, (y2 - y1) * factor / 2
    return (max(0.0, cx - hw), max(0.0, cy - hh), min(float(shape[1]), cx + hw), min(float(shape[0]), cy + hh))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=300)
    args = parser.parse_args()
    pipeline = FacePipeline()
    geometry_only = FacePipeline(detection_thresholds=(*DEFAULT_THRESHOLDS[:2], 1.01))  # O-Net never calls it a face
    cases = []
    for path in first_images(args.images):
        image = read(path)
        face = nearest_to_centre(pipeline.encode(image), image.shape)
        if face is not None:
            cases.append((image, face))
    relative = np.array(
        [(f.landmarks - f.box[:2]) / [f.box[2] - f.box[0], f.box[3] - f.box[1]] for _, f in cases], np.float64
    )
    mirrored = relative[:, MIRROR].copy()
    mirrored[..., 0] = 1 - mirrored[..., 0]
    mean = (relative.mean(axis=0) + mirrored.mean(axis=0)) / 2
    print(f"{len(cases)} faces; mean landmarks as fractions of the box (BOX_LANDMARKS):")
    print(np.array2string(mean.round(4), separator=", "))

    print(f"\n{'drawn box':<10} {'landmarks':<13} {'O-Net face':>10} {'px mean':>8} {'px p95':>7} {'dist mean':>9} "
          f"{'dist max':>8} {'< thr':>6}")  # fmt: skip
    for box_factor in (0.9, 1.0, 1.2, 1.4):
        for passes in (1, 2, 3):
            embeddings.detection.ONET_PASSES = passes
            errors, distances, faces = [], [], 0
            for image, face in cases:
                drawn = pipeline.encode_box(image, grown(face.box, box_factor, image.shape))
                faces += drawn.landmarks_source == "onet"
                errors.append(np.linalg.norm(drawn.landmarks - face.landmarks, axis=1).max())
                distances.append(distance(drawn.embedding, face.embedding))
            report(f"x{box_factor}", f"O-Net {passes} pass", faces / len(cases), errors, distances, pipeline.threshold)
        errors, distances = [], []
        for image, face in cases:
            drawn = geometry_only.encode_box(image, grown(face.box, box_factor, image.shape))
            errors.append(np.linalg.norm(drawn.landmarks - face.landmarks, axis=1).max())
            distances.append(distance(drawn.embedding, face.embedding))
        report(f"x{box_factor}", "box geometry", float("nan"), errors, distances, pipeline.threshold)


def report(box: str, how: str, faces: float, errors: list, distances: list, threshold: float) -> None:
    errors, distances = np.array(errors), np.array(distances)
    onet = "-" if np.isnan(faces) else f"{faces:.1%}"
    print(
        f"{box:<10} {how:<13} {onet:>10} {errors.mean():>8.2f} {np.percentile(errors, 95):>7.2f} "
        f"{distances.mean():>9.3f} {distances.max():>8.3f} {(distances < threshold).mean():>6.1%}"
    )


if __name__ == "__main__":
    main()
