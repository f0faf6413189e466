"""Fusing encoders on LFW: each alone, weighted together, and with flipped crops. `python benchmarks/fusion.py`.

    .venv/bin/python benchmarks/fusion.py --encoders facenet sface dlib-resnet
    FACESEARCH_ACCEPT_INSIGHTFACE_NONCOMMERCIAL_LICENSE=yes \
        .venv/bin/python benchmarks/fusion.py --encoders facenet sface dlib-resnet arcface-mbf

arcface-mbf may join only as such an option, once its non-commercial licence is accepted (even from its cache).

Every image of LFW View 1 (pairsDevTrain, pairsDevTest) and View 2 (pairs.txt) goes once through the pipeline's
detector (the face nearest the centre, as `embeddings.evaluate` keeps it); its landmarks are cached, then each
encoder aligns the face on its own template and encodes the crop and its mirror image (flip), each cached under
var/benchmarks/fusion/ by model id, so a later run, or another encoder, pays only for what is new.

A fused vector is the concatenation of each member's unit vector times its weight, L2-normalised: its squared
distance is 2 - 2 * sum(w_e^2 cos_e) / sum(w_e^2), a weighted mean of the members' cosines. The weights are chosen
on View 1 only: the grid point (squared weights in steps of `--step`, summing to 1) with the best accuracy on
pairsDevTest at the threshold best on pairsDevTrain, ties broken by the ROC AUC over all View 1 pairs. View 2 is
then measured once, as `embeddings.evaluate` does (10 folds, threshold chosen on 9; no face = "different").
Flip TTA replaces each member's vector by the unit mean of the crop's and its mirror's vectors.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from embeddings.alignment import align_batch  # noqa: E402
from embeddings.evaluate import best_threshold, evaluate_pairs, read_pairs, tar_at_far  # noqa: E402
from embeddings.io import read  # noqa: E402
from embeddings.pipeline import FacePipeline, nearest_to_centre, same_person  # noqa: E402

LFW_DIR = ROOT.parent / "shared" / "data" / "lfw"
CACHE_DIR = ROOT / "var" / "benchmarks" / "fusion"
CHUNK = 32


def read_dev_pairs(path: Path, images_dir: Path) -> tuple[list[tuple[Path, Path]], np.ndarray]:
    """View 1 pairs (pairsDevTrain/Test: an optional count line, then matched `Name i j` and mismatched pairs)."""
    pairs, same = [], []
    for line in path.read_text().splitlines():
        fields = line.split()
        if len(fields) not in (3, 4):
            continue
        file = lambda name, i: images_dir / name / f"{name}_{int(i):04d}.jpg"  # noqa: E731
        if len(fields) == 3:
            pairs.append((file(fields[0], fields[1]), file(fields[0], fields[2])))
        else:
            pairs.append((file(fields[0], fields[1]), file(fields[2], fields[3])))
        same.append(len(fields) == 3)
    return pairs, np.array(same)


def cached_landmarks(files: list[Path], detector_name: str) -> np.ndarray:
    """(N, 5, 2) landmarks of the face nearest each image's centre, NaN where none was found; cached."""
    cache = CACHE_DIR / f"landmarks_{detector_name}.npz"
    known: dict[str, np.ndarray] = {}
    if cache.exists():
        data = np.load(cache)
        known = dict(zip(data["files"], data["landmarks"], strict=True))
    missing = [f for f in files if str(f) not in known]
    if missing:
        detector = FacePipeline(detector=detector_name).detector
        started = time.perf_counter()
        for start in range(0, len(missing), CHUNK):
            chunk = missing[start : start + CHUNK]
            images = [read(path) for path in chunk]
            for path, image, faces in zip(chunk, images, detector.detect_batch(images), strict=True):
                face = nearest_to_centre(faces, image.shape)
                known[str(path)] = np.full((5, 2), np.nan) if face is None else np.asarray(face.landmarks, np.float64)
            print(f"\rdetected {start + len(chunk)}/{len(missing)}", end="", file=sys.stderr)
        print(f"\n{len(missing)} images detected in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        np.savez(cache, files=np.array(list(known)), landmarks=np.stack(list(known.values())))
    return np.stack([known[str(f)] for f in files])


def cached_vectors(
    files: list[Path], landmarks: np.ndarray, encoder: str, detector_name: str, *, flip: bool
) -> np.ndarray:
    """(N, 2, dim) unit vectors of each image's aligned crop and of its mirror image (NaN without `flip`), NaN where
    no face; cached. The crop's vectors benchmarks/lfw_all.py cached (the pipeline's, of every LFW image) are used
    where they exist, so only what they lack is encoded."""
    from embeddings.encoders import get_spec, load_encoder
    from embeddings.weights import DEFAULT_DIR

    spec = get_spec(encoder)
    cache = CACHE_DIR / f"vectors_{spec.model_id}_{detector_name}{'' if flip else '_noflip'}.npz"
    known: dict[str, np.ndarray] = {}
    if cache.exists():
        data = np.load(cache)
        known = dict(zip(data["files"], data["vectors"], strict=True))
    lfw_all = CACHE_DIR.parent / f"lfw_all_{spec.model_id}.npz"
    nan = np.full(spec.dim, np.nan, np.float32)
    pipeline_vectors: dict[str, np.ndarray] = {}
    if detector_name == "mtcnn" and lfw_all.exists():
        data = np.load(lfw_all)
        pairs = zip(data["files"], data["vectors"], strict=True)
        pipeline_vectors = {str(LFW_DIR / "images" / f): v for f, v in pairs}
    if not flip:
        known.update({str(f): np.stack([pipeline_vectors[str(f)], nan]) for f in files if str(f) in pipeline_vectors})
    todo = [i for i, f in enumerate(files) if str(f) not in known]
    if todo:
        model = load_encoder(encoder, ROOT / DEFAULT_DIR)
        started, faces = time.perf_counter(), 0
        for start in range(0, len(todo), CHUNK):
            chunk = todo[start : start + CHUNK]
            found = [i for i in chunk if not np.isnan(landmarks[i]).any()]
            for i in set(chunk) - set(found):
                known[str(files[i])] = np.full((2, spec.dim), np.nan, np.float32)
            if found:
                images = [read(files[i]) for i in found]
                points = [landmarks[i][None] for i in found]
                crops = align_batch(images, points, spec.template, spec.input_size, np.float32)
                new = [k for k, i in enumerate(found) if str(files[i]) not in pipeline_vectors]
                out = model.embed(np.concatenate([crops[new], *([crops[:, :, ::-1]] if flip else [])]))
                fresh = dict(zip(new, out[: len(new)], strict=True))
                for k, i in enumerate(found):
                    vector = fresh[k] if k in fresh else pipeline_vectors[str(files[i])]
                    known[str(files[i])] = np.stack([vector, out[len(new) + k] if flip else nan])
                faces += len(found)
            print(f"\r{encoder}: encoded {start + len(chunk)}/{len(todo)}", end="", file=sys.stderr)
        elapsed = time.perf_counter() - started
        print(f"\n{encoder}: {faces} faces in {elapsed:.0f} s", file=sys.stderr)
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        np.savez(cache, files=np.array(list(known)), vectors=np.stack(list(known.values())))
    return np.stack([known[str(f)] for f in files])


def member_vectors(vectors: np.ndarray, flip: bool) -> np.ndarray:
    """(N, dim) unit vectors: the crop's, or (flip TTA) the unit mean of the crop's and its mirror's; the crop's alone
    for an encoder whose mirror images were not encoded."""
    flip = flip and not np.isnan(vectors[:, 1]).all(axis=1).all()
    v = vectors[:, 0] + vectors[:, 1] if flip else vectors[:, 0]
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def pair_cosines(vectors: np.ndarray, index: dict[str, int], pairs: list[tuple[Path, Path]]) -> np.ndarray:
    a = vectors[[index[str(p)] for p, _ in pairs]]
    b = vectors[[index[str(q)] for _, q in pairs]]
    return (a * b).sum(axis=1)  # NaN where either image has no face


def fused_distances(cosines: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(pairs,) distances of the fused unit vectors from each member's pair cosines (members, pairs); inf for NaN."""
    squared = np.asarray(weights, np.float64) ** 2
    mean_cosine = (squared[:, None] * cosines).sum(axis=0) / squared.sum()
    distances = np.sqrt(np.maximum(2 - 2 * mean_cosine, 0))
    return np.where(np.isnan(distances), np.inf, distances)


def auc(distances: np.ndarray, same: np.ndarray) -> float:
    """Probability that a matched pair is closer than a mismatched one (ties count half)."""
    ranks = np.argsort(np.argsort(distances, kind="stable"), kind="stable") + 1.0
    positives = same.sum()
    return float(1 - (ranks[same].sum() - positives * (positives + 1) / 2) / (positives * (~same).sum()))


def choose_weights(train: np.ndarray, same_train: np.ndarray, test: np.ndarray, same_test: np.ndarray, step: float):
    """Weights (unit sum of squares) best on View 1: dev-test accuracy at the dev-train threshold, then AUC."""
    members = train.shape[0]
    ticks = round(1 / step)
    best, best_key = None, None
    for parts in itertools.product(range(ticks + 1), repeat=members - 1):
        if sum(parts) > ticks:
            continue
        squared = np.array([*parts, ticks - sum(parts)]) / ticks
        weights = np.sqrt(squared)
        threshold = best_threshold(fused_distances(train, weights), same_train)
        accuracy = np.mean(same_person(fused_distances(test, weights), threshold) == same_test)
        both = np.concatenate([fused_distances(train, weights), fused_distances(test, weights)])
        key = (accuracy, auc(both, np.concatenate([same_train, same_test])))
        if best_key is None or key > best_key:
            best, best_key = weights, key
    return best, best_key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lfw-dir", type=Path, default=LFW_DIR)
    parser.add_argument("--pairs", type=Path, default=LFW_DIR / "pairs.txt", help="View 2")
    parser.add_argument("--dev-train", type=Path, default=LFW_DIR / "pairsDevTrain.txt", help="View 1 training pairs")
    parser.add_argument("--dev-test", type=Path, default=LFW_DIR / "pairsDevTest.txt", help="View 1 test pairs")
    parser.add_argument("--encoders", nargs="+", default=["facenet", "sface", "dlib-resnet"])
    parser.add_argument("--no-flip", nargs="*", default=[], help="encoders whose mirror images are not encoded")
    parser.add_argument("--detector", default="mtcnn")
    parser.add_argument("--step", type=float, default=0.05, help="grid step of the squared weights")
    parser.add_argument(
        "--far-curves", action="store_true", help="also print each encoder's false-accept curve on these faces"
    )
    parser.add_argument(
        "--search-cache",
        action="store_true",
        help="only write the `fusion` encoder's benchmarks/search.py cache from its members' caches, for identify.py "
        "and clustering.py --encoder fusion",
    )
    args = parser.parse_args()
    if args.search_cache:
        compose_search_cache()
        return

    from embeddings.encoders import get_spec
    from embeddings.errors import WeightsError
    from embeddings.weights import require_licence

    try:  # before any cached vector is read, not only when weights are loaded
        for name in args.encoders:
            require_licence(get_spec(name))
    except WeightsError as error:
        raise SystemExit(str(error)) from None

    images = args.lfw_dir / "images"
    view2 = read_pairs(args.pairs, images)
    dev_train, same_train = read_dev_pairs(args.dev_train, images)
    dev_test, same_test = read_dev_pairs(args.dev_test, images)
    view2_pairs = [(p.a, p.b) for p in view2]
    same2, folds = np.array([p.same for p in view2]), np.array([p.fold for p in view2])
    files = sorted({p for pair in [*dev_train, *dev_test, *view2_pairs] for p in pair})
    index = {str(f): i for i, f in enumerate(files)}
    print(f"{len(files)} images: View 1 {len(dev_train)} + {len(dev_test)} pairs, View 2 {len(view2)} pairs")

    landmarks = cached_landmarks(files, args.detector)
    print(f"no face found in {int(np.isnan(landmarks[:, 0, 0]).sum())} images ({args.detector})")
    vectors = {
        name: cached_vectors(files, landmarks, name, args.detector, flip=name not in args.no_flip)
        for name in args.encoders
    }

    rows = []
    for flip in (False, True):
        cosines = {
            name: [pair_cosines(member_vectors(v, flip), index, pairs) for pairs in (dev_train, dev_test, view2_pairs)]
            for name, v in vectors.items()
        }
        candidates = [((name,), np.ones(1)) for name in args.encoders]
        for size in range(2, len(args.encoders) + 1):
            for members in itertools.combinations(args.encoders, size):
                stacked = [np.stack([cosines[m][k] for m in members]) for k in range(3)]
                weights, _ = choose_weights(stacked[0], same_train, stacked[1], same_test, args.step)
                candidates.append((members, weights))
        for members, weights in candidates:
            stacked = [np.stack([cosines[m][k] for m in members]) for k in range(3)]
            dev_threshold = best_threshold(fused_distances(stacked[0], weights), same_train)
            view1 = np.mean(same_person(fused_distances(stacked[1], weights), dev_threshold) == same_test)
            distances = fused_distances(stacked[2], weights)
            accuracy, std, threshold = evaluate_pairs(distances, same2, folds)
            tar = tar_at_far(distances, same2)
            rows.append((" + ".join(members), flip, weights, view1, accuracy, std, threshold, tar))

    print(f"\n{'encoders':34} {'flip':4}  {'weights (View 1)':22} {'View 1':>7}  {'View 2 accuracy':>16}  "
          f"{'threshold':>9}  {'TAR@1e-3':>8}")  # fmt: skip
    if args.no_flip:
        print(f"(flip rows use the crop alone for {', '.join(args.no_flip)}: its mirror images were not encoded)")
    for name, flip, weights, view1, accuracy, std, threshold, tar in rows:
        shown = " ".join(f"{w:.3f}" for w in weights)
        print(f"{name:34} {'yes' if flip else 'no':4}  {shown:22} {view1:7.2%}  {accuracy:8.2%} ± {std:5.2%}  "
              f"{threshold:9.3f}  {tar:8.2%}")  # fmt: skip
    if args.far_curves:
        singles = {name: member_vectors(v, flip=False) for name, v in vectors.items()}
        name, _, weights, *_ = next(row for row in rows if not row[1] and row[0].count(" + ") == len(vectors) - 1)
        fused = {name: np.concatenate([w * singles[m] for w, m in zip(weights, vectors, strict=True)], axis=1)}
        every = {**singles, **{n: v / np.linalg.norm(v, axis=1, keepdims=True) for n, v in fused.items()}}
        print_far_curves(files, every, {row[0]: row[6] for row in rows if not row[1]})


def compose_search_cache() -> None:
    """The `fusion` encoder's vectors of benchmarks/search.py's LFW faces, from each member's cache of them: what its
    pipeline gives (one detection, each member's crop and vector, weighted and joined), without encoding again."""
    from search import PER_PERSON_CAP, SINGLETONS, _library_version

    from embeddings.encoders import get_spec

    spec = get_spec("fusion")
    caches = [
        np.load(CACHE_DIR.parent / f"lfw_{get_spec(n).model_id}_cap{PER_PERSON_CAP}_s{SINGLETONS}.npz")
        for n, _ in spec.members
    ]
    files = caches[0]["files"]
    if any(list(cache["files"]) != list(files) for cache in caches):
        raise SystemExit("the members' caches hold different faces: re-encode them with benchmarks/search.py")
    fused = np.concatenate([w * c["vectors"] for (_, w), c in zip(spec.members, caches, strict=True)], axis=1)
    fused /= np.linalg.norm(fused, axis=1, keepdims=True)
    cache = CACHE_DIR.parent / f"lfw_{spec.model_id}_cap{PER_PERSON_CAP}_s{SINGLETONS}.npz"
    np.savez(cache, names=caches[0]["names"], files=files, vectors=fused.astype(np.float32),
             model_id=np.array(spec.model_id), library=np.array(_library_version()))  # fmt: skip
    print(f"{len(files)} fused faces -> {cache}")


def print_far_curves(files: list[Path], vectors: dict[str, np.ndarray], thresholds: dict[str, float]) -> None:
    """Each encoder's (and the fusion of all of them's) per-comparison false-accept curve (`EncoderSpec.far_curve`),
    as benchmarks/identify.py measures it (different-person pairs among the faces of every other person, sorted by
    name), on these faces."""
    from identify import CURVE_DISTANCES, far_curve, grid_shift

    names = np.array([f.parent.name for f in files])
    for name, v in vectors.items():
        found = ~np.isnan(v[:, 0])
        grid = np.round(CURVE_DISTANCES + grid_shift(thresholds[name]), 3)
        curve = far_curve(names[found], v[found], grid)
        print(f"\n{name}: far_curve over {found.sum()} faces")
        print("far_curve=(" + ", ".join(f"({d:.3f}, {f:.3g})" for d, f in curve) + "),")


if __name__ == "__main__":
    main()
