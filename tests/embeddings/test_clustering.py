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


def test_cannot_link_keeps_two_faces_of_one_photo_apart_and_changes_nothing_else():
    """Rows 0 and 1 are one photo: without the labels the three are one group; with them, 2 goes with the nearer 1."""
    vectors = _line(0.0, 0.1, 0.5, 5.0, 5.1)
    assert [group.tolist() for group in cluster(vectors, 0.6)] == [[0, 1, 2], [3, 4]]
    grouped = cluster(vectors, 0.6, cannot_link=["a", "a", "b", "c", "d"])
    assert [group.tolist() for group in grouped] == [[1, 2], [3, 4]]
    assert [g.tolist() for g in cluster(vectors, 0.6, cannot_link=["a", "b", "c", "d", "e"])] == [[0, 1, 2], [3, 4]]


def test_two_groups_sharing_a_photo_are_never_merged():
    """(0, 1) and (2, 3) average 0.3 apart, but rows 0 and 3 are one photo: average linkage must not join them."""
    vectors = _line(0.0, 0.1, 0.3, 0.4)
    assert len(cluster(vectors, 0.5)) == 1
    assert [group.tolist() for group in cluster(vectors, 0.5, cannot_link=[1, 2, 3, 1])] == [[0, 1], [2, 3]]
