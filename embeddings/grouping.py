"""Incremental grouping of unknown faces: where one new face goes, given its nearest neighbours, under the rule
`cluster` applies in one batch (average linkage cut at a distance, faces of one photo never together).

`place` is the decision alone; the product (`facesearch.grouping.services`, neighbours from the HNSW index, groups
in PostgreSQL) and `IncrementalGrouper` (neighbours and groups in memory, for `benchmarks/grouping.py`) both call
it, so the benchmark measures the rule the product runs. `regroup` is the periodic local repair: a batch `cluster`
over the faces of the groups touched since the last run and their neighbours.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np

from embeddings.calibration import FarCurve, distance_for_far
from embeddings.clustering import cluster

NEIGHBOURS = 10
"""Nearest unassigned faces looked at per new face: a person's group is almost always among them (the neighbours of
a face that belongs to a group are mostly that group's faces), and each one is a cheap index hit."""

REVIEW_FAR = 2.5e-6
"""Per-comparison false-accept rate above which a proposed name is flagged for review instead of given unasked:
0.646 on facenet's curve (auto_assign_distance is 0.7). On all of LFW (`python benchmarks/grouping.py`, last table:
half of the people with 4+ images enrolled with 3 images each, 5 seeds) the margin halves the strangers' faces named
after someone (0.108% -> 0.051%) and the wrong names of enrolled people's faces (0.032% -> 0.024%); the 11.8% of
their faces it sends to review are proposed as the right person 99.9% of the time. `benchmarks/identify.py`'s
naming table agrees: at 0.70 0.06% of strangers are named, at 0.65 none."""


def review_distance(far_curve: FarCurve) -> float:
    """Names proposed at this distance or more are flagged for review (see REVIEW_FAR)."""
    return distance_for_far(far_curve, REVIEW_FAR)


@dataclass(frozen=True)
class Neighbour:
    """An unassigned face near the new one: its key (a face id), its group (None: in no group), photo and vector."""

    key: Hashable
    group: Hashable | None
    photo: Hashable
    vector: np.ndarray


@dataclass(frozen=True)
class Placement:
    """Join `group` (mean distance `distance` to its faces), or, with `group` None, form a new group with the
    neighbours `faces` (empty: the face looks like nobody yet and stays alone)."""

    group: Hashable | None = None
    distance: float | None = None
    faces: list[Hashable] = field(default_factory=list)


Members = Callable[[Hashable], tuple[np.ndarray, Sequence[Hashable]]]  # group -> its faces' (vectors, photos)


def place(
    vector: np.ndarray, photo: Hashable, neighbours: Sequence[Neighbour], members: Members, max_distance: float
) -> Placement:
    """Where a new face goes: into the neighbours' group whose faces it is closest to on average, if that mean is
    within `max_distance` and no face of the group is from its photo (the merge average linkage would make);
    otherwise into a new group with those ungrouped neighbours that average linkage joins with it (`cluster` on the
    face and them); otherwise nowhere."""
    vector = np.asarray(vector, dtype=np.float64)
    best: Placement | None = None
    for group in dict.fromkeys(n.group for n in neighbours if n.group is not None):
        vectors, photos = members(group)
        if photo in set(photos):
            continue
        mean = float(np.linalg.norm(np.asarray(vectors, dtype=np.float64) - vector, axis=1).mean())
        if mean <= max_distance and (best is None or mean < best.distance):
            best = Placement(group=group, distance=mean)
    if best is not None:
        return best
    alone = [n for n in neighbours if n.group is None and n.photo != photo]
    if not alone:
        return Placement()
    vectors = np.stack([vector, *(np.asarray(n.vector, dtype=np.float64) for n in alone)])
    groups = cluster(vectors, max_distance, cannot_link=[photo, *(n.photo for n in alone)])
    with_new = next((g for g in groups if 0 in g), None)
    return Placement(faces=[alone[i - 1].key for i in with_new if i != 0] if with_new is not None else [])


def regroup(vectors: np.ndarray, photos: Sequence[Hashable], max_distance: float) -> list[np.ndarray]:
    """The local repair: these faces (a few groups and their neighbours) clustered afresh in one batch."""
    return cluster(vectors, max_distance, cannot_link=np.asarray(photos))


class IncrementalGrouper:
    """`place` over vectors held in memory, with the neighbour search passed in (`nearest(vector, k)` → keys of the
    k nearest faces added so far, nearest first, with their distances): what the product does, without a database."""

    def __init__(self, nearest: Callable[[np.ndarray, int], Sequence[tuple[Hashable, float]]], max_distance: float):
        self.nearest = nearest
        self.max_distance = max_distance
        self.vectors: dict[Hashable, np.ndarray] = {}
        self.photos: dict[Hashable, Hashable] = {}
        self.group_of: dict[Hashable, int] = {}
        self.groups: dict[int, list[Hashable]] = {}
        self.touched: set[int] = set()
        self.queries = 0
        self._next = 0

    def add(self, key: Hashable, vector: np.ndarray, photo: Hashable) -> Placement:
        """Place one new face (it must not be searchable by `nearest` before this call)."""
        self.queries += 1
        neighbours = [
            Neighbour(k, self.group_of.get(k), self.photos[k], self.vectors[k])
            for k, d in self.nearest(vector, NEIGHBOURS)
            if d <= self.max_distance
        ]
        placement = place(vector, photo, neighbours, self._members, self.max_distance)
        self.vectors[key], self.photos[key] = np.asarray(vector), photo
        if placement.group is not None:
            self._join(placement.group, [key])
        elif placement.faces:
            self._join(self._new_group(), [key, *placement.faces])
        return placement

    def regroup_touched(self) -> int:
        """The maintenance pass: re-cluster the touched groups with the groups and lone faces near their mean faces;
        returns how many faces were looked at."""
        faces: dict[Hashable, None] = {}
        for group in sorted(self.touched):
            if group not in self.groups:
                continue
            members = self.groups[group]
            mean = np.mean([self.vectors[k] for k in members], axis=0)
            self.queries += 1
            for key, _ in self.nearest(mean / np.linalg.norm(mean), NEIGHBOURS):
                other = self.group_of.get(key)
                faces.update(dict.fromkeys(self.groups[other] if other is not None else [key]))
            faces.update(dict.fromkeys(members))
        self.touched.clear()
        keys = list(faces)
        if not keys:
            return 0
        for group in {self.group_of[k] for k in keys if k in self.group_of}:
            for key in self.groups.pop(group):
                del self.group_of[key]
        vectors = np.stack([self.vectors[k] for k in keys])
        for rows in regroup(vectors, [self.photos[k] for k in keys], self.max_distance):
            group = self._new_group()
            self._join(group, [keys[i] for i in rows])
        self.touched.clear()  # groups made by the repair itself need no repair
        return len(keys)

    def labels(self, keys: Sequence[Hashable]) -> np.ndarray:
        """A group number per key (faces in no group get numbers of their own), for pair scores."""
        alone = iter(range(self._next + 1, self._next + 1 + len(keys)))
        return np.array([self.group_of[k] if k in self.group_of else next(alone) for k in keys])

    def _members(self, group: Hashable) -> tuple[np.ndarray, list[Hashable]]:
        keys = self.groups[group]
        return np.stack([self.vectors[k] for k in keys]), [self.photos[k] for k in keys]

    def _new_group(self) -> int:
        self._next += 1
        self.groups[self._next] = []
        return self._next

    def _join(self, group: int, keys: Sequence[Hashable]) -> None:
        for key in keys:
            self.groups[group].append(key)
            self.group_of[key] = group
        self.touched.add(group)
