"""`embeddings.grouping`: where one new face goes (join, start a group, stay alone), faces of one photo kept apart,
and the in-memory grouper the benchmark runs (accuracy on LFW: benchmarks/grouping.py)."""

from __future__ import annotations

import numpy as np

from embeddings import get_spec
from embeddings.grouping import IncrementalGrouper, Neighbour, place, review_distance


def _at(*positions: float) -> np.ndarray:
    return np.array([[p, 0.0, 0.0, 0.0] for p in positions], dtype=np.float64)


def _members(groups: dict[str, tuple[list[float], list[int]]]):
    return lambda group: (_at(*groups[group][0]), groups[group][1])


def test_a_face_joins_the_group_it_is_closest_to_on_average():
    groups = {"near": ([0.1, 0.3], [1, 2]), "far": ([0.6, 0.7], [3, 4])}
    neighbours = [Neighbour(k, g, p, _at(x)[0]) for k, g, p, x in [(1, "near", 1, 0.1), (3, "far", 3, 0.6)]]
    placement = place(_at(0.0)[0], 9, neighbours, _members(groups), 0.5)
    assert (placement.group, round(placement.distance, 3)) == ("near", 0.2)


def test_a_face_never_joins_a_group_holding_a_face_of_its_photo():
    groups = {"same photo": ([0.1, 0.2], [9, 2])}
    neighbours = [Neighbour(1, "same photo", 9, _at(0.1)[0]), Neighbour(5, None, 5, _at(0.3)[0])]
    placement = place(_at(0.0)[0], 9, neighbours, _members(groups), 0.5)
    assert (placement.group, placement.faces) == (None, [5])  # a new group with the lone neighbour instead


def test_a_face_too_far_on_average_stays_alone():
    """Its nearest face is within the cut, but the group's mean distance is not: average linkage, not single."""
    groups = {"chain": ([0.4, 1.2, 1.3], [1, 2, 3])}
    neighbours = [Neighbour(1, "chain", 1, _at(0.4)[0])]
    assert place(_at(0.0)[0], 9, neighbours, _members(groups), 0.5).group is None


def test_the_grouper_puts_each_cluster_together_whatever_the_order():
    rng = np.random.default_rng(0)
    centres = np.eye(8)[:4] * 3
    vectors = np.concatenate([centre + rng.normal(0, 0.05, (5, 8)) for centre in centres])
    added: list[int] = []

    def nearest(vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        d = [(key, float(np.linalg.norm(vectors[key] - vector))) for key in added]
        return sorted(d, key=lambda pair: pair[1])[:k]

    grouper = IncrementalGrouper(nearest, 0.5)
    for key in rng.permutation(len(vectors)):
        grouper.add(int(key), vectors[key], photo=int(key))
        added.append(int(key))
    grouper.regroup_touched()
    labels = grouper.labels(list(range(len(vectors))))
    assert [len(set(labels[i * 5 : i * 5 + 5])) for i in range(4)] == [1, 1, 1, 1]
    assert len(set(labels)) == 4


def test_the_review_margin_starts_under_the_automatic_naming_distance():
    spec = get_spec("facenet")
    assert 0.6 < review_distance(spec.far_curve) < spec.auto_assign_distance
