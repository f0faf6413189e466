"""Helpers of the library tests: one user's library of real LFW faces (`Side`), API clients for users and keys, the
error shape, and a snapshot of everything a library holds (to show a refused request changed nothing)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from rest_framework.response import Response
from rest_framework.test import APIClient

from facesearch.libraries.models import ApiKey, Library, Membership, Scope
from facesearch.libraries.services import api_key_create
from facesearch.people.models import FaceRejection, Person
from facesearch.people.services import person_cover_refresh
from facesearch.photos.models import Face, IngestItem, IngestJob, Photo
from facesearch.photos.storage import photo_file_path
from tests.facesearch.conftest import LfwImage
from tests.factories import (
    FaceFactory,
    IngestItemFactory,
    IngestJobFactory,
    PersonFactory,
    PhotoFactory,
    TokenFactory,
    UserFactory,
)

ALL_SCOPES = sorted(Scope.values)
MISSING_ID = 2_147_483_000  # an id no row has: what a caller is told about a row they may not see must not differ


def user_client(user: AbstractBaseUser) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {TokenFactory(user=user).key}")
    return client


def key_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def face_store(
    library: Library, image: LfwImage, *, person: Person | None = None, how: str = "", uploaded_by=None
) -> Face:
    """The photo of `image` in `library` with its subject's face (the real embedding), as processing stores it."""
    photo = PhotoFactory(
        library=library, content=image.data, original_name=f"{image.stem}.jpg", width=250, height=250,
        uploaded_by=uploaded_by,
    )  # fmt: skip
    return FaceFactory(
        photo=photo,
        index=0,
        box=[float(v) for v in image.face.box],
        score=float(image.face.score),
        embedding=image.face.embedding,
        model_id=image.face.model_id,
        person=person,
        assignment=how if person else "",
        searchable=not (person and person.never_match),
    )


@dataclass
class Side:
    """One user's personal library and what is in it."""

    user: AbstractBaseUser
    library: Library
    client: APIClient  # the user's token
    key: str  # an API key of the library with every scope
    key_row: ApiKey
    key_client: APIClient
    faces: dict[str, Face]  # by LFW stem
    people: dict[str, Person]  # by name
    job: IngestJob

    def face_ids(self) -> set[int]:
        return set(Face.objects.filter(library=self.library).values_list("id", flat=True))

    def photo_ids(self) -> set[int]:
        return set(Photo.objects.filter(library=self.library).values_list("id", flat=True))


def side_make(
    username: str, lfw_images: dict[str, LfwImage], *, people: dict[str, tuple[str, ...]], unnamed: tuple[str, ...]
) -> Side:
    """A user (whose personal library the sign-up made) with `people` (first photo enrolled, the others named by hand)
    and `unnamed` faces, an upload job of one photo, and a key with every scope."""
    user = UserFactory(username=username)
    library = Library.objects.get(personal_for=user)
    faces, persons = {}, {}
    for name, stems in people.items():
        person = persons[name] = PersonFactory(library=library, name=name)
        for i, stem in enumerate(stems):
            how = Face.Assignment.ENROLLED if i == 0 else Face.Assignment.MANUAL
            faces[stem] = face_store(library, lfw_images[stem], person=person, how=how, uploaded_by=user)
        person_cover_refresh(person=person)
    for stem in unnamed:
        faces[stem] = face_store(library, lfw_images[stem], uploaded_by=user)
    job = IngestJobFactory(library=library, created_by=user, state=IngestJob.State.DONE)
    IngestItemFactory(job=job, photo=next(iter(faces.values())).photo, name="first.jpg")
    key_row, key = api_key_create(library=library, name=f"{username}-app", scopes=ALL_SCOPES, created_by=user)
    return Side(
        user=user, library=library, client=user_client(user), key=key, key_row=key_row, key_client=key_client(key),
        faces=faces, people=persons, job=job,
    )  # fmt: skip


def error(response: Response, status: int) -> dict:
    """The body of an error answer, after checking its status and the one error shape."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert set(body) == {"message", "extra"} and body["message"], body
    return body


def library_state(library_id: int) -> dict:
    """Everything a library holds, as plain values: equal before and after a request that must change nothing."""
    photos = Photo.objects.filter(library_id=library_id)
    return {
        "library": list(Library.objects.filter(id=library_id).values_list("name", "personal_for")),
        "members": sorted(Membership.objects.filter(library_id=library_id).values_list("user_id", "role")),
        "photos": sorted(photos.values_list("id", "sha256", "status")),
        "files": sorted((name, photo_file_path(name).exists()) for name in photos.values_list("file", flat=True)),
        "faces": sorted(
            Face.objects.filter(library_id=library_id).values_list(
                "id", "photo_id", "person_id", "assignment", "searchable"
            )
        ),
        "people": sorted(
            Person.objects.filter(library_id=library_id).values_list(
                "id", "name", "notes", "never_match", "hidden", "cover_face_id"
            )
        ),
        "rejections": sorted(
            FaceRejection.objects.filter(person__library_id=library_id).values_list("face_id", "person_id")
        ),
        "jobs": sorted(IngestJob.objects.filter(library_id=library_id).values_list("id", "state")),
        "items": sorted(IngestItem.objects.filter(job__library_id=library_id).values_list("id", "state", "photo_id")),
        "keys": sorted(ApiKey.objects.filter(library_id=library_id).values_list("id", "scopes", "revoked_at")),
    }
