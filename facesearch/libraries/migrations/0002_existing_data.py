"""Existing rows move into libraries: every user gets a personal library; photos and jobs go to their uploader's
(those without one to the first superuser's, else to a library "Shared" with no members, which superusers see in the
admin); faces follow their photo; a person goes to the library holding most of their faces, and is copied (same name
and notes) into each other library that holds some, so no person spans libraries. Audit entries are copied over."""

from django.db import migrations
from django.db.models import Count, OuterRef, Subquery


def forwards(apps, schema_editor):
    User = apps.get_model("auth", "User")
    Library = apps.get_model("libraries", "Library")
    Membership = apps.get_model("libraries", "Membership")
    Photo = apps.get_model("photos", "Photo")
    Face = apps.get_model("photos", "Face")
    IngestJob = apps.get_model("photos", "IngestJob")
    Person = apps.get_model("people", "Person")

    personal = {}
    for user in User.objects.order_by("id"):
        library = Library.objects.create(name=f"{user.username}'s library"[:200], personal_for_id=user.id)
        Membership.objects.create(library=library, user=user, role="owner")
        personal[user.id] = library.id

    fallback = None

    def fallback_id():
        nonlocal fallback
        if fallback is None:
            admin = User.objects.filter(is_superuser=True).order_by("id").first()
            fallback = personal[admin.id] if admin else Library.objects.create(name="Shared").id
        return fallback

    for model, owner in ((Photo, "uploaded_by_id"), (IngestJob, "created_by_id")):
        for user_id in model.objects.values_list(owner, flat=True).distinct():
            library_id = personal[user_id] if user_id is not None else fallback_id()
            model.objects.filter(**{owner: user_id}).update(library_id=library_id)
    Face.objects.update(library_id=Subquery(Photo.objects.filter(id=OuterRef("photo_id")).values("library_id")[:1]))

    for person in Person.objects.order_by("id"):
        counts = list(
            Face.objects.filter(person=person).values("library_id").annotate(n=Count("id")).order_by("-n", "library_id")
        )
        person.library_id = counts[0]["library_id"] if counts else fallback_id()
        if person.cover_face_id and not Face.objects.filter(id=person.cover_face_id, library_id=person.library_id).exists():
            person.cover_face_id = None
        person.save(update_fields=["library", "cover_face"])
        for other in counts[1:]:
            copy = Person.objects.create(
                library_id=other["library_id"], name=person.name, notes=person.notes, never_match=person.never_match
            )
            Face.objects.filter(person=person, library_id=other["library_id"]).update(person=copy)

    schema_editor.execute(
        "INSERT INTO libraries_auditentry (user_id, username, api_key_id, api_key_name, library_ids, kind, created_at,"
        " result_count, best_distance, succeeded, detail)"
        " SELECT a.user_id, COALESCE(u.username, ''), NULL, '', '{}', a.kind, a.created_at, a.result_count,"
        " a.best_distance, true, a.detail FROM search_auditlog a LEFT JOIN auth_user u ON u.id = a.user_id"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("libraries", "0001_initial"),
        ("photos", "0003_remove_photo_photos_phot_created_d69ed2_idx_and_more"),
        ("people", "0003_remove_person_people_pers_name_3035d1_idx_and_more"),
        ("search", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
