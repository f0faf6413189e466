"""Never-match, on real LFW faces: a person marked so is left out of search, identification and suggestions, for the
owner and for a viewer alike; searching with one of their faces is refused; a new photo of them is boxed and named
after them by a real worker, and stays out of search; clearing the mark brings their faces back."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from facesearch.core.pipeline import get_pipeline
from facesearch.libraries.models import AuditEntry, Library, Membership, Role
from facesearch.people.models import Person
from facesearch.photos.models import Face
from tests.facesearch.conftest import LfwImage
from tests.facesearch.libraries.support import error, face_store, user_client
from tests.facesearch.photos.support import wait_for
from tests.factories import PersonFactory, UserFactory

GEORGE = ("George_W_Bush_0001", "George_W_Bush_0004", "George_W_Bush_0005")  # the first one enrolled
# Two unnamed faces of George 0.42 apart: well within the group cut (0.8), so they are suggested as one group
UNNAMED = ("George_W_Bush_0002", "George_W_Bush_0003", "Colin_Powell_0002")  # nobody has said who these are


@dataclass
class Family:
    library: Library
    george: Person
    colin: Person
    faces: dict[str, Face]
    owner: APIClient
    viewer: APIClient

    def ids(self, *stems: str) -> set[int]:
        return {self.faces[stem].id for stem in stems}


def family_make(lfw_images: dict[str, LfwImage]) -> Family:
    """Olga's library: George W Bush named on three photos, Colin Powell enrolled on one, three unnamed faces (two of
    George, one of Colin); Vic may view it."""
    olga, vic = UserFactory(username="olga"), UserFactory(username="vic")
    library = Library.objects.get(personal_for=olga)
    Membership.objects.create(library=library, user=vic, role=Role.VIEWER)
    george, colin = PersonFactory(library=library, name="George"), PersonFactory(library=library, name="Colin")
    faces = {}
    for i, stem in enumerate(GEORGE):
        how = Face.Assignment.ENROLLED if i == 0 else Face.Assignment.MANUAL
        faces[stem] = face_store(library, lfw_images[stem], person=george, how=how)
    faces["Colin_Powell_0001"] = face_store(library, lfw_images["Colin_Powell_0001"], person=colin,
                                            how=Face.Assignment.ENROLLED)  # fmt: skip
    for stem in UNNAMED:
        faces[stem] = face_store(library, lfw_images[stem])
    owner, viewer = user_client(olga), user_client(vic)
    return Family(library=library, george=george, colin=colin, faces=faces, owner=owner, viewer=viewer)


@pytest.fixture
def family(db, media_root, lfw_images) -> Family:
    return family_make(lfw_images)


def image(lfw_images: dict[str, LfwImage], stem: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(f"{stem}.jpg", lfw_images[stem].data, content_type="image/jpeg")


def searched(client: APIClient, lfw_images, stem: str) -> set[int]:
    response = client.post("/api/search/", {"file": image(lfw_images, stem), "limit": 100}, format="multipart")
    assert response.status_code == 200, response.content
    return {match["face"]["id"] for match in response.json()["matches"]}


def identified(client: APIClient, lfw_images, stem: str) -> dict:
    response = client.post("/api/identify/", {"file": image(lfw_images, stem)}, format="multipart")
    assert response.status_code == 200, response.content
    (answer,) = response.json()["faces"]
    return answer


def suggested(client: APIClient, library: Library) -> list[tuple[set[int], str | None]]:
    response = client.get("/api/people/suggestions/", {"limit": 100, "library": library.id})
    assert response.status_code == 200, response.content
    return [
        ({face["id"] for face in group["faces"]}, group["person"] and group["person"]["name"])
        for group in response.json()["groups"]
    ]


def mark(family: Family, never_match: bool) -> None:
    response = family.owner.patch(f"/api/people/{family.george.id}/", {"never_match": never_match}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["never_match"] is never_match


@pytest.mark.django_db
def test_a_never_match_person_is_left_out_of_search_identify_and_suggestions_for_everyone(family, lfw_images):
    unnamed_george = family.ids("George_W_Bush_0002", "George_W_Bush_0003")
    for client in (family.owner, family.viewer):
        assert searched(client, lfw_images, "George_W_Bush_0006") == family.ids(*GEORGE) | unnamed_george
        assert identified(client, lfw_images, "George_W_Bush_0006")["person"]["name"] == "George"
    assert suggested(family.owner, family.library) == [(unnamed_george, "George")]

    mark(family, True)

    assert set(Face.objects.filter(person=family.george).values_list("searchable", flat=True)) == {False}
    colin = np.asarray(family.faces["Colin_Powell_0001"].embedding)
    to_colin = float(np.linalg.norm(lfw_images["George_W_Bush_0006"].face.embedding - colin))
    for client in (family.owner, family.viewer):
        # His photos stay (boxed, listed); no search finds them. The unnamed photos of him are nobody's: still found.
        assert searched(client, lfw_images, "George_W_Bush_0006") == unnamed_george
        answer = identified(client, lfw_images, "George_W_Bush_0006")
        assert (answer["person"], answer["decision"]) == (None, "unknown")
        assert answer["distance"] == pytest.approx(to_colin, abs=2e-4)  # the nearest enrolled face left: Colin's
        assert (client.get(f"/api/people/{family.george.id}/faces/").json()["count"]) == len(GEORGE)
        by_face = client.post("/api/search/", {"face_id": family.faces["George_W_Bush_0002"].id}, format="json")
        assert {match["face"]["id"] for match in by_face.json()["matches"]} == family.ids("George_W_Bush_0003")
        for face in family.ids(*GEORGE):
            assert error(client.post("/api/search/", {"face_id": face}, format="json"), 409)["extra"] == {
                "face_id": face
            }
            error(client.post("/api/verify/", {"face_a": face, "face_b": family.faces["George_W_Bush_0002"].id}), 409)
        assert suggested(client, family.library) == [(unnamed_george, None)]  # grouped, but no longer named after him

    entry = AuditEntry.objects.get(kind=AuditEntry.Kind.NEVER_MATCH)
    assert (entry.username, entry.detail) == ("olga", {"person_id": family.george.id, "never_match": True})


@pytest.mark.django_db
def test_clearing_never_match_puts_the_faces_back(family, lfw_images):
    everything = searched(family.owner, lfw_images, "George_W_Bush_0006")
    mark(family, True)
    mark(family, False)

    assert set(Face.objects.filter(person=family.george).values_list("searchable", flat=True)) == {True}
    for client in (family.owner, family.viewer):
        assert searched(client, lfw_images, "George_W_Bush_0006") == everything
        assert identified(client, lfw_images, "George_W_Bush_0006")["person"]["name"] == "George"
    george = family.faces["George_W_Bush_0001"].id
    assert family.owner.post("/api/search/", {"face_id": george}, format="json").status_code == 200


@pytest.mark.django_db
def test_faces_given_to_a_never_match_person_are_unsearchable_and_taken_away_searchable_again(family, lfw_images):
    mark(family, True)
    unnamed = family.faces["George_W_Bush_0002"]

    enrolled = family.owner.post(f"/api/people/{family.george.id}/faces/", {"face_ids": [unnamed.id]}, format="json")
    assert enrolled.status_code == 200
    assert searched(family.owner, lfw_images, "George_W_Bush_0006") == family.ids("George_W_Bush_0003")

    removed = family.owner.delete(f"/api/people/{family.george.id}/faces/{unnamed.id}/")
    assert removed.status_code == 204
    assert searched(family.owner, lfw_images, "George_W_Bush_0006") == family.ids(
        "George_W_Bush_0002", "George_W_Bush_0003"
    )


@pytest.mark.slow  # a real worker loads the networks
@pytest.mark.django_db(transaction=True)
def test_a_new_photo_of_a_never_match_person_is_boxed_named_after_them_and_not_searchable(lfw_images, celery_worker):
    family = family_make(lfw_images)  # in the shared MEDIA_ROOT, which the worker reads
    mark(family, True)

    response = family.owner.post("/api/photos/", {"file": image(lfw_images, "George_W_Bush_0006")}, format="multipart")
    assert response.status_code == 201, response.content
    photo_id = response.json()["id"]
    wait_for(
        lambda: family.owner.get(f"/api/photos/{photo_id}/").json()["status"] == "done",
        timeout=180,
        what="the worker to process the photo",
    )

    (face,) = Face.objects.filter(photo_id=photo_id)
    assert (face.person_id, face.assignment, face.searchable) == (family.george.id, Face.Assignment.AUTOMATIC, False)
    assert 0 < face.assignment_distance <= get_pipeline().spec.auto_assign_distance
    unnamed_george = family.ids("George_W_Bush_0002", "George_W_Bush_0003")
    for client in (family.owner, family.viewer):
        assert searched(client, lfw_images, "George_W_Bush_0006") == unnamed_george  # not the very same photo
    assert identified(family.owner, lfw_images, "George_W_Bush_0006")["person"] is None
    error(family.owner.post("/api/search/", {"face_id": face.id}, format="json"), 409)

    mark(family, False)

    found = family.owner.post("/api/search/", {"file": image(lfw_images, "George_W_Bush_0006")}, format="multipart")
    first = found.json()["matches"][0]
    assert (first["face"]["id"], first["person"]["name"]) == (face.id, "George") and first["distance"] < 1e-3
    assert {match["face"]["id"] for match in found.json()["matches"]} == family.ids(*GEORGE) | unnamed_george | {
        face.id
    }
