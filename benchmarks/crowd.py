"""Synthetic crowds: how many faces of each size does each detector find, and how many of its boxes are not faces?

    .venv/bin/python benchmarks/crowd.py [--canvases 30] [--canvas 2048x1536] [--detectors mtcnn retinaface]

LFW faces (one image per person, never reused) are pasted at random non-overlapping places into large canvases of
smooth random colour, each at a known size: the face's width drawn log-uniformly from 20 to 200 px (in the canvas's
pixels, before any shrinking to the detector's `max_side`). A detection finds a face when its box centre lies in the
face's box and its width is within 0.5-2x the face's; each face is found at most once (by the highest-scoring box),
and the boxes that find none are false positives (a face in an LFW image's background counts as one too, for every
detector alike). Recall is per face-size bin; precision is over all boxes; `shown` is the recall counting only the
boxes the detector's quality gate shows (`Detector.gate`); images/s is detection alone.
"""

from __future__ import annotations

import argparse
import itertools
import math
import random
import time
from pathlib import Path

import numpy as np
from PIL import Image

from embeddings import read
from embeddings.detection import DETECTORS, make_detector

ROOT = Path(__file__).resolve().parents[1]
LFW = ROOT.parent / "shared" / "data" / "lfw" / "images"
SIZES = (20, 200)
BINS = (20, 28, 40, 56, 80, 113, 160, 201)  # face width, px: halves of an octave
# Where the subject's face is in an LFW deep-funneled image (250x250): the mean of MTCNN's and RetinaFace's boxes of
# the central face of 200 LFW images, rounded (`face_box_in_lfw` below prints it).
LFW_FACE = (78, 63, 172, 190)
PATCH = (35, 30, 215, 220)  # what is pasted: the face and a margin around it, inside the 250x250 image


def face_box_in_lfw(paths: list[Path], weights_dir: Path) -> tuple[int, ...]:
    from embeddings.pipeline import nearest_to_centre

    boxes = []
    for name in DETECTORS:
        detector = make_detector(name, weights_dir=weights_dir)
        for path in paths:
            image = read(path)
            face = nearest_to_centre(detector.detect(image), image.shape)
            if face is not None:
                boxes.append(face.box)
    return tuple(round(v) for v in np.mean(boxes, axis=0))


def background(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    """Smooth random colour: 8x6 random pixels upscaled bicubically, plus a little noise."""
    coarse = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)).resize(size, Image.Resampling.BICUBIC)
    noise = rng.normal(0, 6, (size[1], size[0], 3))
    return Image.fromarray(np.clip(np.asarray(coarse) + noise, 0, 255).astype(np.uint8))


def crowd(
    rng: random.Random, nprng: np.random.Generator, faces: list[Path], size: tuple[int, int], count: int
) -> tuple[np.ndarray, list[tuple[float, float, float, float]]]:
    """A canvas with up to `count` faces from `faces` (consumed), and their boxes in canvas pixels."""
    canvas = background(nprng, size)
    placed: list[tuple[float, float, float, float]] = []  # patch boxes
    truth = []
    face_w = LFW_FACE[2] - LFW_FACE[0]
    for _ in range(count):
        width = math.exp(rng.uniform(math.log(SIZES[0]), math.log(SIZES[1])))
        scale = width / face_w
        patch_w, patch_h = (PATCH[2] - PATCH[0]) * scale, (PATCH[3] - PATCH[1]) * scale
        for _attempt in range(50):
            x, y = rng.uniform(0, size[0] - patch_w), rng.uniform(0, size[1] - patch_h)
            box = (x, y, x + patch_w, y + patch_h)
            if all(box[2] <= p[0] or p[2] <= box[0] or box[3] <= p[1] or p[3] <= box[1] for p in placed):
                break
        else:
            continue
        image = Image.fromarray(read(faces.pop())).crop(PATCH)
        left, top = round(x), round(y)
        patch = image.resize((round(patch_w), round(patch_h)), Image.Resampling.LANCZOS)
        canvas.paste(patch, (left, top))
        placed.append(box)
        sx, sy = patch.width / image.width, patch.height / image.height
        truth.append(
            (
                left + (LFW_FACE[0] - PATCH[0]) * sx,
                top + (LFW_FACE[1] - PATCH[1]) * sy,
                left + (LFW_FACE[2] - PATCH[0]) * sx,
                top + (LFW_FACE[3] - PATCH[1]) * sy,
            )
        )
    return np.asarray(canvas), truth


