"""Split one person's faces: which of them look like someone else?

The faces are grouped by `cluster` (average linkage at the suggestions' cut, two faces of one photo never together);
the largest group is the person. Another group (a lone face included) is offered as someone else when its mean face
is farther than `offer_distance` from the person's mean face, else it stays: an odd photo of them (profile, blur)
often misses the group cut but not the person. `benchmarks/split.py` measures the rule on LFW (facenet, its 1:1
threshold as `offer_distance`, 400 trials a row): people holding 5-20 of their own faces only are offered nothing in
98-99 % of trials; 1-3 faces of someone else among them are offered 95-99.8 % of the time, with 0.05-4 % of the
person's own faces offered alongside. Offering every group but the largest instead offers some of their own faces for
31-38 % of people.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from embeddings.clustering import cluster


@dataclass(frozen=True)
class Split:
    kept: np.ndarray  # row indices of the person's faces
    offered: list[tuple[np.ndarray, float]]  # (row indices, distance of their mean face to the person's), largest first


def _mean(vectors: np.ndarray) -> np.ndarray:
    mean = vectors.mean(axis=0)
    return mean / np.linalg.norm(mean)


def split(
    vectors: np.ndarray,
    group_distance: float,
    offer_distance: float,
    *,
    cannot_link: Sequence | np.ndarray | None = None,
) -> Split:
    """Rows of `vectors` (one person's faces, N x dim, unit length) kept as the person, and groups offered as someone
    else; `cannot_link`: a label per row (its photo): rows sharing one are never grouped, nor a group kept beside a
    kept face of its photo."""
    vectors = np.asarray(vectors, dtype=np.float64)
    if not len(vectors):
        return Split(kept=np.array([], dtype=int), offered=[])
    groups = cluster(vectors, group_distance, min_size=1, cannot_link=cannot_link)
    labels = np.asarray(cannot_link) if cannot_link is not None else np.arange(len(vectors))
    centre = _mean(vectors[groups[0]])
    kept, offered = list(groups[0]), []
    for members in groups[1:]:
        distance = float(np.linalg.norm(_mean(vectors[members]) - centre))
        beside = bool(set(labels[members]) & set(labels[kept]))
        if distance <= offer_distance and not beside:
            kept.extend(members)
        else:
            offered.append((members, round(distance, 4)))
    return Split(kept=np.array(sorted(kept), dtype=int), offered=offered)
