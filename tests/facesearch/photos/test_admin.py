"""The admin shows photos with their boxes, face crops and job progress, and its actions go through the services."""

from __future__ import annotations

from pathlib import Path

import pytest

from facesearch.photos.models import Face, IngestItem, IngestJob, Photo
from tests.factories import (
    FaceFactory,
    IngestItemFactory,
    IngestJobFactory,
    PersonFactory,
    PhotoFactory,
    UserFactory,
)


@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.django_db
def test_photo_page_draws_each_face_box_over_the_photo(admin_client, media_root):
    photo = PhotoFactory(width=640, height=480)
    person = PersonFactory(name="Grace <Hopper>")
    FaceFactory(photo=photo, index=0, box=[10, 20, 110, 140], person=person)
    FaceFactory(photo=photo, index=1, box=[300, 40, 380, 130])

    page = admin_client.get(f"/admin/photos/photo/{photo.id}/change/").content.decode()

    assert 'viewBox="0 0 640 480"' in page
    assert (
        '<rect x="10" y="20" width="100" height="120"' in page and '<rect x="300" y="40" width="80" height="90"' in page
    )
    assert "0: Grace &lt;Hopper&gt;" in page  # names are escaped
    assert f"/api/photos/{photo.id}/image?size=1024" in page
    changelist = admin_client.get("/admin/photos/photo/", {"q": photo.sha256[:10]}).content.decode()
    assert f"/api/photos/{photo.id}/image?size=96" in changelist and "1 photo" in changelist


@pytest.mark.django_db
def test_reprocess_action_creates_a_job(admin_client, media_root):
    photos = PhotoFactory.create_batch(2)
    response = admin_client.post(
        "/admin/photos/photo/", {"action": "reprocess", "_selected_action": [p.id for p in photos]}, follow=True
    )
    job = IngestJob.objects.get(source=IngestJob.Source.REPROCESS)
    assert f"job {job.id}" in response.content.decode()
    assert sorted(job.items.values_list("photo_id", flat=True)) == sorted(p.id for p in photos)


@pytest.mark.django_db
def test_assign_action_asks_for_the_person_then_assigns_the_faces(admin_client, media_root):
    faces = FaceFactory.create_batch(2)
    person = PersonFactory(name="Alan")
    selected = {"action": "assign_to_person", "_selected_action": [f.id for f in faces]}

    form = admin_client.post("/admin/photos/face/", selected)
    assert form.status_code == 200 and "Assign faces to a person" in form.content.decode()
    assert Face.objects.filter(person__isnull=False).count() == 0

    done = admin_client.post("/admin/photos/face/", {**selected, "apply": "1", "person": person.id}, follow=True)
    assert "2 faces assigned to Alan" in done.content.decode()
    assert set(Face.objects.values_list("person_id", "assignment")) == {(person.id, "manual")}

    admin_client.post("/admin/photos/face/", {**selected, "apply": "1", "new_person": "Barbara"}, follow=True)
    assert set(Face.objects.values_list("person__name", flat=True)) == {"Barbara"}


@pytest.mark.django_db
def test_face_pages_show_crops_and_filter_unassigned(admin_client, media_root):
    assigned = FaceFactory(person=PersonFactory())
    unassigned = FaceFactory()
    page = admin_client.get("/admin/photos/face/", {"person__isempty": "1"}).content.decode()
    assert f"/api/faces/{unassigned.id}/crop" in page and f"/api/faces/{assigned.id}/crop" not in page
    assert admin_client.get(f"/admin/photos/face/{assigned.id}/change/").status_code == 200


@pytest.mark.django_db
def test_job_pages_show_progress_and_failed_items(admin_client, media_root):
    job = IngestItemFactory(state=IngestItem.State.DONE).job
    IngestItemFactory(job=job, name="bad.jpg", photo=None, state=IngestItem.State.FAILED, error="not an image")
    changelist = admin_client.get("/admin/photos/ingestjob/").content.decode()
    assert '<progress value="2" max="2"' in changelist
    page = admin_client.get(f"/admin/photos/ingestjob/{job.id}/change/").content.decode()
    assert "bad.jpg" in page and "not an image" in page and "2 files: 1 done, 0 skipped, 1 failed" in page
    assert admin_client.get(f"/admin/photos/ingestitem/?job__id__exact={job.id}").status_code == 200


@pytest.mark.django_db
def test_job_progress_is_the_same_share_in_the_admin_and_the_api(admin_client, api_client, user):
    """Both show `selectors.job_list`'s progress: a third finished is 33% and 0.3333; an empty job is complete."""
    third, empty = IngestJobFactory.create_batch(2, library=user.personal_library)  # the API user's, the admin sees all
    for state in (IngestItem.State.DONE, IngestItem.State.PENDING, IngestItem.State.PENDING):
        IngestItemFactory(job=third, state=state)

    changelist = admin_client.get("/admin/photos/ingestjob/").content.decode()
    jobs = {job["id"]: job["progress"] for job in api_client.get("/api/jobs/").json()["results"]}

    assert '<progress value="1" max="3" title="1/3" style="width:8em"></progress> 33%' in changelist
    assert '<progress value="0" max="1" title="0/0" style="width:8em"></progress> 100%' in changelist
    assert jobs == {third.id: 0.3333, empty.id: 1.0}


@pytest.mark.django_db
def test_deleting_in_the_admin_removes_the_file(admin_client, media_root, django_capture_on_commit_callbacks):
    photo = PhotoFactory()
    path = Path(media_root, photo.file.name)
    assert path.exists()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"/admin/photos/photo/{photo.id}/delete/", {"post": "yes"})
    assert not Photo.objects.filter(id=photo.id).exists() and not path.exists()
