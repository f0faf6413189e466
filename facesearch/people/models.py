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
