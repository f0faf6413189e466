"""Each detector's template for an encoder: `python benchmarks/detector_templates.py [--encoder facenet]`.

facenet's template is where MTCNN's landmarks fall in its training crops. Other detectors place "eye centre" or
"mouth corner" a little elsewhere, systematically, so aligning their landmarks on that template gives a slightly
different crop. For every LFW View 1 (dev) image where MTCNN and the detector both find the central face, this maps
the detector's 5 landmarks less MTCNN's into MTCNN's aligned frame (the similarity transform taking MTCNN's landmarks
onto the encoder's template) and adds their mean to the template: aligning the detector's landmarks on the result
gives, on average, MTCNN's crop. Not the mean of the detector's landmarks in that frame: MTCNN's own do not average
to the template there (its shape is that of a training crop's, resized from a box; 3-4 px apart at the eyes), and the
similarity fit absorbs that difference for both detectors alike. The mean with its mirror image ("with flips",
symmetric like facenet's template) is printed too; it would drop a detector's sideways offset along with the noise.
Only View 1 images: View 2 (pairs.txt) is for measuring.

Measured, not adopted: aligning each detector's faces on its "fit" template (1,000 images) moved LFW View 2 through the
pipeline with facenet from 99.32% to 99.17% for YuNet (TAR@FAR=1e-3 97.43% -> 97.70%) and from 99.33% to 99.35% for
RetinaFace (97.90% -> 98.03%): the detectors' landmarks scatter about MTCNN's by 2-7 px a face, more than their mean
offset (1-2 px), so correcting the mean brings their crops barely closer to MTCNN's (2% in mean pixel difference on
View 1 dev-test faces) and does not reach MTCNN's accuracy.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from facenet_template import LANDMARKS, mirrored  # noqa: E402

from embeddings.alignment import similarity_transform  # noqa: E402
from embeddings.detection import make_detector  # noqa: E402
from embeddings.encoders import get_spec  # noqa: E402
from embeddings.io import read  # noqa: E402
from embeddings.pipeline import nearest_to_centre  # noqa: E402
from embeddings.weights import DEFAULT_DIR as DEFAULT_WEIGHTS_DIR  # noqa: E402

LFW_DIR = ROOT.parent / "shared" / "data" / "lfw"


def dev_images(lfw_dir: Path, count: int) -> list[Path]:
    """The first `count` distinct images of LFW View 1's training pairs (`Name i j` or `Name i Other j` a line)."""
    path = lambda name, i: lfw_dir / "images" / name / f"{name}_{int(i):04d}.jpg"  # noqa: E731
    paths = []
    for line in (lfw_dir / "pairsDevTrain.txt").read_text().split("\n")[1:]:
        fields = line.split()
        if len(fields) == 3:
            paths += [path(fields[0], fields[1]), path(fields[0], fields[2])]
        elif len(fields) == 4:
            paths += [path(fields[0], fields[1]), path(fields[2], fields[3])]
    return list(dict.fromkeys(paths))[:count]


def central_landmarks(detector, images: list[np.ndarray]) -> list[np.ndarray | None]:
    found = detector.detect_batch(images)
    faces = [nearest_to_centre(faces, image.shape) for image, faces in zip(images, found, strict=True)]
    return [None if face is None else np.asarray(face.landmarks, np.float64) for face in faces]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lfw-dir", type=Path, default=LFW_DIR)
    parser.add_argument("--encoder", default="facenet")
    parser.add_argument("--detectors", nargs="+", default=["yunet", "retinaface"])
    parser.add_argument("--images", type=int, default=800, help="first N distinct images of pairsDevTrain.txt")
    parser.add_argument("--weights-dir", type=Path, default=DEFAULT_WEIGHTS_DIR)
    args = parser.parse_args()

    spec = get_spec(args.encoder)
    images = [read(path) for path in dev_images(args.lfw_dir, args.images)]
    reference = central_landmarks(make_detector("mtcnn", weights_dir=args.weights_dir), images)
    for name in args.detectors:
        theirs = central_landmarks(make_detector(name, weights_dir=args.weights_dir), images)
        both = [(m, d) for m, d in zip(reference, theirs, strict=True) if m is not None and d is not None]
        mtcnn, other = (np.stack(points) for points in zip(*both, strict=True))
        to_frame = similarity_transform(mtcnn, np.broadcast_to(spec.template, mtcnn.shape))  # (N, 2, 3)
        offsets = np.einsum("nij,nkj->nki", to_frame[:, :, :2], other - mtcnn)  # D's landmarks less MTCNN's, in frame
        mean, std = spec.template + offsets.mean(axis=0), offsets.std(axis=0)
        with_flips = (mean + mirrored(mean, spec.input_size)) / 2
        print(f"\n{name} in MTCNN's {args.encoder} frame: {len(both)} faces of {len(images)} View 1 images")
        print(f"{'landmark':12} {'template':>15} {'fit x':>7} {'fit y':>7} {'std x':>6} {'std y':>6}   with flips")
        for label, (tx, ty), (x, y), (sx, sy), (fx, fy) in zip(
            LANDMARKS, spec.template, mean, std, with_flips, strict=True
        ):
            print(f"{label:12} {tx:7.2f} {ty:7.2f} {x:7.2f} {y:7.2f} {sx:6.2f} {sy:6.2f}   {fx:7.2f} {fy:7.2f}")
        print(f"{name} fit: {np.round(mean, 2).tolist()}\n{name} with flips: {np.round(with_flips, 2).tolist()}")


if __name__ == "__main__":
    main()
