"""System checks of the photos app: the configured encoder must fit the face table before anything is stored."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import DatabaseError

from embeddings.encoders import get_spec
from facesearch.core.pipeline import encoders_read
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


@register(Tags.database)
def encoder_setting_serves(app_configs=None, databases=None, **kwargs) -> list[Warning]:
    """FACESEARCH_ENCODER is only the initial serving encoder: once the library holds vectors, changing it serves
    nothing until a switch re-encodes them (`manage.py reprocess --encoder`), so a difference is the operator's cue."""
    if not databases:
        return []
    try:
        encoders = encoders_read()
    except DatabaseError:  # not migrated yet: the setting is what will serve
        return []
    if settings.FACESEARCH_ENCODER in (encoders.serving, encoders.target):
        return []
    return [
        Warning(
            f"FACESEARCH_ENCODER={settings.FACESEARCH_ENCODER}, but the library is served by {encoders.serving}"
            + (f" (switching to {encoders.target})." if encoders.target else "."),
            hint=f"Run `manage.py reprocess --encoder {settings.FACESEARCH_ENCODER} --wait` to re-encode the photos "
            "with it while search goes on with the old one, or set the variable back.",
            id="facesearch.W001",
        )
    ]
