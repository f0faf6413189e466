"""Every unknown face grouped, incrementally: how right are the groups over all of LFW, and what does a face cost?

    .venv/bin/python benchmarks/grouping.py

All 13,233 LFW images (`benchmarks/lfw_all.py` encodes them once with the product pipeline; one face per image, the
subject), fed one by one in a random order to `embeddings.grouping.IncrementalGrouper`, the rule the product runs at
ingest (`embeddings.grouping.place`, each new face looking at its NEIGHBOURS nearest earlier faces, found here by an
exact scan where the product asks the HNSW index), with the maintenance pass (`regroup_touched`, the periodic task's
local re-clustering) every MAINTAIN_EVERY faces or not at all; then scored against the LFW names over the whole set:

- precision: of the face pairs put in one group, the share that are one person;
- recall: of the same-person pairs, the share put in one group;
- cost per face: milliseconds of `add` and of maintenance per face, and neighbour queries per face; in brackets the
  part spent in the exact neighbour scans over up to 13,233 vectors that stand in for the product's HNSW queries
  (the rest is the rule itself: `place`, `regroup`).

The batch `embeddings.cluster` over all faces at once (what re-clustering from scratch gives, O(N²) memory) is the
reference on the same faces.

The second table is the review margin of automatic naming (`embeddings.grouping.REVIEW_FAR`): half of the people
with 4+ images enrolled with 3 images each (5 seeds), every other face compared with its nearest enrolled face; a
face is named when that distance is under `review_distance`, sent to review when it is between that and
`auto_assign_distance`, left alone beyond.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lfw_all import lfw_all_embeddings

from embeddings import cluster, get_spec
from embeddings.grouping import NEIGHBOURS, IncrementalGrouper, review_distance

SEEDS = (0, 1)
MAINTAIN_EVERY = (0, 1000)  # faces between maintenance passes; 0: never


def pair_scores(names: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Pair precision and recall from counts (no N-by-N matrix): pairs within groups, within names, within both."""

    def pairs(*columns: np.ndarray) -> int:
        _, counts = np.unique(np.stack(columns, axis=1), axis=0, return_counts=True)
        return int((counts * (counts - 1) // 2).sum())

    _, name_ids = np.unique(names, return_inverse=True)
    together, same, both = pairs(labels), pairs(name_ids), pairs(labels, name_ids)
    sizes = np.bincount(np.unique(labels, return_inverse=True)[1])
    return {
        "precision": both / max(together, 1),
        "recall": both / max(same, 1),
        "grouped": float((sizes[sizes >= 2]).sum() / len(names)),
        "groups": int((sizes >= 2).sum()),
        "largest": int(sizes.max()),
    }


def incremental(vectors: np.ndarray, order: np.ndarray, cut: float, maintain_every: int) -> tuple[np.ndarray, dict]:
    """Feed the faces in `order`; labels per face (in the original row order) and the cost figures."""
    added = np.zeros((len(vectors), vectors.shape[1]), np.float32)
    keys = np.zeros(len(vectors), int)
    count = 0
    scan_seconds = 0.0

    def nearest(vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        nonlocal scan_seconds
        start = time.perf_counter()
        try:
            return _nearest(vector, k)
        finally:
            scan_seconds += time.perf_counter() - start

    def _nearest(vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        if not count:
            return []
        distances = np.linalg.norm(added[:count] - vector, axis=1)
        top = np.argpartition(distances, min(k, count - 1))[:k] if count > k else np.arange(count)
        top = top[np.argsort(distances[top])]
        return [(int(keys[i]), float(distances[i])) for i in top]

    grouper = IncrementalGrouper(nearest, cut)
    add_seconds = maintain_seconds = 0.0
    maintain_queries = 0
    for step, row in enumerate(order, 1):
        start = time.perf_counter()
        grouper.add(int(row), vectors[row], photo=int(row))  # LFW: one subject per image, each image its own photo
        add_seconds += time.perf_counter() - start
        added[count], keys[count] = vectors[row], row
        count += 1
        if maintain_every and step % maintain_every == 0:
            before = grouper.queries
            start = time.perf_counter()
            grouper.regroup_touched()
            maintain_seconds += time.perf_counter() - start
            maintain_queries += grouper.queries - before
    cost = {
        "add_ms": add_seconds * 1000 / len(order),
        "scan_ms": scan_seconds * 1000 / len(order),
        "maintain_ms": maintain_seconds * 1000 / len(order),
        "queries": (grouper.queries - maintain_queries) / len(order),
        "maintain_queries": maintain_queries / len(order),
    }
    return grouper.labels(list(range(len(vectors)))), cost


def main() -> None:
    real = lfw_all_embeddings()
    cut = get_spec("facenet").group_distance
    vectors = real.vectors.astype(np.float32)
    _, counts = np.unique(real.names, return_counts=True)
    print(
        f"{len(real.names):,} LFW faces of {len(counts):,} people ({np.sum(counts == 1):,} with one image), model "
        f"{real.model_id}; cut {cut} (group_distance), {NEIGHBOURS} neighbours per face, seeds {list(SEEDS)}"
    )
    print()
    print(
        "| grouping | maintenance | precision | recall | grouped | groups | largest | ms/face (exact scans) "
        "| queries/face |"
    )
    print("|----------|------------:|----------:|-------:|--------:|-------:|--------:|------:|-------------:|")
    for every in MAINTAIN_EVERY:
        runs = []
        for seed in SEEDS:
            order = np.random.default_rng(seed).permutation(len(vectors))
            labels, cost = incremental(vectors, order, cut, every)
            runs.append(pair_scores(real.names, labels) | cost)
        m = {key: np.mean([run[key] for run in runs]) for key in runs[0]}
        maintenance = f"every {every:,}" if every else "none"
        ms = m["add_ms"] + m["maintain_ms"]
        queries = m["queries"] + m["maintain_queries"]
        print(
            f"| incremental | {maintenance:>11} | {m['precision']:>9.2%} | {m['recall']:>6.2%} | {m['grouped']:>7.1%} "
            f"| {m['groups']:>6.0f} | {m['largest']:>7.0f} | {ms:>5.2f} ({m['scan_ms']:.2f}) | {queries:>12.2f} |"
        )
    start = time.perf_counter()
    labels = np.zeros(len(vectors), int)
    groups = cluster(vectors, cut)
    for number, rows in enumerate(groups, 1):
        labels[rows] = number
    alone = labels == 0
    labels[alone] = len(groups) + 1 + np.arange(alone.sum())
    elapsed = time.perf_counter() - start
    m = pair_scores(real.names, labels)
    print(
        f"| batch (from scratch) | - | {m['precision']:>9.2%} | {m['recall']:>6.2%} | {m['grouped']:>7.1%} "
        f"| {m['groups']:>6.0f} | {m['largest']:>7.0f} | {elapsed:.1f} s in all | - |"
    )
    naming_table(real, get_spec("facenet"))


def naming_margin(names: np.ndarray, vectors: np.ndarray, review: float, cut: float) -> dict[str, float]:
    """Shares of enrolled people's other faces and of strangers' faces named (right, wrong) and sent to review."""
    _, owner, counts = np.unique(names, return_inverse=True, return_counts=True)
    totals = {key: 0 for key in ("known", "strangers", "named", "wrong", "review", "review_right", "strangers_named",
                                 "strangers_review")}  # fmt: skip
    for seed in range(5):
        rng = np.random.default_rng(seed)
        people = np.flatnonzero(counts >= 4)
        enrolled = rng.choice(people, len(people) // 2, replace=False)
        gallery = np.concatenate([rng.choice(np.flatnonzero(owner == p), 3, replace=False) for p in enrolled])
        queries = np.setdiff1d(np.arange(len(names)), gallery)
        known = np.isin(owner[queries], enrolled)
        nearest, distance = np.empty(len(queries), int), np.empty(len(queries))
        for start in range(0, len(queries), 2000):
            block = queries[start : start + 2000]
            d = np.linalg.norm(vectors[block, None, :] - vectors[None, gallery, :], axis=2)
            nearest[start : start + len(block)] = gallery[d.argmin(axis=1)]
            distance[start : start + len(block)] = d.min(axis=1)
        right = owner[nearest] == owner[queries]
        named, review_ = distance < review, (distance >= review) & (distance < cut)
        totals["known"] += known.sum()
        totals["strangers"] += (~known).sum()
        totals["named"] += (named & known & right).sum()
        totals["wrong"] += (named & known & ~right).sum()
        totals["review"] += (review_ & known).sum()
        totals["review_right"] += (review_ & known & right).sum()
        totals["strangers_named"] += (named & ~known).sum()
        totals["strangers_review"] += (review_ & ~known).sum()
    return {
        "named": totals["named"] / totals["known"],
        "wrong": totals["wrong"] / totals["known"],
        "review": totals["review"] / totals["known"],
        "review_right": totals["review_right"] / max(totals["review"], 1),
        "strangers_named": totals["strangers_named"] / totals["strangers"],
        "strangers_review": totals["strangers_review"] / totals["strangers"],
    }


def naming_table(real, spec) -> None:
    review = review_distance(spec.far_curve)
    print()
    print(f"Automatic naming at {spec.auto_assign_distance} with the review margin from {review:.3f} (REVIEW_FAR):")
    print()
    print("| named below | enrolled faces named right | named wrong | to review (right) | strangers named "
          "| strangers to review |")  # fmt: skip
    print("|------------:|---------------------------:|------------:|------------------:|----------------:"
          "|--------------------:|")  # fmt: skip
    for below in (spec.auto_assign_distance, review):
        m = naming_margin(real.names, real.vectors, below, spec.auto_assign_distance)
        print(
            f"| {below:>11.3f} | {m['named']:>26.2%} | {m['wrong']:>11.3%} "
            f"| {m['review']:>7.2%} ({m['review_right']:.1%}) "
            f"| {m['strangers_named']:>15.3%} | {m['strangers_review']:>19.3%} |"
        )


if __name__ == "__main__":
    main()
