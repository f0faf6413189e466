"""`embeddings.cluster`: groups by average linkage, largest first, singletons left out (accuracy: benchmarks/)."""

from __future__ import annotations

import numpy as np

from embeddings import cluster


def _line(*positions: float) -> np.ndarray:
    """Points on one axis of a 4-D space, so that their distances are the differences of `positions`."""
    return np.array([[p, 0.0, 0.0, 0.0] for p in positions], dtype=np.float32)


def test_groups_come_largest_first_and_lone_points_are_left_out():
    vectors = _line(0.0, 0.1, 5.0, 5.1, 5.2, 9.0)
    assert [group.tolist() for group in cluster(vectors, 0.5)] == [[2, 3, 4], [0, 1]]
    assert [group.tolist() for group in cluster(vectors, 0.5, min_size=1)] == [[2, 3, 4], [0, 1], [5]]


def test_a_chain_of_close_pairs_does_not_join_its_far_ends():
    """Single linkage would put all three in one group (each step is 0.7); the ends are 1.4 apart."""
    groups = cluster(_line(0.0, 0.7, 1.4), 0.8)
    assert len(groups) == 1 and len(groups[0]) == 2


def test_no_vectors_or_one_vector_makes_no_group():
    assert cluster(np.zeros((0, 128), np.float32), 0.8) == []
    assert cluster(_line(0.0), 0.8) == []
    assert [group.tolist() for group in cluster(_line(0.0), 0.8, min_size=1)] == [[0]]
