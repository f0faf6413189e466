"""Stored groups of unknown faces (the suggested people): kept up to date as faces arrive, not recomputed per
request. A face is in at most one group; a face placed but like nobody yet has a row with no group, so the periodic
maintenance knows which unassigned faces it has never seen."""

from django.db import models


class FaceGroup(models.Model):
    """Unassigned faces of one library and encoder that look like one person, and who they look like, if anyone."""

    library = models.ForeignKey("libraries.Library", on_delete=models.CASCADE, related_name="+")
    model_id = models.CharField(max_length=64)
    person = models.ForeignKey(
        "people.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="the proposed person: owner of the nearest confirmed face to the group's mean face",
    )  # fmt: skip
    distance = models.FloatField(null=True, blank=True, help_text="from the group's mean face to that person's face")
    review = models.BooleanField(
        default=False, help_text="the proposed name is near the threshold: a person should look before naming"
    )
    touched = models.BooleanField(default=True, help_text="faces joined or left since the last maintenance run")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["library", "model_id"]),
            models.Index(fields=["touched"], condition=models.Q(touched=True), name="face_group_touched"),
        ]

    def __str__(self) -> str:
        return f"group {self.pk}"


class GroupedFace(models.Model):
    """A face that grouping has placed: in `group`, or in none (it looks like nobody yet). Goes with its face."""

    face = models.OneToOneField("photos.Face", on_delete=models.CASCADE, primary_key=True, related_name="grouping")
    group = models.ForeignKey(FaceGroup, null=True, blank=True, on_delete=models.CASCADE, related_name="members")

    def __str__(self) -> str:
        return f"face {self.face_id} in group {self.group_id}"
