"""Every LFW image (13,233) encoded once by the product pipeline, cached in var/benchmarks/ for benchmarks/grouping.py.

    .venv/bin/python benchmarks/lfw_all.py        # encodes what is not cached yet (about an hour on 2 cores)

Reuses the vectors benchmarks/search.py already cached (its subset of LFW) after re-encoding a sample of them and
checking they still match, so only the other images pay for the pipeline. One row per image whose face was found:
the face nearest the centre (LFW's subject).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from search import CACHE_DIR, LFW_DIR, Embedded, _library_version, lfw_embeddings  # noqa: E402

CHECKED = 64  # cached images re-encoded to show the cache still matches today's pipeline
TOLERANCE = 1e-3  # Euclidean; batched TensorFlow arithmetic differs by ~1e-6, a changed pipeline by far more


def _all_files() -> list[tuple[str, str]]:
    counts = [line.split("\t") for line in (LFW_DIR / "lfw-names.txt").read_text().split("\n") if line.strip()]
    return [(name, f"{name}/{name}_{i:04d}.jpg") for name, count in counts for i in range(1, int(count) + 1)]


def lfw_all_embeddings(*, encoder: str = "facenet", batch: int = 32) -> Embedded:
    """All of LFW, encoded once; later calls read the .npz cache."""
    from embeddings import FacePipeline, nearest_to_centre, read
    from embeddings.weights import DEFAULT_DIR as DEFAULT_WEIGHTS_DIR

    pipeline = FacePipeline(encoder=encoder, weights_dir=ROOT / DEFAULT_WEIGHTS_DIR)
    cache = CACHE_DIR / f"lfw_all_{pipeline.spec.model_id}.npz"
    if cache.exists():
        data = np.load(cache)
        return Embedded(data["names"], data["files"], data["vectors"], str(data["model_id"]), pipeline.threshold)

    from tqdm import tqdm

    def encode(files: list[tuple[str, str]]) -> dict[str, np.ndarray]:
        found = {}
        for start in tqdm(range(0, len(files), batch), desc="encoding LFW", unit="batch"):
            chunk = files[start : start + batch]
            images = [read((LFW_DIR / "images" / f).read_bytes()) for _, f in chunk]
            for (_, file), image, faces in zip(chunk, images, pipeline.encode_batch(images), strict=True):
                if faces:
                    found[file] = nearest_to_centre(faces, image.shape).embedding
        return found

    subset = lfw_embeddings(encoder=encoder)
    known = dict(zip(subset.files, subset.vectors, strict=True))
    step = len(known) // CHECKED
    sample = [(str(n), str(f)) for n, f in zip(subset.names[::step], subset.files[::step], strict=True)]
    again = encode(sample)
    drift = max(float(np.linalg.norm(again[f] - known[f])) for _, f in sample if f in again)
    print(f"cached subset re-encoded: largest difference {drift:.2e}", file=sys.stderr)
    if drift > TOLERANCE:
        known = {}
    files = _all_files()
    known.update(encode([(n, f) for n, f in files if f not in known]))
    kept = [(n, f) for n, f in files if f in known]
    data = {
        "names": np.array([n for n, _ in kept]),
        "files": np.array([f for _, f in kept]),
        "vectors": np.stack([known[f] for _, f in kept]).astype(np.float32),
        "model_id": np.array(pipeline.spec.model_id),
        "library": np.array(_library_version()),
    }
    np.savez(cache, **data)
    print(f"encoded {len(kept)} of {len(files)} LFW images (faces found) -> {cache}", file=sys.stderr)
    return Embedded(data["names"], data["files"], data["vectors"], pipeline.spec.model_id, pipeline.threshold)


if __name__ == "__main__":
    real = lfw_all_embeddings()
    print(f"{len(real.names):,} faces of {len(set(real.names)):,} people")
