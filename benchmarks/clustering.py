"""Suggested people: which linkage, and which distance cut, groups unknown faces into one person per group?

    .venv/bin/python benchmarks/clustering.py [--encoder NAME] [--detector NAME]

Real LFW faces (the cached embeddings of benchmarks/search.py: people with 2+ images, at most 20 each, and 600
one-image people). Each run clusters a window of random faces with the batch rule (`embeddings.cluster`, which
chose the linkage and the cut; `benchmarks/grouping.py` runs the product's incremental grouping over all of LFW),
and scores the groups of 2+ faces against the LFW names:

- precision: of the face pairs put in one group, the share that are one person (a wrong pair is a wrong suggestion);
- recall: of the same-person pairs in the window, the share put in one group (a missed pair is more clicking);
- pure groups: groups whose faces are all one person; grouped: faces that land in some group of 2+.

Single linkage (connected components of "within the cut", the naive neighbour graph) is the baseline measured in the
same run; `embeddings.cluster` uses average linkage.

The second table scores the other half of a suggestion, "these faces look like <an enrolled person>": half of the
people with 3+ images are enrolled with one random image each; the window (2,000 of the other faces) is grouped at
the encoder's `group_distance`; each group's mean face (re-normalised) is compared with its nearest enrolled face,
and the person is suggested when that distance is within the cut. The last table times `embeddings.cluster`.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

sys.path.insert(0, str(Path(__file__).resolve().parent))

from identify import grid_shift  # the cuts below are facenet's; another encoder's move with its threshold
from search import lfw_embeddings

from embeddings import cluster, get_spec, same_person
from embeddings.detection import DETECTORS

WINDOW = 2000
SEEDS = range(5)
METHODS = ("single", "complete", "average")
CUTS = (0.7, 0.75, 0.8, 0.85, 0.9, 1.0)
PERSON_CUTS = (0.6, 0.7, 0.8, 0.9, 1.0)


def score(names: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Pairwise precision and recall of the groups of 2+ (singleton labels count as no group)."""
    sizes = np.bincount(labels)
    grouped = sizes[labels] >= 2
    upper = np.triu_indices(len(names), 1)
    same = (names[:, None] == names[None, :])[upper]
    together = (labels[:, None] == labels[None, :])[upper]
    groups = [names[labels == label] for label in np.flatnonzero(sizes >= 2)]
    return {
        "precision": (same & together).sum() / max(together.sum(), 1),
        "recall": (same & together).sum() / max(same.sum(), 1),
        "pure": np.mean([len(set(group)) == 1 for group in groups]) if groups else 1.0,
        "grouped": grouped.mean(),
        "groups": len(groups),
        "largest": sizes.max(),
    }


def person_suggestions(real, group_distance: float, cuts: tuple[float, ...]) -> dict[float, dict[str, float]]:
    """Per cut: share of suggestions that are right, of enrolled people's groups named right, of strangers' named."""
    _, owner, counts = np.unique(real.names, return_inverse=True, return_counts=True)
    outcomes = []  # (group's person is enrolled, nearest enrolled face is theirs, its distance to the mean face)
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        people = np.flatnonzero(counts >= 3)
        enrolled = rng.choice(people, len(people) // 2, replace=False)
        gallery = np.array([rng.choice(np.flatnonzero(owner == person)) for person in enrolled])
        window = rng.choice(np.setdiff1d(np.arange(len(owner)), gallery), WINDOW, replace=False)
        for group in cluster(real.vectors[window], group_distance):
            rows = window[group]
            person = np.bincount(owner[rows]).argmax()
            mean = real.vectors[rows].mean(axis=0)
            distances = np.linalg.norm(real.vectors[gallery] - mean / np.linalg.norm(mean), axis=1)
            nearest = distances.argmin()
            outcomes.append((person in enrolled, owner[gallery[nearest]] == person, distances[nearest]))
    known, right, distance = (np.array(column) for column in zip(*outcomes, strict=True))
    results = {}
    for cut in sorted({*cuts, group_distance, real.threshold}):
        named = same_person(distance, cut)  # as `face_groups_suggested` names a group (`face_nearest`'s cut)
        results[cut] = {
            "right": (named & right).sum() / max(named.sum(), 1),
            "recall": (named & right & known).sum() / known.sum(),
            "strangers": (named & ~known).sum() / (~known).sum(),
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--encoder", default="facenet")
    parser.add_argument("--detector", choices=DETECTORS, help="default: the pipeline's default detector")
    args = parser.parse_args()
    encoder = args.encoder
    real = lfw_embeddings(encoder=encoder, detector=args.detector)
    shift = grid_shift(real.threshold)
    print(f"{len(real.names):,} LFW faces, model {real.model_id}; windows of {WINDOW} random faces, {len(SEEDS)} seeds")
    windows = []
    for seed in SEEDS:
        rows = np.random.default_rng(seed).choice(len(real.names), WINDOW, replace=False)
        windows.append((real.names[rows], real.vectors[rows].astype(np.float64)))
    names, _ = windows[0]
    _, counts = np.unique(names, return_counts=True)
    print(f"a window holds {len(counts)} people, {np.sum(counts == 1)} of them with one face there")
    print()
    print("| linkage  |  cut | precision | recall | pure groups | grouped | groups | largest |")
    print("|----------|-----:|----------:|-------:|------------:|--------:|-------:|--------:|")
    for method in METHODS:
        trees = [(names, linkage(vectors, method=method, metric="euclidean")) for names, vectors in windows]
        for cut in (round(cut + shift, 3) for cut in CUTS):
            runs = [score(names, fcluster(tree, cut, criterion="distance")) for names, tree in trees]
            m = {key: np.mean([run[key] for run in runs]) for key in runs[0]}
            print(
                f"| {method:<8} | {cut:.2f} | {m['precision']:>9.1%} | {m['recall']:>6.1%} | {m['pure']:>11.1%} "
                f"| {m['grouped']:>7.1%} | {m['groups']:>6.0f} | {m['largest']:>7.0f} |"
            )
    print()
    group_distance = get_spec(encoder).group_distance
    print(f"Naming groups (average linkage at group_distance {group_distance}) after an enrolled person:")
    print()
    print("|   cut | suggestions right | enrolled people's groups named | strangers' groups named |")
    print("|------:|------------------:|-------------------------------:|------------------------:|")
    person_cuts = tuple(round(cut + shift, 3) for cut in PERSON_CUTS)
    for cut, m in person_suggestions(real, group_distance, person_cuts).items():
        print(f"| {cut:.3f} | {m['right']:>17.1%} | {m['recall']:>30.1%} | {m['strangers']:>23.1%} |")
    print()
    print("| window | embeddings.cluster | peak memory |")
    print("|-------:|-------------------:|------------:|")
    for size in (500, 1000, 2000, 4000, len(real.names)):
        vectors = real.vectors[:size]
        tracemalloc.start()
        start = time.perf_counter()
        cluster(vectors, 0.8)
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"| {size:>6} | {elapsed * 1000:>15.0f} ms | {peak / 2**20:>8.0f} MiB |")


if __name__ == "__main__":
    main()
