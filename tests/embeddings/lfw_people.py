"""The real faces the encoder parity tests compare on: two photos each of people LFW has many of (gallery _0001,
probe _0002: 24 people, 48 aligned faces in all), aligned as the pipeline aligns them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from embeddings import read
from embeddings.alignment import align_batch
from embeddings.detection import MtcnnDetector
from embeddings.encoders import EncoderSpec
from embeddings.pipeline import nearest_to_centre

PARITY_PEOPLE = [
    "Ariel_Sharon", "Colin_Powell", "Donald_Rumsfeld", "George_W_Bush", "Gerhard_Schroeder", "Hugo_Chavez",
    "Jacques_Chirac", "Jean_Chretien", "John_Ashcroft", "Junichiro_Koizumi", "Serena_Williams", "Tony_Blair",
    "Alvaro_Uribe", "Andre_Agassi", "Atal_Bihari_Vajpayee", "Bill_Clinton", "Gloria_Macapagal_Arroyo",
    "Guillermo_Coria", "Jennifer_Capriati", "Laura_Bush", "Lleyton_Hewitt", "Luiz_Inacio_Lula_da_Silva",
    "Vladimir_Putin", "Silvio_Berlusconi",
]  # fmt: skip


def parity_images(lfw_dir: Path) -> list[np.ndarray]:
    """First photos, then second photos, in PARITY_PEOPLE order."""
    return [read(lfw_dir / "images" / p / f"{p}_000{i}.jpg") for i in (1, 2) for p in PARITY_PEOPLE]


def aligned_on(spec: EncoderSpec, detector: MtcnnDetector, images: list[np.ndarray]) -> np.ndarray:
    """(N, S, S, 3) float32 RGB crops of each image's central face on `spec`'s template, as the pipeline makes them."""
    found = detector.detect_batch(images)
    faces = [nearest_to_centre(faces, image.shape) for faces, image in zip(found, images, strict=True)]
    assert all(faces), "MTCNN missed a face of the test set"
    landmarks = [face.landmarks[None] for face in faces]
    return align_batch(images, landmarks, spec.template, spec.input_size, np.float32)


def assert_second_photos_nearest_their_first(vectors: np.ndarray) -> None:
    """Vectors of `parity_images` (first photos, then second photos): each person's second photo is nearest to their
    own first, and every same-person distance is below the median different-person one."""
    people = len(PARITY_PEOPLE)
    gallery, probes = vectors[:people], vectors[people:]
    distances = np.linalg.norm(probes[:, None] - gallery[None], axis=2)
    assert list(distances.argmin(axis=1)) == list(range(people))
    same, different = np.diag(distances), distances[~np.eye(people, dtype=bool)]
    assert same.max() < np.median(different)
