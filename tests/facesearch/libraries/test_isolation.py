"""Libraries isolate: every operation of the OpenAPI schema, called by another user (and by a key of that user's
library, with every scope) with ids of Alice's rows, answers exactly as for ids that do not exist, lists and searches
none of her rows, and changes nothing of hers. A viewer of her library reads and searches it but changes nothing.

The cases are keyed by operation id and checked against the schema, so a new operation fails
`test_every_operation_of_the_schema_has_an_isolation_case` until it gets its case here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from drf_spectacular.generators import SchemaGenerator
from rest_framework.response import Response
from rest_framework.test import APIClient

from facesearch.core.pipeline import get_pipeline
from facesearch.libraries.access import Caller
from facesearch.libraries.audit import audit_record
from facesearch.libraries.erasure import person_erase
from facesearch.libraries.models import AuditEntry, ErasureReceipt, Membership, Role
from facesearch.people.models import AssignmentEvent, Merge
from facesearch.people.services import faces_assign
from facesearch.photos.models import Face
from tests.facesearch.conftest import LfwImage
from tests.facesearch.libraries.support import MISSING_ID, Side, error, library_state, user_client
from tests.factories import PersonFactory, UserFactory

pytestmark = pytest.mark.django_db

OWN_OPERATIONS = {
    "libraries_create", "libraries_update", "libraries_destroy", "libraries_members_set", "libraries_keys_list",
    "libraries_keys_create", "libraries_keys_revoke", "audit_list", "erasures_list",
}  # fmt: skip
"""The owners' operations: an API key never has their scope, whatever library it names (403 before any lookup)."""


@pytest.fixture(scope="session")
def operations() -> dict[str, tuple[str, str]]:
    """operation id → (method, path template) of every operation the API publishes."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        operation["operationId"]: (method.upper(), path)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    }


@dataclass(frozen=True)
class Hers:
    """An id of Alice's: sent as it is, and as MISSING_ID in the control request the answer must equal."""

    id: int


def _resolve(value: Any, *, missing: bool) -> Any:
    if isinstance(value, Hers):
        return MISSING_ID if missing else value.id
    if isinstance(value, dict):
        return {key: _resolve(item, missing=missing) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_resolve(item, missing=missing) for item in value]
    return value


def _hers(value: Any) -> set[int]:
    if isinstance(value, Hers):
        return {value.id}
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list | tuple) else ()
    return set().union(*map(_hers, items))


