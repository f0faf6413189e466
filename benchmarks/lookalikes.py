"""Look-alikes: how often do identification, automatic naming and suggestions confuse the people who look most alike?

    .venv/bin/python benchmarks/lookalikes.py [--pairs 200]

Real LFW faces (the cached embeddings of benchmarks/search.py: people with 2+ images, at most 20 each, and 600
one-image people). The hard pairs are the nearest different-person faces in the data: for each person with 2+ images,
the face of anyone else nearest to one of theirs. The `--pairs` nearest such person pairs (X, Y), each person in at
most one pair, are the look-alikes any gallery eventually holds: siblings, a face and its double.

Each X is enrolled with the one face nearest to Y (the gallery holds the hard pair itself); Y is enrolled nowhere
(a sibling who is not a user). Every face of Y then arrives as a new photo, and every other face of X as the genuine
case whose naming the rules must not lose. What is confused is a face of Y named X:

- identify: `/api/identify/`'s decision, at the 1:1 threshold (before #14) and at the threshold calibrated for 1 %
  FPIR at this gallery's size (`embeddings.calibration`, what the product decides with now);
- naming at ingest: the nearest enrolled face within the encoder's `auto_assign_distance`; "after" also leaves
  faces in the review margin (`embeddings.grouping.review_distance`) for a person to confirm;
- after one "not this person": the user rejected the Y face nearest X (the one first named wrongly); its other
  faces arrive next. Per face only, the rejection protects only that face; read as evidence ("this is not X, and a
  new face nearer to it than to X's own face is not X either") it protects the faces that look like it;
- suggested groups: Y's faces grouped (average linkage at `group_distance`, `embeddings.cluster`) and each group
  named after the nearest enrolled face within the same cut, as the unknown-faces page does.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from search import lfw_embeddings

from embeddings import cluster, same_person
from embeddings.calibration import far_at, identification_threshold
from embeddings.encoders import get_spec
from embeddings.grouping import review_distance


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances (a x b) of unit vectors, via the dot product."""
    return np.sqrt(np.clip(2.0 - 2.0 * a @ b.T, 0.0, None))


@dataclass(frozen=True)
class Pair:
    x: str  # enrolled, with `x_face`
    y: str  # the look-alike, enrolled nowhere
    x_face: int  # row of X's face nearest to Y
    y_face: int  # row of Y's face nearest to X
    distance: float


def hardest_pairs(names: np.ndarray, vectors: np.ndarray, count: int) -> list[Pair]:
    """The `count` nearest different-person face pairs between people with 2+ images, each person in one pair."""
    _, inverse, sizes = np.unique(names, return_inverse=True, return_counts=True)
    rows = np.flatnonzero(sizes[inverse] >= 2)
    d = _distances(vectors[rows], vectors[rows])
    d[inverse[rows][:, None] == inverse[rows][None, :]] = np.inf  # same person: not a look-alike
    order = np.argsort(d, axis=None)
    taken: set[int] = set()
    pairs = []
    for flat in order[::2]:  # the matrix is symmetric: each pair appears twice, adjacent in the sort
        i, j = np.unravel_index(flat, d.shape)
        a, b = int(inverse[rows[i]]), int(inverse[rows[j]])
        if a in taken or b in taken:
            continue
        taken |= {a, b}
        x, y = (i, j) if sizes[a] >= sizes[b] else (j, i)  # enrol the one with more faces: more genuine probes
        pairs.append(Pair(str(names[rows[x]]), str(names[rows[y]]), int(rows[x]), int(rows[y]), float(d[i, j])))
        if len(pairs) == count:
            break
    return pairs


@dataclass(frozen=True)
class Rule:
    name: str
    cut: float  # named when strictly closer than this
    review_below: float | None = None  # distances in [review_below, cut) go to review instead of being named


