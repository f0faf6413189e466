"""Detection throughput: one image at a time or batched, and how to batch images of different sizes?

    .venv/bin/python benchmarks/detection_throughput.py [--images 128]

LFW images (250x250) through `Detector`: one at a time, then in batches of 8-64. Then 64 LFW faces resized to
mixed sizes, detected (a) with `Detector`, which batches only same-sized images, and (b) as mtcnn batches padded
to the largest image (what mtcnn does when handed a mixed list). Then RetinaFace on the same images and on the
uncropped photos of ../shared/data/real-photos (99 sizes), one at a time and in shared canvases (`--photos 0` skips
them). Images per second, after a warm-up call.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from embeddings.detection import DEFAULT_THRESHOLDS, MtcnnDetector, load_mtcnn
from embeddings.io import read
from embeddings.retinaface import RetinaFaceDetector

ROOT = Path(__file__).resolve().parents[1]
LFW = ROOT.parent / "shared" / "data" / "lfw" / "images"
PHOTOS = ROOT.parent / "shared" / "data" / "real-photos"


def rate(run: Callable[[list[np.ndarray]], object], images: list[np.ndarray]) -> float:
    started = time.perf_counter()
    run(images)
    return len(images) / (time.perf_counter() - started)


def padded_batches(images: list[np.ndarray], batch_size: int = 32) -> None:
    pnet, rnet, onet = DEFAULT_THRESHOLDS
    for start in range(0, len(images), batch_size):
        load_mtcnn().detect_faces(
            [image.astype(np.float32) for image in images[start : start + batch_size]],
            output_type="numpy",
            threshold_pnet=pnet,
            threshold_rnet=rnet,
            threshold_onet=onet,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=128)
    parser.add_argument("--photos", type=int, default=64, help="real photos for RetinaFace (0: none)")
    args = parser.parse_args()
    paths = sorted(LFW.glob("*/*.jpg"))[:: 13233 // args.images][: args.images]
    images = [read(path) for path in paths]
    MtcnnDetector().detect_batch(images[:8])  # build the networks, first-call costs

    single = MtcnnDetector()
    rows = [("LFW 250x250, one at a time", rate(lambda batch: [single.detect(image) for image in batch], images))]
    for batch_size in (8, 16, 32, 64):
        batched = MtcnnDetector(batch_size=batch_size).detect_batch
        rows.append((f"LFW 250x250, batches of {batch_size}", rate(batched, images)))

    rng = random.Random(0)
    shapes = {
        "4 photo shapes": [(640, 480), (480, 640), (800, 600), (500, 500)],
        "all sizes distinct": [(rng.randint(250, 700), rng.randint(250, 700)) for _ in range(64)],
    }
    mixed = {
        label: [np.asarray(Image.fromarray(im).resize(sizes[k % len(sizes)])) for k, im in enumerate(images[:64])]
        for label, sizes in shapes.items()
    }
    for label, resized in mixed.items():
        rows.append((f"{label}: same-size batches of 32", rate(MtcnnDetector(batch_size=32).detect_batch, resized)))
        rows.append((f"{label}: padded batches of 32", rate(padded_batches, resized)))

    weights_dir = ROOT / "var" / "models"
    RetinaFaceDetector(weights_dir).detect_batch(images[:8])  # import the graph
    photos = [read(path) for path in sorted(PHOTOS.glob("*.jpg"))[: args.photos]]
    sets = {"LFW 250x250": images, **mixed, **({f"{len(photos)} real photos": photos} if photos else {})}
    for label, pictures in sets.items():
        one = RetinaFaceDetector(weights_dir, batch_size=1)
        rows.append((f"RetinaFace, {label}: one at a time", rate(one.detect_batch, pictures)))
        rows.append(
            (f"RetinaFace, {label}: canvases of 32", rate(RetinaFaceDetector(weights_dir).detect_batch, pictures))
        )

    width = max(len(label) for label, _ in rows)
    print(f"{'':<{width}}  images/s")
    for label, value in rows:
        print(f"{label:<{width}}  {value:8.1f}")


if __name__ == "__main__":
    main()
