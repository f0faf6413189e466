"""The nearest-neighbour selector: exact order and distances, filters, and the scan it picks: exact for few
candidates, the HNSW index for many."""

from __future__ import annotations

import numpy as np
import pytest
from django.db import connection

from facesearch.photos import selectors
from facesearch.photos.models import Face
from facesearch.photos.selectors import face_nearest, face_nearest_plan
from tests.factories import (
    MODEL_ID,
    FaceFactory,
    LibraryFactory,
    PersonFactory,
    PhotoFactory,
    first_library,
    unit_vector,
)

HNSW_SCAN = "Index Scan using face_embedding_hnsw_l2 on photos_face"


def _towards(base: np.ndarray, angle: float, seed: int) -> np.ndarray:
    """A unit vector at `angle` radians from `base` (so its distance is 2 sin(angle / 2))."""
    other = unit_vector(seed=1000 + seed)
    other -= other.dot(base) * base
    other /= np.linalg.norm(other)
    return (np.cos(angle) * base + np.sin(angle) * other).astype(np.float32)


@pytest.mark.django_db
def test_nearest_faces_come_in_distance_order_with_the_distances_numpy_computes():
    query = unit_vector(seed=1)
    faces = [FaceFactory(embedding=_towards(query, angle, seed)) for seed, angle in enumerate((0.9, 0.2, 0.5, 1.4))]
    FaceFactory(embedding=query, model_id="another-encoder-v1")  # identical vector, other encoder: never compared
    FaceFactory(embedding=query, photo=PhotoFactory(library=LibraryFactory()))  # identical, other library: neither

    found = face_nearest(embedding=query, model_id=MODEL_ID, library_ids=[first_library().id], limit=10)

    assert [f.id for f in found] == [faces[1].id, faces[2].id, faces[0].id, faces[3].id]
    expected = [
        float(np.linalg.norm(query - np.asarray(f.embedding))) for f in (faces[1], faces[2], faces[0], faces[3])
    ]
    assert [f.distance for f in found] == pytest.approx(expected, abs=1e-5)


@pytest.mark.django_db
def test_limit_max_distance_confirmed_only_and_exclusion():
    query = unit_vector(seed=2)
    person = PersonFactory()
    near = FaceFactory(embedding=_towards(query, 0.1, 10))
    confirmed = FaceFactory(embedding=_towards(query, 0.3, 11), person=person, assignment=Face.Assignment.ENROLLED)
    automatic = FaceFactory(embedding=_towards(query, 0.2, 12), person=person, assignment=Face.Assignment.AUTOMATIC)
    FaceFactory(embedding=_towards(query, 1.5, 13))
    mine = {"embedding": query, "model_id": MODEL_ID, "library_ids": [person.library_id]}

    assert [f.id for f in face_nearest(**mine, limit=2)] == [near.id, automatic.id]
    cut = 2 * np.sin(0.25 / 2)
    within = face_nearest(**mine, limit=10, max_distance=cut)
    assert [f.id for f in within] == [near.id, automatic.id]
    only = face_nearest(**mine, limit=10, confirmed_only=True)
    assert [f.id for f in only] == [confirmed.id]
    assert only[0].person == person
    rest = face_nearest(**mine, limit=1, exclude_face_id=near.id)
    assert [f.id for f in rest] == [automatic.id]


