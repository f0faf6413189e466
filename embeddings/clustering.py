"""Group embeddings that look like one person: average-linkage agglomerative clustering cut at a distance.

Average linkage merges two groups only while the mean distance between their members stays under the cut, so one
look-alike pair cannot chain two people together (single linkage does; complete linkage splits more of a person's
photos apart). `benchmarks/clustering.py` measures the three on real LFW faces.

Faces of one photo are two people: with `cannot_link` (a label per row, e.g. its photo id) no group holds two rows of
one label, and two groups sharing a label are never merged.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import pdist


def cluster(
    vectors: np.ndarray, max_distance: float, *, min_size: int = 2, cannot_link: Sequence | np.ndarray | None = None
) -> list[np.ndarray]:
    """Row indices of `vectors` (N, dim) grouped as one person each, largest group first; groups under `min_size`
    (by default the faces that look like nobody else) are left out. O(N²) memory: cluster thousands, not millions.

    `cannot_link`: one label per row; rows sharing a label never end up in one group.
    """
    vectors = np.asarray(vectors, dtype=np.float64)
    if len(vectors) < 2:  # linkage needs two observations; zero or one row is zero or one group
        labels = np.ones(len(vectors), dtype=int)
    else:
        distances = pdist(vectors, metric="euclidean")
        if cannot_link is not None:
            _forbid_pairs(distances, np.asarray(cannot_link), max_distance)
        labels = fcluster(linkage(distances, method="average"), max_distance, criterion="distance")
    groups = [np.flatnonzero(labels == label) for label in np.unique(labels)]
    groups = [group for group in groups if len(group) >= min_size]
    return sorted(groups, key=lambda group: (-len(group), group[0]))


def _forbid_pairs(distances: np.ndarray, labels: np.ndarray, max_distance: float) -> None:
    """Set the condensed distance of every same-label pair so high that any two clusters holding such a pair average
    above `max_distance`: the merges under the cut are then exactly those of average linkage forbidden to join two
    faces of one photo (the greedy order picks the closest allowed pair; forbidden ones are never under the cut).
    Finite, because scipy's linkage refuses infinities: n² times the cut bounds the mean of any n-by-m block."""
    n = len(labels)
    if len(labels) * (len(labels) - 1) // 2 != len(distances):
        raise ValueError(f"cannot_link needs one label per row: {len(labels)} labels")
    penalty = (max_distance + 2.0) * n * n
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    starts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1], True])
    for start, stop in itertools.pairwise(starts):
        if stop - start < 2:
            continue
        rows = np.sort(order[start:stop])
        i, j = (rows[a] for a in np.triu_indices(len(rows), 1))
        distances[n * i - i * (i + 1) // 2 + (j - i - 1)] = penalty