def _as_missing(value: Any, ids: set[int]) -> Any:
    """An answer about Alice's ids as it would read about MISSING_ID (the ids an error's `extra` names)."""
    if isinstance(value, dict):
        return {key: _as_missing(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return (
            sorted(_as_missing(item, ids) for item in value)
            if all(isinstance(v, int) for v in value)
            else [_as_missing(item, ids) for item in value]
        )
    return MISSING_ID if isinstance(value, int) and not isinstance(value, bool) and value in ids else value


def query_image(image: LfwImage) -> SimpleUploadedFile:
    return SimpleUploadedFile(f"{image.stem}.jpg", image.data, content_type="image/jpeg")


@dataclass
class World:
    """Alice's library and Bob's, and how Bob calls the API: with his token (`user`) or his library's key (`key`)."""

    alice: Side
    bob: Side
    caller: str  # "user" | "key"
    operations: dict[str, tuple[str, str]]
    lfw: dict[str, LfwImage]

    @property
    def client(self) -> APIClient:
        return self.bob.client if self.caller == "user" else self.bob.key_client

    def call(
        self, operation: str, *, path: dict | None = None, body: Any = None, query: dict | None = None,
        fmt: str = "json", missing: bool = False,
    ) -> Response:  # fmt: skip
        method, template = self.operations[operation]
        url = template.format(**_resolve(path or {}, missing=missing))
        data = _resolve(body() if callable(body) else body, missing=missing)
        params = _resolve(query or {}, missing=missing)
        if method == "GET":
            return self.client.get(url, params)
        if params:
            url += "?" + "&".join(f"{key}={value}" for key, value in params.items())
        return getattr(self.client, method.lower())(url, data, format=fmt)

    def hidden(self, operation: str, *, status: int | None = None, **request: Any) -> dict:
        """Bob's request naming Alice's rows is refused exactly as the same request naming rows that do not exist: a
        404 (a key on an owners' operation: 403, before any lookup)."""
        if status is None:
            status = 403 if self.caller == "key" and operation in OWN_OPERATIONS else 404
        body = request.get("body")
        ids = _hers([request.get("path"), body() if callable(body) else body, request.get("query")])
        assert ids, "a hidden request names some row of Alice's"
        answer = error(self.call(operation, **request), status)
        control = error(self.call(operation, missing=True, **request), status)
        assert _as_missing(answer, ids) == control
        return answer

    def listed(self, operation: str, *, query: dict | None = None) -> list[int]:
        response = self.call(operation, query={"page_size": 500, **(query or {})})
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]


CASES: dict[str, Callable[[World], None]] = {}


def covers(*operation_ids: str) -> Callable:
    def register(function: Callable[[World], None]) -> Callable[[World], None]:
        for operation_id in operation_ids:
            assert operation_id not in CASES, operation_id
            CASES[operation_id] = function
        return function

    return register


# ---------------------------------------------------------------------------------------------------------- photos


@covers("photos_list")
def _photos_list(w: World) -> None:
    assert set(w.listed("photos_list")) == w.bob.photo_ids()
    bush = w.alice.people["Alice's Bush"]
    assert w.listed("photos_list", query={"person": bush.id}) == []
    his = w.bob.people["Bob's Bush"]
    assert w.listed("photos_list", query={"person": [his.id, bush.id]}) == []  # her person with his: none of his
    w.hidden("photos_list", query={"library": Hers(w.alice.library.id)})


@covers("photos_upload")
def _photos_upload(w: World) -> None:
    bush = w.lfw["George_W_Bush_0001"]
    w.hidden("photos_upload", body=lambda: {"file": query_image(bush), "library": Hers(w.alice.library.id)},
             fmt="multipart")  # fmt: skip
    _upload_into_her_job(w)
    # Alice's bytes uploaded by Bob are Bob's own photo, not hers.
    response = w.call("photos_upload", body={"file": query_image(bush)}, fmt="multipart")
    assert response.status_code == 201, response.content
    photo = response.json()
    assert photo["library"] == w.bob.library.id and photo["id"] not in w.alice.photo_ids() and photo["faces"] == []


@covers("photos_bulk_delete", "photos_bulk_reprocess")
def _photos_bulk(w: World) -> None:
    hers, his = w.alice.faces["George_W_Bush_0001"].photo_id, w.bob.faces["George_W_Bush_0005"].photo_id
    for operation in ("photos_bulk_delete", "photos_bulk_reprocess"):
        w.hidden(operation, body={"photo_ids": [Hers(hers)]})
        w.hidden(operation, body={"photo_ids": [his, Hers(hers)]})  # one of hers among his: none is touched
    assert his in w.bob.photo_ids()


def _upload_into_her_job(w: World) -> None:
    """His files sent into her upload job: as for a job that does not exist, and nothing stored."""
    blair = w.lfw["Tony_Blair_0002"]
    w.hidden("photos_upload", body=lambda: {"files": [query_image(blair)], "job": Hers(w.alice.job.id)},
             fmt="multipart")  # fmt: skip


@covers("photos_retrieve", "photos_destroy", "photos_image")
def _photo_by_id(w: World) -> None:
    photo = Hers(w.alice.faces["George_W_Bush_0001"].photo_id)
    w.hidden("photos_retrieve", path={"photo_id": photo})
    w.hidden("photos_destroy", path={"photo_id": photo})
    w.hidden("photos_image", path={"photo_id": photo})
    w.hidden("photos_image", path={"photo_id": photo}, query={"size": 128})


@covers("photos_faces_draw")
def _photos_faces_draw(w: World) -> None:
    hers = w.alice.faces["George_W_Bush_0001"].photo_id
    w.hidden("photos_faces_draw", path={"photo_id": Hers(hers)}, body={"box": [0, 0, 60, 60]})
    his = w.bob.faces["George_W_Bush_0005"].photo_id  # his photo, named after her person: as for no such person
    w.hidden("photos_faces_draw", path={"photo_id": his},
             body={"box": [0, 0, 60, 60], "person_id": Hers(w.alice.people["Alice's Bush"].id)})  # fmt: skip


# ----------------------------------------------------------------------------------------------------------- faces


@covers("faces_list")
def _faces_list(w: World) -> None:
    assert set(w.listed("faces_list")) == w.bob.face_ids()
    assert w.listed("faces_list", query={"person": w.alice.people["Alice's Bush"].id}) == []
    assert w.listed("faces_list", query={"photo": w.alice.faces["George_W_Bush_0001"].photo_id}) == []
    w.hidden("faces_list", query={"library": Hers(w.alice.library.id)})


@covers("faces_retrieve", "faces_crop")
def _face_by_id(w: World) -> None:
    face = Hers(w.alice.faces["George_W_Bush_0003"].id)
    w.hidden("faces_retrieve", path={"face_id": face})
    w.hidden("faces_crop", path={"face_id": face})


@covers("faces_assign")
def _faces_assign(w: World) -> None:
    hers, his = w.alice.faces["George_W_Bush_0003"].id, w.bob.faces["George_W_Bush_0005"].id
    w.hidden("faces_assign", path={"face_id": Hers(hers)}, body={"person": w.bob.people["Bob's Bush"].id})
    w.hidden("faces_assign", path={"face_id": Hers(w.alice.faces["George_W_Bush_0001"].id)}, body={"person": None})
    w.hidden("faces_assign", path={"face_id": his}, body={"person": Hers(w.alice.people["Alice's Bush"].id)})


@covers("faces_review")
def _faces_review(w: World) -> None:
    hers = Hers(w.alice.faces["George_W_Bush_0003"].id)
    for review in ("not_face", "ignored", ""):
        w.hidden("faces_review", path={"face_id": hers}, body={"review": review})
    assert not Face.objects.filter(library=w.alice.library).exclude(review="").exists()  # nothing changed for her


# ------------------------------------------------------------------------------------------------------------ jobs


@covers("jobs_list")
def _jobs_list(w: World) -> None:
    assert w.listed("jobs_list") == [w.bob.job.id]
    w.hidden("jobs_list", query={"library": Hers(w.alice.library.id)})


@covers("jobs_retrieve", "jobs_items", "jobs_retry")
def _job_by_id(w: World) -> None:
    job = Hers(w.alice.job.id)
    w.hidden("jobs_retrieve", path={"job_id": job})
    w.hidden("jobs_items", path={"job_id": job})
    w.hidden("jobs_retry", path={"job_id": job})


# ---------------------------------------------------------------------------------------------------------- people


@covers("people_list")
def _people_list(w: World) -> None:
    assert set(w.listed("people_list")) == {person.id for person in w.bob.people.values()}
    assert w.listed("people_list", query={"search": "Alice"}) == []
    w.hidden("people_list", query={"library": Hers(w.alice.library.id)})


@covers("people_create")
def _people_create(w: World) -> None:
    w.hidden("people_create", body={"name": "Planted", "library": Hers(w.alice.library.id)})


@covers("people_retrieve", "people_update", "people_destroy", "people_faces_list")
def _person_by_id(w: World) -> None:
    person = Hers(w.alice.people["Alice's Bush"].id)
    w.hidden("people_retrieve", path={"person_id": person})
    w.hidden("people_update", path={"person_id": person}, body={"never_match": True})
    w.hidden("people_update", path={"person_id": person}, body={"name": "Renamed"})
    w.hidden("people_update", path={"person_id": person}, body={"hidden": True})
    w.hidden("people_destroy", path={"person_id": person})
    w.hidden("people_destroy", path={"person_id": person}, query={"erase": "true", "photos": "true"})
    w.hidden("people_faces_list", path={"person_id": person})


@covers("people_faces_enrol")
def _people_faces_enrol(w: World) -> None:
    hers, his = w.alice.people["Alice's Bush"].id, w.bob.people["Bob's Bush"].id
    w.hidden(
        "people_faces_enrol", path={"person_id": Hers(hers)}, body={"face_ids": [w.bob.faces["George_W_Bush_0005"].id]}
    )
    w.hidden(
        "people_faces_enrol", path={"person_id": his}, body={"face_ids": [Hers(w.alice.faces["George_W_Bush_0003"].id)]}
    )


@covers("people_faces_remove")
def _people_faces_remove(w: World) -> None:
    hers, face = w.alice.people["Alice's Bush"], w.alice.faces["George_W_Bush_0002"]
    w.hidden("people_faces_remove", path={"person_id": Hers(hers.id), "face_id": Hers(face.id)})
    w.hidden("people_faces_remove", path={"person_id": w.bob.people["Bob's Bush"].id, "face_id": Hers(face.id)})


@covers("people_merge")
def _people_merge(w: World) -> None:
    hers, his = w.alice.people["Alice's Bush"].id, w.bob.people["Bob's Bush"].id
    w.hidden("people_merge", path={"person_id": Hers(hers)}, body={"other_id": his})
    w.hidden("people_merge", path={"person_id": his}, body={"other_id": Hers(hers)})


@covers("people_rejections_list", "people_rejections_create", "people_rejections_undo")
def _people_rejections(w: World) -> None:
    hers, his = w.alice.people["Alice's Powell"].id, w.bob.people["Bob's Bush"].id
    her_face, his_face = w.alice.faces["George_W_Bush_0003"].id, w.bob.faces["George_W_Bush_0005"].id
    response = w.call("people_rejections_list", path={"person_id": his})
    assert response.status_code == 200 and response.json()["results"] == []
    w.hidden("people_rejections_list", path={"person_id": Hers(hers)})
    w.hidden("people_rejections_create", path={"person_id": Hers(hers)}, body={"face_ids": [his_face]})
    w.hidden("people_rejections_create", path={"person_id": his}, body={"face_ids": [Hers(her_face)]})
    w.hidden("people_rejections_undo", path={"person_id": Hers(hers), "face_id": Hers(her_face)})
    w.hidden("people_rejections_undo", path={"person_id": his, "face_id": Hers(her_face)})


@covers("people_history")
def _people_history(w: World) -> None:
    his = w.bob.people["Bob's Bush"]
    faces_assign(person=his, face_ids=[w.bob.faces["George_W_Bush_0005"].id], caller=Caller(user=w.bob.user))
    her_face = w.alice.faces["George_W_Bush_0001"]
    AssignmentEvent.objects.create(
        library=w.alice.library, face=her_face, person=w.alice.people["Alice's Bush"], how="enrolled"
    )  # a history row of hers (rows no library_state compares)
    listed = w.call("people_history", path={"person_id": his.id}).json()["results"]
    assert [row["face_id"] for row in listed] == [w.bob.faces["George_W_Bush_0005"].id]
    w.hidden("people_history", path={"person_id": Hers(w.alice.people["Alice's Bush"].id)})


@covers("people_merges_undo")
def _people_merges_undo(w: World) -> None:
    hers, his = w.alice.people["Alice's Powell"], w.bob.people["Bob's Bush"]
    merge = Merge.objects.create(person=hers, other_id=MISSING_ID - 1, other_name="Alice's twin")
    w.hidden("people_merges_undo", path={"person_id": Hers(hers.id), "merge_id": Hers(merge.id)})
    w.hidden("people_merges_undo", path={"person_id": his.id, "merge_id": Hers(merge.id)})
    assert Merge.objects.get(id=merge.id).undone_at is None


@covers("people_split_groups", "people_split")
def _people_split(w: World) -> None:
    hers, his = w.alice.people["Alice's Bush"], w.bob.people["Bob's Bush"]
    her_face, his_face = w.alice.faces["George_W_Bush_0002"].id, w.bob.faces["George_W_Bush_0004"].id
    response = w.call("people_split_groups", path={"person_id": his.id})
    assert response.status_code == 200, response.content
    assert [face["id"] for face in response.json()["kept"]] == [his_face] and response.json()["groups"] == []
    w.hidden("people_split_groups", path={"person_id": Hers(hers.id)})
    w.hidden("people_split", path={"person_id": Hers(hers.id)}, body={"face_ids": [Hers(her_face)], "name": "Split"})
    w.hidden("people_split", path={"person_id": his.id}, body={"face_ids": [Hers(her_face)], "name": "Split"})
    w.hidden("people_split", path={"person_id": his.id}, body={"face_ids": [his_face], "person_id": Hers(hers.id)})


@covers("people_suggestions")
def _people_suggestions(w: World) -> None:
    response = w.call("people_suggestions", query={"limit": 100})
    assert response.status_code == 200, response.content
    groups = [({face["id"] for face in group["faces"]}, group["person"]) for group in response.json()["groups"]]
    # Bob's two photos of Powell are one group; Alice enrolled Powell, Bob did not: the group is nobody's.
    powell = {w.bob.faces["Colin_Powell_0002"].id, w.bob.faces["Colin_Powell_0003"].id}
    assert groups == [(powell, None)]
    w.hidden("people_suggestions", query={"library": Hers(w.alice.library.id)})


# ---------------------------------------------------------------------------------------------------------- search


@covers("search")
def _search(w: World) -> None:
    his_bush = {w.bob.faces["George_W_Bush_0004"].id, w.bob.faces["George_W_Bush_0005"].id}
    by_photo = w.call("search", body={"file": query_image(w.lfw["George_W_Bush_0006"])}, fmt="multipart")
    assert by_photo.status_code == 200, by_photo.content
    assert {match["face"]["id"] for match in by_photo.json()["matches"]} == his_bush  # not Alice's photos 1 to 3

    by_face = w.call("search", body={"face_id": w.bob.faces["George_W_Bush_0004"].id})
    assert by_face.status_code == 200, by_face.content
    assert [match["face"]["id"] for match in by_face.json()["matches"]] == [w.bob.faces["George_W_Bush_0005"].id]

    w.hidden("search", body={"face_id": Hers(w.alice.faces["George_W_Bush_0001"].id)})
    w.hidden("search", body={"face_id": w.bob.faces["George_W_Bush_0004"].id, "library": Hers(w.alice.library.id)})
    w.hidden("search", body=lambda: {"file": query_image(w.lfw["George_W_Bush_0006"]),
                                     "library": Hers(w.alice.library.id)}, fmt="multipart")  # fmt: skip


@covers("identify")
def _identify(w: World) -> None:
    enrolled = w.bob.faces["George_W_Bush_0004"]
    for stem in ("George_W_Bush_0006", "Colin_Powell_0006"):  # Alice enrolled both; Bob only Bush
        response = w.call("identify", body={"file": query_image(w.lfw[stem])}, fmt="multipart")
        assert response.status_code == 200, response.content
        (answer,) = response.json()["faces"]
        nearest = float(np.linalg.norm(w.lfw[stem].face.embedding - np.asarray(enrolled.embedding)))
        assert answer["distance"] == pytest.approx(nearest, abs=2e-4)  # to Bob's enrolled face, not Alice's nearer ones
        same = nearest < get_pipeline().threshold
        assert answer["person"] == ({"id": enrolled.person_id, "name": "Bob's Bush"} if same else None)
    w.hidden("identify", body=lambda: {"file": query_image(w.lfw["Colin_Powell_0006"]),
                                       "library": Hers(w.alice.library.id)}, fmt="multipart")  # fmt: skip


@covers("verify")
def _verify(w: World) -> None:
    his = [w.bob.faces["George_W_Bush_0004"].id, w.bob.faces["George_W_Bush_0005"].id]
    hers = Hers(w.alice.faces["George_W_Bush_0001"].id)
    response = w.call("verify", body={"face_a": his[0], "face_b": his[1]})
    assert response.status_code == 200 and response.json()["same"] is True, response.content
    w.hidden("verify", body={"face_a": hers, "face_b": his[0]})
    w.hidden("verify", body={"face_a": his[0], "face_b": hers})
    w.hidden("verify", body=lambda: {"file_a": query_image(w.lfw["George_W_Bush_0006"]), "face_b": hers},
             fmt="multipart")  # fmt: skip


# ------------------------------------------------------------------------------------------------------- libraries


@covers("libraries_list", "libraries_create")
def _libraries(w: World) -> None:
    assert w.listed("libraries_list") == [w.bob.library.id]
    w.hidden("libraries_list", query={"library": Hers(w.alice.library.id)})
    response = w.call("libraries_create", body={"name": "Bob's second"})
    if w.caller == "key":
        error(response, 403)
        return
    assert response.status_code == 201, response.content
    alice_sees = [row["id"] for row in user_client(w.alice.user).get("/api/libraries/").json()["results"]]
    assert alice_sees == [w.alice.library.id]


@covers("libraries_retrieve", "libraries_update", "libraries_destroy")
def _library_by_id(w: World) -> None:
    library = Hers(w.alice.library.id)
    w.hidden("libraries_retrieve", path={"library_id": library})
    w.hidden("libraries_update", path={"library_id": library}, body={"name": "Bob's now"})
    w.hidden("libraries_destroy", path={"library_id": library})


@covers("libraries_members_list", "libraries_members_set", "libraries_members_remove")
def _members(w: World) -> None:
    library = Hers(w.alice.library.id)
    key = w.caller == "key"
    w.hidden("libraries_members_list", path={"library_id": library}, status=403 if key else 404)
    w.hidden("libraries_members_set", path={"library_id": library}, body={"username": "bob", "role": Role.OWNER})
    w.hidden("libraries_members_remove", path={"library_id": library, "user_id": w.alice.user.id})
    w.hidden("libraries_members_remove", path={"library_id": library, "user_id": w.bob.user.id})  # "leaving" it
    w.hidden("libraries_members_remove", path={"library_id": w.bob.library.id, "user_id": Hers(w.alice.user.id)},
             status=403 if key else 404)  # fmt: skip


@covers("libraries_keys_list", "libraries_keys_create", "libraries_keys_revoke")
def _keys(w: World) -> None:
    library, key = Hers(w.alice.library.id), Hers(w.alice.key_row.id)
    w.hidden("libraries_keys_list", path={"library_id": library})
    w.hidden("libraries_keys_create", path={"library_id": library}, body={"name": "planted", "scopes": ["read"]})
    w.hidden("libraries_keys_revoke", path={"library_id": library, "key_id": key})
    w.hidden("libraries_keys_revoke", path={"library_id": w.bob.library.id, "key_id": key})


@covers("audit_list")
def _audit(w: World) -> None:
    audit_record(caller=None, kind=AuditEntry.Kind.SEARCH, library_ids=[w.alice.library.id])
    his = audit_record(caller=None, kind=AuditEntry.Kind.SEARCH, library_ids=[w.bob.library.id])
    if w.caller == "key":
        error(w.call("audit_list"), 403)
    else:
        assert w.listed("audit_list") == [his.id]
    w.hidden("audit_list", query={"library": Hers(w.alice.library.id)})


@covers("erasures_list")
def _erasures(w: World) -> None:
    person_erase(person=PersonFactory(library=w.alice.library))
    his = person_erase(person=PersonFactory(library=w.bob.library))
    if w.caller == "key":
        error(w.call("erasures_list"), 403)
    else:
        assert w.listed("erasures_list") == [his.id]
    assert ErasureReceipt.objects.count() == 2
    w.hidden("erasures_list", query={"library": Hers(w.alice.library.id)})


# ----------------------------------------------------------------------------------------------------------- tests


def test_every_operation_of_the_schema_has_an_isolation_case(operations):
    assert set(CASES) == set(operations)


def _grouped() -> dict[str, Callable[[World], None]]:
    """Each case once, named by the operations it covers."""
    operations: dict[Callable, list[str]] = {}
    for operation, case in CASES.items():
        operations.setdefault(case, []).append(operation)
    return {"+".join(names): case for case, names in operations.items()}


@pytest.mark.parametrize("caller", ["user", "key"])
@pytest.mark.parametrize("case", sorted(_grouped()))
def test_another_library_is_invisible_and_untouchable(case, caller, operations, alice, bob, lfw_images):
    before = library_state(alice.library.id)
    _grouped()[case](World(alice=alice, bob=bob, caller=caller, operations=operations, lfw=lfw_images))
    assert library_state(alice.library.id) == before


# ---------------------------------------------------------------------------------------------------------- viewer


@pytest.fixture
def viewer(alice: Side) -> APIClient:
    """Vic, a viewer of Alice's library (and owner of his own, empty one)."""
    vic = UserFactory(username="vic")
    Membership.objects.create(library=alice.library, user=vic, role=Role.VIEWER)
    return user_client(vic)


def test_a_viewer_reads_and_searches_the_library(alice, viewer, lfw_images):
    library = alice.library.id
    assert set(_ids(viewer.get("/api/photos/", {"library": library}))) == alice.photo_ids()
    assert set(_ids(viewer.get("/api/faces/", {"page_size": 500}))) == alice.face_ids()
    assert set(_ids(viewer.get("/api/people/"))) == {person.id for person in alice.people.values()}
    assert _ids(viewer.get("/api/jobs/")) == [alice.job.id]
    face, powell = alice.faces["George_W_Bush_0001"], alice.people["Alice's Powell"]
    for url in (f"/api/photos/{face.photo_id}/", f"/api/photos/{face.photo_id}/image", f"/api/faces/{face.id}/",
                f"/api/faces/{face.id}/crop", f"/api/people/{face.person_id}/faces/",
                f"/api/people/{powell.id}/rejections/", f"/api/people/{powell.id}/history/",
                f"/api/people/{powell.id}/split/", f"/api/jobs/{alice.job.id}/",
                f"/api/jobs/{alice.job.id}/items/", f"/api/libraries/{library}/members/"):  # fmt: skip
        assert viewer.get(url).status_code == 200, url
    assert viewer.get(f"/api/libraries/{library}/").json()["role"] == Role.VIEWER

    bush = {alice.faces[f"George_W_Bush_000{n}"].id for n in (1, 2, 3)}
    found = viewer.post("/api/search/", {"file": query_image(lfw_images["George_W_Bush_0006"])}, format="multipart")
    assert {match["face"]["id"] for match in found.json()["matches"]} == bush
    by_face = viewer.post("/api/search/", {"face_id": face.id, "library": library}, format="json")
    assert {match["face"]["id"] for match in by_face.json()["matches"]} == bush - {face.id}
    identified = viewer.post("/api/identify/", {"file": query_image(lfw_images["Colin_Powell_0006"])},
                             format="multipart").json()["faces"]  # fmt: skip
    assert [answer["person"]["name"] for answer in identified] == ["Alice's Powell"]
    verified = viewer.post("/api/verify/", {"face_a": face.id, "face_b": alice.faces["George_W_Bush_0002"].id})
    assert verified.json()["same"] is True
    groups = viewer.get("/api/people/suggestions/", {"library": library}).json()["groups"]
    blair = {alice.faces[f"Tony_Blair_000{n}"].id for n in (1, 3, 6)}
    assert [({face["id"] for face in group["faces"]}, group["person"]) for group in groups] == [(blair, None)]

    # The log and the receipts are the owners': Vic sees his searches that compared within his own library too (by
    # photo, identify), not those within hers alone (by face, verify, suggestions), nor Alice's.
    audit_record(caller=Caller(user=alice.user), kind=AuditEntry.Kind.SEARCH, library_ids=[library])
    person_erase(person=PersonFactory(library=alice.library))
    seen = viewer.get("/api/audit/", {"page_size": 500}).json()["results"]
    assert [(entry["username"], entry["kind"]) for entry in seen] == [("vic", "identify"), ("vic", "search")]
    assert _ids(viewer.get("/api/erasures/")) == []


def _ids(response: Response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_a_viewer_is_refused_every_change(alice, viewer, lfw_images):
    library = alice.library.id
    face, person = alice.faces["George_W_Bush_0003"], alice.people["Alice's Bush"]
    other = alice.people["Alice's Powell"]
    upload = {"file": query_image(lfw_images["Tony_Blair_0002"]), "library": library}
    changes = [
        ("post", "/api/photos/", upload, "multipart"),
        ("delete", f"/api/photos/{face.photo_id}/", None, "json"),
        ("patch", f"/api/faces/{face.id}/", {"person": person.id}, "json"),
        ("patch", f"/api/faces/{alice.faces['George_W_Bush_0001'].id}/", {"person": None}, "json"),
        ("post", "/api/people/", {"name": "Planted", "library": library}, "json"),
        ("patch", f"/api/people/{person.id}/", {"never_match": True}, "json"),
        ("delete", f"/api/people/{person.id}/", None, "json"),
        ("delete", f"/api/people/{person.id}/?erase=true&photos=true", None, "json"),
        ("post", f"/api/people/{person.id}/faces/", {"face_ids": [face.id]}, "json"),
        ("delete", f"/api/people/{person.id}/faces/{alice.faces['George_W_Bush_0002'].id}/", None, "json"),
        ("post", f"/api/people/{person.id}/merge/", {"other_id": other.id}, "json"),
        ("post", f"/api/people/{person.id}/merges/{MISSING_ID}/undo/", None, "json"),
        ("post", f"/api/people/{person.id}/split/", {"face_ids": [face.id], "name": "Split"}, "json"),
        ("patch", f"/api/people/{person.id}/", {"hidden": True}, "json"),
        ("post", f"/api/people/{person.id}/rejections/", {"face_ids": [face.id]}, "json"),
        ("delete", f"/api/people/{other.id}/rejections/{face.id}/", None, "json"),
        ("post", f"/api/jobs/{alice.job.id}/retry/", None, "json"),
        ("post", f"/api/photos/{face.photo_id}/faces/", {"box": [0, 0, 60, 60]}, "json"),
        ("patch", f"/api/libraries/{library}/", {"name": "Vic's"}, "json"),
        ("delete", f"/api/libraries/{library}/", None, "json"),
        ("post", f"/api/libraries/{library}/members/", {"username": "vic", "role": Role.OWNER}, "json"),
        ("delete", f"/api/libraries/{library}/members/{alice.user.id}/", None, "json"),
        ("get", f"/api/libraries/{library}/keys/", None, "json"),
        ("post", f"/api/libraries/{library}/keys/", {"name": "vic", "scopes": ["read"]}, "json"),
        ("delete", f"/api/libraries/{library}/keys/{alice.key_row.id}/", None, "json"),
    ]
    before = library_state(library)
    answers = {}
    for method, url, body, fmt in changes:
        response = getattr(viewer, method)(url, body, format=fmt)
        answers[(method, url)] = response.status_code
        if response.status_code == 403:
            assert set(response.json()) == {"message", "extra"}
    assert answers == {change: 403 for change in answers}
    assert library_state(library) == before
