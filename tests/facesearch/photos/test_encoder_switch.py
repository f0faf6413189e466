"""Switching the library's encoder (`photos.encoder_switch`) on real LFW faces: search answers from the old vectors
for the whole re-encode, then the library serves the new encoder with its people intact and no old vector left."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.checks import run_checks
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from embeddings.encoders import get_spec
from facesearch.core.models import EncoderState
from facesearch.core.pipeline import Encoders, encoders_read, get_pipeline, serving_encoder, serving_encoder_forget
from facesearch.libraries.erasure import person_erase
from facesearch.people.models import FaceRejection, Person
from facesearch.people.services import faces_assign, faces_reject
from facesearch.photos import encoder_switch, processing
from facesearch.photos.models import Face, IngestJob, Photo
from facesearch.photos.services import photo_create
from tests.facesearch.conftest import upload
from tests.facesearch.photos.support import wait_for
from tests.factories import FaceFactory, PersonFactory, first_library

FACENET, SFACE = get_spec("facenet").model_id, get_spec("sface").model_id
POWELL = [f"Colin_Powell/Colin_Powell_{n:04d}.jpg" for n in (1, 2, 3, 4)]
OTHERS = ["Tony_Blair/Tony_Blair_0001.jpg", "Serena_Williams/Serena_Williams_0001.jpg"]
QUERY = "Colin_Powell/Colin_Powell_0006.jpg"  # never stored


@pytest.fixture(autouse=True)
def fresh_serving_encoder():
    """Each test reads the serving encoder from its own database state, not from a cache another test left."""
    serving_encoder_forget()
    yield
    serving_encoder_forget()


@pytest.fixture
def sface_weights(weights_dir: Path) -> None:
    if not (weights_dir / get_spec("sface").weights_file).is_file():
        pytest.skip(f"no sface weights in {weights_dir}: python -m embeddings.weights fetch --encoder sface")


def _store(lfw_dir: Path, name: str, user) -> Photo:
    file = SimpleUploadedFile(Path(name).name, (lfw_dir / "images" / name).read_bytes())
    photo, _ = photo_create(file=file, library=first_library(), uploaded_by=user, enqueue=False)
    return photo


def _searched_photos(api_client, lfw_dir: Path) -> tuple[set[int], set[str]]:
    """The photos search by photo finds for Powell's unseen photo, and the encoders of the faces it matched."""
    query = (lfw_dir / "images" / QUERY).read_bytes()
    response = api_client.post("/api/search/", {"file": upload(query)}, format="multipart")
    assert response.status_code == 200, response.content
    faces = Face.objects.filter(id__in=[match["face"]["id"] for match in response.json()["matches"]])
    return set(faces.values_list("photo_id", flat=True)), set(faces.values_list("model_id", flat=True))


