"""Identification (1:N, open set): compare a person by their nearest enrolled face, or by the centroid of them?

    .venv/bin/python benchmarks/identify.py [--encoder NAME] [--detector NAME]

Real LFW faces (the cached embeddings of benchmarks/search.py). People with at least 6 images are enrolled with
k = 1, 2, 3, 5 of their images (chosen at random, 5 seeds); their other images are probes that should be
identified. People with fewer images, never enrolled, are probes that should come back "unknown". For each strategy:

- nearest: the person owning the nearest enrolled face, at that face's distance (what `face_nearest` returns);
- centroid: the person whose mean enrolled embedding (re-normalised) is nearest, at the distance to that mean.

Reported at the encoder's calibrated threshold (what the product decides with): accuracy on enrolled probes (right
person within the threshold), misidentification (wrong person within it), false accept of strangers; and, to compare
the strategies at equal risk, the detection-and-identification rate at a 1% false-accept rate (each strategy's own
threshold) and closed-set rank-1 accuracy.

The automatic-naming table is what ingest does with new faces: each takes the person of the nearest enrolled face
when it is within a stricter cut; reported per cut as the share of enrolled people's new faces named right, named
wrong, and the share of strangers' faces named after someone.

The last two tables calibrate identification to the gallery (`embeddings.calibration`). The people are split in two
by name: the per-comparison false-accept curve is measured on the different-person pairs of one half (printed as the
`far_curve` an encoder spec carries), then galleries of 10, 100 and 1,000 people of the other half are searched by
every face of the first half (strangers to them) at the threshold the curve gives for the target FPIR and the
gallery's size: the share of strangers named must stay at or under the target, and the share of the enrolled
people's other faces named right is what that costs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from search import lfw_embeddings

from embeddings import same_person  # the product's decision: strictly closer than the threshold or cut
from embeddings.calibration import identification_threshold
from embeddings.detection import DETECTORS

MIN_IMAGES = 6
GALLERY_SIZES = (1, 2, 3, 5)
# The distance grids below sit around facenet's 1:1 threshold; for another encoder they move by the difference of the
# thresholds, rounded to 0.05, so each cut keeps its margin to what that encoder calls the same person.
GRID_THRESHOLD = 1.065
AUTO_CUTS = (0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)
SEEDS = range(5)
CURVE_DISTANCES = np.round(np.arange(0.50, 1.2001, 0.025), 3)
OPEN_SET_PEOPLE = (10, 100, 1000)
FPIR_TARGETS = (0.01, 0.05)


def grid_shift(threshold: float) -> float:
    """How far the distance grids move for an encoder with this 1:1 threshold (0 for facenet)."""
    return round((threshold - GRID_THRESHOLD) / 0.05) * 0.05


def _distances(probes: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    """Euclidean distances (probes x gallery) of unit vectors, via the dot product."""
    return np.sqrt(np.clip(2.0 - 2.0 * probes @ gallery.T, 0.0, None))


def split(names: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, ...]:
    """Person index of every face, the people enrolled, and the rows of their gallery, their probes and strangers."""
    rng = np.random.default_rng(seed)
    _, inverse, counts = np.unique(names, return_inverse=True, return_counts=True)
    enrolled_people = np.flatnonzero(counts >= MIN_IMAGES)
    gallery_rows, probe_rows = [], []
    for p in enrolled_people:
        rows = rng.permutation(np.flatnonzero(inverse == p))
        gallery_rows += list(rows[:k])
        probe_rows += list(rows[k:])
    stranger_rows = np.flatnonzero(counts[inverse] < MIN_IMAGES)
    return inverse, enrolled_people, np.array(gallery_rows), np.array(probe_rows), stranger_rows


def automatic_naming(
    names: np.ndarray, vectors: np.ndarray, k: int, seed: int, cuts: tuple[float, ...]
) -> dict[float, dict[str, float]]:
    """New faces named after the owner of the nearest enrolled face when within a cut (what ingest does)."""
    inverse, _, gallery_rows, probe_rows, stranger_rows = split(names, k, seed)
    results = {}
    probe_d = _distances(vectors[probe_rows], vectors[gallery_rows])
    stranger_d = _distances(vectors[stranger_rows], vectors[gallery_rows]).min(axis=1)
    right = inverse[gallery_rows][probe_d.argmin(axis=1)] == inverse[probe_rows]
    nearest = probe_d.min(axis=1)
    for cut in cuts:
        results[cut] = {
            "right": np.mean(right & same_person(nearest, cut)),
            "wrong": np.mean(~right & same_person(nearest, cut)),
            "strangers": np.mean(same_person(stranger_d, cut)),
        }
    return results


def evaluate(names: np.ndarray, vectors: np.ndarray, k: int, seed: int, threshold: float) -> dict[str, dict]:
    inverse, enrolled_people, gallery_rows, probe_rows, stranger_rows = split(names, k, seed)
    gallery_owner = inverse[gallery_rows]

    centroids = np.stack([vectors[gallery_rows[gallery_owner == p]].mean(axis=0) for p in enrolled_people])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)

    results = {}
    for strategy in ("nearest", "centroid"):
        answers = {}
        for kind, rows in (("probe", probe_rows), ("stranger", stranger_rows)):
            if strategy == "nearest":
                d = _distances(vectors[rows], vectors[gallery_rows])
                best = d.argmin(axis=1)
                answers[kind] = (gallery_owner[best], d[np.arange(len(rows)), best])
            else:
                d = _distances(vectors[rows], centroids)
                best = d.argmin(axis=1)
                answers[kind] = (enrolled_people[best], d[np.arange(len(rows)), best])
        who, dist = answers["probe"]
        right = who == inverse[probe_rows]
        _, stranger_dist = answers["stranger"]
        t1 = np.quantile(stranger_dist, 0.01)  # 1% of strangers fall within this distance
        results[strategy] = {
            "accuracy": np.mean(right & same_person(dist, threshold)),
            "misidentified": np.mean(~right & same_person(dist, threshold)),
            "false_accept": np.mean(same_person(stranger_dist, threshold)),
            "dir_at_far1": np.mean(right & same_person(dist, t1)),
            "rank1": np.mean(right),
            "t_far1": t1,
        }
    results["counts"] = {"people": len(enrolled_people), "probes": len(probe_rows), "strangers": len(stranger_rows)}
    return results


def halves(names: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the calibration people and of the evaluation people (alternate names in sorted order)."""
    _, inverse = np.unique(names, return_inverse=True)
    return np.flatnonzero(inverse % 2 == 0), np.flatnonzero(inverse % 2 == 1)


