"""Which detections does a detector's quality gate hide?

    python benchmarks/quality_gate.py [--detector NAME] [--from-labels] [--lfw 500]

Runs FacePipeline with that detector (as ingest does) over ../shared/data/real-photos and matches each detection to
the hand labels of that detector's detections in tests/data/real_photos_face_labels.csv (same file, boxes
overlapping by IoU >= 0.5):
"face" (a real face, however poor), "not_face" (a false detection: ornaments, lace, patterns, hands) or "drawing" (a
cartoon or drawn face: no measure here tells it from a face, so it counts in neither figure). `--from-labels` uses
the measures stored in the labels instead of detecting again (seconds instead of minutes).

Prints, for each measure alone, the strictest cut-off that loses at most 1% of the real faces and how many false
detections it hides; then the same for the gate (`embeddings.quality.passes_gate`), and how many of the central
faces of the first `--lfw` LFW images (people of peopleDevTrain.txt, all real faces) it hides. The gate is the
detector's own (`Detector.gate`): each reads its own detector's scores.
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embeddings import FacePipeline, nearest_to_centre, read
from embeddings.detection import DEFAULT_DETECTOR, DETECTORS
from embeddings.quality import Gate

DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"
LABELS = Path(__file__).resolve().parents[1] / "tests" / "data" / "real_photos_face_labels.csv"
MAX_LOST = 0.01  # the target: at most 1% of real faces hidden
SAME_FACE_IOU = 0.5


@dataclass(frozen=True)
class Detection:
    file: str
    box: tuple[float, float, float, float]
    label: str
    score: float
    box_size: float
    width: int
    height: int
    sharpness: float
    yaw: float
    pitch: float
    roll: float

    @property
    def relative_size(self) -> float:
        return self.box_size / min(self.width, self.height)


def labelled(detector: str) -> list[Detection]:
    """The labelled detections of `detector`."""
    with LABELS.open(newline="") as file:
        return [
            Detection(
                row["file"],
                tuple(float(row[k]) for k in ("x1", "y1", "x2", "y2")),
                row["label"],
                float(row["score"]),
                float(row["box_size"]),
                int(row["width"]),
                int(row["height"]),
                float(row["sharpness"]),
                float(row["yaw"]),
                float(row["pitch"]),
                float(row["roll"]),
            )
            for row in csv.DictReader(file)
            if row["detector"] == detector
        ]


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def detected(labels: list[Detection], pipeline: FacePipeline) -> tuple[list[Detection], int]:
    """Detections of the pipeline now, each with the label of the labelled box it overlaps; and how many found no
    label (a changed detector finds boxes nobody labelled: they are left out and counted)."""
    files = sorted({d.file for d in labels} | {p.name for p in (DATA_DIR / "real-photos").glob("*.jpg")})
    found, unlabelled = [], 0
    for start in range(0, len(files), pipeline.batch_size):
        chunk = files[start : start + pipeline.batch_size]
        images = [read(DATA_DIR / "real-photos" / name) for name in chunk]
        for name, image, faces in zip(chunk, images, pipeline.encode_batch(images), strict=True):
            for face in faces:
                match = max((d for d in labels if d.file == name), key=lambda d: iou(d.box, face.box), default=None)
                if match is None or iou(match.box, face.box) < SAME_FACE_IOU:
                    unlabelled += 1
                    continue
                q = face.quality
                found.append(
                    Detection(
                        name,
                        face.box,
                        match.label,
                        face.score,
                        q.box_size,
                        image.shape[1],
                        image.shape[0],
                        q.sharpness,
                        q.yaw,
                        q.pitch,
                        q.roll,
                    )
                )
    return found, unlabelled


MEASURES = {  # name -> (value, True when a low value is bad / False when a high one is)
    "detection score": (lambda d: d.score, True),
    "face size, px": (lambda d: d.box_size, True),
    "face size / shorter side": (lambda d: d.relative_size, True),
    "sharpness": (lambda d: d.sharpness, True),
    "|yaw|, degrees": (lambda d: abs(d.yaw), False),
    "|pitch|, degrees": (lambda d: abs(d.pitch), False),
    "|roll|, degrees": (lambda d: abs(d.roll), False),
}


def best_cut(faces: np.ndarray, false: np.ndarray, low_is_bad: bool) -> tuple[float, int, int]:
    """The cut-off hiding the most false detections while hiding at most MAX_LOST of the faces: (cut, false hidden,
    faces hidden). Values are hidden below the cut (or above it when a high value is bad)."""
    sign = 1 if low_is_bad else -1
    faces, false = sign * faces, sign * false
    allowed = int(MAX_LOST * len(faces))
    cut = np.sort(faces)[allowed]  # hides the `allowed` lowest faces (ties at the cut stay)
    return float(sign * cut), int((false < cut).sum()), int((faces < cut).sum())


def row(name: str, cut: str, hidden: int, false: int, lost: int, faces: int) -> str:
    hidden_share, lost_share = f"{hidden}/{false}", f"{lost}/{faces}"
    return f"{name:<26} {cut:>10} {hidden_share:>8} {hidden / false:>7.0%} {lost_share:>8} {lost / faces:>6.2%}"


def lfw_hidden(count: int, pipeline: FacePipeline) -> tuple[int, int]:
    """(central faces hidden by the gate, central faces found) in the first image of `count` LFW people."""
    lines = (DATA_DIR / "lfw" / "peopleDevTrain.txt").read_text().split("\n")[1:]
    names = [line.split("\t")[0] for line in lines if line.strip()][:count]
    gate = pipeline.detector.gate
    paths = [DATA_DIR / "lfw" / "images" / name / f"{name}_0001.jpg" for name in names]
    hidden = found = 0
    for start in range(0, len(paths), pipeline.batch_size):
        images = [read(path) for path in paths[start : start + pipeline.batch_size]]
        for image, faces in zip(images, pipeline.encode_batch(images), strict=True):
            face = nearest_to_centre(faces, image.shape)
            if face is None:
                continue
            found += 1
            size = (image.shape[1], image.shape[0])
            hidden += not gate.passes(score=face.score, box_size=face.quality.box_size, image_size=size)
    return hidden, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--detector", choices=DETECTORS, default=DEFAULT_DETECTOR)
    parser.add_argument("--from-labels", action="store_true", help="use the measures stored with the labels")
    parser.add_argument("--lfw", type=int, default=500, help="LFW people whose first image is checked (0: none)")
    args = parser.parse_args()
    labels = labelled(args.detector)
    pipeline = FacePipeline(detector=args.detector)
    gate: Gate = pipeline.detector.gate
    if args.from_labels:
        rows, unlabelled = labels, 0
    else:
        rows, unlabelled = detected(labels, pipeline)
    faces = [d for d in rows if d.label == "face"]
    false = [d for d in rows if d.label == "not_face"]
    drawings = [d for d in rows if d.label == "drawing"]
    source = "measures stored with the labels" if args.from_labels else "detected now"
    print(
        f"real-photos: {len(rows)} labelled detections ({source}): {len(faces)} faces, {len(false)} false detections,"
        f" {len(drawings)} drawings; {unlabelled} detections without a label"
    )
    print(f"\n{'measure':<26} {'cut-off':>10} {'false hidden':>16} {'faces lost':>15}")
    for name, (value, low_is_bad) in MEASURES.items():
        cut, hidden, lost = best_cut(
            np.array([value(d) for d in faces]), np.array([value(d) for d in false]), low_is_bad
        )
        print(row(name, f"{'<' if low_is_bad else '>'} {cut:.3g}", hidden, len(false), lost, len(faces)))

    def hidden(d: Detection) -> bool:
        return not gate.passes(score=d.score, box_size=d.box_size, image_size=(d.width, d.height))

    print(f"gate of {args.detector}: {gate}")
    print(row("gate", "", sum(map(hidden, false)), len(false), sum(map(hidden, faces)), len(faces)))
    print(f"drawings hidden by the gate: {sum(map(hidden, drawings))}/{len(drawings)}")
    if args.lfw:
        lost, found = lfw_hidden(args.lfw, pipeline)
        print(f"LFW central faces hidden by the gate: {lost}/{found}")


if __name__ == "__main__":
    main()