@pytest.mark.slow
@pytest.mark.django_db
def test_search_answers_from_facenet_during_a_switch_to_sface_and_from_sface_after_with_people_kept(
    api_client, user, lfw_dir, media_root, sface_weights, django_capture_on_commit_callbacks, monkeypatch
):
    powell_photos = [_store(lfw_dir, name, user) for name in POWELL]
    others = [_store(lfw_dir, name, user) for name in OTHERS]
    processing.photos_encode(photo_ids=[photo.id for photo in [*powell_photos, *others]])
    powell = PersonFactory(name="Colin Powell", library=first_library())
    enrolled = Face.objects.get(photo=powell_photos[0])
    faces_assign(person=powell, face_ids=[enrolled.id], how=Face.Assignment.ENROLLED)
    blair = Face.objects.filter(photo=others[0]).order_by("index").first()  # the largest: LFW's subject
    faces_reject(person=powell, face_ids=[blair.id])  # "not Colin Powell": a correction the switch must keep
    assert _searched_photos(api_client, lfw_dir) == ({photo.id for photo in powell_photos}, {FACENET})

    with django_capture_on_commit_callbacks() as queued:  # its tasks are not sent: the test runs them itself
        jobs = encoder_switch.encoder_switch_start(encoder="sface", user=user)
    assert len(queued) == 1 and [job.source for job in jobs] == [IngestJob.Source.REPROCESS]
    assert encoders_read() == Encoders("facenet", "sface")
    first, rest = [p.id for p in powell_photos[:2]], [p.id for p in [*powell_photos[2:], *others]]
    processing.photos_claim_and_encode(photo_ids=first, encoder="sface")

    # Half re-encoded: both encoders' faces side by side, and search still answers from facenet only.
    assert Face.objects.filter(photo_id__in=first, model_id=SFACE).count() == 2
    assert Face.objects.filter(photo_id__in=first, model_id=FACENET).count() == 2
    assert Face.objects.get(photo=powell_photos[0], model_id=SFACE).person == powell  # inherited by box
    assert _searched_photos(api_client, lfw_dir) == ({photo.id for photo in powell_photos}, {FACENET})
    assert encoder_switch.encoder_switch_finish() is False  # photos still wait: the switch goes on

    # A photo uploaded during the switch gets both encoders' faces. Its task tops its batch up with the switch's
    # waiting photos, which have facenet's faces already: they get sface's only.
    encoded: list[tuple[str, list[int]]] = []
    encode_with = processing._photos_encode_with
    monkeypatch.setattr(
        processing,
        "_photos_encode_with",
        lambda pipeline, photos, images: (
            encoded.append((pipeline.encoder_name, [p.id for p in photos])) or encode_with(pipeline, photos, images)
        ),
    )
    late = _store(lfw_dir, "Colin_Powell/Colin_Powell_0005.jpg", user)
    processing.photos_claim_and_encode(photo_ids=[late.id])
    assert encoded == [("facenet", [late.id]), ("sface", [*rest, late.id])]
    assert set(Face.objects.filter(photo=late).values_list("model_id", flat=True)) == {FACENET, SFACE}
    assert late.id in _searched_photos(api_client, lfw_dir)[0]
    # A face named on the facenet side (what the pages show) after its sface face was stored keeps its name.
    faces_assign(person=powell, face_ids=[Face.objects.get(photo=powell_photos[3], model_id=FACENET).id])

    with django_capture_on_commit_callbacks() as cleanup:
        assert encoder_switch.encoder_switch_finish() is True
    assert len(cleanup) == 2  # the serving encoder read afresh here, the cleanup queued after the caches expire
    cleanup[0]()
    assert encoders_read() == Encoders("sface", "") and serving_encoder() == "sface"
    assert get_pipeline().spec.name == "sface"

    old_faces = Face.objects.filter(model_id=FACENET).count()
    assert encoder_switch.faces_of_old_encoders_delete() == old_faces  # what the delayed task does
    assert not Face.objects.filter(model_id=FACENET).exists()
    everyone = [*powell_photos, late]
    assert _searched_photos(api_client, lfw_dir) == ({photo.id for photo in everyone}, {SFACE})
    named = Face.objects.filter(person=powell)
    assert set(named.exclude(assignment=Face.Assignment.AUTOMATIC).values_list("photo_id", "assignment")) == {
        (powell_photos[0].id, Face.Assignment.ENROLLED),
        (powell_photos[3].id, Face.Assignment.MANUAL),  # named on the facenet face during the switch
    }
    assert set(named.values_list("model_id", flat=True)) == {SFACE}
    assert FaceRejection.objects.filter(face__photo=others[0], person=powell, face__model_id=SFACE).exists()
    assert Person.objects.get(id=powell.id).cover_face.model_id == SFACE


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_with_the_worker_reprocess_encoder_wait_serves_sface_and_leaves_no_facenet_vector(
    api_client, lfw_dir, sface_weights, celery_worker
):
    ids = []
    for name in [*POWELL[:3], OTHERS[0]]:
        file = SimpleUploadedFile(Path(name).name, (lfw_dir / "images" / name).read_bytes())
        ids.append(api_client.post("/api/photos/", {"file": file}, format="multipart").json()["id"])
    wait_for(lambda: Photo.objects.filter(id__in=ids, status=Photo.Status.DONE).count() == 4, what="the uploads")
    powell = PersonFactory(name="Colin Powell", library=first_library())
    faces_assign(person=powell, face_ids=[Face.objects.get(photo_id=ids[0]).id], how=Face.Assignment.ENROLLED)
    out = io.StringIO()

    call_command("reprocess", encoder="sface", wait=True, stdout=out)

    assert "serving encoder: sface" in out.getvalue()
    wait_for(lambda: not Face.objects.filter(model_id=FACENET).exists(), timeout=90, what="the old vectors to go")
    assert _searched_photos(api_client, lfw_dir) == (set(ids[:3]), {SFACE})
    enrolled = Face.objects.get(person=powell, assignment=Face.Assignment.ENROLLED)
    assert (enrolled.photo_id, enrolled.model_id) == (ids[0], SFACE)


