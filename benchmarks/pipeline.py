"""Throughput of read → detect → align → encode, with each detector, beside face_recognition (dlib) and InsightFace's
buffalo_s in the same run.

    .venv/bin/python benchmarks/pipeline.py [--images 128 | --images ../shared/data/real-photos]
        [--upscale-mp 12] [--detectors mtcnn retinaface yunet] [--batch-sizes 1 8 32]

`--images N` takes the first image of the first N LFW people (250x250, one face each); `--images FOLDER` every JPEG
of a folder, e.g. the uncropped photos of many sizes in ../shared/data/real-photos. `--upscale-mp 12` measures the
same images scaled up to 12 MP each (a phone photo's size; bicubic, JPEG quality 90, in a temporary folder), where
decoding costs what it costs on phone photos (`read` decodes whole; `read reduced (N)` as the pipeline decodes for
detection, N of the images at 1/2 to 1/8 scale). Each side runs in its own process
so peak RSS is its own. The peers run when `make bench-deps` has installed them: face_recognition (dlib-bin,
face_recognition_models, face_recognition --no-deps) and buffalo_s (SCRFD-500M + ArcFace MobileFaceNet through
onnxruntime, `benchmarks/peers/buffalo_s.py`; its InsightFace weights are for non-commercial research, which a
measurement is, and nothing in facesearch imports them). buffalo_s runs one image per call, as InsightFace does.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from peers import buffalo_s  # numpy and Pillow only until it runs (benchmarks/ is on sys.path: run as a script)

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


def image_paths(images: str, lfw: Path) -> list[Path]:
    """`--images`: a number of LFW people (first image each) or a folder (every JPEG in it, by name)."""
    if images.isdigit():
        return lfw_sample(lfw, int(images))
    return sorted(p for p in Path(images).iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))


def upscaled(paths: list[Path], megapixels: float, folder: Path) -> Path:
    """`paths` scaled to `megapixels` each, aspect kept, as JPEGs of quality 90 in `folder`, which it returns."""
    from PIL import Image

    for path in paths:
        with Image.open(path) as image:
            scale = math.sqrt(megapixels * 1e6 / (image.width * image.height))
            size = (round(image.width * scale), round(image.height * scale))
            image.convert("RGB").resize(size, Image.Resampling.BICUBIC).save(folder / path.name, quality=90)
    return folder


def measure_ours(paths: list[Path], weights_dir: Path, detector_name: str, batch_sizes: Sequence[int]) -> list[dict]:
    import numpy as np

    from embeddings import FacePipeline, read
    from embeddings.alignment import align_batch
    from embeddings.io import read_reduced

    pipeline = FacePipeline(detector=detector_name, weights_dir=weights_dir)
    pipeline.warm_up()
    spec, detector, encoder = pipeline.spec, pipeline.detector, pipeline.encoder
    with Timer() as t:
        images = [read(p) for p in paths]
    rows = [{"stage": "read", "batch": "-", "images_per_s": len(paths) / t.seconds}]
    with Timer() as t:
        reduced = sum(read_reduced(p, min_side=detector.max_side).reduction > 1 for p in paths)
    rows.append({"stage": f"read reduced ({reduced})", "batch": "-", "images_per_s": len(paths) / t.seconds})
    for size in batch_sizes:
        detector.batch_size = size
        detector.detect_batch(images[:size])  # warm this batch shape
        with Timer() as t:
            detections = [found for batch in chunks(images, size) for found in detector.detect_batch(batch)]
        faces = sum(len(found) for found in detections)
        rows.append(
            {
                "stage": f"detect ({detector.name})",
                "batch": size,
                "images_per_s": len(images) / t.seconds,
                "faces": faces,
            }
        )
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
    for size in batch_sizes:
        pipeline.batch_size = detector.batch_size = size
        with Timer() as t:
            faces = sum(len(found) for batch in chunks(paths, size) for found in pipeline.encode_batch(batch))
        rows.append(
            {
                "stage": "end to end",
                "batch": size,
                "images_per_s": len(paths) / t.seconds,
                "faces_per_s": faces / t.seconds,
                "faces": faces,
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
        {
            "stage": "end to end",
            "batch": 1,
            "images_per_s": len(paths) / t.seconds,
            "faces_per_s": faces / t.seconds,
            "faces": faces,
        }
    )
    return rows


def run_side(side: str, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--side", side, "--images", str(args.images), "--lfw", str(args.lfw)]
    command += ["--weights-dir", str(args.weights_dir), "--batch-sizes", *map(str, args.batch_sizes)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def format_table(results: dict[str, dict]) -> str:
    lines = [f"{'system':<21} {'stage':<20} {'batch':>5} {'images/s':>9} {'faces/s':>9} {'faces':>6}"]
    for system, result in results.items():
        for row in result["rows"]:
            images = f"{row['images_per_s']:.1f}" if "images_per_s" in row else ""
            faces = f"{row['faces_per_s']:.1f}" if "faces_per_s" in row else ""
            found = row.get("faces", "")
            lines.append(f"{system:<21} {row['stage']:<20} {row['batch']!s:>5} {images:>9} {faces:>9} {found!s:>6}")
        lines.append(f"{system:<21} {'peak RSS':<20} {'':>5} {result['peak_rss_mb']:>8.0f}M")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", default="128", help="a number of LFW people, or a folder of JPEGs")
    parser.add_argument("--upscale-mp", type=float, help="scale each image up to this many megapixels first")
    parser.add_argument("--lfw", type=Path, default=ROOT.parent / "shared" / "data" / "lfw")
    parser.add_argument("--weights-dir", type=Path, default=ROOT / "var" / "models")
    parser.add_argument(
        "--detectors",
        nargs="+",
        choices=("mtcnn", "retinaface", "yunet", "yunet-onet"),
        default=["mtcnn", "retinaface"],
    )
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=list(BATCH_SIZES))
    parser.add_argument("--side", help=argparse.SUPPRESS)  # facesearch/<detector>, face_recognition or buffalo_s
    args = parser.parse_args()
    paths = image_paths(args.images, args.lfw)
    if args.upscale_mp and not args.side:
        with tempfile.TemporaryDirectory(prefix="pipeline-benchmark-") as folder:
            described = f"images of {args.images} upscaled to {args.upscale_mp:g} MP"
            args.images = str(upscaled(paths, args.upscale_mp, Path(folder)))
            return compare(args, image_paths(args.images, args.lfw), described)
    if args.side:
        if args.side == "face_recognition":
            rows = measure_peer(paths)
        elif args.side == "buffalo_s":
            rows = buffalo_s.run(paths)
        else:
            rows = measure_ours(paths, args.weights_dir, args.side.split("/")[1], args.batch_sizes)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"rows": rows, "peak_rss_mb": peak}))
        return 0

    described = "LFW images (250x250)" if args.images.isdigit() else f"images of {args.images}"
    return compare(args, paths, described)


def compare(args: argparse.Namespace, paths: list[Path], described: str) -> int:
    """Run each side in its own process on `paths` (`args.images`) and print the table."""
    sides = [f"facesearch/{name}" for name in args.detectors]
    if importlib.util.find_spec("face_recognition"):
        sides.append("face_recognition")
    if buffalo_s.installed():
        sides.append("buffalo_s")
    results = {side: run_side(side, args) for side in sides}
    print(f"{len(paths)} {described}, CPU\n")
    print(format_table(results))
    best = {
        side: max(r["images_per_s"] for r in result["rows"] if r["stage"] == "end to end")
        for side, result in results.items()
    }
    print("\nend to end, best batch: " + ", ".join(f"{side} {rate:.1f} img/s" for side, rate in best.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
