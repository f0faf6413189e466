from django.conf import settings
from django.db import models


class AuditLog(models.Model):
    """Who searched, when, for what kind of answer, and how many results: never the query image itself."""

    class Kind(models.TextChoices):
        SEARCH = "search"
        IDENTIFY = "identify"
        VERIFY = "verify"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    result_count = models.PositiveIntegerField()
    best_distance = models.FloatField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True, help_text="query parameters, e.g. face_id, limit")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} by {self.user} at {self.created_at:%Y-%m-%d %H:%M}"
