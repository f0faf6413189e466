"""LFW View 2 verification through the full pipeline: `python -m embeddings.evaluate lfw --images DIR --pairs FILE`.

Every image goes through our own read → detect → align → encode, keeping the face nearest the image centre
(LFW images are centred on their subject). An image with no detected face is counted and its pairs are scored
as "different" (distance +inf), so failures cost accuracy instead of silently vanishing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from embeddings.detection import DEFAULT_DETECTOR, DETECTORS
from embeddings.io import read
from embeddings.pipeline import FacePipeline, nearest_to_centre, same_person
from embeddings.weights import DEFAULT_DIR as DEFAULT_WEIGHTS_DIR

FOLDS = 10
FAR_TARGET = 1e-3


@dataclass(frozen=True)
class Pair:
    a: Path
    b: Path
    same: bool
    fold: int


@dataclass(frozen=True)
class LfwReport:
    encoder: str
    detector: str
    model_id: str
    pairs: int
    accuracy: float
    std: float
    threshold: float
    tar_at_far_1e_3: float
    detection_failures: int
    images: int
    images_per_s: float


def read_pairs(pairs_file: Path, images_dir: Path) -> list[Pair]:
    """Parse pairs.txt: a header `folds n`, then per fold n matched (`Name i j`) and n mismatched pairs."""
    lines = pairs_file.read_text().split("\n")
    folds, per_fold = (int(x) for x in lines[0].split())
    path = lambda name, i: images_dir / name / f"{name}_{int(i):04d}.jpg"  # noqa: E731
    pairs = []
    for k, line in enumerate(line for line in lines[1:] if line.strip()):
        fields = line.split()
        fold = k // (2 * per_fold)
        if len(fields) == 3:
            pairs.append(Pair(path(fields[0], fields[1]), path(fields[0], fields[2]), True, fold))
        else:
            pairs.append(Pair(path(fields[0], fields[1]), path(fields[2], fields[3]), False, fold))
    if len(pairs) != folds * 2 * per_fold:
        raise ValueError(f"{pairs_file}: expected {folds * 2 * per_fold} pairs, found {len(pairs)}")
    return pairs


def embed_images(pipeline: FacePipeline, paths: Sequence[Path], chunk: int = 64) -> dict[Path, np.ndarray | None]:
    """Embedding of the face nearest the centre of each image; None where no face was detected."""
    result: dict[Path, np.ndarray | None] = {}
    with tqdm(total=len(paths), unit="img", desc="encoding", file=sys.stderr) as progress:
        for start in range(0, len(paths), chunk):
            batch = list(paths[start : start + chunk])
            images = [read(path) for path in batch]
            for path, image, faces in zip(batch, images, pipeline.encode_batch(images), strict=True):
                face = nearest_to_centre(faces, image.shape)
                result[path] = None if face is None else face.embedding
            progress.update(len(batch))
    return result


def best_threshold(distances: np.ndarray, same: np.ndarray) -> float:
    """The threshold maximising accuracy on these pairs (midpoints between sorted distances), under `same_person`:
    the rule verify and identify then apply with it."""
    finite = np.sort(distances[np.isfinite(distances)])
    candidates = np.concatenate([[0.0], (finite[1:] + finite[:-1]) / 2, [finite[-1] + 1e-6]])
    accuracies = [np.mean(same_person(distances, t) == same) for t in candidates]
    return float(candidates[int(np.argmax(accuracies))])


def tar_at_far(distances: np.ndarray, same: np.ndarray, far: float = FAR_TARGET) -> float:
    """True accept rate at the strictest threshold whose false accept rate on all mismatched pairs is ≤ `far`."""
    negatives = np.sort(distances[~same])
    allowed = int(np.floor(far * len(negatives)))  # false accepts permitted
    threshold = negatives[allowed] if allowed < len(negatives) else np.inf
    return float(np.mean(same_person(distances[same], threshold)))


def evaluate_pairs(distances: np.ndarray, same: np.ndarray, folds: np.ndarray) -> tuple[float, float, float]:
    """10-fold protocol: threshold chosen on 9 folds, accuracy measured on the 10th. Returns (mean, std, threshold)."""
    accuracies, thresholds = [], []
    for fold in np.unique(folds):
        train, test = folds != fold, folds == fold
        threshold = best_threshold(distances[train], same[train])
        thresholds.append(threshold)
        accuracies.append(np.mean(same_person(distances[test], threshold) == same[test]))
    return float(np.mean(accuracies)), float(np.std(accuracies)), float(np.mean(thresholds))


def evaluate_lfw(pipeline: FacePipeline, images_dir: Path, pairs_file: Path) -> LfwReport:
    pairs = read_pairs(pairs_file, images_dir)
    paths = sorted({p for pair in pairs for p in (pair.a, pair.b)})
    pipeline.warm_up()
    started = time.perf_counter()
    embeddings = embed_images(pipeline, paths)
    elapsed = time.perf_counter() - started

    def pair_distance(pair: Pair) -> float:
        a, b = embeddings[pair.a], embeddings[pair.b]
        return np.inf if a is None or b is None else float(np.linalg.norm(a - b))

    distances = np.array([pair_distance(pair) for pair in pairs])
    same = np.array([pair.same for pair in pairs])
    accuracy, std, threshold = evaluate_pairs(distances, same, np.array([pair.fold for pair in pairs]))
    return LfwReport(
        encoder=pipeline.spec.name,
        detector=pipeline.detector.name,
        model_id=pipeline.spec.model_id,
        pairs=len(pairs),
        accuracy=accuracy,
        std=std,
        threshold=threshold,
        tar_at_far_1e_3=tar_at_far(distances, same),
        detection_failures=sum(e is None for e in embeddings.values()),
        images=len(paths),
        images_per_s=len(paths) / elapsed,
    )


def format_report(report: LfwReport) -> str:
    rows = [
        ("encoder", f"{report.encoder} ({report.model_id})"),
        ("detector", report.detector),
        ("pairs", f"{report.pairs}"),
        ("accuracy", f"{report.accuracy:.2%} ± {report.std:.2%}"),
        ("threshold (mean of folds)", f"{report.threshold:.3f}"),
        ("TAR @ FAR=1e-3", f"{report.tar_at_far_1e_3:.2%}"),
        ("detection failures", f"{report.detection_failures} of {report.images} images"),
        ("images/s (read→detect→align→encode)", f"{report.images_per_s:.1f}"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m embeddings.evaluate", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="benchmark", required=True)
    lfw = commands.add_parser("lfw", help="LFW View 2: 10 folds, threshold chosen on 9, tested on the 10th")
    lfw.add_argument("--images", type=Path, required=True, help="folder of <Name>/<Name>_NNNN.jpg")
    lfw.add_argument("--pairs", type=Path, required=True, help="pairs.txt")
    lfw.add_argument("--encoder", default="facenet")
    lfw.add_argument("--detector", choices=DETECTORS, default=DEFAULT_DETECTOR)
    lfw.add_argument("--weights-dir", type=Path, default=DEFAULT_WEIGHTS_DIR)
    lfw.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args(argv)

    pipeline = FacePipeline(args.encoder, detector=args.detector, weights_dir=args.weights_dir)
    report = evaluate_lfw(pipeline, args.images, args.pairs)
    if args.json:
        figures = asdict(report)
        figures["tar_at_far_1e-3"] = figures.pop("tar_at_far_1e_3")
        print(json.dumps(figures))
    else:
        print(format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