def match(truth: list[tuple[float, ...]], found: list) -> tuple[list[bool], int]:
    """Which true faces were found, and how many detections found none (see the module docstring)."""
    hit = [False] * len(truth)
    false_positives = 0
    for detection in sorted(found, key=lambda d: -d.score):
        x1, y1, x2, y2 = detection.box
        cx, cy, width = (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1
        for k, (a1, b1, a2, b2) in enumerate(truth):
            if not hit[k] and a1 <= cx <= a2 and b1 <= cy <= b2 and 0.5 <= width / (a2 - a1) <= 2:
                hit[k] = True
                break
        else:
            false_positives += 1
    return hit, false_positives


def _side(detection) -> float:
    """The box's shorter side, as `Quality.box_size` measures it."""
    x1, y1, x2, y2 = detection.box
    return min(x2 - x1, y2 - y1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--canvases", type=int, default=30)
    parser.add_argument("--faces", type=int, default=24, help="faces tried per canvas")
    parser.add_argument("--canvas", default="2048x1536", help="canvas size WxH")
    parser.add_argument("--max-side", type=int, help="detection size (default: each detector's own)")
    parser.add_argument("--detectors", nargs="+", choices=DETECTORS, default=list(DETECTORS))
    parser.add_argument("--weights-dir", type=Path, default=ROOT / "var" / "models")
    parser.add_argument("--face-box", action="store_true", help="print LFW_FACE measured again, and stop")
    args = parser.parse_args()
    people = sorted(p for p in LFW.iterdir() if p.is_dir())
    paths = [sorted(person.glob("*.jpg"))[0] for person in people]
    if args.face_box:
        print(face_box_in_lfw(paths[::28][:200], args.weights_dir))
        return
    size = tuple(int(v) for v in args.canvas.split("x"))
    rng, nprng = random.Random(0), np.random.default_rng(0)
    pool = paths[:]
    rng.shuffle(pool)
    canvases = [crowd(rng, nprng, pool, size, args.faces) for _ in range(args.canvases)]
    truth_sizes = np.array([b[2] - b[0] for _, truth in canvases for b in truth])
    print(f"{len(canvases)} canvases {size[0]}x{size[1]}, {len(truth_sizes)} LFW faces 20-200 px wide\n")

    bins = list(itertools.pairwise(BINS))
    header = f"{'detector':<11} {'max_side':>8} " + " ".join(f"{f'{a}-{b - 1}':>8}" for a, b in bins)
    print(header + f" {'recall':>7} {'shown':>6} {'precision':>9} {'FP':>4} {'img/s':>6}")
    for name in args.detectors:
        options = {"max_side": args.max_side} if args.max_side else {}
        detector = make_detector(name, weights_dir=args.weights_dir, **options)
        detector.detect_batch([canvases[0][0]])  # load and warm
        started = time.perf_counter()
        found = detector.detect_batch([image for image, _ in canvases])
        rate = len(canvases) / (time.perf_counter() - started)
        hits, shown, false_positives, boxes = [], [], 0, 0
        for (image, truth), detections in zip(canvases, found, strict=True):
            hit, fp = match(truth, detections)
            hits += hit
            size = (image.shape[1], image.shape[0])
            passed = [d for d in detections if detector.gate.passes(score=d.score, box_size=_side(d), image_size=size)]
            shown += match(truth, passed)[0]
            false_positives += fp
            boxes += len(detections)
        hits = np.array(hits)
        recalls = [hits[(truth_sizes >= a) & (truth_sizes < b)].mean() for a, b in bins]
        cells = " ".join(f"{r:>8.1%}" for r in recalls)
        precision = 1 - false_positives / max(boxes, 1)
        print(
            f"{name:<11} {detector.max_side:>8} {cells} {hits.mean():>7.1%} {np.mean(shown):>6.1%} {precision:>9.1%} "
            f"{false_positives:>4} {rate:>6.2f}"
        )
    counts = " ".join(f"{int(((truth_sizes >= a) & (truth_sizes < b)).sum()):>8}" for a, b in bins)
    print(f"{'faces':<11} {'':>8} {counts}")


if __name__ == "__main__":
    main()