@pytest.mark.django_db
def test_a_second_switch_while_one_runs_is_refused(user, lfw_dir, media_root, django_capture_on_commit_callbacks):
    _store(lfw_dir, POWELL[0], user)
    with django_capture_on_commit_callbacks():
        call_command("reprocess", encoder="sface")
    with pytest.raises(CommandError, match="from facenet to sface is under way"):
        call_command("reprocess", encoder="dlib-resnet")
    assert encoders_read() == Encoders("facenet", "sface")
    assert IngestJob.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(("encoder", "message"), [("fusion", "384-D"), ("nonesuch", "unknown encoder")])
def test_an_encoder_the_face_table_cannot_hold_is_refused(encoder, message):
    with pytest.raises(CommandError, match=message):
        call_command("reprocess", encoder=encoder)
    assert encoders_read().target == ""


@pytest.mark.django_db
def test_the_serving_encoder_is_a_plain_reprocess(user, lfw_dir, media_root, django_capture_on_commit_callbacks):
    photo = _store(lfw_dir, POWELL[0], user)
    with django_capture_on_commit_callbacks() as queued:
        call_command("reprocess", encoder="facenet")
    assert encoders_read() == Encoders("facenet", "")
    assert IngestJob.objects.get(source=IngestJob.Source.REPROCESS).items.get().photo_id == photo.id
    assert len(queued) == 1


@pytest.mark.django_db(databases=["default"])
def test_a_setting_that_differs_from_the_serving_encoder_tells_the_operator_what_to_run(settings):
    settings.FACESEARCH_ENCODER = "sface"
    EncoderState.objects.update_or_create(id=1, defaults={"serving": "facenet", "target": ""})
    warnings = [m for m in run_checks(databases=["default"]) if m.id == "facesearch.W001"]
    assert len(warnings) == 1 and "reprocess --encoder sface" in warnings[0].hint
    settings.FACESEARCH_ENCODER = "facenet"
    assert not [m for m in run_checks(databases=["default"]) if m.id == "facesearch.W001"]


@pytest.mark.django_db
def test_the_admin_action_starts_a_switch_and_a_library_without_photos_switches_at_once(admin_client):
    EncoderState.objects.get_or_create(id=1, defaults={"serving": "facenet"})

    response = admin_client.post(
        "/admin/core/encoderstate/", {"action": "switch_to_dlib-resnet", "_selected_action": [1]}, follow=True
    )

    assert response.status_code == 200
    assert "Re-encoding 0 photos with dlib-resnet" in response.content.decode()
    assert encoders_read() == Encoders("dlib-resnet", "")  # nothing to re-encode: it serves at once
    assert encoder_switch.switchable_encoders() == ["facenet", "sface", "dlib-resnet"]


@pytest.mark.django_db
def test_erasing_a_person_during_a_switch_removes_their_faces_of_both_encoders():
    person = PersonFactory(library=first_library())
    old = FaceFactory(person=person, model_id=FACENET)
    new = FaceFactory(photo=old.photo, index=old.index, box=old.box, person=person, model_id=SFACE)  # stored beside
    kept = FaceFactory(photo=old.photo, model_id=SFACE)

    receipt = person_erase(person=person)

    assert receipt.verified, receipt.verification
    assert list(Face.objects.filter(photo=old.photo).values_list("id", flat=True)) == [kept.id]
    assert not Face.objects.filter(id__in=[old.id, new.id]).exists()