def _many_faces(count: int, *, confirmed_every: int = 0, seed: int = 0, library=None) -> tuple[np.ndarray, list[int]]:
    """`count` faces with random unit embeddings in one photo of `library` (default: the first); (vectors, ids)."""
    photo = PhotoFactory(**({"library": library} if library else {}))
    person = PersonFactory(library=photo.library)
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((count, 128)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    confirmed = {"person": person, "assignment": Face.Assignment.ENROLLED}
    faces = Face.objects.bulk_create(
        FaceFactory.build(
            photo=photo,
            library=photo.library,
            index=i,
            embedding=v,
            crop=b"",
            **(confirmed if confirmed_every and i % confirmed_every == 0 else {}),
        )
        for i, v in enumerate(vectors)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE photos_face")
    return vectors, [face.id for face in faces]


@pytest.mark.slow
@pytest.mark.django_db
def test_the_query_plan_uses_the_hnsw_index_when_the_candidates_are_many(monkeypatch):
    """(Filtered by confirmed faces, the planner also picks it once they are many: seen at 10k of 20k faces.)"""
    monkeypatch.setattr(selectors, "EXACT_SCAN_BELOW", 1000)  # 3,000 candidates are "many" (20,000 would be slow)
    vectors, _ = _many_faces(3000)
    plan = face_nearest_plan(embedding=vectors[0], model_id=MODEL_ID, library_ids=[first_library().id], limit=10)
    assert HNSW_SCAN in plan, plan


@pytest.mark.slow  # 3,000 faces inserted
@pytest.mark.django_db
def test_few_candidates_among_many_faces_are_scanned_exactly_and_ranked_exactly(monkeypatch):
    """The choice counts the candidates (the library's faces), not the table: a small library beside a large one is
    ranked by an exact scan, in numpy's exact order, while the large one still goes through the HNSW index."""
    monkeypatch.setattr(selectors, "EXACT_SCAN_BELOW", 1000)
    large, small = first_library(), LibraryFactory()
    _many_faces(3000, library=large)
    vectors, ids = _many_faces(200, seed=1, library=small)
    query = unit_vector(seed=5)

    plan = face_nearest_plan(embedding=query, model_id=MODEL_ID, library_ids=[small.id], limit=10)
    found = face_nearest(embedding=query, model_id=MODEL_ID, library_ids=[small.id], limit=10)

    # (Which btree reads them is the planner's cost call: at 1M faces it is face_library_vectors alone, an index-only
    # scan, as benchmarks/search_libraries.py logs; among 3,200 rows it may as well be the library's plain index.)
    assert "face_embedding_hnsw_l2" not in plan, plan
    distances = np.linalg.norm(vectors - query, axis=1)
    assert [f.id for f in found] == [ids[i] for i in np.argsort(distances)[:10]]
    assert [f.distance for f in found] == pytest.approx(np.sort(distances)[:10].tolist(), abs=1e-5)
    assert HNSW_SCAN in face_nearest_plan(embedding=query, model_id=MODEL_ID, library_ids=[large.id], limit=10)


@pytest.mark.slow
@pytest.mark.django_db
def test_few_confirmed_faces_are_ranked_exactly_through_the_btree_index():
    """When few faces are confirmed, they are read through the library's btree index and sorted: exact and fast."""
    vectors, _ = _many_faces(3000, confirmed_every=500)
    query = {"embedding": vectors[0], "model_id": MODEL_ID, "library_ids": [first_library().id], "limit": 1}
    plan = face_nearest_plan(**query, confirmed_only=True)
    assert "Seq Scan on photos_face" not in plan and "face_embedding_hnsw_l2" not in plan, plan
    nearest = face_nearest(**query, confirmed_only=True)
    assert nearest[0].index == 0 and nearest[0].distance == pytest.approx(0.0, abs=1e-6)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("exact_scan_below", [selectors.EXACT_SCAN_BELOW, 1], ids=["exact", "hnsw"])
def test_scan_settings_last_only_for_the_query_transaction(monkeypatch, exact_scan_below):
    monkeypatch.setattr(selectors, "EXACT_SCAN_BELOW", exact_scan_below)
    face = FaceFactory()
    found = face_nearest(
        embedding=unit_vector(seed=3), model_id=MODEL_ID, library_ids=[face.library_id], limit=5, ef_search=321
    )
    assert [f.id for f in found] == [face.id]
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('hnsw.ef_search', true), current_setting('hnsw.iterative_scan', true)")
        assert cursor.fetchone() in {("40", "off"), (None, None)}
