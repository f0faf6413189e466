"""Split a person: when a person holds a few faces of someone else, does the split offer exactly those faces, and how
often does it offer faces of a person who holds only their own?

    .venv/bin/python benchmarks/split.py [--encoder NAME]

Real LFW faces (the cached embeddings of benchmarks/search.py: people with 2+ images, at most 20 each). Each trial
takes one LFW person with 6+ images as the person (5, 10 or all of their faces), adds 0 to 3 faces of another LFW
person (a wrong merge or wrong names), each face its own photo, and runs `embeddings.splitting.split` as the person
page's Split panel does: grouped at the encoder's `group_distance`, a group offered when its mean face is farther than
the encoder's 1:1 `threshold` from the person's. The baseline offers every group but the largest (distance 0).
Scored per trial:

- exact: the faces offered are exactly the other person's (nothing of theirs kept, nothing of the person's offered);
- found: of the other person's faces, the share offered;
- wrong: of the person's own faces, the share offered (each would be moved away if the user ticked everything);
- offered any: trials in which something was offered (with 0 intruders, every such trial is a false alarm).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from search import lfw_embeddings

from embeddings import get_spec
from embeddings.splitting import split

TRIALS = 400
OWN = (5, 10, 20)  # faces of the person (20: all of them, LFW's cap in the cache)
INTRUDERS = (0, 1, 2, 3)


def trial(rng: np.random.Generator, rows_of: list, own: int, intruders: int, vectors, cut: float, offer: float) -> dict:
    candidates = [i for i, rows in enumerate(rows_of) if len(rows) >= min(own, 6)]
    person, other = rng.choice(candidates, 2, replace=False)
    mine = rng.choice(rows_of[person], min(own, len(rows_of[person])), replace=False)
    theirs = rng.choice(rows_of[other], min(intruders, len(rows_of[other])), replace=False)
    rows = np.concatenate([mine, theirs])
    result = split(vectors[rows], cut, offer, cannot_link=np.arange(len(rows)))
    offered = set().union(*(set(members.tolist()) for members, _ in result.offered)) if result.offered else set()
    intruder_rows = set(range(len(mine), len(rows)))
    return {
        "exact": offered == intruder_rows,
        "found": len(offered & intruder_rows) / len(intruder_rows) if intruder_rows else np.nan,
        "wrong": len(offered - intruder_rows) / len(mine),
        "any": bool(offered),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--encoder", default="facenet")
    parser.add_argument("--trials", type=int, default=TRIALS)
    args = parser.parse_args()
    real = lfw_embeddings(encoder=args.encoder)
    _, owner = np.unique(real.names, return_inverse=True)
    rows_of = [np.flatnonzero(owner == person) for person in range(owner.max() + 1)]
    rows_of = [rows for rows in rows_of if len(rows) >= 6]
    spec = get_spec(args.encoder)
    print(f"{args.encoder}: {len(rows_of)} LFW people with 6+ images; {args.trials} trials per row")
    for rule, offer in (("mean farther than the 1:1 threshold", spec.threshold), ("every group but the largest", 0.0)):
        print(f"\ngroups at {spec.group_distance}; offered: {rule} ({offer})")
        print(f"{'own':>4} {'intruders':>9} {'exact':>7} {'found':>7} {'wrong':>7} {'offered any':>11}")
        for own in OWN:
            for intruders in INTRUDERS:
                rng = np.random.default_rng(own * 10 + intruders)
                results = [
                    trial(rng, rows_of, own, intruders, real.vectors, spec.group_distance, offer)
                    for _ in range(args.trials)
                ]
                found = np.nanmean([r["found"] for r in results]) if intruders else np.nan
                print(
                    f"{own:>4} {intruders:>9} {np.mean([r['exact'] for r in results]):>7.1%} "
                    f"{'' if np.isnan(found) else f'{found:.1%}':>7} {np.mean([r['wrong'] for r in results]):>7.2%} "
                    f"{np.mean([r['any'] for r in results]):>11.1%}"
                )


if __name__ == "__main__":
    main()