def far_curve(names: np.ndarray, vectors: np.ndarray, distances: np.ndarray) -> list[tuple[float, float]]:
    """The share of different-person pairs (calibration half) closer than each of `distances` (zeros dropped)."""
    rows, _ = halves(names)
    d = _distances(vectors[rows], vectors[rows])
    upper = np.triu_indices(len(rows), 1)
    different = names[rows][upper[0]] != names[rows][upper[1]]
    impostors = np.sort(d[upper][different])
    return [
        (float(t), np.searchsorted(impostors, t) / len(impostors))
        for t in distances
        if np.searchsorted(impostors, t) > 0
    ]


def open_set(
    names: np.ndarray, vectors: np.ndarray, curve: list, *, people: int, k: int, fpir: float, seed: int, cap: float
) -> dict[str, float]:
    """A gallery of `people` evaluation-half people (k faces each; those with more than k images first, so they have
    probes), searched by their other faces and by every calibration-half face at the calibrated threshold (never
    looser than `cap`, the 1:1 threshold, as `search.services.identify_threshold` decides)."""
    strangers, evaluation = halves(names)
    rng = np.random.default_rng(seed)
    owners, counts = np.unique(names[evaluation], return_counts=True)
    with_probes = rng.permutation(owners[counts > k])
    chosen = list(with_probes[:people])
    if len(chosen) < people:  # fill with one-image people: more gallery, no probes of theirs
        chosen += list(rng.permutation(owners[counts <= k])[: people - len(chosen)])
    gallery_rows, probe_rows = [], []
    for person in chosen:
        rows = rng.permutation(evaluation[names[evaluation] == person])
        gallery_rows += list(rows[:k])
        probe_rows += list(rows[k:])
    gallery_rows, probe_rows = np.array(gallery_rows), np.array(probe_rows)
    threshold = min(cap, identification_threshold(curve, fpir=fpir, gallery_size=len(gallery_rows)))
    stranger_nearest = _distances(vectors[strangers], vectors[gallery_rows]).min(axis=1)
    probe_d = _distances(vectors[probe_rows], vectors[gallery_rows])
    right = names[gallery_rows][probe_d.argmin(axis=1)] == names[probe_rows]
    return {
        "threshold": threshold,
        "gallery": len(gallery_rows),
        "strangers_named": np.mean(same_person(stranger_nearest, threshold)),
        "named_right": np.mean(right & same_person(probe_d.min(axis=1), threshold)),
        "named_wrong": np.mean(~right & same_person(probe_d.min(axis=1), threshold)),
        "probes": len(probe_rows),
        "strangers": len(strangers),
    }


