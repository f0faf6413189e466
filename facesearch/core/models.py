from django.db import models
from django.db.models import Q


class EncoderState(models.Model):
    """Which encoder the library is searched with (`serving`), and the one a switch is re-encoding it with (`target`,
    blank when none): one row, id 1. The product reads it through `core.pipeline.serving_encoder`, not the setting,
    so that changing FACESEARCH_ENCODER never empties search; `photos.encoder_switch` moves it."""

    SINGLETON = 1

    serving = models.CharField(max_length=32, help_text="the encoder whose vectors search, naming and grouping use")
    target = models.CharField(max_length=32, blank=True, help_text="the encoder a switch is re-encoding photos with")
    started_at = models.DateTimeField(null=True, blank=True, help_text="when the switch under way began")
    switched_at = models.DateTimeField(null=True, blank=True, help_text="when the serving encoder last changed")

    class Meta:
        verbose_name = "encoder"
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="encoder_state_singleton"),
            models.CheckConstraint(condition=~Q(target=models.F("serving")), name="encoder_state_target_differs"),
        ]

    def __str__(self) -> str:
        return f"{self.serving} → {self.target}" if self.target else self.serving
