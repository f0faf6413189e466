"""Erasure: a person (their faces' vectors and crops, optionally the photos only they are in) or a whole library is
removed, then a scan of the database and the media checks that nothing of it is left, and a receipt says what was
removed and what the scan found. The receipt holds counts and ids, never a name, an image or a vector.

What the scan looks for, after the commit (so the photo files, removed on commit, are gone too):
- the rows: the person or library, every face id erased, any face still pointing at the person, the history of who
  was whom (assignment events, merges that remember the person);
- the vectors: any face left in the library within `SAME_VECTOR` of an erased vector (a copy under another id);
- the files: each deleted photo's file and cached thumbnails, unless another library still holds the same bytes
  (that library's own photo: counted as `files_kept_shared`, not a failure).
The server-side cache holds no face data (throttle counters and health answers only); a browser may keep the images
it was shown for up to an hour (faces) or until its cache is cleared (photos).
"""

from __future__ import annotations

import numpy as np
from django.db import transaction
from django.db.models import Q

from facesearch.grouping.models import FaceGroup, GroupedFace
from facesearch.libraries.access import Caller
from facesearch.libraries.audit import audit_record
from facesearch.libraries.models import ApiKey, AuditEntry, ErasureReceipt, Library, Membership
from facesearch.people.models import AssignmentEvent, Merge, Person
from facesearch.people.services import person_merges_forget
from facesearch.photos.models import Face, IngestJob, Photo
from facesearch.photos.selectors import face_nearest
from facesearch.photos.services import photo_delete
from facesearch.photos.storage import photo_file_path, thumbnail_files

SAME_VECTOR = 1e-3
"""Euclidean distance under which a stored vector counts as a copy of an erased one (float32 round trips differ by
~1e-7; two photos of one person are never this close: the closest LFW pairs measured are > 0.2 apart)."""


def person_erase(*, person: Person, photos: bool = False, caller: Caller | None = None) -> ErasureReceipt:
    """Erase a person: their faces (vectors, crops), and with `photos` the photos in which they are the only face."""
    library = person.library
    with transaction.atomic():
        person = Person.objects.select_for_update().get(id=person.id)
        faces = list(Face.objects.filter(person=person).values_list("id", "photo_id", "embedding"))
        face_ids = [face_id for face_id, _, _ in faces]
        photo_ids = sorted({photo_id for _, photo_id, _ in faces})
        only_them = []
        if photos:
            shared = set(
                Face.objects.filter(photo_id__in=photo_ids).exclude(person=person).values_list("photo_id", flat=True)
            )
            only_them = [photo_id for photo_id in photo_ids if photo_id not in shared]
        files = _files_of(only_them)
        for photo in Photo.objects.filter(id__in=only_them):
            photo_delete(photo=photo)
        Face.objects.filter(id__in=face_ids).delete()  # those of photos kept; the others went with their photo
        person_id = person.id
        person_merges_forget(person=person)
        person.delete()  # its events and merges go with it
        audit_record(
            caller=caller, kind=AuditEntry.Kind.ERASURE, library_ids=[library.id], result_count=len(face_ids),
            detail={"person_id": person_id, "photos": len(only_them)},
        )  # fmt: skip
    removed = {"people": 1, "faces": len(face_ids), "photos": len(only_them)}
    checks = {
        "person_rows": Person.objects.filter(id=person_id).count(),
        "faces_of_person": Face.objects.filter(person_id=person_id).count(),
        "face_rows": Face.objects.filter(id__in=face_ids).count(),
        "grouped_face_rows": GroupedFace.objects.filter(face_id__in=face_ids).count(),
        "groups_naming_person": FaceGroup.objects.filter(person_id=person_id).count(),
        "photo_rows": Photo.objects.filter(id__in=only_them).count(),
        "event_rows": AssignmentEvent.objects.filter(
            Q(person_id=person_id) | Q(previous_person_id=person_id) | Q(face_id__in=face_ids)
        ).count(),
        "merge_rows": Merge.objects.filter(Q(person_id=person_id) | Q(other_id=person_id)).count(),
        "vector_copies": _vector_copies([np.asarray(vector) for _, _, vector in faces], library_ids=[library.id]),
        **_files_left(files),
    }
    return _receipt(
        subject=ErasureReceipt.Subject.PERSON, subject_id=person_id, library=library, caller=caller, removed=removed,
        checks=checks,
    )  # fmt: skip


