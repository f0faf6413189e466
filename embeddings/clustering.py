"""Group embeddings that look like one person: average-linkage agglomerative clustering cut at a distance.

Average linkage merges two groups only while the mean distance between their members stays under the cut, so one
look-alike pair cannot chain two people together (single linkage does; complete linkage splits more of a person's
photos apart). `benchmarks/clustering.py` measures the three on real LFW faces.
"""

from __future__ import annotations

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage


def cluster(vectors: np.ndarray, max_distance: float, *, min_size: int = 2) -> list[np.ndarray]:
    """Row indices of `vectors` (N, dim) grouped as one person each, largest group first; groups under `min_size`
    (by default the faces that look like nobody else) are left out. O(N²) memory: cluster thousands, not millions.
    """
    vectors = np.asarray(vectors, dtype=np.float64)
    if len(vectors) < 2:  # linkage needs two observations; zero or one row is zero or one group
        labels = np.ones(len(vectors), dtype=int)
    else:
        labels = fcluster(linkage(vectors, method="average", metric="euclidean"), max_distance, criterion="distance")
    groups = [np.flatnonzero(labels == label) for label in np.unique(labels)]
    groups = [group for group in groups if len(group) >= min_size]
    return sorted(groups, key=lambda group: (-len(group), group[0]))
