"""System checks of the photos app: the configured encoder must fit the face table before anything is stored."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register

from embeddings.encoders import get_spec
from facesearch.photos.models import EMBEDDING_DIM


@register()
def encoder_fits_the_face_table(app_configs=None, **kwargs) -> list[Error]:
    """FACESEARCH_ENCODER names a registered encoder whose vectors fit `Face.embedding`: else every face of every
    photo would fail to be stored, after the networks had run (`migrate`, and so `facesearch run`, stop on it)."""
    try:
        spec = get_spec(settings.FACESEARCH_ENCODER)
    except ValueError as exc:
        return [Error(str(exc), hint="Set FACESEARCH_ENCODER to one of them.", id="facesearch.E001")]
    if spec.dim != EMBEDDING_DIM:
        return [
            Error(
                f"FACESEARCH_ENCODER={spec.name} gives {spec.dim}-D vectors; the face table stores {EMBEDDING_DIM}-D.",
                hint="Choose a 128-D encoder (the embeddings library can use this one on its own).",
                id="facesearch.E002",
            )
        ]
    return []
