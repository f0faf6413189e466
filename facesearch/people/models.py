from django.contrib.postgres.fields import ArrayField
from django.db import models


class Person(models.Model):
    """An enrolled identity; its faces are `Face` rows pointing here."""

    library = models.ForeignKey("libraries.Library", on_delete=models.PROTECT, related_name="people")
    name = models.CharField(max_length=200)
    never_match = models.BooleanField(
        default=False,
        help_text="opted out: their faces are boxed but left out of every search, identification and suggestion",
    )
    hidden = models.BooleanField(
        default=False,
        help_text="left out of the people list and of suggestions (e.g. passers-by); still searchable and identifiable",
    )
    notes = models.TextField(blank=True)
    cover_face = models.ForeignKey("photos.Face", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["library", "name"])]

    def __str__(self) -> str:
        return self.name


class FaceRejection(models.Model):
    """ "This face is not this person": a correction that sticks. The face is never again named after the person
    automatically, nor suggested as them, until someone assigns it to them by hand (which deletes the row)."""

    face = models.ForeignKey("photos.Face", on_delete=models.CASCADE, related_name="rejections")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="rejections")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, blank=True, help_text="who said so (`Caller.name`), kept as text")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["face", "person"], name="face_rejection_unique")]

    def __str__(self) -> str:
        return f"face {self.face_id} is not person {self.person_id}"


class Merge(models.Model):
    """A merge of another person into `person`, kept so it can be undone: what the other person was (its faces are
    in the merge's `AssignmentEvent`s, moved or left unassigned) and which of its rejections the merge carried over.

    Goes with `person` (deleting or erasing them deletes it, and with it the other person's name and notes)."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="merges")
    other_id = models.BigIntegerField(help_text="the merged person's id, given back to them by an undo")
    other_name = models.CharField(max_length=200)
    other_notes = models.TextField(blank=True)
    other_never_match = models.BooleanField(default=False)
    other_hidden = models.BooleanField(default=False)
    other_cover_face = models.ForeignKey(
        "photos.Face", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    other_rejected = ArrayField(
        models.BigIntegerField(), default=list, blank=True, help_text="faces the other person had rejected ('not them')"
    )
    carried = ArrayField(
        models.BigIntegerField(), default=list, blank=True, help_text="of those, rejections the merge gave `person`"
    )
    moved = models.PositiveIntegerField(default=0, help_text="faces moved to `person`")
    left_rejected = ArrayField(
        models.BigIntegerField(), default=list, blank=True, help_text="faces left unassigned: rejected for `person`"
    )
    left_same_photo = ArrayField(
        models.BigIntegerField(), default=list, blank=True,
        help_text="faces left unassigned: in a photo where `person` already has a face",
    )  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, blank=True, help_text="`Caller.name`, kept as text")
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.other_name} merged into person {self.person_id}"


class AssignmentEvent(models.Model):
    """One change of a face's person, with its provenance: the history a person page shows and what an undo reverts
    (the face's state before the change is kept with it).

    Goes with its face (a deleted face or photo deletes its events) and with its person; the person it was taken
    from is forgotten (set null) when that person is deleted.
    """

    class How(models.TextChoices):
        MANUAL = "manual"  # named by hand (a photo page, the API)
        ENROLLED = "enrolled"  # enrolled through a person's faces
        AUTOMATIC = "automatic"  # named at ingest by identification (with its distance)
        SUGGESTION = "suggestion"  # a suggested group, named by hand
        MERGE = "merge"  # moved (or left unassigned) by a merge
        UNMERGE = "unmerge"  # given back by undoing a merge
        SPLIT = "split"  # moved to another person by a split
        UNASSIGN = "unassign"  # removed from the person
        REJECT = "reject"  # "not this person" took it away from them

    library = models.ForeignKey("libraries.Library", on_delete=models.CASCADE, related_name="+")
    face = models.ForeignKey("photos.Face", on_delete=models.CASCADE, related_name="assignment_events")
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.CASCADE, related_name="assignment_events",
        help_text="whose the face became; null: unassigned",
    )  # fmt: skip
    previous_person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="whose it was (null: nobody's, or a person since deleted)",
    )  # fmt: skip
    how = models.CharField(max_length=16, choices=How.choices)
    assignment = models.CharField(max_length=16, blank=True, help_text="the face's `assignment` after the change")
    distance = models.FloatField(null=True, blank=True, help_text="identification's distance (automatic)")
    previous_assignment = models.CharField(max_length=16, blank=True)
    previous_distance = models.FloatField(null=True, blank=True)
    merge = models.ForeignKey(Merge, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, blank=True, help_text="`Caller.name`; empty for the system")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["person", "-id"]),
            models.Index(fields=["previous_person", "-id"]),
            models.Index(fields=["face", "-id"]),
        ]

    def __str__(self) -> str:
        return f"face {self.face_id}: {self.previous_person_id} → {self.person_id} ({self.how})"
