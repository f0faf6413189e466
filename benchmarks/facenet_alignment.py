"""Does aligning to FaceNet's template verify LFW faces as well as Sandberg's box crops?

`python benchmarks/facenet_alignment.py` runs the LFW dev-test pairs (pairsDevTest.txt: 500 same, 500 different;
people disjoint from those the template was derived from) through MTCNN and the FaceNet port three ways: Sandberg's
LFW validation crop (box + 16 px a side, resized to 160), his training crop (box + 22 px a side, resized to 182,
centre 160), and our similarity alignment onto SPEC.template. Prints 10-fold cross-validated accuracy (threshold
chosen on 9 folds, scored on the 10th).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from facenet_template import LFW_DIR, LFW_VALIDATION, TRAINING, detect_central_faces, lfw_path

from embeddings.alignment import align_batch
from embeddings.encoders import load_encoder

FOLDS = 10


def read_pairs(pairs_file: Path, lfw_dir: Path) -> list[tuple[Path, Path, bool]]:
    pairs = []
    for line in pairs_file.read_text().split("\n")[1:]:
        fields = line.split()
        if len(fields) == 3:
            pairs.append(
                (lfw_path(lfw_dir, fields[0], int(fields[1])), lfw_path(lfw_dir, fields[0], int(fields[2])), True)
            )
        elif len(fields) == 4:
            pairs.append(
                (lfw_path(lfw_dir, fields[0], int(fields[1])), lfw_path(lfw_dir, fields[2], int(fields[3])), False)
            )
    return pairs


def cross_validated_accuracy(distances: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """Mean and std over folds of the accuracy at the threshold that is best on the other folds."""
    folds = np.arange(len(same)) % FOLDS
    candidates = np.sort(distances)
    scores = []
    for fold in range(FOLDS):
        train, test = folds != fold, folds == fold
        accuracy = [((distances[train] < t) == same[train]).mean() for t in candidates]
        threshold = candidates[int(np.argmax(accuracy))]
        scores.append(((distances[test] < threshold) == same[test]).mean())
    return float(np.mean(scores)), float(np.std(scores))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lfw-dir", type=Path, default=LFW_DIR)
    parser.add_argument("--weights-dir", type=Path, default=Path("var/models"))
    args = parser.parse_args()

    pairs = read_pairs(args.lfw_dir / "pairsDevTest.txt", args.lfw_dir)
    paths = sorted({path for a, b, _ in pairs for path in (a, b)})
    faces = dict(zip(paths, detect_central_faces(paths), strict=True))
    found = [path for path in paths if faces[path]]
    kept = [(a, b, same) for a, b, same in pairs if faces[a] and faces[b]]
    print(f"{len(found)}/{len(paths)} images with a face; {len(kept)}/{len(pairs)} pairs scored")

    encoder = load_encoder("facenet", args.weights_dir)
    template = encoder.spec.template
    ways = {
        "Sandberg LFW validation crop (margin 32, 160)": lambda image, box, _: LFW_VALIDATION.crop(image, box),
        "Sandberg training crop (margin 44, 182, centre 160)": lambda image, box, _: TRAINING.crop(image, box),
        "similarity alignment to SPEC.template": lambda image, _, points: align_batch(
            [image], [points[None]], template, 160
        )[0],
    }
    same = np.array([s for _, _, s in kept])
    print(f"\n{'crop':52} {'accuracy':>9} {'std':>6} {'mean d same':>11} {'mean d diff':>11}")
    for name, crop in ways.items():
        vectors = dict(zip(found, encoder.embed(np.stack([crop(*faces[path]) for path in found])), strict=True))
        distances = np.array([np.linalg.norm(vectors[a] - vectors[b]) for a, b, _ in kept])
        accuracy, std = cross_validated_accuracy(distances, same)
        print(f"{name:52} {accuracy:9.4f} {std:6.4f} {distances[same].mean():11.3f} {distances[~same].mean():11.3f}")


if __name__ == "__main__":
    main()
