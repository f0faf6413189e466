from django.db import models


class Person(models.Model):
    """An enrolled identity; its faces are `Face` rows pointing here."""

    library = models.ForeignKey("libraries.Library", on_delete=models.PROTECT, related_name="people")
    name = models.CharField(max_length=200)
    never_match = models.BooleanField(
        default=False,
        help_text="opted out: their faces are boxed but left out of every search, identification and suggestion",
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