def library_erase(*, library: Library, caller: Caller | None = None) -> ErasureReceipt:
    """Erase a library and everything in it: photos (files, thumbnails), faces, people, jobs, API keys, members."""
    photo_ids = list(Photo.objects.filter(library=library).values_list("id", flat=True))
    files = _files_of(photo_ids)
    removed = {
        "photos": len(photo_ids),
        "faces": Face.objects.filter(library=library).count(),
        "people": Person.objects.filter(library=library).count(),
        "jobs": IngestJob.objects.filter(library=library).count(),
        "api_keys": ApiKey.objects.filter(library=library).count(),
        "members": Membership.objects.filter(library=library).count(),
    }
    for photo in Photo.objects.filter(library=library).order_by("id"):
        photo_delete(photo=photo)  # one photo per transaction: each file goes after its own commit
    with transaction.atomic():
        Face.objects.filter(library=library).delete()  # none left unless a photo arrived meanwhile
        Person.objects.filter(library=library).update(cover_face=None)
        Person.objects.filter(library=library).delete()
        IngestJob.objects.filter(library=library).delete()
        ApiKey.objects.filter(library=library).delete()
        library_id = library.id
        Library.objects.filter(id=library_id).delete()  # memberships cascade
        audit_record(caller=caller, kind=AuditEntry.Kind.ERASURE, library_ids=[library_id], result_count=len(photo_ids),
                     detail={"library_id": library_id})  # fmt: skip
    checks = {
        "library_rows": Library.objects.filter(id=library_id).count(),
        **{
            f"{name}_rows": model.objects.filter(library_id=library_id).count()
            for name, model in (
                ("photo", Photo),
                ("face", Face),
                ("person", Person),
                ("job", IngestJob),
                ("api_key", ApiKey),
                ("event", AssignmentEvent),
                ("face_group", FaceGroup),
            )
        },
        "member_rows": Membership.objects.filter(library_id=library_id).count(),
        **_files_left(files),
    }
    return _receipt(
        subject=ErasureReceipt.Subject.LIBRARY, subject_id=library_id, library=library, caller=caller,
        removed=removed, checks=checks,
    )  # fmt: skip


def _files_of(photo_ids: list[int]) -> list[str]:
    return list(Photo.objects.filter(id__in=photo_ids).values_list("file", flat=True))


def _files_left(files: list[str]) -> dict[str, int]:
    """Photo files and thumbnails of the erased photos still on disk, except those another library's photo holds."""
    shared = set(Photo.objects.filter(file__in=files).values_list("file", flat=True))
    mine = [name for name in files if name not in shared]
    return {
        "files_left": sum(photo_file_path(name).exists() for name in mine),
        "thumbnails_left": sum(len(thumbnail_files(photo_name=name)) for name in mine),
        "files_kept_shared": len(shared),
    }


def _vector_copies(vectors: list[np.ndarray], *, library_ids: list[int]) -> int:
    """Faces left in the libraries whose vector is (a copy of) one of `vectors`: each one's nearest face, by the
    product's own query (an exact scan below EXACT_SCAN_BELOW faces; above, the HNSW index, whose recall@10 is >= 0.99
    measured, and for which a copy at distance 0 is the easiest neighbour there is)."""
    # order_by(): with Face's Meta ordering, DISTINCT would be over (model_id, photo_id, index), one row per face.
    faces = Face.objects.filter(library_id__in=library_ids).order_by()
    model_ids = list(faces.values_list("model_id", flat=True).distinct())
    copies = 0
    for vector in vectors:
        for model_id in model_ids:
            nearest = face_nearest(
                embedding=vector, model_id=model_id, library_ids=library_ids, limit=1, max_distance=SAME_VECTOR,
                include_unsearchable=True,
            )  # fmt: skip
            copies += len(nearest)
    return copies


def _receipt(
    *, subject: str, subject_id: int, library: Library, caller: Caller | None, removed: dict, checks: dict
) -> ErasureReceipt:
    verified = all(count == 0 for name, count in checks.items() if name != "files_kept_shared")
    return ErasureReceipt.objects.create(
        subject=subject,
        subject_id=subject_id,
        library_id=library.id,
        library_name=library.name,
        requested_by=caller.name if caller else "",
        removed=removed,
        verification={"found": checks, "cache": "holds no face data"},
        verified=verified,
    )