def decide(distances: np.ndarray, owner: np.ndarray, rule: Rule) -> tuple[np.ndarray, np.ndarray]:
    """(who each probe is named, or -1; whether it is flagged for review instead) by its nearest gallery face."""
    best = distances.argmin(axis=1)
    nearest = distances[np.arange(len(distances)), best]
    named = same_person(nearest, rule.cut)
    review = np.zeros_like(named)
    if rule.review_below is not None:
        review = named & ~same_person(nearest, rule.review_below)
        named &= ~review
    return np.where(named, owner[best], -1), review


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--fpir", type=float, default=0.01)
    args = parser.parse_args()

    real = lfw_embeddings()
    spec = get_spec("facenet")
    names, vectors = real.names, real.vectors
    pairs = hardest_pairs(names, vectors, args.pairs)
    distances = np.array([p.distance for p in pairs])
    print(
        f"{len(names):,} LFW faces; the {len(pairs)} hardest look-alike pairs are {distances.min():.3f}-"
        f"{distances.max():.3f} apart (median {np.median(distances):.3f}); 1:1 threshold {spec.threshold}, "
        f"naming cut {spec.auto_assign_distance}, group cut {spec.group_distance}"
    )
    print(f"look-alike pairs closer than the 1:1 threshold: {np.mean(same_person(distances, spec.threshold)):.1%}")
    print()

    person = {name: i for i, name in enumerate(sorted({p.x for p in pairs} | {p.y for p in pairs}))}
    gallery_rows = np.array([p.x_face for p in pairs])
    owner = np.array([person[p.x] for p in pairs])
    y_rows = [np.flatnonzero(names == p.y) for p in pairs]
    x_rows = [np.setdiff1d(np.flatnonzero(names == p.x), [p.x_face]) for p in pairs]
    look_alike_of = np.concatenate([[person[p.x]] * len(r) for p, r in zip(pairs, y_rows, strict=True)])
    genuine_of = np.concatenate([[person[p.x]] * len(r) for p, r in zip(pairs, x_rows, strict=True)])
    y_all, x_all = np.concatenate(y_rows), np.concatenate(x_rows)
    d_y = _distances(vectors[y_all], vectors[gallery_rows])
    d_x = _distances(vectors[x_all], vectors[gallery_rows])

    calibrated = min(
        spec.threshold, identification_threshold(spec.far_curve, fpir=args.fpir, gallery_size=len(gallery_rows))
    )
    review_below = review_distance(spec.far_curve)
    rules = [
        ("identify", "before: 1:1 threshold", Rule("1:1", spec.threshold)),
        ("identify", f"after: {args.fpir:.0%} FPIR at {len(gallery_rows)} faces", Rule("fpir", calibrated)),
        ("name at ingest", "before: nearest within the cut", Rule("auto", spec.auto_assign_distance)),
    ]
    rules.append(
        ("name at ingest", f"after: review from {review_below:.3f}",
         Rule("review", spec.auto_assign_distance, review_below))
    )  # fmt: skip
    print(f"{len(y_all):,} faces of the look-alikes Y; {len(x_all):,} other faces of the enrolled X")
    print()
    print("| decision | rule | cut | FAR/comparison | Y named X | Y to review | X named X |")
    print("|----------|------|----:|---------------:|----------:|------------:|----------:|")
    for decision, label, rule in rules:
        who_y, review_y = decide(d_y, owner, rule)
        who_x, _ = decide(d_x, owner, rule)
        print(
            f"| {decision:<14} | {label:<32} | {rule.cut:.3f} | {far_at(spec.far_curve, rule.cut):>14.2e} "
            f"| {np.mean(who_y == look_alike_of):>9.2%} | {np.mean(review_y):>11.2%} "
            f"| {np.mean(who_x == genuine_of):>9.2%} |"
        )
    print()
    print_after_rejection(pairs, names, vectors, spec.auto_assign_distance)
    print()
    print_suggestions(pairs, names, vectors, gallery_rows, spec.group_distance)


def print_after_rejection(pairs: list[Pair], names: np.ndarray, vectors: np.ndarray, cut: float) -> None:
    """Naming Y's next faces after one rejection: per face (today) against the rejection read as evidence."""
    counts = {"faces": 0, "per_face": 0, "as_evidence": 0, "x_kept": 0, "x_faces": 0}
    for p in pairs:
        enrolled, rejected = vectors[p.x_face], vectors[p.y_face]
        rest = np.setdiff1d(np.flatnonzero(names == p.y), [p.y_face])
        to_x = np.linalg.norm(vectors[rest] - enrolled, axis=1)
        to_rejected = np.linalg.norm(vectors[rest] - rejected, axis=1)
        named = same_person(to_x, cut)
        counts["faces"] += len(rest)
        counts["per_face"] += int(named.sum())
        counts["as_evidence"] += int((named & ~(to_rejected < to_x)).sum())
        genuine = np.setdiff1d(np.flatnonzero(names == p.x), [p.x_face])
        g_to_x = np.linalg.norm(vectors[genuine] - enrolled, axis=1)
        g_to_rejected = np.linalg.norm(vectors[genuine] - rejected, axis=1)
        counts["x_faces"] += int(same_person(g_to_x, cut).sum())
        counts["x_kept"] += int((same_person(g_to_x, cut) & ~(g_to_rejected < g_to_x)).sum())
    n = max(counts["faces"], 1)
    print(f"After one 'not this person' (Y's face nearest X rejected), Y's {counts['faces']:,} other faces at ingest:")
    print()
    print("| rejection read           | Y named X | X's faces still named (of those named before) |")
    print("|--------------------------|----------:|-----------------------------------------------:|")
    print(f"| per face (the face only) | {counts['per_face'] / n:>9.2%} | {1:>46.2%} |")
    kept = counts["x_kept"] / max(counts["x_faces"], 1)
    print(f"| as evidence (look-alikes)| {counts['as_evidence'] / n:>9.2%} | {kept:>46.2%} |")


def print_suggestions(
    pairs: list[Pair], names: np.ndarray, vectors: np.ndarray, gallery_rows: np.ndarray, cut: float
) -> None:
    """Y's faces grouped as unknown faces are, each group named after the nearest enrolled face within the cut."""
    groups = named_x = mixed = 0
    for p in pairs:
        rows = np.flatnonzero((names == p.y) | ((names == p.x) & (np.arange(len(names)) != p.x_face)))
        for members in cluster(vectors[rows], cut):
            groups += 1
            member_names = set(names[rows[members]])
            mixed += len(member_names) > 1
            mean = vectors[rows[members]].mean(axis=0)
            mean /= np.linalg.norm(mean)
            d = np.linalg.norm(vectors[gallery_rows] - mean, axis=1)
            best = int(d.argmin())
            if member_names == {p.y} and same_person(d[best], cut) and gallery_rows[best] == p.x_face:
                named_x += 1
    print("Suggested groups of the look-alikes' unknown faces (X's other faces and Y's, one pool per pair):")
    print()
    print(f"- groups: {groups:,}; mixing X and Y: {mixed:,} ({mixed / max(groups, 1):.2%})")
    print(f"- groups of Y alone suggested as X: {named_x:,} ({named_x / max(groups, 1):.2%})")


if __name__ == "__main__":
    main()