def print_open_set(real) -> None:
    curve = far_curve(real.names, real.vectors, np.round(CURVE_DISTANCES + grid_shift(real.threshold), 3))
    print("Per-comparison false-accept curve, calibration half (paste as the encoder's `far_curve`):")
    print()
    print("far_curve=(" + ", ".join(f"({d:.3f}, {f:.3g})" for d, f in curve) + "),")
    print()
    print("Identification calibrated to the gallery (strangers: the other half's faces; 5 galleries each):")
    print()
    columns = ("target FPIR", "people", "k", "gallery faces", "threshold", "strangers named",
               "enrolled faces named right", "named wrong")  # fmt: skip
    print("| " + " | ".join(columns) + " |")
    print("|" + "|".join("-" * (len(c) + 1) + ":" for c in columns) + "|")
    for fpir in FPIR_TARGETS:
        for people in OPEN_SET_PEOPLE:
            for k in (1, 3):
                if k == 3 and people > 100:
                    continue  # too few people of one half have 4+ images
                runs = [
                    open_set(real.names, real.vectors, curve, people=people, k=k, fpir=fpir, seed=s, cap=real.threshold)
                    for s in SEEDS
                ]
                m = {key: np.mean([r[key] for r in runs]) for key in runs[0]}
                print(
                    f"| {fpir:>11.1%} | {people:>6} | {k} | {m['gallery']:>13.0f} | {m['threshold']:>9.3f} "
                    f"| {m['strangers_named']:>15.2%} | {m['named_right']:>26.2%} | {m['named_wrong']:>11.2%} |"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--encoder", default="facenet")
    parser.add_argument("--detector", choices=DETECTORS, help="default: the pipeline's default detector")
    args = parser.parse_args()
    real = lfw_embeddings(encoder=args.encoder, detector=args.detector)
    threshold = real.threshold
    auto_cuts = tuple(round(cut + grid_shift(threshold), 3) for cut in AUTO_CUTS)
    print(f"{len(real.names):,} LFW faces, model {real.model_id}, threshold {threshold:.3f}")
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, len(real.names), (2, 200_000))
    different = real.names[a] != real.names[b]
    pair_distances = np.linalg.norm(real.vectors[a[different]] - real.vectors[b[different]], axis=1)
    print(
        f"1:1 false matches at the threshold: {np.mean(same_person(pair_distances, threshold)):.2%} "
        "of random different-person pairs"
    )
    print()
    print("|  k | strategy | accuracy | misidentified | false accept | DIR @ FAR 1% | threshold @ FAR 1% | rank-1 |")
    print("|---:|----------|---------:|--------------:|-------------:|-------------:|-------------------:|-------:|")
    for k in GALLERY_SIZES:
        runs = [evaluate(real.names, real.vectors, k, seed, threshold) for seed in SEEDS]
        for strategy in ("nearest", "centroid"):
            m = {key: np.mean([r[strategy][key] for r in runs]) for key in runs[0][strategy]}
            print(
                f"| {k:>2} | {strategy:<8} | {m['accuracy']:>8.2%} | {m['misidentified']:>13.2%} "
                f"| {m['false_accept']:>12.2%} | {m['dir_at_far1']:>12.2%} | {m['t_far1']:>18.3f} "
                f"| {m['rank1']:>6.2%} |"
            )
    c = runs[0]["counts"]
    print()
    print(
        f"per run: {c['people']} enrolled people, {c['probes']} probes of them (k=5), {c['strangers']} stranger probes"
    )
    print()
    print("Naming new faces automatically (nearest enrolled face within the cut):")
    print()
    print("|  k |  cut | enrolled people's faces named right | named wrong | strangers named |")
    print("|---:|-----:|------------------------------------:|------------:|----------------:|")
    for k in GALLERY_SIZES:
        runs = [automatic_naming(real.names, real.vectors, k, seed, auto_cuts) for seed in SEEDS]
        for cut in auto_cuts:
            m = {key: np.mean([r[cut][key] for r in runs]) for key in runs[0][cut]}
            print(f"| {k:>2} | {cut:.2f} | {m['right']:>35.2%} | {m['wrong']:>11.2%} | {m['strangers']:>15.2%} |")
    print()
    print_open_set(real)


if __name__ == "__main__":
    main()
