"""Where do MTCNN's 5 landmarks fall in the crops FaceNet was trained on? `python benchmarks/facenet_template.py`.

Sandberg's align_dataset_mtcnn.py (davidsandberg/facenet) made the training crops: the MTCNN box grown by margin/2
pixels on each side (clipped to the image, truncated to integers), resized to image_size, and the network was fed
the centre 160x160 (random crops around it when training). The 20170512-110547 model was trained on --margin 44
--image_size 182 crops; Sandberg's LFW validation used --margin 32 --image_size 160. This script detects faces in
LFW images of people outside the dev-test split, maps the landmarks into both kinds of crop and prints their mean.
Training also flipped half the crops (--random_flip), so the network saw each crop and its mirror image: the mean
over both ("with flips") in the training crop is `embeddings.encoders.facenet.SPEC.template`.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

LFW_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "lfw"
LANDMARKS = ("left eye", "right eye", "nose", "mouth left", "mouth right")
THRESHOLDS = {"threshold_pnet": 0.6, "threshold_rnet": 0.7, "threshold_onet": 0.7}  # align_dataset_mtcnn.py's


@dataclass(frozen=True)
class Crop:
    """Sandberg's crop: box + margin/2 a side, resized to `image_size`, then the centre `size` pixels kept."""

    margin: int
    image_size: int
    size: int = 160

    def box(self, image_shape: tuple[int, ...], box: np.ndarray) -> np.ndarray:
        height, width = image_shape[:2]
        x1, y1, x2, y2 = box
        grown = [max(x1 - self.margin / 2, 0), max(y1 - self.margin / 2, 0), min(x2 + self.margin / 2, width)]
        return np.array([*grown, min(y2 + self.margin / 2, height)]).astype(np.int32)

    def landmarks(self, image_shape: tuple[int, ...], box: np.ndarray, points: np.ndarray) -> np.ndarray:
        """(5, 2) image pixel coordinates -> crop pixel coordinates (pixel centres at integers in both)."""
        x1, y1, x2, y2 = self.box(image_shape, box)
        scale = np.array([self.image_size / (x2 - x1), self.image_size / (y2 - y1)])
        return (points - [x1, y1] + 0.5) * scale - 0.5 - (self.image_size - self.size) / 2

    def crop(self, image: np.ndarray, box: np.ndarray) -> np.ndarray:
        x1, y1, x2, y2 = self.box(image.shape, box)
        resized = Image.fromarray(image[y1:y2, x1:x2]).resize((self.image_size,) * 2, Image.Resampling.BILINEAR)
        offset = (self.image_size - self.size) // 2
        return np.asarray(resized)[offset : offset + self.size, offset : offset + self.size]


TRAINING = Crop(margin=44, image_size=182)
LFW_VALIDATION = Crop(margin=32, image_size=160)


def mirrored(points: np.ndarray, size: int) -> np.ndarray:
    """The landmarks of the horizontally flipped crop: x mirrored, left and right eye and mouth corner swapped."""
    flipped = points[[1, 0, 2, 4, 3]].copy()
    flipped[:, 0] = size - 1 - flipped[:, 0]
    return flipped


def lfw_path(lfw_dir: Path, name: str, number: int) -> Path:
    return lfw_dir / "images" / name / f"{name}_{number:04d}.jpg"


def detect_central_faces(paths: list[Path], batch: int = 32) -> list[tuple[np.ndarray, np.ndarray, np.ndarray] | None]:
    """(image, box x1 y1 x2 y2, (5, 2) landmarks) of the face nearest each image's centre; None where none is found."""
    from mtcnn import MTCNN

    detector = MTCNN()
    found = []
    for start in range(0, len(paths), batch):
        images = [np.asarray(Image.open(path).convert("RGB")) for path in paths[start : start + batch]]
        rows = detector.detect_faces(images, box_format="xyxy", output_type="numpy", **THRESHOLDS)
        for index, image in enumerate(images):
            faces = rows[rows[:, 0] == index]
            if not len(faces):
                found.append(None)
                continue
            centre = np.array(image.shape[1::-1]) / 2
            middles = (faces[:, 1:3] + faces[:, 3:5]) / 2
            face = faces[np.argmin(((middles - centre) ** 2).sum(axis=1))]
            found.append((image, face[1:5], face[6:16].reshape(2, 5).T))  # x1..x5 then y1..y5
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lfw-dir", type=Path, default=LFW_DIR)
    parser.add_argument("--people", type=int, default=400, help="first image of the first N people of peopleDevTrain")
    args = parser.parse_args()

    lines = (args.lfw_dir / "peopleDevTrain.txt").read_text().split("\n")[1:]
    names = [line.split()[0] for line in lines if line.strip()][: args.people]
    faces = [face for face in detect_central_faces([lfw_path(args.lfw_dir, name, 1) for name in names]) if face]
    print(f"{len(faces)} faces detected in {len(names)} images (first image of each person in peopleDevTrain.txt)")
    for label, crop in (
        ("training crop, margin 44 at 182, centre 160", TRAINING),
        ("LFW validation crop, margin 32 at 160", LFW_VALIDATION),
    ):
        points = np.stack([crop.landmarks(image.shape, box, landmarks) for image, box, landmarks in faces])
        mean, std = points.mean(axis=0), points.std(axis=0)
        with_flips = (mean + mirrored(mean, crop.size)) / 2
        print(f"\n{label}\n{'landmark':12} {'x':>7} {'y':>7} {'std x':>6} {'std y':>6}   with flips: x, y")
        for name, (x, y), (sx, sy), (fx, fy) in zip(LANDMARKS, mean, std, with_flips, strict=True):
            print(f"{name:12} {x:7.2f} {y:7.2f} {sx:6.2f} {sy:6.2f}   {fx:7.2f} {fy:7.2f}")


if __name__ == "__main__":
    main()
