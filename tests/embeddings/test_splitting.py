"""`split`: the largest group is the person; a group far from the person's mean face is offered as someone else, one
near it is kept (an odd photo of them), and a face never stays beside a kept face of its own photo."""

from __future__ import annotations

import numpy as np

from embeddings import cluster
from embeddings.splitting import split


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


def _around(centre: np.ndarray, count: int, spread: float, rng: np.random.Generator) -> np.ndarray:
    return np.stack([_unit(centre + rng.normal(0, spread, centre.shape)) for _ in range(count)])


def test_a_far_group_is_offered_and_a_near_odd_face_is_kept():
    rng = np.random.default_rng(0)
    person, someone = _unit(rng.normal(size=128)), _unit(rng.normal(size=128))
    odd = _unit(person + 0.1 * rng.normal(size=128))  # its own group at the cut, yet nearer the person than 1.065
    vectors = np.concatenate([_around(person, 6, 0.03, rng), _around(someone, 2, 0.03, rng), [odd]])
    assert [group.tolist() for group in cluster(vectors, 0.8, min_size=1)] == [[0, 1, 2, 3, 4, 5], [6, 7], [8]]

    result = split(vectors, 0.8, 1.065)

    assert result.kept.tolist() == [0, 1, 2, 3, 4, 5, 8]
    assert [members.tolist() for members, _ in result.offered] == [[6, 7]]
    assert result.offered[0][1] > 1.065


def test_a_face_beside_a_kept_face_of_its_photo_is_offered():
    vectors = np.array([_unit(np.ones(128)), _unit(np.ones(128))])  # the same vector twice, in one photo

    result = split(vectors, 0.8, 1.065, cannot_link=[7, 7])

    assert len(result.kept) == 1 and [members.tolist() for members, _ in result.offered] == [[1]]


def test_no_faces_split_into_nothing():
    result = split(np.zeros((0, 128)), 0.8, 1.065)
    assert result.kept.tolist() == [] and result.offered == []
